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
from service.store.sql.tables import api_tokens as t

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


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenRepo:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, name: str, role: Role, now: datetime) -> tuple[ApiToken, str]:
        """Returns the stored token and its plain text, which is never retrievable again."""
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
        return ApiToken(new_id, name, role, plain[:10], now, None), plain

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
