"""Migrations: from empty to head, down to base and back, and no drift from tables.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from service.settings import Settings
from service.store import migrate
from service.store.sql import payment_facts_repo as repo
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


def test_payments_recorded_before_the_payment_model_are_known_after_it(
    empty_engine: Engine,
) -> None:
    """0010 turns each stored payment into a known payment credited where its conversions
    were, so a refund of it is applied rather than held for ever."""
    migrate.upgrade(empty_engine, "0009")
    at = datetime(2026, 12, 1, tzinfo=UTC)
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO payments (payment_id, visitor, amount_minor, currency, frequency, "
                "ts, received_at) VALUES ('pay_old', 'reader-1', 1000, 'USD', 'monthly', :at, :at)"
            ),
            {"at": at},
        )
        conn.execute(
            text(
                "INSERT INTO events (event_id, type, experiment_key, variant_key, visitor, ts, "
                "received_at, amount_minor, currency, frequency, revenue, source, counted, "
                "payment_id) VALUES ('pay:pay_old:exp', 'conversion', 'exp', 'b', 'reader-1', "
                ":at, :at, 1000, 'USD', 'monthly', 10.0, 'webhook', true, 'pay_old')"
            ),
            {"at": at},
        )
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        assert repo.find_money(conn, ["pay_old"]) is not None
        [credit] = repo.credits(conn, "pay_old")
        assert (credit.experiment_key, credit.variant_key, credit.visitor) == (
            "exp",
            "b",
            "reader-1",
        )
