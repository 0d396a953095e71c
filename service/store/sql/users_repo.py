"""Dashboard users. Passwords are hashed with scrypt through werkzeug."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from service.domain.roles import Role
from service.store.sql.tables import users

MIN_PASSWORD_LENGTH = 10
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+")
# Checked against when the e-mail is unknown, so that a wrong e-mail and a wrong password
# take the same time and do not reveal which accounts exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


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


class UserRepo:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, email: str, password: str, role: Role, now: datetime) -> User:
        email = email.strip().lower()
        if not _EMAIL.fullmatch(email) or len(email) > 254:
            raise InvalidUser("email", "must be an e-mail address")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidUser("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
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
