"""Alembic's ``process_revision_directives`` hook, which ``alembic/env.py`` installs: the same revision whether it is
written by ``todo-data db revision`` or by plain ``alembic revision --autogenerate`` from the project root.

It numbers the revision (``005`` after ``004``), refuses a forked chain in one line, writes nothing when the models
did not change, asks about (or takes the answers to) renames, turns new NOT NULL columns into steps that work on a
populated table, and renders in batch mode (``op.batch_alter_table``), which SQLite needs and PostgreSQL runs as plain
ALTER TABLE.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate.api import AutogenContext
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

from todo_data.errors import ConfigurationError, TodoDataError
from todo_data.revision import defaults, renames, tables
from todo_data.revision.advice import answers_nothing
from todo_data.revision.describe import describe_ops
from todo_data.revision.ids import next_revision_id, require_one_head, revision_file

log = logging.getLogger("todo_data.revision")

FINDINGS = "todo_data.revision.findings"
"""The ``Config.attributes`` key of the :class:`Findings` of one run."""
RENAMES = "todo_data.revision.renames"
"""The ``Config.attributes`` key of the rename answers, ``{"task.description": "task.notes"}``."""
ASK = "todo_data.revision.ask"
"""The ``Config.attributes`` key of who is asked about renames: a callable, or None for nobody (default: the terminal)."""


@dataclass
class Findings:
    """What the hook did in one run, for the caller to report."""

    written: bool = True
    operations: list[str] = field(default_factory=list)
    renames: dict[str, str] = field(default_factory=dict)
    unanswered: dict[str, str] = field(default_factory=dict)  # dropped and added pairs nobody said were renames
    not_null: list[defaults.NotNullColumn] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _autogenerate(context: MigrationContext) -> bool:
    """Whether a revision is being written from the models: ``alembic revision --autogenerate`` or ``todo-data db
    revision``. Alembic's recipe asks ``cmd_opts``, which ``alembic check`` (also an autogenerate run, whose operations
    must stay as compared) does not set."""
    config = context.config
    return bool(config is not None and getattr(config.cmd_opts, "autogenerate", False))


def _answers(context: MigrationContext) -> dict[str, str]:
    """Rename answers: from ``todo-data db revision --rename``, or plain Alembic's ``-x rename=task.a=task.b,task.c=task.d``."""
    config = context.config
    if config is None:
        return {}
    if RENAMES in config.attributes:
        return dict(config.attributes[RENAMES])
    pairs = [pair for pair in getattr(config.cmd_opts, "x", None) or [] if pair.startswith("rename=")]
    return renames.parse_renames([item for pair in pairs for item in pair.removeprefix("rename=").split(",") if item])


def _plain_alembic(context: MigrationContext) -> bool:
    return context.config is None or ASK not in context.config.attributes


def _asker(context: MigrationContext) -> renames.Ask | None:
    config = context.config
    if config is not None and ASK in config.attributes:
        return config.attributes[ASK]
    return renames.terminal_asker()


def _table_candidates(context: MigrationContext, script: ops.MigrationScript) -> list[tables.TableRenameCandidate]:
    """Tables the compared database holds and the models lost, each beside a new model table with its columns."""
    if context.connection is None:
        return []
    metadata = context.opts.get("target_metadata")
    model_tables = set(metadata.tables) if metadata is not None else set()
    return tables.candidates(script.upgrade_ops, sa.inspect(context.connection), model_tables)


def _written(context: MigrationContext, script: ops.MigrationScript) -> Path | None:
    """The file this run writes, for the warnings to name (None without a config: nothing is written)."""
    return revision_file(ScriptDirectory.from_config(context.config), script) if context.config is not None else None


def _renames(context: MigrationContext, script: ops.MigrationScript) -> tuple[list[renames.Candidate], list[renames.Candidate]]:
    """Renamed tables first (asked, then rewritten as renames with their column changes), then renamed columns,
    those of a renamed table included (``todo.description`` to ``todo.notes`` once ``task`` is ``todo``); and the
    pairs nobody answered."""
    answers, ask = _answers(context), _asker(context)
    found_tables = _table_candidates(context, script)
    renames.require_known(answers, [*found_tables, *renames.candidates(script.upgrade_ops)], tables_only=True)
    chosen_tables, unanswered = renames.choose(found_tables, answers, ask)
    if chosen_tables:
        tables.apply(script, chosen_tables, AutogenContext(context))
    found_columns = renames.candidates(script.upgrade_ops)
    renames.require_known(answers, [*found_tables, *found_columns])
    chosen_columns, unanswered_columns = renames.choose(found_columns, answers, ask)
    renames.apply(script, chosen_columns, context.dialect)
    return [*chosen_tables, *chosen_columns], [*unanswered, *unanswered_columns]


def process_revision_directives(context: MigrationContext, revision: Any, directives: list[ops.MigrationScript]) -> None:
    """Alembic's hook (``context.configure(process_revision_directives=...)``)."""
    try:
        _process(context, directives)
    except TodoDataError as exc:
        raise CommandError(str(exc)) from None  # plain Alembic prints it as one line


def _process(context: MigrationContext, directives: list[ops.MigrationScript]) -> None:
    config = context.config
    findings = config.attributes.setdefault(FINDINGS, Findings()) if config is not None else Findings()
    if config is not None:
        scripts = ScriptDirectory.from_config(config)
        require_one_head(scripts)
        script = directives[0]
        if not str(script.rev_id).isdigit():
            script.rev_id = next_revision_id(scripts)
    if not _autogenerate(context):
        return
    script = directives[0]
    if script.upgrade_ops.is_empty():
        answers = _answers(context)
        if answers and config is not None:  # the answer is news: most often, head was written before it was given
            raise ConfigurationError(answers_nothing(answers, ScriptDirectory.from_config(config), context.dialect))
        directives[:] = []
        findings.written = False
        if _plain_alembic(context):
            log.warning("No changes in models; nothing written.")
        return
    chosen, unanswered = _renames(context, script)
    findings.renames = {candidate.source: candidate.target for candidate in chosen}
    findings.unanswered = {candidate.source: candidate.target for candidate in unanswered}
    findings.not_null = defaults.apply(script)
    written, answers = _written(context, script), _answers(context)
    findings.warnings = [
        *(candidate.warning(written, answers) for candidate in unanswered),
        *(item.describe() for item in findings.not_null if item.how == "needs_value"),
    ]
    findings.operations = describe_ops(script.upgrade_ops)
    if _plain_alembic(context):  # todo-data db revision prints them from its result
        for warning in findings.warnings:
            log.warning("%s", warning)
    context.opts["render_as_batch"] = True  # the same file whichever database it was compared with
    if findings.renames:
        context.opts.setdefault("template_args", {})["renames"] = repr(findings.renames)
