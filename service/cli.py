"""The `smallfavor` command line. Every command exits non-zero with a one-line reason."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from service.domain.roles import Role
from service.jobs.exports.cli import export_command, schedule_command
from service.jobs.simulate.command import simulate
from service.settings import Settings, SettingsError
from service.users_cli import register as register_user_commands
from service.wiring import Services

ROLE = click.Choice([r.value for r in Role])


class Failure(click.ClickException):
    """A one-line reason on stderr, exit status 1."""

    def show(self, file: object = None) -> None:
        click.echo(f"smallfavor: error: {self.message}", err=True)


def _settings() -> Settings:
    try:
        return Settings.from_env(os.environ)
    except SettingsError as exc:
        raise Failure(str(exc)) from None


@contextmanager
def _services() -> Iterator[Services]:
    svc = Services.build(_settings())
    try:
        yield svc
    finally:
        svc.close()


@click.group()
def cli() -> None:
    """Small Favor: A/B tests for donation and paywall prompts."""


@cli.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.option("--downgrade", is_flag=True, help="Move down to --revision instead of up.")
def migrate(revision: str, downgrade: bool) -> None:
    """Create or upgrade the SQL schema."""
    from service.store import migrate as migrations
    from service.store.sql.engine import build_engine

    engine = build_engine(_settings().database_url)
    try:
        if downgrade:
            migrations.downgrade(engine, revision)
        else:
            migrations.upgrade(engine, revision)
        click.echo(f"schema at revision {migrations.current_revision(engine) or 'base'}")
    finally:
        engine.dispose()


@cli.command()
@click.option("--once", is_flag=True, help="Drain the stream (dead flushers' entries too), exit.")
@click.option("--batch-size", type=click.IntRange(1, 50_000), default=2000, show_default=True)
def flush(once: bool, batch_size: int) -> None:
    """Write accepted events from the Redis stream to SQL, until SIGTERM or with --once."""
    import signal
    import threading

    from service.jobs.flusher import open_flusher
    from service.log_format import configure_logging
    from service.metrics import serve_metrics

    settings = _settings()
    configure_logging(settings.log_level)
    if not once:
        serve_metrics(settings.metrics_port)
    stop = threading.Event()  # SIGTERM/SIGINT: finish and ack the batch in hand, then exit 0
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with open_flusher(settings, batch_size) as flusher:
        try:
            counts = flusher.run_once(stop) if once else flusher.run_forever(stop)
        except Exception as exc:  # run_once only: the failed batch stays pending in Redis
            raise Failure(
                f"flush stopped, entries stay in the stream: {type(exc).__name__}: "
                f"{exc}".splitlines()[0]
            ) from None
    click.echo(
        f"flushed {counts.entries} stream entries: {counts.inserted} events new, "
        f"{counts.duplicates} duplicates, {counts.malformed} set aside"
    )


@cli.group()
def tokens() -> None:
    """Admin API tokens."""


@tokens.command("create")
@click.option("--role", type=ROLE, required=True)
@click.option("--name", required=True, help="Who or what the token is for.")
def tokens_create(role: str, name: str) -> None:
    """Create a token; the token alone is printed on the last line, once."""
    if not 1 <= len(name) <= 100:
        raise Failure("--name must be 1 to 100 characters")
    with _services() as svc:
        token, plain = svc.tokens.create(name, Role(role), svc.clock())
    click.echo(f"created {token.role} token {token.name!r} ({token.prefix}…); store it now:")
    click.echo(plain)


@cli.group()
def users() -> None:
    """Dashboard users."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--role", type=ROLE, required=True)
def users_create(email: str, role: str) -> None:
    """Create a user; the password is read from standard input."""
    from service.store.sql.users_repo import InvalidUser, UserExists

    password = sys.stdin.readline().rstrip("\r\n")
    with _services() as svc:
        try:
            user = svc.users.create(email, password, Role(role), svc.clock())
        except InvalidUser as exc:
            raise Failure(f"{exc.field} {exc}") from None
        except UserExists:
            raise Failure(f"a user with e-mail {email.strip().lower()} exists") from None
    click.echo(f"created {user.role} user {user.email}")


register_user_commands(users)  # set-password, set-role, disable, enable, sign-out


@cli.command("seed-demo")
def seed_demo_command() -> None:
    """Seed the demo experiment, admin user and token (idempotent; not in production)."""
    from service.demo.seed import seed_demo

    settings = _settings()
    if settings.is_production:
        raise Failure("seed-demo creates a known password and refuses to run in production")
    with _services() as svc:
        creds = seed_demo(svc)
    click.echo(f"demo experiment {creds.experiment!r} is running")
    click.echo(f"staff user (admin): {creds.email} / {creds.password}")
    click.echo(f"admin API token: {creds.admin_token}")


@cli.command("remove-demo")
def remove_demo_command() -> None:
    """Disable the demo staff user, revoke the demo admin tokens and delete
    VAR_DIR/demo_admin_token (production refuses to serve while they work)."""
    from service.demo.remove import remove_demo

    with _services() as svc:
        done = remove_demo(svc)
    for line in done or ["no demo credentials found"]:
        click.echo(line)


cli.add_command(simulate)
cli.add_command(schedule_command)
cli.add_command(export_command)


@cli.command()
def serve() -> None:
    """Run the web app (gunicorn, deploy/gunicorn.conf.py), the flusher and the export
    scheduler together: the local `make run`. One that exits is restarted with backoff
    (service/supervisor.py); Ctrl-C or SIGTERM stops them all and removes what serve made."""
    from service.local_stack import shared_environment, spawners
    from service.log_format import configure_logging
    from service.supervisor import Supervisor, run_until_signalled

    settings = _settings()
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


def main() -> None:
    try:
        cli.main(standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # a one-line reason instead of a traceback
        click.echo(f"smallfavor: error: {type(exc).__name__}: {exc}".splitlines()[0], err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
