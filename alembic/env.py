"""Alembic environment: the URL from todo_data's settings, offline and online, one transaction per revision.

A connection handed in through ``config.attributes["connection"]`` (pytest-alembic, notebooks,
``todo_data.migrations``) is used as it is; otherwise a migration engine is made for the URL.
"""

from __future__ import annotations

import logging
from logging.config import fileConfig
from typing import Any

from alembic import context
from alembic.util import CommandError
from sqlalchemy.engine import Connection, Engine

from todo_data import undo
from todo_data.chain import environment_options
from todo_data.migrations import configure_migration_connection, migration_engine, migration_lock, offline_url, session_settings
from todo_data.revision import process_revision_directives, render_item
from todo_data.settings import mask_text

config = context.config

if config.config_file_name and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

log = logging.getLogger("alembic.env")


def _options(dialect_name: str) -> dict[str, Any]:
    """The chain's options, and how new revisions are written (``alembic revision --autogenerate`` as ``todo-data db
    revision``): plain ``sa`` types (no sqlmodel AutoString), numbered 005, 006, ..., nothing written without a change,
    renames asked or answered, new NOT NULL columns made to work on populated tables."""
    return {**environment_options(dialect_name), "render_item": render_item, "process_revision_directives": process_revision_directives}


def run_migrations_offline() -> None:
    """Emit SQL for an explicit range (``alembic upgrade 001:head --sql``) without a database."""
    url = offline_url(config)
    context.configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"}, **_options(url.get_backend_name()))
    with context.begin_transaction():
        for statement in session_settings(url.get_backend_name(), config):
            context.execute(statement)
        context.run_migrations()


def _run_with(connection: Connection) -> None:
    configure_migration_connection(connection, config)
    context.configure(connection=connection, **_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a live database, on the handed-in connection or a fresh migration engine."""
    handed_in = config.attributes.get("connection")
    if isinstance(handed_in, Engine):
        # pytest-alembic hands its ``alembic_engine`` (an Engine) through the same attribute.
        with handed_in.connect() as connection:
            _run_with(connection)
            if connection.in_transaction():
                connection.commit()
        return
    if handed_in is not None:
        _run_with(handed_in)
        return
    engine = migration_engine(config)
    try:
        with engine.connect() as connection, migration_lock(connection, engine.url):
            _run_undoing(connection)
    finally:
        engine.dispose()


def _run_undoing(connection: Connection) -> None:
    """Plain ``alembic upgrade`` as ``todo-data db upgrade``: a revision that fails after committing part of itself (a
    PostgreSQL NOT NULL step) is undone by its own downgrade, and Alembic prints one line saying so."""
    undo.forget(connection)
    try:
        _run_with(connection)
    except Exception as exc:
        if connection.in_transaction():
            connection.rollback()
        undone = undo.undo_committed_part(connection)
        if undone is None:
            raise
        password = connection.engine.url.password
        cause = mask_text(undo.first_line(exc), password if isinstance(password, str) else None)
        raise CommandError(undone.sentence("upgrade", cause)) from exc


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
