"""The app factory: settings, services, blueprints and error handlers, wired once."""

from __future__ import annotations

import logging
import os

from flask import Flask

from service.api import admin, ops, public
from service.api.context import DECIDER, EXTENSION
from service.api.decide import Decider
from service.api.errors import register_error_handlers
from service.clock import Clock, utc_now
from service.settings import Settings
from service.wiring import Services


def create_app(settings: Settings | None = None, clock: Clock = utc_now) -> Flask:
    settings = settings or Settings.from_env(os.environ)
    logging.basicConfig(level=settings.log_level)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    svc = Services.build(settings, clock)
    app.extensions[EXTENSION] = svc
    app.extensions[DECIDER] = Decider(svc.experiment_cache, svc.ledger, svc.signer, svc.clock)
    register_error_handlers(app)
    app.register_blueprint(ops.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(admin.bp)
    return app
