"""How new revisions look: plain ``sa`` types, and the file checked and formatted by ruff as the project's code is."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate.api import AutogenContext
from sqlmodel.sql.sqltypes import AutoString

from todo_data.chain import render_item as project_render_item

LINE_LENGTH = 140  # pyproject.toml's, passed on so an installed copy (no pyproject above it) formats the same


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Alembic's ``render_item`` hook: SQLModel's ``AutoString`` as ``sa.String``, a SQL server default as its text,
    the project's types as theirs."""
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length is not None else "sa.String()"
    if type_ == "server_default" and isinstance(obj, sa.DefaultClause) and isinstance(obj.arg, sa.TextClause):
        return server_default_text(obj.arg)
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


def server_default_text(clause: sa.TextClause) -> str:
    """``sa.text("30")`` as given, whatever database the models were compared with.

    Alembic's SQLite impl wraps what it guesses is an expression in parentheses (``sa.text("(30)")`` for ``30``, not
    for ``7``), its PostgreSQL impl does not, so the same model change rendered two files. The text as given is right on
    both: SQLAlchemy's SQLite DDL adds the parentheses an expression needs (``DEFAULT (now())``) when it runs, and a
    default reflected from SQLite keeps those SQLite wrote.
    """
    return f"sa.text({clause.text!r})"
