"""`smallfavor seed-demo` and `remove-demo`: the demo experiment and its known credentials."""

from __future__ import annotations

import click

from service.cli.common import Failure, services, settings_from_env
from service.cli.registry import register


@register
@click.command("seed-demo")
def seed_demo_command() -> None:
    """Seed the demo experiment, admin user and token (idempotent; not in production)."""
    from service.demo.seed import seed_demo

    settings = settings_from_env()
    if settings.is_production:
        raise Failure("seed-demo creates a known password and refuses to run in production")
    with services() as svc:
        creds = seed_demo(svc)
    click.echo(f"demo experiment {creds.experiment!r} is running")
    click.echo(f"staff user (admin): {creds.email} / {creds.password}")
    click.echo(f"admin API token: {creds.admin_token}")


@register
@click.command("remove-demo")
def remove_demo_command() -> None:
    """Disable the demo staff user, revoke the demo admin tokens and delete
    VAR_DIR/demo_admin_token (production refuses to serve while they work)."""
    from service.demo.remove import remove_demo

    with services() as svc:
        done = remove_demo(svc)
    for line in done or ["no demo credentials found"]:
        click.echo(line)
