"""`smallfavor serve`: the whole local stack under one supervisor."""

from __future__ import annotations

import os
from pathlib import Path

import click

from service.cli.common import Failure, settings_from_env
from service.cli.registry import register


@register
@click.command()
def serve() -> None:
    """Run the web app (gunicorn, deploy/gunicorn.conf.py), the flusher and the export
    scheduler together: the local `make run`. One that exits is restarted with backoff
    (service/supervisor.py); Ctrl-C or SIGTERM stops them all and removes what serve made."""
    from service.local_stack import shared_environment, spawners
    from service.log_format import configure_logging
    from service.supervisor import Supervisor, run_until_signalled

    settings = settings_from_env()
    config = Path("deploy/gunicorn.conf.py")
    if not config.exists():
        raise Failure(f"{config} not found; run from the repository root")
    configure_logging(settings.log_level)  # restarts are logged as JSON lines on stderr
    with shared_environment(settings, os.environ) as env:
        _print_welcome(settings.public_url)
        run_until_signalled(Supervisor(spawners(env, config)))


def _print_welcome(url: str) -> None:
    from service.demo.experiment import DEMO_KEY

    click.echo(f"Small Favor on {url}")
    click.echo(f"  demo article  {url}/demo")
    click.echo(f"  dashboard     {url}/dashboard/ (the staff user seed-demo printed)")
    click.echo(f"  health        {url}/readyz")
    click.echo(f"  admin API     {url}/v1/admin/experiments")
    click.echo(
        f"  traffic       .venv/bin/smallfavor simulate --experiment {DEMO_KEY} "
        "--visitors 5000 --rates control=0.020,five-dollars=0.035"
    )
