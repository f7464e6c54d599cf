"""Migration control over Alembic: current, head, history, upgrade, downgrade, check, offline SQL, stamp.

Every function returns plain data; the CLI and the notebooks print it. The URL is handed to
``alembic/env.py`` through ``Config.attributes``, never through the ini file. The chain itself (scripts, revisions
in order, what is pending, the options of every run) is :mod:`todo_data.chain`'s.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import URL, Connection, Engine

from todo_data import chain, undo
from todo_data.backends import backend_for, find_backend
from todo_data.chain import BASE_REVISION, alembic_config, comparison_options, head, include_name, script_directory
from todo_data.db import build_engine, require_sqlite_file, resolve_url, translate_errors
from todo_data.errors import ConfigurationError, MigrationError
from todo_data.models import metadata
from todo_data.resources import shipped_path
from todo_data.settings import SUPPORTED_BACKENDS, backend_of, get_settings, mask_text, mask_url
from todo_data.standby import require_primary

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

APP_TABLES = ("users", "task", "task_relationships")
DIALECT_URLS = {"postgresql": "postgresql+psycopg://", "sqlite": "sqlite://"}


# --- configuration shared with alembic/env.py -------------------------------------------------


def _x_arguments(config: Config) -> dict[str, str]:
    """``alembic -x key=value`` options."""
    pairs = getattr(config.cmd_opts, "x", None) or []
    return dict(pair.split("=", 1) if "=" in pair else (pair, "") for pair in pairs)


def _url_from(config: Config) -> URL:
    url = config.attributes.get("database_url") or _x_arguments(config).get("database_url")
    return resolve_url(url)


def migration_engine(config: Config) -> Engine:
    """A pool-less engine for one migration run (SQLite: foreign keys off while tables are rebuilt)."""
    url = _url_from(config)
    _require_supported(url)
    return build_engine(url, for_migrations=True)


def offline_url(config: Config) -> URL:
    """The URL offline SQL is rendered for: ``-x dialect=postgresql|sqlite``, else the configured URL's."""
    dialect = config.attributes.get("dialect") or _x_arguments(config).get("dialect")
    if dialect:
        if dialect not in DIALECT_URLS:
            raise ConfigurationError(f"Unknown dialect {dialect!r}: use one of {', '.join(DIALECT_URLS)}.")
        return sa.make_url(DIALECT_URLS[dialect])
    return _url_from(config)


def session_settings(dialect_name: str, config: Config) -> list[str]:
    """Statements a migration session starts with: the backend's lock and statement timeouts (PostgreSQL's SETs)."""
    backend = find_backend(dialect_name)
    if backend is None or not backend.session_timeouts:
        return []
    settings = get_settings()
    lock_timeout = config.attributes.get("lock_timeout", settings.lock_timeout)
    statement_timeout = config.attributes.get("statement_timeout", settings.statement_timeout)
    return backend.session_settings(lock_timeout, statement_timeout)


def configure_migration_connection(connection: Connection, config: Config) -> None:
    """Apply :func:`session_settings` to a live migration connection, outside any revision's transaction."""
    statements = session_settings(connection.dialect.name, config)
    for statement in statements:
        connection.exec_driver_sql(statement)
    if statements and connection.in_transaction():
        connection.commit()


def _require_supported(url: URL) -> None:
    if backend_of(url) not in SUPPORTED_BACKENDS:
        raise MigrationError(
            f"{mask_url(url)} is a {backend_of(url)} database: migrations support {' and '.join(SUPPORTED_BACKENDS)} only."
        )


def migration_lock(connection: Connection, url: URL) -> contextlib.AbstractContextManager[None]:
    """Hold the database's migration lock for a whole run: a second run waits, says so, then finds nothing to do.

    The backend's lock: PostgreSQL's session advisory lock, an exclusive ``flock`` on a SQLite file; none elsewhere.
    """
    backend = find_backend(connection.dialect.name)
    return backend.migration_lock(connection, url) if backend is not None else contextlib.nullcontext()


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RevisionInfo:
    """One revision of the chain."""

    revision: str
    down_revision: str | None
    message: str
    is_head: bool
    is_current: bool = False


