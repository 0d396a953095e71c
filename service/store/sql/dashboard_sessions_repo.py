"""Server-side dashboard sessions: a row per sign-in, so that ending one takes effect at once.

The browser's cookie carries a random session id (256 bits); only its SHA-256 is stored, so a
copy of the table opens no session, and the lookup by hash compares no secret in Python.
Ending a session deletes its row (logout, "sign out everywhere", and UserRepo's changes to a
password, role or disabled flag); an id with no row, or past its expiry, is signed out.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update

from service.domain.roles import Role
from service.store.sql.access_tables import dashboard_sessions as ds
from service.store.sql.access_tables import users
from service.store.sql.users_repo import User

USER_AGENT_LENGTH = 200
# last_seen_at is informational (the account page lists it); writing it on every page view
# would turn each read into a write.
_LAST_SEEN_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ActiveSession:
    id: int
    user: User


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_agent: str


def hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


class DashboardSessionRepo:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def start(self, user_id: int, now: datetime, lifetime: timedelta, user_agent: str) -> str:
        """A new session for the user; returns its id, which is never retrievable again."""
        session_id = secrets.token_urlsafe(32)
        agent = "".join(c for c in user_agent if c.isprintable())[:USER_AGENT_LENGTH]
        with self._engine.begin() as conn:
            # Expired rows of this user go here, so the table stays as large as the live
            # sessions without a cleanup job.
            conn.execute(delete(ds).where(ds.c.user_id == user_id, ds.c.expires_at <= now))
            conn.execute(
                insert(ds).values(
                    token_hash=hash_session_id(session_id),
                    user_id=user_id,
                    created_at=now,
                    expires_at=now + lifetime,
                    last_seen_at=now,
                    user_agent=agent,
                )
            )
        return session_id

    def load(self, session_id: str, now: datetime) -> ActiveSession | None:
        """The live session and its user, in one query; None when the session was ended, has
        expired, or its user is disabled."""
        query = (
            select(
                ds.c.id.label("session_id"),
                ds.c.last_seen_at,
                users.c.id,
                users.c.email,
                users.c.role,
            )
            .join(users, users.c.id == ds.c.user_id)
            .where(
                ds.c.token_hash == hash_session_id(session_id),
                ds.c.expires_at > now,
                users.c.disabled.is_(False),
            )
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
            if row is None:
                return None
            if now - row.last_seen_at >= _LAST_SEEN_RESOLUTION:
                conn.execute(update(ds).where(ds.c.id == row.session_id).values(last_seen_at=now))
                conn.commit()
        return ActiveSession(row.session_id, User(row.id, row.email, Role(row.role), False))

    def end(self, session_id: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(ds).where(ds.c.token_hash == hash_session_id(session_id)))

    def end_one(self, user_id: int, row_id: int) -> bool:
        """End one of the user's own sessions by its listed id; False if there is none."""
        with self._engine.begin() as conn:
            ended = conn.execute(delete(ds).where(ds.c.id == row_id, ds.c.user_id == user_id))
        return bool(ended.rowcount)

    def list_for_user(self, user_id: int, now: datetime) -> list[SessionInfo]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(ds)
                .where(ds.c.user_id == user_id, ds.c.expires_at > now)
                .order_by(ds.c.created_at.desc(), ds.c.id.desc())
            ).all()
        return [
            SessionInfo(r.id, r.created_at, r.last_seen_at, r.expires_at, r.user_agent)
            for r in rows
        ]
