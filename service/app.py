"""The app factory: settings, services, blueprints and error handlers, wired once."""

from __future__ import annotations

import os

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from service import dashboard, snippet
from service.api import openapi, ops
from service.api.admin import dry_run, experiments, exports, reports
from service.api.admin.converters import ExperimentKeyConverter, SqlIdConverter
from service.api.http import register_error_handlers, register_error_page
from service.api.json_provider import OrjsonProvider
from service.api.public import events, stripe_webhook
from service.api.public import reminders as reminder_links
from service.api.public.decision_endpoint import DecisionEndpoint
from service.api.request_observer import ROUTE_KEY, RequestObserver, route_label
from service.clock import Clock, utc_now
from service.dashboard.error_page import render_error_page
from service.demo import guard as demo_guard
from service.demo import pages as demo_pages
from service.log_format import configure_logging
from service.settings import Settings
from service.snippet import SnippetAsset
from service.store.redis.decision_sampler import DecisionSampler
from service.usecases.decide import Decider
from service.web import DECIDER, EXTENSION
from service.wiring import Services


def create_app(settings: Settings | None = None, clock: Clock = utc_now) -> Flask:
    settings = settings or Settings.from_env(os.environ)
    configure_logging(settings.log_level)
    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    # Before any blueprint uses them.
    app.url_map.converters["sql_id"] = SqlIdConverter
    app.url_map.converters["experiment_key"] = ExperimentKeyConverter
    # No Flask SECRET_KEY: only the dashboard has sessions, through its own path-scoped
    # interface (service/dashboard/session.py); with a key set Flask would build a signing
    # serializer on every request, a fifth of the decision path's cost.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    svc = Services.build(settings, clock)
    app.extensions[EXTENSION] = svc
    decider = Decider(
        svc.experiment_cache,
        svc.ledger,
        svc.signer,
        svc.clock,
        keys=svc.keys,
        rate_limit_per_minute=settings.decision_rate_limit_per_minute,
        decision_log=DecisionSampler(svc.redis, svc.keys, settings.decision_log_sample_rate),
        holdout_exposures=svc.event_ingest,
    )
    app.extensions[DECIDER] = decider
    register_error_handlers(app)
    app.register_blueprint(ops.bp)
    app.register_blueprint(events.blueprint(settings))
    app.register_blueprint(reminder_links.blueprint(settings))
    app.register_blueprint(stripe_webhook.bp)
    snippet_asset = SnippetAsset.load()
    app.register_blueprint(snippet.blueprint(snippet_asset))
    app.register_blueprint(demo_pages.blueprint(snippet_asset))
    app.wsgi_app = DecisionEndpoint(app.wsgi_app, decider, settings)  # type: ignore[method-assign]
    app.wsgi_app = RequestObserver(  # type: ignore[method-assign]
        app.wsgi_app, always_https=settings.public_url.startswith("https://")
    )

    @app.before_request
    def label_route() -> None:
        # The route template labels the latency metrics (service/api/request_observer.py).
        rule = request.url_rule
        request.environ[ROUTE_KEY] = route_label(rule.rule) if rule else "unmatched"

    if settings.trusted_proxy_hops:
        # Behind a load balancer or CDN the client's address is in X-Forwarded-For; trust
        # exactly as many hops as the operator says, so a client cannot forge its own.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trusted_proxy_hops, x_proto=settings.trusted_proxy_hops
        )
    for api in (experiments.bp, reports.bp, dry_run.bp, exports.bp, openapi.bp):
        app.register_blueprint(api)
    dashboard.install(app, settings, snippet_asset)
    # Errors on dashboard paths are pages (the API layer cannot import the dashboard).
    register_error_page(app, "/dashboard", render_error_page)
    # Production: no start, and no staff request served, while demo credentials work.
    demo_guard.install(app, svc)
    return app
