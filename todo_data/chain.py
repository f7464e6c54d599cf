"""The migration chain: its scripts, its revisions in order, what is pending between a database and a target, and
the options every Alembic run over it is configured with.

One source for ``migrations`` (status, history, plan), the trace (``todo_data/trace/runner.py``) and
``alembic/env.py``, through Alembic's public API only (``ScriptDirectory.walk_revisions``, ``get_revision``,
``MigrationContext.get_current_heads``). The ``Config`` is built in code, with no ini file to find: the scripts are
the installed package's or the checkout's ``alembic/``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy.engine import URL, Connection

from todo_data.backends import find_backend
from todo_data.errors import MigrationError
from todo_data.models import UTCDateTime, metadata
from todo_data.resources import shipped_path
from todo_data.settings import get_settings, normalize_url

BASE_REVISION = "001"
"""The original design's first revision: databases made by it are adopted as this revision."""


class SeveralHeads(Exception):
    """The database records more than one current revision; the chain is linear, so nothing is pending from it."""


class PastTarget(Exception):
    """The target is below the database's revision: going there is a downgrade, not pending revisions."""


# --- the scripts --------------------------------------------------------------------------------------------------------


VERSION_TABLE = "alembic_version"  # where Alembic records the revision


def alembic_config(
    database_url: str | URL | None = None,
    *,
    connection: Connection | None = None,
    stdout: Any = None,
    script_location: str | Path | None = None,
) -> Config:
    """An Alembic ``Config`` for the project's revision scripts (or another folder of them), bound to a URL or an open
    connection; ``alembic/env.py`` reads both from ``Config.attributes``."""
    if script_location is not None:
        scripts = Path(script_location).resolve()
    else:
        scripts = shipped_path("alembic")
        if not (scripts / "env.py").is_file():
            raise MigrationError(
                f"The revision scripts are missing from {scripts}: reinstall todo-data (pip install --force-reinstall todo-data)."
            )
    config = Config(stdout=stdout if stdout is not None else io.StringIO())
    config.set_main_option("script_location", str(scripts).replace("%", "%%"))
    config.attributes["configure_logger"] = False
    if connection is not None:
        config.attributes["connection"] = connection
    if database_url is not None:
        config.attributes["database_url"] = normalize_url(database_url)
    return config


def script_directory(script_location: str | Path | None = None) -> ScriptDirectory:
    """The project's revision scripts, or those in ``script_location``."""
    return ScriptDirectory.from_config(alembic_config(script_location=script_location))


def head(script: ScriptDirectory | None = None) -> str:
    """The newest revision id."""
    return (script or script_directory()).get_current_head() or BASE_REVISION


def revisions(script: ScriptDirectory | None = None) -> list[Script]:
    """Every revision from base to head, oldest first."""
    return list(reversed(list((script or script_directory()).walk_revisions())))


def down_revision(revision: Script) -> str | None:
    """The revision below, as one id (a merge's several, comma-separated); None for the first."""
    down = revision.down_revision
    return down if isinstance(down, str) or down is None else ",".join(down)


def message(revision: Script) -> str:
    """The revision's message (its docstring)."""
    return (revision.doc or "").strip()


# --- a database on the chain --------------------------------------------------------------------------------------------


def current_revisions(connection: Connection) -> tuple[str, ...]:
    """The revision(s) the connected database records, sorted; empty when it has no ``alembic_version``.

    A transaction the read began is rolled back, so the connection is as it was.
    """
    found = tuple(sorted(MigrationContext.configure(connection).get_current_heads()))
    if connection.in_transaction():
        connection.rollback()
    return found


def pending(current: tuple[str, ...], target: str = "head", script: ScriptDirectory | None = None) -> list[Script]:
    """The revisions an upgrade from ``current`` (exclusive) to ``target`` (inclusive) applies, oldest first.

    Raises Alembic's ``CommandError`` for a revision the scripts do not know (current or target), :class:`SeveralHeads`
    when ``current`` holds more than one, and :class:`PastTarget` when ``target`` is below ``current``.
    """
    script = script or script_directory()
    for revision in current:
        script.get_revision(revision)
    wanted = script.get_revision(target)
    if len(current) > 1:
        raise SeveralHeads(", ".join(current))
    order = revisions(script)
    ids = [revision.revision for revision in order]
    start = ids.index(current[0]) + 1 if current else 0
    stop = ids.index(wanted.revision) + 1 if wanted is not None else 0
    if stop < start:
        raise PastTarget(target)
    return order[start:stop]


# --- how every run over the chain is configured (alembic/env.py, the trace) ------------------------------------------


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Render the project's column types as plain SQLAlchemy types in new revisions."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def managed_tables() -> frozenset[str]:
    """The tables todo_data owns: the models', Alembic's version table, and any named in ``MANAGED_TABLES``."""
    return frozenset(metadata.tables) | {VERSION_TABLE} | frozenset(get_settings().managed_tables)


def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    """Alembic's ``include_name`` hook: reflect only the default schema's managed tables, so every other
    application's table, view or schema is never drift and no revision touches it."""
    if type_ == "schema":
        return name is None
    if type_ == "table":
        return parent_names.get("schema_name") is None and name in managed_tables()
    return True


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's ``include_object`` hook: the same rule for a reflected table that has no model."""
    if type_ == "table" and reflected and compare_to is None:
        return obj.schema is None and name in managed_tables()
    return True


def comparison_options() -> dict[str, Any]:
    """How the database is compared with the models: one set for alembic/env.py, `db check` and the schema report."""
    return {
        "target_metadata": metadata,
        "compare_type": True,
        "compare_server_default": True,
        "render_item": render_item,
        "include_name": include_name,
        "include_object": include_object,
    }


def render_as_batch(dialect_name: str) -> bool:
    """Whether Alembic alters tables by rebuilding them (batch mode) on this dialect: SQLite's ALTER TABLE cannot do the rest."""
    backend = find_backend(dialect_name)
    return backend is not None and backend.render_as_batch


def run_options(dialect_name: str) -> dict[str, Any]:
    """The options that shape the SQL of every run on a dialect: batch mode on SQLite, transactional DDL (todo_data's
    SQLite engines issue a real BEGIN, so DDL there is transactional too), the project's types."""
    return {
        "target_metadata": metadata,
        "render_as_batch": render_as_batch(dialect_name),
        "transactional_ddl": True,
        "render_item": render_item,
    }


def environment_options(dialect_name: str) -> dict[str, Any]:
    """What ``alembic/env.py`` configures every run with: :func:`run_options`, :func:`comparison_options` (only
    managed tables), and one transaction per revision."""
    return {**comparison_options(), **run_options(dialect_name), "transaction_per_migration": True}
