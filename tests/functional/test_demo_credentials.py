"""Production refuses to serve while the demo's published login or admin token works, names
them and the command that removes them; `smallfavor remove-demo` takes them away."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, select

from service.app import create_app
from service.demo.remove import DemoCredentialsPresent, remove_demo
from service.demo.seed import DEMO_EMAIL, DEMO_PASSWORD, seed_demo
from service.domain.roles import Role
from service.settings import Settings
from service.store.sql.access_tables import users
from service.wiring import Services
from tests.support import FakeClock

REMOVE = "smallfavor remove-demo"


@pytest.fixture
def production(env: dict[str, str]) -> dict[str, str]:
    return {
        **env,
        "SMALLFAVOR_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "WEBHOOK_SECRET": secrets.token_urlsafe(48),
    }


@pytest.fixture
def local(env: dict[str, str], clean_db: Engine, redis_client: Any) -> Iterator[Services]:
    """The services of a local install on the same database: where seed-demo runs."""
    svc = Services.build(Settings.from_env(env), FakeClock())
    yield svc
    svc.close()


@pytest.fixture
def started() -> Iterator[list[Flask]]:
    apps: list[Flask] = []
    yield apps
    for app in apps:
        app.extensions["smallfavor"].close()


def start(production: dict[str, str], apps: list[Flask], clock: FakeClock | None = None) -> Flask:
    app = create_app(Settings.from_env(production), clock=clock or FakeClock())
    apps.append(app)
    return app


def smallfavor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_with_the_demo_seeded_and_names_them(
    production: dict[str, str], local: Services, started: list[Flask]
) -> None:
    token = seed_demo(local).admin_token
    with pytest.raises(DemoCredentialsPresent) as refused:
        start(production, started)
    message = str(refused.value)
    assert DEMO_EMAIL in message and "'demo-admin'" in message and REMOVE in message
    assert DEMO_PASSWORD not in message and token not in message  # named, never printed


def test_remove_demo_in_production_lets_it_serve_and_the_credentials_stop_working(
    production: dict[str, str], local: Services, started: list[Flask]
) -> None:
    token = seed_demo(local).admin_token
    token_file = Path(production["VAR_DIR"]) / "demo_admin_token"
    assert token_file.exists()

    removed = smallfavor(production, "remove-demo")
    assert removed.returncode == 0, removed.stderr
    assert DEMO_EMAIL in removed.stdout and "'demo-admin'" in removed.stdout
    assert not token_file.exists()

    client = start(production, started).test_client()
    assert client.get("/readyz").status_code == 200
    admin = client.get("/v1/admin/experiments", headers={"Authorization": f"Bearer {token}"})
    assert admin.status_code == 401
    assert local.users.verify(DEMO_EMAIL, DEMO_PASSWORD, local.clock()) is None
    with local.engine.connect() as conn:
        assert conn.execute(select(users.c.disabled).where(users.c.email == DEMO_EMAIL)).one()[0]

    again = smallfavor(production, "remove-demo")
    assert again.returncode == 0 and "no demo credentials found" in again.stdout


def test_demo_tokens_are_found_by_name_and_alone_block_production(
    production: dict[str, str], local: Services, started: list[Flask]
) -> None:
    seed_demo(local)
    Path(production["VAR_DIR"], "demo_admin_token").unlink()  # a restored dump: no file
    local.tokens.create("demo-admin", Role.viewer, local.clock())  # a second one
    with pytest.raises(DemoCredentialsPresent) as refused:
        start(production, started)
    assert str(refused.value).count("'demo-admin'") == 2 and DEMO_EMAIL in str(refused.value)

    assert remove_demo(local)
    local.tokens.create("demo-admin", Role.admin, local.clock())
    with pytest.raises(DemoCredentialsPresent) as refused:
        start(production, started)
    assert "'demo-admin'" in str(refused.value) and DEMO_EMAIL not in str(refused.value)


def test_a_seed_while_running_takes_production_out_of_service_until_removed(
    production: dict[str, str], local: Services, started: list[Flask]
) -> None:
    clock = FakeClock()
    client = start(production, started, clock).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["checks"]["demo_credentials"] == "ok"

    token = seed_demo(local).admin_token
    clock.advance(seconds=5)

    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert REMOVE in ready.json["checks"]["demo_credentials"]
    login = client.post("/dashboard/login", data={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    assert login.status_code == 503
    assert "text/html" in login.content_type and REMOVE in login.get_data(as_text=True)
    admin = client.get("/v1/admin/experiments", headers={"Authorization": f"Bearer {token}"})
    assert admin.status_code == 503
    assert admin.json["error"]["code"] == "demo_credentials"
    assert REMOVE in admin.json["error"]["message"]
    # Readers are not staff: the public endpoints keep working.
    assert client.get("/healthz").status_code == 200
    assert client.get("/v1/decision?visitor=reader-0001&placement=header").status_code == 200

    remove_demo(local)
    clock.advance(seconds=5)
    assert client.get("/readyz").status_code == 200
    assert client.get("/dashboard/login").status_code == 200
    revoked = client.get("/v1/admin/experiments", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 401


def test_development_keeps_the_demo(
    env: dict[str, str], local: Services, started: list[Flask]
) -> None:
    seed_demo(local)
    app = create_app(Settings.from_env(env), clock=FakeClock())
    started.append(app)
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200 and "demo_credentials" not in ready.json["checks"]
