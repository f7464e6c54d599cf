"""Alembic environment: the URL from todo_data's settings, offline and online, one transaction per revision.

A connection handed in through ``config.attributes["connection"]`` (pytest-alembic, notebooks,
``todo_data.migrations``) is used as it is; otherwise a migration engine is made for the URL.
"""

from __future__ import annotations

import logging
from logging.config import fileConfig
from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection, Engine

from todo_data.migrations import (
    comparison_options,
    configure_migration_connection,
    migration_engine,
    migration_lock,
    offline_url,
    render_as_batch,
    render_item,
    session_settings,
)

config = context.config

if config.config_file_name and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

log = logging.getLogger("alembic.env")


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    return render_item(type_, obj, autogen_context)


def _common_options(dialect_name: str) -> dict[str, Any]:
    return {
        **comparison_options(),  # target_metadata, compare_*, and include_name/include_object: only managed tables
        "render_as_batch": render_as_batch(dialect_name),
        # todo_data's SQLite engines issue a real BEGIN, so DDL there is transactional too.
        "transactional_ddl": True,
        "transaction_per_migration": True,
        "render_item": _render_item,
    }


def run_migrations_offline() -> None:
    """Emit SQL for an explicit range (``alembic upgrade 001:head --sql``) without a database."""
    url = offline_url(config)
    context.configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"}, **_common_options(url.get_backend_name()))
    with context.begin_transaction():
        for statement in session_settings(url.get_backend_name(), config):
            context.execute(statement)
        context.run_migrations()


def _run_with(connection: Connection) -> None:
    configure_migration_connection(connection, config)
    context.configure(connection=connection, **_common_options(connection.dialect.name))
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
            _run_with(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
