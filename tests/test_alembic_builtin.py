"""pytest-alembic's built-in tests, on a fresh SQLite file and a fresh PostgreSQL database.

pytest-alembic 0.13.1 cannot bind its tests automatically under pytest 9, so they are imported
here, which collects them as this module's tests; the ``alembic_config`` and ``alembic_engine``
fixtures below feed them. The engine is todo_data's migration engine (SQLite: foreign keys off and
a real BEGIN, so table rebuilds are transactional); pytest-alembic hands it to ``alembic/env.py``
through ``config.attributes["connection"]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_alembic import MigrationContext
from pytest_alembic.config import Config
from pytest_alembic.plugin.error import AlembicTestFailure
from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy.engine import URL, Engine

from todo_data.db import build_engine

__all__ = ["test_model_definitions_match_ddl", "test_single_head_revision", "test_up_down_consistency", "test_upgrade"]

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


@pytest.fixture
def alembic_config() -> Config:
    return Config(config_options={"file": str(ALEMBIC_INI)})


@pytest.fixture
def alembic_engine(database_url: URL) -> Iterator[Engine]:
    """A migration engine on a new, empty database of the parametrised backend (SQLite and PostgreSQL)."""
    engine = build_engine(database_url, for_migrations=True)
    try:
        yield engine
    finally:
        engine.dispose()


def test_runner_reaches_every_revision(alembic_runner: MigrationContext) -> None:
    """The runner drives this project's chain on the real database (the built-ins are not vacuous)."""
    assert alembic_runner.history.revisions[-1] == "heads"
    assert alembic_runner.heads == ["004"]
    assert alembic_runner.migrate_up_to("003") == "003"
    assert alembic_runner.current == "003"
    assert alembic_runner.migrate_down_to("001") == "001"


def test_model_definitions_match_ddl_detects_drift(alembic_runner: MigrationContext) -> None:
    """Stamped head while the schema is still 003: the built-in check must see 004's missing indexes."""
    alembic_runner.migrate_up_to("003")
    alembic_runner.command_executor.stamp("004")

    with pytest.raises(AlembicTestFailure, match="out of sync"):
        test_model_definitions_match_ddl(alembic_runner)
