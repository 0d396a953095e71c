"""Runs the Alembic migrations programmatically, so no alembic.ini has to be found on disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

_SCRIPTS = Path(__file__).parent / "migrations"


def _config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    if engine is not None:
        url = engine.url.render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(command.upgrade, engine, revision)


def downgrade(engine: Engine, revision: str) -> None:
    _run(command.downgrade, engine, revision)


def _run(step: Callable[[Config, str], None], engine: Engine, revision: str) -> None:
    config = _config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        step(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def schema_state(engine: Engine) -> str:
    """ "ok" when this image can serve the schema: at its head, or at a revision it does not
    know, which a newer image's migration made (migrations only add, so old code keeps
    working during a rolling deploy); otherwise what is wrong."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return "ok"
    known = {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}
    if current is not None and current not in known:
        return "ok"
    return f"schema at {current or 'nothing'}, expected {head}: run smallfavor migrate"
