"""Idempotent seeding of the demo install: experiment, admin user and admin token."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from service.demo.experiment import DEMO_KEY, demo_document
from service.domain.experiment import Status
from service.domain.lifecycle import Action, next_status
from service.domain.roles import Role
from service.schemas.experiment import parse_experiment
from service.store.sql.users_repo import UserExists
from service.wiring import Services

DEMO_EMAIL = "demo@smallfavor.local"
DEMO_PASSWORD = "small-favor-demo"
# Published in the README: production refuses to serve while these work (service/demo/remove.py).
DEMO_TOKEN_NAME = "demo-admin"
DEMO_TOKEN_FILE = "demo_admin_token"
_ACTOR = "seed-demo"


@dataclass(frozen=True, slots=True)
class DemoCredentials:
    experiment: str
    email: str
    password: str
    admin_token: str


def seed_demo(svc: Services) -> DemoCredentials:
    now = svc.clock()
    stored = svc.experiments.get(DEMO_KEY)
    if stored is None:
        stored = svc.experiments.create(
            parse_experiment(demo_document(svc.settings.public_url)), _ACTOR, now
        )
    if stored.experiment.status in (Status.draft, Status.paused):
        svc.experiments.save(
            stored.experiment.with_status(next_status(stored.experiment.status, Action.start)),
            action="start",
            actor=_ACTOR,
            now=now,
            expected_revision=stored.revision,
        )
    with suppress(UserExists):
        svc.users.create(DEMO_EMAIL, DEMO_PASSWORD, Role.admin, now)
    svc.announce_config_change()
    return DemoCredentials(DEMO_KEY, DEMO_EMAIL, DEMO_PASSWORD, _demo_token(svc))


def token_path(svc: Services) -> Path:
    return svc.settings.var_dir / DEMO_TOKEN_FILE


def _demo_token(svc: Services) -> str:
    """The demo admin token is kept in plain text under var/ (local installs only) so that
    `make run` can print the same working token every time; the database holds its hash."""
    path = token_path(svc)
    if path.exists():
        token = path.read_text().strip()
        if svc.tokens.exists_active(token):
            return token
    _, token = svc.tokens.create(DEMO_TOKEN_NAME, Role.admin, svc.clock())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(token)
    path.chmod(0o600)
    return token
