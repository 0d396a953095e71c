"""Dashboard users. Passwords are hashed with scrypt through werkzeug.

Changing a user's password, role or disabled flag ends every dashboard session of theirs in
the same transaction: a session opened under the old password or role must not outlive it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from service.domain.roles import Role
from service.store.sql.access_tables import dashboard_sessions, users
from service.store.sql.admin_audit_repo import record

MIN_PASSWORD_LENGTH = 10
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+")
# Checked against when the e-mail is unknown, so that a wrong e-mail and a wrong password
# take the same time and do not reveal which accounts exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


def check_new_password(password: str) -> None:
    """The rule every new password meets, from the CLI or the dashboard."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidUser("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")


def check_new_email(email: str) -> str:
    """The e-mail as stored (trimmed, lower case); raises InvalidUser when it is not one."""
    email = email.strip().lower()
    if not _EMAIL.fullmatch(email) or len(email) > 254:
        raise InvalidUser("email", "must be an e-mail address")
    return email


class UserExists(Exception):
    pass


class InvalidUser(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    role: Role
    disabled: bool


# Who made a change, and when, for the admin audit.
Actor = tuple[str, datetime]


@dataclass(frozen=True, slots=True)
class UserListing:
    user: User
    created_at: datetime
    last_login_at: datetime | None


class UserRepo:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, email: str, password: str, role: Role, now: datetime) -> User:
        email = check_new_email(email)
        check_new_password(password)
        try:
            with self._engine.begin() as conn:
                new_id = conn.execute(
                    insert(users).values(
                        email=email,
                        role=str(role),
                        disabled=False,
                        created_at=now,
                        password_hash=generate_password_hash(password, method="scrypt"),
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
        except IntegrityError:
            raise UserExists(email) from None
        return User(new_id, email, role, False)

    def get(self, user_id: int) -> User | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
        return User(row.id, row.email, Role(row.role), row.disabled) if row else None

    def get_by_email(self, email: str) -> User | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.email == email.strip().lower())).first()
        return User(row.id, row.email, Role(row.role), row.disabled) if row else None

    def verify(self, email: str, password: str, now: datetime) -> User | None:
        if not _EMAIL.fullmatch(email.strip()):
            check_password_hash(_DUMMY_HASH, password)  # same time as a wrong password
            return None
        with self._engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.email == email.strip().lower())).first()
            if row is None:
                check_password_hash(_DUMMY_HASH, password)
                return None
            if row.disabled or not check_password_hash(row.password_hash, password):
                return None
            conn.execute(update(users).where(users.c.id == row.id).values(last_login_at=now))
            conn.commit()
        return User(row.id, row.email, Role(row.role), row.disabled)

    def check_password(self, user_id: int, password: str) -> bool:
        """The user's current password, for changes that must be confirmed with it."""
        with self._engine.connect() as conn:
            stored = conn.execute(
                select(users.c.password_hash).where(users.c.id == user_id)
            ).scalar_one_or_none()
        if stored is None:
            check_password_hash(_DUMMY_HASH, password)
            return False
        return check_password_hash(stored, password)

    def set_password(self, email: str, password: str) -> User | None:
        """None when no user has that e-mail. Ends all the user's sessions."""
        check_new_password(password)
        digest = generate_password_hash(password, method="scrypt")
        return self._change(email, password_hash=digest)

    def set_role(self, email: str, role: Role, by: Actor | None = None) -> User | None:
        """None when no user has that e-mail. Ends all the user's sessions. Given who and
        when, the change is audited in the same transaction."""
        return self._change(email, by, f"user.role-{role}", role=str(role))

    def set_disabled(self, email: str, disabled: bool, by: Actor | None = None) -> User | None:
        """None when no user has that e-mail. Ends all the user's sessions (there are none
        to end when enabling, unless some were opened while the flag was being set)."""
        action = "user.disable" if disabled else "user.enable"
        return self._change(email, by, action, disabled=disabled)

    def list_all(self) -> list[UserListing]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(users).order_by(users.c.email)).all()
        return [
            UserListing(
                User(r.id, r.email, Role(r.role), r.disabled), r.created_at, r.last_login_at
            )
            for r in rows
        ]

    def end_sessions(self, user_id: int) -> int:
        """Sign the user out everywhere; the number of sessions ended."""
        with self._engine.begin() as conn:
            return end_sessions(conn, user_id)

    def _change(
        self, email: str, by: Actor | None = None, action: str = "", **values: object
    ) -> User | None:
        with self._engine.begin() as conn:
            row = conn.execute(
                update(users)
                .where(users.c.email == email.strip().lower())
                .values(**values)
                .returning(users.c.id, users.c.email, users.c.role, users.c.disabled)
            ).first()
            if row is None:
                return None
            end_sessions(conn, row.id)
            if by is not None:
                record(conn, by[1], by[0], action, row.email)
        return User(row.id, row.email, Role(row.role), row.disabled)


def end_sessions(conn: Connection, user_id: int) -> int:
    return conn.execute(
        delete(dashboard_sessions).where(dashboard_sessions.c.user_id == user_id)
    ).rowcount
