"""Hardening, one check per promise: security headers, CORS scope, constant-time secret
checks, secrets kept out of logs, body size and depth limits, production refusing defaults."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from service.api.public.payment_webhook import sign
from service.app import create_app
from service.settings import Settings, SettingsError
from service.store.sql.access_tables import api_tokens
from service.wiring import Services
from tests.functional.dashboard_support import PASSWORD, log_in, make_user
from tests.functional.events_support import banner_for, event, post_events, start_experiment

Auth = Callable[[str], dict[str, str]]
ORIGIN = "https://news.example"


# -- headers ---------------------------------------------------------------------------


def test_every_answer_says_nosniff_and_https_answers_say_hsts(client: FlaskClient) -> None:
    plain = client.get("/healthz")
    assert plain.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in plain.headers  # not over plain http
    tls = client.get("/healthz", base_url="https://smallfavor.example")
    assert tls.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    decision = client.get(
        "/v1/decision",
        query_string={"visitor": "header-check", "placement": "header"},
        base_url="https://smallfavor.example",
    )
    assert decision.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" in decision.headers


def test_hsts_everywhere_when_the_public_url_is_https(
    env: dict[str, str], clean_db: object, redis_client: object
) -> None:
    app = create_app(Settings.from_env({**env, "PUBLIC_URL": "https://smallfavor.example"}))
    try:
        # Behind a TLS-terminating proxy the app may see plain http; the public URL decides.
        assert "Strict-Transport-Security" in app.test_client().get("/healthz").headers
    finally:
        app.extensions["smallfavor"].close()


def test_pages_cannot_be_framed(client: FlaskClient) -> None:
    for path in ("/demo", "/dashboard/login"):
        page = client.get(path)
        assert page.headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"], path
    dashboard = client.get("/dashboard/login").headers["Content-Security-Policy"]
    assert "script-src 'self'" in dashboard and "object-src 'none'" in dashboard


# -- CORS -------------------------------------------------------------------------------


@pytest.fixture
def cors_app(env: dict[str, str], clean_db: object, redis_client: object) -> Flask:
    app = create_app(Settings.from_env({**env, "ALLOWED_ORIGINS": ORIGIN}))
    yield app  # type: ignore[misc]
    app.extensions["smallfavor"].close()


def test_cors_on_public_endpoints_for_allowed_origins_only(cors_app: Flask) -> None:
    client = cors_app.test_client()
    preflight = client.options(
        "/v1/events",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    evil = client.options(
        "/v1/events",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in evil.headers


def test_never_cors_on_admin_or_dashboard(cors_app: Flask) -> None:
    client = cors_app.test_client()
    for method, path in (
        ("OPTIONS", "/v1/admin/experiments"),
        ("GET", "/v1/admin/experiments"),
        ("GET", "/v1/admin/exports"),
        ("OPTIONS", "/v1/conversions"),
        ("GET", "/dashboard/login"),
        ("GET", "/metrics"),
    ):
        response = client.open(
            path, method=method, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
        )
        assert "Access-Control-Allow-Origin" not in response.headers, (method, path)


# -- secrets are compared in constant time and stored hashed ----------------------------


def test_signatures_and_tokens_are_checked_with_compare_digest(
    client: FlaskClient,
    auth: Auth,
    services: Services,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    real = hmac.compare_digest

    def spy(a: object, b: object) -> bool:
        calls.append(1)
        return real(a, b)  # type: ignore[arg-type]

    monkeypatch.setattr(hmac, "compare_digest", spy)
    start_experiment(client, auth("editor"), targeting={})
    banner = banner_for(client, "constant-time")
    before = len(calls)
    post_events(client, [event(banner["token"])])
    assert len(calls) > before  # the decision token's MAC
    raw = orjson.dumps({"id": "pay_ct", "visitor": "constant-time", "amount": 5, "currency": "USD"})
    before = len(calls)
    bad = sign("not-the-secret-" + "z" * 30, int(services.clock().timestamp()), raw)
    refused = client.post(
        "/v1/conversions",
        data=raw,
        content_type="application/json",
        headers={"X-SmallFavor-Signature": bad},
    )
    assert refused.status_code == 401
    assert len(calls) > before  # the webhook MAC


def test_api_tokens_are_stored_only_as_hashes(
    client: FlaskClient, services: Services, token_for: Callable[[str], str]
) -> None:
    plain = token_for("admin")
    with services.engine.connect() as conn:
        stored = [tuple(map(str, row)) for row in conn.execute(select(api_tokens)).all()]
    assert stored and not any(plain in cell for row in stored for cell in row)
    near_miss = plain[:-1] + ("A" if plain[-1] != "A" else "B")
    answer = client.get("/v1/admin/experiments", headers={"Authorization": f"Bearer {near_miss}"})
    assert answer.status_code == 401


# -- secrets never reach the logs --------------------------------------------------------


def test_secrets_never_reach_a_log_line(
    client: FlaskClient,
    services: Services,
    settings: Settings,
    token_for: Callable[[str], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    token = token_for("editor")
    client.get("/v1/admin/experiments", headers={"Authorization": f"Bearer {token}"})
    client.get("/v1/admin/experiments", headers={"Authorization": f"Bearer {token}x"})
    raw = orjson.dumps({"id": "pay_log", "visitor": "someone-1", "amount": 5, "currency": "USD"})
    signature = sign(settings.webhook_secret, int(services.clock().timestamp()), raw)
    client.post(
        "/v1/conversions",
        data=raw,
        content_type="application/json",
        headers={"X-SmallFavor-Signature": signature},
    )
    log_in(client, make_user(services, "viewer"))
    log_in(client.application.test_client(), "viewer@newsroom.example", "wrong " + PASSWORD)
    logging.getLogger("service").warning("settings in use: %r", settings)
    text = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (token, settings.secret_key, settings.webhook_secret, PASSWORD, signature):
        assert secret not in text


# -- limits -----------------------------------------------------------------------------


def test_bodies_are_limited_in_size_and_depth(client: FlaskClient, auth: Auth) -> None:
    deep: object = "x"
    for _ in range(40):
        deep = [deep]
    nested = client.post("/v1/admin/experiments", json={"key": deep}, headers=auth("editor"))
    assert nested.status_code == 400 and nested.json["error"]["code"] == "too_deep"
    huge = client.post(
        "/v1/admin/experiments",
        data=b"{" + b" " * 2_000_000 + b"}",
        content_type="application/json",
        headers=auth("editor"),
    )
    assert huge.status_code == 413
    batch = client.post("/v1/events", data=b"x" * 70_000, content_type="text/plain")
    assert batch.status_code == 413
    hook = client.post("/v1/conversions", data=b"x" * 2_000_000, content_type="application/json")
    assert hook.status_code == 413


# -- production refuses defaults ---------------------------------------------------------


@pytest.mark.parametrize(
    "override",
    [
        {"SECRET_KEY": ""},
        {"SECRET_KEY": "changeme"},
        {"WEBHOOK_SECRET": "secret"},
        {"WEBHOOK_SECRET": "short"},
    ],
)
def test_production_refuses_default_or_missing_secrets(
    tmp_path: Path, override: dict[str, str]
) -> None:
    env = {
        "SMALLFAVOR_ENV": "production",
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": "postgresql://u@db/sf",
        "REDIS_URL": "redis://cache:6379/0",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "WEBHOOK_SECRET": secrets.token_urlsafe(48),
        **override,
    }
    env = {k: v for k, v in env.items() if v}
    with pytest.raises(SettingsError, match="SECRET"):
        Settings.from_env(env)
    assert not (tmp_path / "secret_key").exists()  # never generated one silently


# -- bytes PostgreSQL refuses never reach it ----------------------------------------------


def test_nul_and_control_characters_are_refused_at_the_edge(
    client: FlaskClient, auth: Auth, services: Services
) -> None:
    from tests.support import experiment_doc

    bad = client.post(
        "/v1/admin/experiments", json=experiment_doc(name="Winter\x00ask"), headers=auth("editor")
    )
    assert bad.status_code == 422
    assert bad.json["error"]["fields"]["name"] == "must not contain control characters"
    for path in ("/v1/admin/experiments/%00", "/v1/admin/experiments/a%00b/report"):
        assert client.get(path, headers=auth("viewer")).status_code == 404
    make_user(services, "viewer")
    assert log_in(client, "viewer@newsroom.example\x00", PASSWORD).status_code == 401
