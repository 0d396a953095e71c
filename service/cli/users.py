"""`smallfavor users create|set-password|set-role|disable|enable|sign-out`: dashboard users.

Each change that affects what a user may do ends all their dashboard sessions in the same
transaction, so a stolen or forgotten session does not outlive it. These commands need SQL
only: an operator can lock a user out while Redis is down.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from service.cli.common import ROLE, Failure, settings_from_env
from service.cli.registry import register
from service.clock import utc_now
from service.domain.roles import Role
from service.store.sql.admin_audit_repo import CLI_ACTOR
from service.store.sql.users_repo import InvalidUser, User, UserExists, UserRepo

_EMAIL = click.option("--email", required=True, help="The user's e-mail address.")


@register
@click.group()
def users() -> None:
    """Dashboard users."""


@contextmanager
def _users() -> Iterator[UserRepo]:
    from service.store.sql.engine import build_engine

    engine = build_engine(settings_from_env().database_url)
    try:
        yield UserRepo(engine)
    except InvalidUser as exc:
        raise Failure(f"{exc.field} {exc}") from None
    finally:
        engine.dispose()


def _found(user: User | None, email: str) -> User:
    if user is None:
        raise Failure(f"no user has the e-mail {email.strip().lower()}")
    return user


@users.command("create")
@click.option("--email", required=True)
@click.option("--role", type=ROLE, required=True)
def users_create(email: str, role: str) -> None:
    """Create a user; the password is read from standard input."""
    password = sys.stdin.readline().rstrip("\r\n")
    with _users() as repo:
        try:
            user = repo.create(email, password, Role(role), utc_now())
        except UserExists:
            raise Failure(f"a user with e-mail {email.strip().lower()} exists") from None
    click.echo(f"created {user.role} user {user.email}")


@users.command("set-password")
@_EMAIL
def set_password(email: str) -> None:
    """Set a new password, read from standard input; ends all the user's sessions."""
    password = sys.stdin.readline().rstrip("\r\n")
    with _users() as repo:
        user = _found(repo.set_password(email, password), email)
    click.echo(f"password of {user.email} changed; their sessions are signed out")


@users.command("set-role")
@_EMAIL
@click.option("--role", type=ROLE, required=True)
def set_role(email: str, role: str) -> None:
    """Change the user's role; ends all the user's sessions."""
    with _users() as repo:
        user = _found(repo.set_role(email, Role(role), (CLI_ACTOR, utc_now())), email)
    click.echo(f"{user.email} is now {user.role}; their sessions are signed out")


@users.command("disable")
@_EMAIL
def disable(email: str) -> None:
    """Stop the user signing in; ends all the user's sessions."""
    with _users() as repo:
        user = _found(repo.set_disabled(email, True, (CLI_ACTOR, utc_now())), email)
    click.echo(f"{user.email} is disabled; their sessions are signed out")


@users.command("enable")
@_EMAIL
def enable(email: str) -> None:
    """Let a disabled user sign in again."""
    with _users() as repo:
        user = _found(repo.set_disabled(email, False, (CLI_ACTOR, utc_now())), email)
    click.echo(f"{user.email} is enabled")


@users.command("sign-out")
@_EMAIL
def sign_out(email: str) -> None:
    """End all the user's dashboard sessions (they can sign in again)."""
    with _users() as repo:
        user = _found(repo.get_by_email(email), email)
        ended = repo.end_sessions(user.id)
    click.echo(f"{user.email}: {ended} session{'s' if ended != 1 else ''} signed out")
