"""`smallfavor serve`: the whole local stack under one supervisor."""

from __future__ import annotations

import os
import shlex
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
        click.echo(welcome(settings.public_url, settings.var_dir, Path.cwd(), settings.smtp_host))
        run_until_signalled(Supervisor(spawners(env, config)))


def welcome(url: str, var_dir: Path, cwd: Path, smtp_host: str = "") -> str:
    """What `make run` prints: every address a first user needs, and commands that work as
    printed from the repository root whatever PORT, PUBLIC_URL or VAR_DIR say."""
    from service.demo.experiment import DEMO_KEY
    from service.demo.seed import DEMO_TOKEN_FILE

    default_var = (cwd / "var").resolve()
    # The other terminal must find the same generated webhook secret and demo token.
    env = "" if var_dir == default_var else f"VAR_DIR={shlex.quote(str(var_dir))} "
    token_file = _shown_path(var_dir / DEMO_TOKEN_FILE, cwd)
    return "\n".join(
        [
            f"Small Favor on {url}",
            f"  demo article  {url}/demo",
            f"  dashboard     {url}/dashboard/ (the staff user seed-demo printed)",
            f"  API docs      {url}/docs and the OpenAPI document {url}/openapi.json",
            f"  health        curl {url}/readyz",
            f'  admin API     curl -H "Authorization: Bearer $(cat {token_file})" '
            f"{url}/v1/admin/experiments",
            f"  traffic       {env}.venv/bin/smallfavor simulate --experiment {DEMO_KEY} "
            f"--visitors 5000 --rates control=0.020,five-dollars=0.035 --base-url {url}",
            f"  {reminder_mail_line(var_dir, cwd, smtp_host)}",
        ]
    )


def reminder_mail_line(var_dir: Path, cwd: Path, smtp_host: str) -> str:
    """Where the reminder e-mails of the demo's offer go: without a relay they are written as
    files under var/, so sign-up, confirmation and the reminder itself work on a laptop."""
    if smtp_host:
        return f"Reminder e-mails: sent through SMTP {smtp_host}"
    mail_dir = _shown_path(var_dir / "mail", cwd)
    return f"Reminder e-mails: written to {mail_dir}/ (no SMTP_HOST set)"


def _shown_path(path: Path, cwd: Path) -> str:
    """Relative to the repository root when under it (as the README writes it)."""
    try:
        return shlex.quote(str(path.relative_to(cwd.resolve())))
    except ValueError:
        return shlex.quote(str(path))
