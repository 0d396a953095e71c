"""The error envelope everywhere, liveness and readiness."""

from __future__ import annotations

from flask.testing import FlaskClient

from service.app import create_app
from service.settings import Settings


def test_unknown_route_is_a_json_404(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.is_json
    assert response.json["error"]["code"] == "not_found"


def test_wrong_method_is_a_json_405_with_allow(client: FlaskClient) -> None:
    response = client.delete("/healthz")
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_healthz(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_checks_sql_and_redis(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"sql": "ok", "redis": "ok"}}


def test_readyz_is_503_when_redis_is_unreachable(env: dict[str, str], clean_db) -> None:  # type: ignore[no-untyped-def]
    app = create_app(Settings.from_env({**env, "REDIS_URL": "redis://127.0.0.1:1/0"}))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["redis"].startswith("unreachable")
    assert response.json["checks"]["sql"] == "ok"


def test_readyz_is_503_when_the_schema_is_missing(
    env: dict[str, str], tmp_path, redis_client
) -> None:  # type: ignore[no-untyped-def]
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    app = create_app(Settings.from_env({**env, "DATABASE_URL": empty}))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "schema" in response.json["checks"]["sql"]


def test_readyz_accepts_a_schema_newer_than_the_image_but_not_an_older_one(
    env: dict[str, str], tmp_path, redis_client
) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from service.store import migrate
    from service.store.sql.engine import build_engine

    url = f"sqlite:///{tmp_path / 'rolling.db'}"
    engine = build_engine(url)
    migrate.upgrade(engine)
    app = create_app(Settings.from_env({**env, "DATABASE_URL": url}))
    client = app.test_client()
    # A newer image migrated ahead during a rolling deploy: this one keeps serving.
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed0099'"))
    assert client.get("/readyz").status_code == 200
    # A schema this image knows is behind it: not ready until someone migrates.
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE alembic_version SET version_num = :v"), {"v": migrate.head_revision()}
        )
    migrate.downgrade(engine, "base")
    behind = client.get("/readyz")
    assert behind.status_code == 503
    assert "run smallfavor migrate" in behind.json["checks"]["sql"]
    engine.dispose()