@dataclass(frozen=True)
class MigrationState:
    """Where a database stands: its revision(s), the head, and what is pending."""

    database: str
    current: tuple[str, ...]
    head: str
    pending: tuple[str, ...]

    @property
    def at_head(self) -> bool:
        return self.current == (self.head,)


@dataclass(frozen=True)
class MigrationResult:
    """What an upgrade, downgrade or stamp did: revisions before and after, and row counts per table."""

    database: str
    before: tuple[str, ...]
    after: tuple[str, ...]
    rows_before: dict[str, int] = field(default_factory=dict)
    rows_after: dict[str, int] = field(default_factory=dict)
    adopted: bool = False

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def row_counts(self) -> pd.DataFrame:
        """Rows per table before and after, with the change: a migration should lose none."""
        tables = sorted(set(self.rows_before) | set(self.rows_after))
        import pandas as pd

        frame = pd.DataFrame(
            {
                "table": tables,
                "before": [self.rows_before.get(t) for t in tables],
                "after": [self.rows_after.get(t) for t in tables],
            }
        )
        frame["change"] = frame["after"].astype("Int64") - frame["before"].astype("Int64")
        return frame


# --- helpers ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _connect(database_url: str | URL | None, *, create: bool = False) -> Iterator[tuple[URL, Connection]]:
    """A migration connection. A SQLite file that is not there is created only to upgrade it; anything else refuses it."""
    url = resolve_url(database_url)
    _require_supported(url)
    if not create:
        require_sqlite_file(url)
    engine = build_engine(url, for_migrations=True)
    try:
        with translate_errors(url), engine.connect() as connection:
            yield url, connection
    finally:
        engine.dispose()


def _check_known(revisions: tuple[str, ...], url: URL, connection: Connection) -> None:
    script = script_directory()
    for revision in revisions:
        try:
            script.get_revision(revision)
        except CommandError:
            raise MigrationError(
                f"{mask_url(url)} is at revision {revision!r}, which this project does not know: "
                f"it was migrated by a newer or different todo_data; use that version, or {_restamp_advice(connection)}"
            ) from None


def _restamp_advice(connection: Connection) -> str:
    """How to replace an unknown revision: name the revision when the schema is exactly head or 001."""
    if not _model_differences(connection):
        return "its schema matches this project's head, so record that with `todo-data db stamp head --purge`."
    if not seed_schema_differences(connection):
        return "its schema is revision 001, so record that with `todo-data db stamp 001 --purge`, then run `todo-data db upgrade`."
    known = ", ".join(info.revision for info in history())
    return (
        f"if you know which of this project's revisions ({known}) its schema is, "
        "record it with `todo-data db stamp REVISION --purge`, then run `todo-data db upgrade`."
    )


def _table_names(connection: Connection) -> set[str]:
    names = set(sa.inspect(connection).get_table_names())
    if connection.in_transaction():
        connection.rollback()
    return names


def row_counts(connection: Connection) -> dict[str, int]:
    """Rows per application table present in the database: the chain's and the models' (a renamed table under its new name)."""
    present = _table_names(connection)
    tables = sorted((set(APP_TABLES) | set(metadata.tables)) & present)
    counts = {table: int(connection.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one()) for table in tables}
    if connection.in_transaction():
        connection.rollback()
    return counts


def _pending(current: tuple[str, ...]) -> tuple[str, ...]:
    """Revisions from ``current`` (exclusive; the first, where a database records several) up to head, oldest first."""
    return tuple(revision.revision for revision in chain.pending(current[:1]))


# --- commands ---------------------------------------------------------------------------------


def history() -> list[RevisionInfo]:
    """Every revision from base to head."""
    script = script_directory()
    heads = set(script.get_heads())
    return [
        RevisionInfo(
            revision=rev.revision,
            down_revision=chain.down_revision(rev),
            message=chain.message(rev),
            is_head=rev.revision in heads,
        )
        for rev in chain.revisions(script)
    ]


