"""The `smallfavor` command line. Every command exits non-zero with a one-line reason."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from service.domain.roles import Role
from service.settings import Settings, SettingsError
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


@cli.command()
def serve() -> None:
    """Serve the app under gunicorn with deploy/gunicorn.conf.py (the local `make run`)."""
    settings = _settings()
    config = Path("deploy/gunicorn.conf.py")
    if not config.exists():
        raise Failure(f"{config} not found; run from the repository root")
    env = dict(os.environ)
    if settings.redis_url is None:
        from service.store.redis.embedded import embedded_socket

        # Started here, so the server outlives gunicorn's worker restarts and this process
        # stops it on exit.
        env["REDIS_URL"] = f"unix://{embedded_socket(settings.var_dir)}"
    url = settings.public_url
    click.echo(f"Small Favor on {url}  (health {url}/readyz, admin API {url}/v1/admin/)")
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", str(config), "service:create_app()"]
    process = subprocess.Popen(gunicorn, env=env)
    try:
        code = process.wait()
    except KeyboardInterrupt:
        process.terminate()
        code = process.wait()
    if code not in (0, -15):
        raise Failure(f"gunicorn exited with status {code}")


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
