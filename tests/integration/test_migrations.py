"""Migrations: from empty to head, down to base and back, and no drift from tables.py."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from service.settings import Settings
from service.store import migrate
from service.store.sql.engine import build_engine
from service.store.sql.tables import metadata
from tests.conftest import drop_schema, pg_url_with_schema


@pytest.fixture
def empty_engine(tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    base = os.environ.get("TEST_DATABASE_URL")
    url = (
        pg_url_with_schema(base, f"smallfavor_migrations_{os.getpid()}")
        if base
        else f"sqlite:///{tmp_path / 'm.db'}"
    )
    engine = build_engine(
        Settings.from_env({"DATABASE_URL": url, "VAR_DIR": str(tmp_path)}).database_url
    )
    yield engine
    engine.dispose()
    if base:
        drop_schema(base, f"smallfavor_migrations_{os.getpid()}")


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_from_empty_creates_every_table(empty_engine: Engine) -> None:
    assert _tables(empty_engine) == set()
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision()
    assert _tables(empty_engine) == set(metadata.tables)


def test_schema_matches_the_table_definitions(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_downgrade_and_upgrade_round_trip(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    migrate.downgrade(empty_engine, "base")
    assert _tables(empty_engine) == set()
    assert migrate.current_revision(empty_engine) is None
    migrate.upgrade(empty_engine)
    assert _tables(empty_engine) == set(metadata.tables)