def history_frame(database_url: str | URL | None = None) -> pd.DataFrame:
    """Every revision, oldest first, marking the database's current one and which are applied."""
    current = status(database_url).current
    revisions = history()
    applied_upto = max((i for i, info in enumerate(revisions) if info.revision in current), default=-1)
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "revision": info.revision,
                "message": info.message,
                "applied": i <= applied_upto,
                "current": info.revision in current,
                "head": info.is_head,
            }
            for i, info in enumerate(revisions)
        ]
    )


def status(database_url: str | URL | None = None) -> MigrationState:
    """The database's revision, the head, and the revisions an upgrade would apply."""
    with _connect(database_url) as (url, connection):
        unreadable = _revision_unreadable(url, connection)
        if unreadable:
            raise MigrationError(unreadable)
        current = chain.current_revisions(connection)
        _check_known(current, url, connection)
        return MigrationState(database=mask_url(url), current=current, head=head(), pending=_pending(current))


def current(database_url: str | URL | None = None) -> tuple[str, ...]:
    """The revision(s) the database is at; empty when it has none."""
    return status(database_url).current


def _adoption_refusal(connection: Connection, url: URL) -> str | None:
    """Why a database with no ``alembic_version`` cannot be adopted: it has the app's tables, but not revision 001's schema."""
    tables = _table_names(connection) & set(APP_TABLES)
    differences = seed_schema_differences(connection) if tables else []
    if not differences:
        return None
    return (
        f"{mask_url(url)} has tables ({', '.join(sorted(tables))}) but no alembic_version, and its schema is not revision 001 "
        f"({len(differences)} difference(s), first: {differences[0]}): bring it to 001 by hand, then run `todo-data db stamp 001`."
    )


def _adopt_or_refuse(connection: Connection, url: URL) -> bool:
    """A database with the app's tables but no ``alembic_version``: stamp it 001 if its schema is exactly 001."""
    if not _table_names(connection) & set(APP_TABLES):
        return False
    refusal = _adoption_refusal(connection, url)
    if refusal:
        raise MigrationError(refusal)
    command.stamp(alembic_config(connection=connection), BASE_REVISION)
    if connection.in_transaction():
        connection.commit()
    log.warning("Adopted %s: its schema is exactly revision 001, so it was stamped 001.", mask_url(url))
    return True


def _run(database_url: str | URL | None, action: str, target: str, *, purge: bool = False) -> MigrationResult:
    with (
        _connect(database_url, create=action == "upgrade") as (url, connection),
        migration_lock(connection, url),
    ):
        require_primary(url, f"db {action}", connection=connection)
        before = chain.current_revisions(connection)
        if action == "stamp":
            _require_known_target(target)
        if action == "stamp" and not purge:
            _check_unknown_before_stamp(before, target, url)
        elif not purge:
            _check_known(before, url, connection)
        adopted = False
        if not before and action == "upgrade":
            adopted = _adopt_or_refuse(connection, url)
            if adopted:
                before = (BASE_REVISION,)
        if not before and action == "downgrade" and target != "base":
            raise MigrationError(
                f"{mask_url(url)} has no revision recorded (no alembic_version), so there is nothing to downgrade: "
                "if its schema is a known revision, record it first with `todo-data db stamp REVISION`."
            )
        rows_before = row_counts(connection)
        config = alembic_config(connection=connection)
        undo.forget(connection)
        try:
            if action == "upgrade":
                command.upgrade(config, target)
            elif action == "downgrade":
                command.downgrade(config, target)
            elif action == "stamp":
                command.stamp(config, target, purge=purge)
        except BaseException as exc:
            if connection.in_transaction():
                connection.rollback()
            undone = undo.undo_committed_part(connection) if action == "upgrade" else None
            if isinstance(exc, CommandError):
                raise MigrationError(_command_error_line(exc, target)) from None
            if undone is not None:
                raise MigrationError(_masked(undone.sentence(action, _cause(exc, url)), url)) from None
            if isinstance(exc, sa.exc.DBAPIError | RuntimeError):
                raise MigrationError(_failed_revision_line(exc, action, connection, url)) from None
            raise
        if connection.in_transaction():
            connection.commit()
        after = chain.current_revisions(connection)
        return MigrationResult(
            database=mask_url(url), before=before, after=after, rows_before=rows_before, rows_after=row_counts(connection), adopted=adopted
        )


