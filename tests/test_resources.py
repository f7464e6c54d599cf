"""Where the shipped files are found: in a checkout, at the repository root (the installed case is tests/test_packaging.py's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from todo_data import resources

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", resources.SHIPPED)
def test_a_checkout_finds_each_shipped_file_at_its_root(name: str) -> None:
    assert resources.shipped_path(name) == ROOT / name
    assert (ROOT / name).exists()


def test_alembic_ini_names_the_scripts_beside_it() -> None:
    ini = resources.alembic_ini()
    assert "script_location = %(here)s/alembic" in ini.read_text()
    assert (ini.parent / "alembic" / "env.py").is_file()


def test_an_unknown_name_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'setup.cfg' is not shipped with todo_data: choose one of alembic.ini, alembic"):
        resources.shipped_path("setup.cfg")
