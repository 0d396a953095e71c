"""The OpenAPI 3.1 description of every endpoint the service serves (DESIGN §3): what each route
cannot tell about itself, by endpoint; build.py takes the rest from the routes.

The operations are declared by audience, as the api/ package is: public_operations.py (article
pages, the payment side, operators), admin_operations.py (the bearer-token API) and
dashboard_operations.py (the pages). Enumerations come from the domain, so the document cannot
drift from the values the code accepts; tests/functional/test_openapi.py checks the document
against the routes.
"""

from __future__ import annotations

from flask import Flask
from pydantic import BaseModel

from service.api.openapi import admin_operations, dashboard_operations, public_operations
from service.api.openapi.build import (
    Json,
    Op,
    build,
    component_schemas,
    json_answer,
    operation,
    ref,
    route_paths,
)
from service.api.public.decision_endpoint import PATH as DECISION_PATH
from service.api.public.reminders import REMINDER_ID
from service.schemas.errors import Error
from service.schemas.report import report_components
from service.usecases.erase import VISITOR_ID

_PAGES = "Snippet and demo"
# Each blueprint's operations are listed under one tag, in this order.
TAGS = {
    "public": "Public",
    "reminders": "Public",
    "stripe": "Public",
    "admin": "Admin",
    "reports": "Admin",
    "dry_run": "Admin",
    "exports": "Admin",
    "ops": "Operations",
    "openapi": "Operations",
    "snippet": _PAGES,
    "demo": _PAGES,
    "dashboard": "Dashboard",
}
PATH_NOTES: dict[str, Json] = {
    "key": {"description": "The experiment key."},
    "schedule_id": {"description": "The export schedule's id."},
    "visitor": {"schema": {"type": "string", "pattern": f"^{VISITOR_ID.pattern}$"}},
    "version": {"description": "The snippet's content hash."},
    "reminder_id": {
        "description": "The reminder, as the e-mail's link names it.",
        "schema": {"type": "string", "pattern": f"^{REMINDER_ID.pattern}$"},
    },
}

# Every endpoint, by audience; route_paths lists them in this order.
OPERATIONS: dict[str, Op | dict[str, Op]] = {
    **public_operations.OPERATIONS,
    **admin_operations.OPERATIONS,
    **dashboard_operations.OPERATIONS,
}


def document(app: Flask) -> Json:
    """The document for the app's routes."""
    models: set[type[BaseModel]] = {Error}
    decision = public_operations.DECISION
    paths = {
        DECISION_PATH: {m.lower(): operation(op, "Public", models) for m, op in decision.items()}
    }
    paths.update(route_paths(app, OPERATIONS, TAGS, PATH_NOTES, models))
    schemas = component_schemas(sorted(models, key=lambda m: m.__name__))
    report = report_components()
    clash = schemas.keys() & report.keys()
    assert not clash, f"report parts named like request models: {clash}"  # one name, one schema
    return build(
        info={
            "title": "Small Favor",
            "version": "1",
            "description": (
                "A/B tests donation and paywall prompts on news sites. Every error is "
                '`{"error": {"code", "message", "fields"}}`.'
            ),
        },
        tags=list(dict.fromkeys(TAGS.values())),
        paths=paths,
        schemas={**report, **schemas},
        components={
            "responses": {"Error": json_answer(ref(Error), "An error.")},
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token made with the CLI; roles viewer < editor < admin.",
                }
            },
        },
    )
