"""Runs the Alembic migrations programmatically, so no alembic.ini has to be found on disk."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

_SCRIPTS = Path(__file__).parent / "migrations"


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = _config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    config = _config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return ScriptDirectory.from_config(config).get_current_head()


def known_revisions() -> set[str]:
    """Every revision this image's migrations define."""
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def schema_state(engine: Engine) -> str:
    """ "ok" when this image can serve the schema: at its head, or at a revision it does not
    know, which a newer image's migration made (migrations only add, so old code keeps
    working during a rolling deploy); otherwise what is wrong."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return "ok"
    if current is not None and current not in known_revisions():
        return "ok"
    return f"schema at {current or 'nothing'}, expected {head}: run smallfavor migrate"
