"""The next migration, written safely: ``todo-data db revision``.

:func:`make_revision` writes ``alembic/versions/NNN_slug.py`` from the models compared with a scratch SQLite database
upgraded to head (never the user's database), through Alembic's own ``command.revision`` and the hooks
``alembic/env.py`` installs (:mod:`todo_data.revision.hooks`), then has ruff format it. :func:`check_models` is the
same comparison for CI: the differences, and no file. :func:`round_trip_revision` is the written revision's round trip
on a scratch SQLite database with sample rows (``todo-data db revision`` runs it unless told ``--no-test``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic import command
from alembic.util.exc import CommandError
from sqlalchemy.engine import URL, Connection

from todo_data import chain, migrations
from todo_data.db import build_engine
from todo_data.errors import ConfigurationError, MigrationError
from todo_data.revision.defaults import NotNullColumn
from todo_data.revision.describe import describe_ops
from todo_data.revision.hooks import ASK, FINDINGS, RENAMES, Findings, process_revision_directives
from todo_data.revision.ids import next_revision_id, require_one_head
from todo_data.revision.renames import Ask, RenameCandidate, candidates, parse_renames, terminal_asker
from todo_data.revision.render import format_revision, render_item, ruff_available

if TYPE_CHECKING:
    from todo_data.roundtrip import RoundTrip

REVISION_SAMPLE_TASKS = 300
"""Sample tasks a new revision's round trip runs on: enough rows in every table to show what is kept, and quick."""

__all__ = [
    "REVISION_SAMPLE_TASKS",
    "Ask",
    "ModelCheck",
    "NotNullColumn",
    "RenameCandidate",
    "RevisionResult",
    "check_models",
    "make_revision",
    "next_revision_id",
    "process_revision_directives",
    "render_item",
    "round_trip_revision",
    "ruff_available",
    "terminal_asker",
]


@dataclass(frozen=True)
class RevisionResult:
    """What :func:`make_revision` wrote (``path`` None when the models did not change) and what it found."""

    revision: str | None
    down_revision: str | None
    path: Path | None
    operations: list[str] = field(default_factory=list)
    renames: dict[str, str] = field(default_factory=dict)
    unanswered: dict[str, str] = field(default_factory=dict)  # dropped and added pairs nobody said were renames
    not_null: list[NotNullColumn] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    formatted: bool = False

    @property
    def written(self) -> bool:
        return self.path is not None


@contextlib.contextmanager
def _quiet_alembic() -> Iterator[None]:
    """The scratch database's own upgrade is not news: Alembic's "Running upgrade" lines are held back."""
    logger = logging.getLogger("alembic.runtime.migration")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def scratch_at_head() -> Iterator[URL]:
    """A scratch SQLite file upgraded to head, deleted afterwards: what the models are compared with."""
    require_one_head(chain.script_directory())
    with tempfile.TemporaryDirectory(prefix="todo-data-revision-") as folder:
        url = sa.make_url(f"sqlite:///{Path(folder) / 'head.db'}")
        with _quiet_alembic():
            migrations.upgrade(url)
        yield url


@dataclass(frozen=True)
class ModelCheck:
    """How the models differ from head: one line per operation a revision would make, and the pairs that look renamed."""

    differences: list[str]
    renames: list[RenameCandidate]


def check_models() -> ModelCheck:
    """How the models differ from the chain's head, as ``db revision`` lists the operations (none when a revision is
    not needed); no database of the user's is read."""
    from alembic.autogenerate import produce_migrations
    from alembic.runtime.migration import MigrationContext

    from todo_data.models import metadata

    with scratch_at_head() as url:
        engine = build_engine(url)
        try:
            with engine.connect() as connection:
                context = MigrationContext.configure(connection, opts=chain.comparison_options())
                upgrade_ops = produce_migrations(context, metadata).upgrade_ops
        finally:
            engine.dispose()
    if upgrade_ops.is_empty():
        return ModelCheck([], [])
    return ModelCheck(describe_ops(upgrade_ops), candidates(upgrade_ops))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def make_revision(
    message: str,
    *,
    autogenerate: bool = True,
    renames: list[str] | dict[str, str] | None = None,
    ask: Ask | None = None,
) -> RevisionResult:
    """Write the next revision: the models' changes (``autogenerate``) or an empty one to fill in.

    ``renames`` answers "did you rename?" (``["task.description=task.notes"]``); ``ask`` is asked the rest (None:
    nobody, so a dropped and added pair stays a drop and an add, with a warning naming ``--rename``).
    """
    if not message or not message.strip():
        raise ConfigurationError('A revision needs a message saying what it changes: -m "task notes", for example.')
    answers = renames if isinstance(renames, dict) else parse_renames(renames)
    if answers and not autogenerate:
        pairs = " ".join(f"--rename {source}={target}" for source, target in answers.items())
        raise ConfigurationError(
            f"{pairs} answers no question: an empty revision (--empty) compares no models, so it finds nothing renamed; "
            "write the rename by hand in it (op.alter_column(..., new_column_name=...), op.rename_table), or drop --empty."
        )
    with scratch_at_head() as url:
        engine = build_engine(url, for_migrations=True)
        try:
            with engine.connect() as connection:
                findings = _write(connection, message.strip(), autogenerate, answers, ask)
        finally:
            engine.dispose()
    return findings


def _write(connection: Connection, message: str, autogenerate: bool, answers: dict[str, str], ask: Ask | None) -> RevisionResult:
    config = chain.alembic_config(connection=connection)
    # as `alembic revision [--autogenerate] -q` would set them: the hook acts on autogenerate; no "Generating ... done"
    config.cmd_opts = argparse.Namespace(autogenerate=autogenerate, quiet=True)
    config.set_main_option("revision_environment", "true")  # env.py runs (and numbers the revision) without autogenerate too
    config.attributes[RENAMES] = answers
    config.attributes[ASK] = ask
    try:
        written = command.revision(config, message=message, autogenerate=autogenerate)
    except CommandError as exc:
        raise MigrationError(_first_line(exc)) from None
    findings: Findings = config.attributes.get(FINDINGS) or Findings()
    script = written[0] if isinstance(written, list) and written else written
    if not script or isinstance(script, list):
        return RevisionResult(None, None, None, warnings=findings.warnings)
    path = Path(script.path)
    down = script.down_revision if isinstance(script.down_revision, str) or script.down_revision is None else ",".join(script.down_revision)
    return RevisionResult(
        revision=script.revision,
        down_revision=down,
        path=path,
        operations=findings.operations,
        renames=findings.renames,
        unanswered=findings.unanswered,
        not_null=findings.not_null,
        warnings=findings.warnings,
        formatted=format_revision(path),
    )


def round_trip_revision(revision: str, *, sample_tasks: int = REVISION_SAMPLE_TASKS) -> RoundTrip:
    """``revision``'s round trip (:func:`todo_data.roundtrip.round_trip`) on a scratch SQLite database holding
    ``sample_tasks`` sample tasks at the revision below, deleted afterwards; no database of the user's is read."""
    from todo_data.roundtrip import round_trip  # the sample loader (Arrow) only when a round trip runs

    with tempfile.TemporaryDirectory(prefix="todo-data-roundtrip-") as folder:
        path = Path(folder) / "scratch.db"
        path.touch()
        with _quiet_alembic():
            result = round_trip(sa.make_url(f"sqlite:///{path}"), revision, sample_tasks=sample_tasks)
    result.copy = "a scratch SQLite database"
    return result
