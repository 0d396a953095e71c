"""`smallfavor tokens create`: admin API tokens."""

from __future__ import annotations

import click

from service.cli.common import ROLE, Failure, services
from service.cli.registry import register
from service.domain.roles import Role


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
        token, plain = svc.tokens.create(name, Role(role), svc.clock())
    click.echo(f"created {token.role} token {token.name!r} ({token.prefix}…); store it now:")
    click.echo(plain)
