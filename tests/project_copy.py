"""A temporary copy of the project (todo_data/, alembic/, alembic.ini, .squawk.toml) to write test-only revisions and model
changes in, run through subprocesses whose working directory and PYTHONPATH are the copy: the committed chain is never
touched."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("todo_data", "alembic", "alembic.ini", ".squawk.toml")


@dataclass
class ProjectCopy:
    root: Path

    @classmethod
    def make(cls, folder: Path) -> ProjectCopy:
        root = folder / "project"
        root.mkdir()
        for name in COPIED:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
            elif source.exists():
                shutil.copy2(source, root / name)
        return cls(root)

    def add_revision(self, upgrade: str, downgrade: str = "pass", *, revision: str = "005", down: str = "004", header: str = "") -> Path:
        """``alembic/versions/NNN_test_only.py`` with the given bodies (and module-level ``header`` lines)."""
        source = textwrap.dedent(
            f'''\
            """Test only: {revision}."""

            import sqlalchemy as sa
            from alembic import op

            revision = "{revision}"
            down_revision = "{down}"
            branch_labels = None
            depends_on = None
            '''
        )
        source += textwrap.dedent(header).strip() + "\n\n\n" if header.strip() else "\n\n"
        source += "def upgrade() -> None:\n" + textwrap.indent(textwrap.dedent(upgrade).strip() + "\n", "    ")
        source += "\n\ndef downgrade() -> None:\n" + textwrap.indent(textwrap.dedent(downgrade).strip() + "\n", "    ")
        path = self.root / "alembic" / "versions" / f"{revision}_test_only.py"
        path.write_text(source)
        return path

    def edit_models(self, old: str, new: str) -> None:
        path = self.root / "todo_data" / "models.py"
        text = path.read_text()
        assert old in text, old
        path.write_text(text.replace(old, new, 1))

    def environment(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REPORTS_DATABASE_URL")}
        env["PYTHONPATH"] = str(self.root)
        return env

    def cli(self, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
        """``python -m todo_data.cli ARGS`` in the copy."""
        return subprocess.run(
            [sys.executable, "-m", "todo_data.cli", *args],
            capture_output=True,
            text=True,
            cwd=self.root,
            env=self.environment(),
            timeout=timeout,
            check=False,
        )

    def python(self, code: str, timeout: int = 300) -> Any:
        """Run ``code`` in the copy; it prints one JSON value, returned here."""
        result = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            cwd=self.root,
            env=self.environment(),
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])