def _require_known_target(target: str) -> None:
    try:
        script_directory().get_revisions(target)
    except CommandError as exc:
        raise MigrationError(_command_error_line(exc, target)) from None


def _check_unknown_before_stamp(before: tuple[str, ...], target: str, url: URL) -> None:
    """Alembic's stamp cannot step from a revision it does not know; ``--purge`` replaces it, as ``alembic stamp --purge``."""
    script = script_directory()
    for revision in before:
        try:
            script.get_revision(revision)
        except CommandError:
            raise MigrationError(
                f"{mask_url(url)} is at revision {revision!r}, which this project does not know, so a stamp cannot step from it: "
                f"replace it with `todo-data db stamp {target} --purge`."
            ) from None


def _cause(exc: BaseException, url: URL) -> str:
    """The first line of what the database (or the revision) said, with no password in it."""
    return _masked(undo.first_line(exc), url)


def _masked(text: str, url: URL) -> str:
    return mask_text(text, url.password if isinstance(url.password, str) else None)


def _failed_revision_line(exc: BaseException, action: str, connection: Connection, url: URL) -> str:
    """One line for a revision that failed: the database's error, and where the database stands now."""
    try:
        now = ", ".join(chain.current_revisions(connection)) or "no revision"
    except sa.exc.DBAPIError:
        now = "its previous revision"
    return f"The {action} failed and was rolled back; the database is still at {now} with its data unchanged. Cause: {_cause(exc, url)}"


def _command_error_line(exc: CommandError, target: str) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "Can't locate revision" in text or "No such revision" in text:
        known = ", ".join(info.revision for info in history())
        return f"Unknown revision {target!r}: use head, base, a relative step like -1, or one of {known}."
    if "Relative revision" in text or "is not a valid" in text:
        return f"{text}: use head, base or a revision id (todo-data db history lists them)."
    return text


def upgrade(database_url: str | URL | None = None, revision: str = "head") -> MigrationResult:
    """Upgrade to ``revision`` (default head); a failing revision leaves the database at the one before."""
    return _run(database_url, "upgrade", revision)


def downgrade(revision: str, database_url: str | URL | None = None) -> MigrationResult:
    """Downgrade to ``revision`` (e.g. ``001``); each revision's downgrade keeps the data."""
    return _run(database_url, "downgrade", revision)


def stamp(revision: str, database_url: str | URL | None = None, *, purge: bool = False) -> MigrationResult:
    """Record ``revision`` as current without running anything (adopting a database made by hand).

    ``purge`` first empties ``alembic_version``, as ``alembic stamp --purge``: the way to replace a revision this
    project does not know.
    """
    return _run(database_url, "stamp", revision, purge=purge)


def check(database_url: str | URL | None = None) -> list[str]:
    """Differences between the database and the models, as Alembic's autogenerate sees them; empty when in step.

    A database at a revision this project does not know is refused, as by every other command: "no differences"
    would hide that ``upgrade`` cannot run on it.
    """
    with _connect(database_url) as (url, connection):
        unreadable = _revision_unreadable(url, connection)
        if unreadable:  # the schema can still be compared with the models
            log.warning("%s", unreadable)
        else:
            _check_known(chain.current_revisions(connection), url, connection)
        return _model_differences(connection)


def _revision_unreadable(url: URL, connection: Connection) -> str | None:
    """Why the connected role cannot read the recorded revision (no SELECT on alembic_version, with its GRANT), or None."""
    note = backend_for(url).missing_select(connection, chain.VERSION_TABLE, "the revision this database is at is unknown")
    if connection.in_transaction():
        connection.rollback()
    return note


