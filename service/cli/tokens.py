"""`smallfavor tokens create|list|revoke`: admin API tokens. Creating and revoking are
recorded in the admin audit (actor "cli"), as the dashboard's tokens page records its own."""

from __future__ import annotations

import click

from service.cli.common import ROLE, Failure, services
from service.cli.registry import register
from service.domain.roles import Role
from service.store.sql.admin_audit_repo import CLI_ACTOR


@register
@click.group()
def tokens() -> None:
    """Admin API tokens."""


@tokens.command("create")
@click.option("--role", type=ROLE, required=True)
@click.option("--name", required=True, help="Who or what the token is for.")
def tokens_create(role: str, name: str) -> None:
    """Create a token; the token alone is printed on the last line, once."""
    if not 1 <= len(name) <= 100:
        raise Failure("--name must be 1 to 100 characters")
    with services() as svc:
        token, plain = svc.tokens.create(name, Role(role), svc.clock(), CLI_ACTOR)
    click.echo(f"created {token.role} token {token.name!r} ({token.prefix}…); store it now:")
    click.echo(plain)


@tokens.command("list")
def tokens_list() -> None:
    """Every token: id, role, name, created and last used (UTC), revoked or not."""
    with services() as svc:
        listed = svc.tokens.list_all()
    if not listed:
        click.echo("no tokens")
    for token in listed:
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "live"
        click.echo(
            f"{token.id}\t{token.role}\t{token.name!r}\t{token.prefix}…\t"
            f"created {token.created_at:%Y-%m-%d %H:%M}\tlast used {used}\t{state}"
        )


@tokens.command("revoke")
@click.argument("token_id", type=click.IntRange(1, 2**31 - 1))
def tokens_revoke(token_id: int) -> None:
    """Revoke the token with this id (see `smallfavor tokens list`); it is refused at once."""
    with services() as svc:
        revoked = svc.tokens.revoke(token_id, svc.clock(), CLI_ACTOR)
    if revoked is None:
        raise Failure(f"no live token has the id {token_id}")
    click.echo(f"revoked {revoked.role} token {revoked.name!r} ({revoked.prefix}…)")
