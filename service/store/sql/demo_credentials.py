"""The demo install's well-known credentials, found and taken away (service/demo/remove.py).

`smallfavor seed-demo` creates a staff user whose password is printed in the README and an
admin token kept in plain text under var/. Production refuses to serve while either still
works, so this module answers "do they?" and "make them stop working", nothing else.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from service.store.sql.access_tables import api_tokens as t
from service.store.sql.access_tables import users
from service.store.sql.tokens_repo import hash_token


@dataclass(frozen=True, slots=True)
class DemoToken:
    id: int
    name: str
    prefix: str


@dataclass(frozen=True, slots=True)
class DemoUser:
    enabled: bool
    # A user whose password was changed to a private one is no longer a known credential.
    published_password_works: bool


class DemoCredentialStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def user(self, email: str, password: str) -> DemoUser | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(users.c.disabled, users.c.password_hash).where(users.c.email == email)
            ).first()
        if row is None:
            return None
        return DemoUser(not row.disabled, check_password_hash(row.password_hash, password))

    def active_tokens(self, name: str, plain: tuple[str, ...]) -> list[DemoToken]:
        """Unrevoked tokens called `name`, or whose plain text is one of `plain`."""
        wanted = [t.c.name == name]
        if plain:
            wanted.append(t.c.token_hash.in_([hash_token(p) for p in plain]))
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(t.c.id, t.c.name, t.c.prefix)
                .where(t.c.revoked_at.is_(None), or_(*wanted))
                .order_by(t.c.id)
            ).all()
        return [DemoToken(row.id, row.name, row.prefix) for row in rows]

    def disable_user(self, email: str) -> None:
        """Disable the user and replace its password with one nobody knows, so that a later
        re-enable cannot bring the published password back. The row stays: revisions and
        audit entries name their actor by e-mail."""
        unusable = generate_password_hash(secrets.token_urlsafe(32), method="scrypt")
        with self._engine.begin() as conn:
            conn.execute(
                update(users)
                .where(users.c.email == email)
                .values(disabled=True, password_hash=unusable)
            )

    def revoke_tokens(self, ids: list[int], now: datetime) -> int:
        if not ids:
            return 0
        with self._engine.begin() as conn:
            return conn.execute(
                update(t).where(t.c.id.in_(ids), t.c.revoked_at.is_(None)).values(revoked_at=now)
            ).rowcount