def _model_differences(connection: Connection) -> list[str]:
    context = MigrationContext.configure(connection, opts=comparison_options())
    diffs = compare_metadata(context, metadata)
    if connection.in_transaction():
        connection.rollback()
    return [_describe_diff(diff) for diff in diffs]


def drift_advice(database_url: str | URL | None = None) -> str:
    """What to run when :func:`check` finds differences, for the state the database is in."""
    state = status(database_url)
    if state.at_head:
        return (
            f"The database is at head ({state.head}), so `todo-data db upgrade` has nothing to apply: the models changed "
            'without a revision. Write one with `todo-data db revision -m "what changed"` (from the project root), '
            "review the file it writes in alembic/versions/, then run `todo-data db upgrade` "
            "(if the database was changed by hand instead, undo that change)."
        )
    if not state.current:
        with _connect(database_url) as (url, connection):
            refusal = _adoption_refusal(connection, url)
        if refusal:
            return refusal
    return "Run `todo-data db upgrade` to bring the database to head."


def _describe_diff(diff: Any) -> str:
    if isinstance(diff, list):
        return "; ".join(_describe_diff(item) for item in diff)
    kind, *rest = diff
    parts = []
    for item in rest:
        name = getattr(item, "name", None)
        parts.append(str(name) if name is not None else repr(item))
    return f"{kind}: {', '.join(parts)}"


def sql(revision_range: str, *, database_url: str | URL | None = None, dialect: str | None = None) -> str:
    """The SQL of a revision range, offline (no database): ``001:head`` upgrades, ``head:001`` downgrades."""
    if ":" not in revision_range:
        raise ConfigurationError(
            f"Offline SQL needs an explicit range, not {revision_range!r}: use FROM:TO, e.g. 001:head to upgrade or head:001 to downgrade."
        )
    start, end = revision_range.split(":", 1)
    buffer = io.StringIO()
    config = alembic_config(database_url)
    config.output_buffer = buffer  # where Alembic writes --sql output
    if dialect is not None:
        config.attributes["dialect"] = dialect
    script = script_directory()
    try:
        downgrade_range = _is_downgrade(script, start, end)
        if downgrade_range:
            command.downgrade(config, revision_range, sql=True)
        else:
            command.upgrade(config, revision_range, sql=True)
    except CommandError as exc:
        raise MigrationError(_command_error_line(exc, revision_range)) from None
    return buffer.getvalue()


def _is_downgrade(script: ScriptDirectory, start: str, end: str) -> bool:
    order = [info.revision for info in history()]

    def position(rev: str) -> int:
        if rev in ("base", ""):
            return -1
        if rev == "head":
            return len(order)
        resolved = script.get_revision(rev)
        return order.index(resolved.revision) if resolved is not None else -1

    return position(end) < position(start)


# --- revision 001 as data, to recognise databases made by the seed without alembic_version -----


def seed_metadata() -> sa.MetaData:
    """The schema the seed's migration 001 creates (PostgreSQL's default constraint names)."""
    seed = sa.MetaData()
    sa.Table(
        "task",
        seed,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="task_pkey"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_task_user_id_users", ondelete="CASCADE"),
        sa.Index("ix_task_user_id", "user_id"),
        sa.Index("ix_task_completed", "completed"),
        sa.Index("ix_task_created_at", "created_at"),
    )
    sa.Table(
        "users",
        seed,
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="users_pkey"),
        sa.UniqueConstraint("email", name="users_email_key"),
        sa.Index("ix_users_email", "email"),
    )
    return seed


def seed_schema_differences(connection: Connection) -> list[str]:
    """How the live schema differs from revision 001 (only the tables todo_data manages); empty when identical."""
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True, "include_name": include_name}
    )
    diffs = compare_metadata(context, seed_metadata())
    if connection.in_transaction():
        connection.rollback()
    return [_describe_diff(diff) for diff in diffs]


# --- dry run: what an upgrade would run, and what squawk says of it ---------------------------


@dataclass(frozen=True)
class PendingRevision:
    """One revision an upgrade would apply, with the SQL Alembic would run for it on this database's dialect."""

    revision: str
    down_revision: str | None
    message: str
    sql: str


