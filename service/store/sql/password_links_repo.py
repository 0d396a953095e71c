"""Invitations and password resets: one-time set-password links.

A link carries a random token (256 bits); only its SHA-256 is stored. It works once, before it
expires; using it sets the password and ends the user's sessions. An invited user, and a user
whose password was reset, has a random password nobody knows until the link is used. Each
invitation and reset is audited in the same transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import Connection, Engine, Row, insert, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

from service.domain.roles import Role
from service.store.sql.access_tables import password_links as pl
from service.store.sql.access_tables import users
from service.store.sql.admin_audit_repo import record
from service.store.sql.users_repo import (
    User,
    UserExists,
    check_new_email,
    check_new_password,
    end_sessions,
)

LINK_LIFETIME = timedelta(hours=72)
LinkState = Literal["ok", "used", "expired", "unknown"]


class LinkRefused(Exception):
    def __init__(self, state: LinkState) -> None:
        super().__init__(state)
        self.state = state


@dataclass(frozen=True, slots=True)
class LinkCheck:
    state: LinkState
    email: str | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _unusable_password() -> str:
    return generate_password_hash(secrets.token_urlsafe(32), method="scrypt")


class PasswordLinkRepo:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def invite(self, email: str, role: Role, now: datetime, actor: str) -> tuple[User, str]:
        """A new user who signs in only after setting a password through the returned token."""
        email = check_new_email(email)
        try:
            with self._engine.begin() as conn:
                new_id = conn.execute(
                    insert(users).values(
                        email=email,
                        role=str(role),
                        disabled=False,
                        created_at=now,
                        password_hash=_unusable_password(),
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
                token = _issue(conn, new_id, now)
                record(conn, now, actor, "user.invite", f"{email} ({role})")
        except IntegrityError:
            raise UserExists(email) from None
        return User(new_id, email, role, False), token

    def reset(self, user_id: int, now: datetime, actor: str) -> tuple[User, str] | None:
        """Forget the user's password, end their sessions and give a new link; None when
        there is no such user."""
        with self._engine.begin() as conn:
            row = conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(password_hash=_unusable_password())
                .returning(users.c.id, users.c.email, users.c.role, users.c.disabled)
            ).first()
            if row is None:
                return None
            end_sessions(conn, row.id)
            token = _issue(conn, row.id, now)
            record(conn, now, actor, "user.reset-password", row.email)
        return User(row.id, row.email, Role(row.role), row.disabled), token

    def check(self, token: str, now: datetime) -> LinkCheck:
        with self._engine.connect() as conn:
            row = _find(conn, token)
        if row is None:
            return LinkCheck("unknown", None)
        return LinkCheck(_state(row, now), row.email)

    def use(self, token: str, password: str, now: datetime) -> User:
        """Set the password and spend the link; raises LinkRefused (used, expired, unknown) or
        InvalidUser (a password too short)."""
        check_new_password(password)
        with self._engine.begin() as conn:
            row = _find(conn, token)
            if row is None:
                raise LinkRefused("unknown")
            state = _state(row, now)
            if state != "ok":
                raise LinkRefused(state)
            # Spent with a guard, so two posts of the same link cannot both set a password.
            spent = conn.execute(
                update(pl).where(pl.c.id == row.link_id, pl.c.used_at.is_(None)).values(used_at=now)
            )
            if spent.rowcount != 1:
                raise LinkRefused("used")
            conn.execute(
                update(users)
                .where(users.c.id == row.id)
                .values(password_hash=generate_password_hash(password, method="scrypt"))
            )
            end_sessions(conn, row.id)
            record(conn, now, row.email, "user.set-password", "with a one-time link")
        return User(row.id, row.email, Role(row.role), False)


def _issue(conn: Connection, user_id: int, now: datetime) -> str:
    # An older unused link of the user stops working: only the newest one is live.
    conn.execute(
        update(pl).where(pl.c.user_id == user_id, pl.c.used_at.is_(None)).values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(pl).values(
            token_hash=_hash(token),
            user_id=user_id,
            created_at=now,
            expires_at=now + LINK_LIFETIME,
        )
    )
    return token


def _find(conn: Connection, token: str) -> Row[Any] | None:
    row = conn.execute(
        select(
            pl.c.id.label("link_id"),
            pl.c.expires_at,
            pl.c.used_at,
            users.c.id,
            users.c.email,
            users.c.role,
            users.c.disabled,
        )
        .join(users, users.c.id == pl.c.user_id)
        .where(pl.c.token_hash == _hash(token))
    ).first()
    return cast("Row[Any] | None", row)  # read by column name only


def _state(row: Row[Any], now: datetime) -> LinkState:
    if row.used_at is not None:
        return "used"
    if row.disabled:  # a disabled user's link opens nothing
        return "unknown"
    if row.expires_at <= now:
        return "expired"
    return "ok"
