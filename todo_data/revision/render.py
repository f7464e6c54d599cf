"""How new revisions look: plain ``sa`` types, and the file checked and formatted by ruff as the project's code is."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

from alembic.autogenerate.api import AutogenContext
from sqlmodel.sql.sqltypes import AutoString

from todo_data.chain import render_item as project_render_item

LINE_LENGTH = 140  # pyproject.toml's, passed on so an installed copy (no pyproject above it) formats the same


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Alembic's ``render_item`` hook: SQLModel's ``AutoString`` as ``sa.String``, the project's types as theirs."""
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length is not None else "sa.String()"
    return project_render_item(type_, obj, autogen_context)


def ruff_available() -> bool:
    """Whether ruff can be run (it is a development dependency)."""
    return importlib.util.find_spec("ruff") is not None


def format_revision(path: Path) -> bool:
    """Fix what ruff fixes safely (unused imports, import order) and format the file; False when ruff is not installed."""
    if not ruff_available():
        return False
    ruff = [sys.executable, "-m", "ruff"]
    subprocess.run([*ruff, "check", "--fix", "--exit-zero", "--quiet", f"--line-length={LINE_LENGTH}", str(path)], check=False)
    subprocess.run([*ruff, "format", "--quiet", f"--line-length={LINE_LENGTH}", str(path)], check=False)
    return True