def plan(database_url: str | URL | None = None, target: str = "head") -> list[PendingRevision]:
    """The revisions from the database's current one up to ``target``, each with its offline SQL; nothing is run."""
    state = status(database_url)
    url = resolve_url(database_url)
    script = script_directory()
    try:
        if script.get_revision(target) is None:  # base: nothing to upgrade to
            return []
        revisions = chain.pending(state.current[:1], target, script)
    except CommandError as exc:
        raise MigrationError(_command_error_line(exc, target)) from None
    except chain.PastTarget:
        raise ConfigurationError(
            f"{mask_url(url)} is at {state.current[0]}, past {target}: a dry run shows upgrades only; use `todo-data db downgrade` to go back."
        ) from None
    pending = []
    for rev in revisions:
        down = chain.down_revision(rev)
        text = sql(f"{down or 'base'}:{rev.revision}", dialect=backend_of(url))
        pending.append(PendingRevision(revision=rev.revision, down_revision=down, message=chain.message(rev), sql=text))
    return pending


LINT_COLUMNS = ["revision", "line", "rule", "level", "message", "help", "statement", "excused"]
SQUAWK_CONFIG = shipped_path(".squawk.toml")


def squawk_path() -> str:
    """The squawk binary installed with the project (squawk-cli), or a one-line error saying how to get it."""
    found = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
    if not Path(found).exists():
        raise ConfigurationError("squawk is not installed: pip install squawk-cli (it comes with todo-data).")
    return found


def excused_rules() -> dict[str, str]:
    """squawk rules the project's ``.squawk.toml`` excludes, each with the comment that justifies it."""
    if not SQUAWK_CONFIG.exists():
        return {}
    excused: dict[str, str] = {}
    reason: list[str] = []
    after_rule = False
    for line in SQUAWK_CONFIG.read_text().splitlines():
        text = line.strip()
        if text.startswith("#"):
            reason = [*([] if after_rule else reason), text.lstrip("# ")]
            after_rule = False
        elif text.startswith('"') and text.rstrip(",").endswith('"'):
            excused[text.rstrip(",").strip('"')] = " ".join(reason)
            after_rule = True
        else:
            reason, after_rule = [], False
    return excused


def lint(pending: list[PendingRevision]) -> pd.DataFrame:
    """squawk's findings for each pending revision's SQL (PostgreSQL), every rule on; ``excused`` marks the rules
    the project's ``.squawk.toml`` excludes on purpose, so a reader sees them and the reason."""
    rows: list[dict[str, Any]] = []
    excused = excused_rules()
    pg_version = tomllib.loads(SQUAWK_CONFIG.read_text()).get("pg_version", "15.0") if SQUAWK_CONFIG.exists() else "15.0"
    with tempfile.TemporaryDirectory(prefix="todo-data-lint-") as folder:
        for item in pending:
            path = Path(folder) / f"{item.revision}.sql"
            path.write_text(item.sql)
            args = [squawk_path(), "--reporter", "json", f"--pg-version={pg_version}"]
            # cwd: squawk would pick up a .squawk.toml from the working directory and hide excused rules
            result = subprocess.run([*args, str(path)], capture_output=True, text=True, check=False, cwd=folder)
            try:
                findings = json.loads(result.stdout or "[]")
            except json.JSONDecodeError:
                raise MigrationError(f"squawk could not lint revision {item.revision}: {result.stderr.strip().splitlines()[-1:]}") from None
            lines = item.sql.splitlines()
            for finding in findings:
                first, last = finding.get("line", 0), finding.get("line_end", finding.get("line", 0))
                rows.append(
                    {
                        "revision": item.revision,
                        "line": first + 1,
                        "rule": finding.get("rule_name"),
                        "level": finding.get("level"),
                        "message": finding.get("message"),
                        "help": finding.get("help"),
                        "statement": "\n".join(lines[first : last + 1]).strip(),
                        "excused": finding.get("rule_name") in excused,
                    }
                )
    import pandas as pd

    return pd.DataFrame(rows, columns=LINT_COLUMNS)
