"""squawk lints the PostgreSQL upgrade script with the project's .squawk.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from todo_data import migrations

ROOT = Path(__file__).resolve().parent.parent


def _squawk() -> str:
    found = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
    assert Path(found).exists(), "squawk-cli is a dev dependency: pip install -e '.[dev]'"
    return found


def test_upgrade_script_passes_squawk(tmp_path: Path) -> None:
    script = tmp_path / "upgrade.sql"
    script.write_text(migrations.sql("001:head", dialect="postgresql"))
    result = subprocess.run([_squawk(), "--config", str(ROOT / ".squawk.toml"), str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_squawk_catches_what_the_config_does_not_excuse(tmp_path: Path) -> None:
    """The lint is live: a statement the config does not excuse fails it."""
    script = tmp_path / "bad.sql"
    script.write_text(migrations.sql("001:head", dialect="postgresql") + "\nALTER TABLE task ADD COLUMN note text NOT NULL;\n")
    result = subprocess.run([_squawk(), "--config", str(ROOT / ".squawk.toml"), str(script)], capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "adding-required-field" in result.stdout + result.stderr
