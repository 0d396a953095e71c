"""`smallfavor migrate`: the SQL schema."""

from __future__ import annotations

import click

from service.cli.common import settings_from_env
from service.cli.registry import register


@register
@click.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.option("--downgrade", is_flag=True, help="Move down to --revision instead of up.")
def migrate(revision: str, downgrade: bool) -> None:
    """Create or upgrade the SQL schema."""
    from service.store import migrate as migrations
    from service.store.sql.engine import build_engine

    engine = build_engine(settings_from_env().database_url)
    try:
        if downgrade:
            migrations.downgrade(engine, revision)
        else:
            migrations.upgrade(engine, revision)
        click.echo(f"schema at revision {migrations.current_revision(engine) or 'base'}")
    finally:
        engine.dispose()
