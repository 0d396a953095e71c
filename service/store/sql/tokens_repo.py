"""API tokens for the admin API, stored only as SHA-256 hashes.

Tokens carry 256 bits of randomness, so a fast unsalted hash is enough: there is nothing to
brute-force, and an index lookup by hash never compares secrets byte by byte in Python.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, insert, select, update

from service.domain.roles import Role
from service.store.sql.access_tables import api_tokens as t
from service.store.sql.admin_audit_repo import record

TOKEN_PREFIX = "sf_"
# last_used_at is informational; writing it on every request would turn reads into writes.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    name: str
    role: Role
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenRepo:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(
        self, name: str, role: Role, now: datetime, actor: str | None = None
    ) -> tuple[ApiToken, str]:
        """Returns the stored token and its plain text, which is never retrievable again.
        With an actor, the creation is audited (demo seeding passes none)."""
        plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._engine.begin() as conn:
            new_id = conn.execute(
                insert(t).values(
                    name=name,
                    role=str(role),
                    token_hash=hash_token(plain),
                    prefix=plain[:10],
                    created_at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            if actor is not None:
                record(conn, now, actor, "token.create", f"token {new_id} {name!r} ({role})")
        return ApiToken(new_id, name, role, plain[:10], now, None), plain

    def list_all(self) -> list[ApiToken]:
        """Every token, the live ones first, newest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(t).order_by(
                    t.c.revoked_at.is_not(None), t.c.created_at.desc(), t.c.id.desc()
                )
            ).all()
        return [
            ApiToken(
                r.id, r.name, Role(r.role), r.prefix, r.created_at, r.last_used_at, r.revoked_at
            )
            for r in rows
        ]

    def revoke(self, token_id: int, now: datetime, actor: str) -> ApiToken | None:
        """Revoke a live token (it is refused from the next request on) and audit it; None
        when there is no such token or it was revoked already."""
        with self._engine.begin() as conn:
            row = conn.execute(
                update(t)
                .where(t.c.id == token_id, t.c.revoked_at.is_(None))
                .values(revoked_at=now)
                .returning(t)
            ).first()
            if row is None:
                return None
            record(conn, now, actor, "token.revoke", f"token {row.id} {row.name!r} ({row.role})")
        return ApiToken(
            row.id, row.name, Role(row.role), row.prefix, row.created_at, row.last_used_at, now
        )

    def authenticate(self, plain: str, now: datetime) -> ApiToken | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(t).where(*_active(plain))).first()
            if row is None:
                return None
            if row.last_used_at is None or now - row.last_used_at > _LAST_USED_RESOLUTION:
                conn.execute(update(t).where(t.c.id == row.id).values(last_used_at=now))
                conn.commit()
        return ApiToken(row.id, row.name, Role(row.role), row.prefix, row.created_at, now)

    def exists_active(self, plain: str) -> bool:
        with self._engine.connect() as conn:
            return conn.execute(select(t.c.id).where(*_active(plain))).first() is not None


def _active(plain: str) -> tuple[ColumnElement[bool], ...]:
    return t.c.token_hash == hash_token(plain), t.c.revoked_at.is_(None)
