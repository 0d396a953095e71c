"""The OpenAPI path items for reports, visitors, operations, the snippet and the demo."""

from __future__ import annotations

from service.api.openapi.parts import (
    _KEY_PARAM,
    _NOT_FOUND,
    _OPS,
    _PAGES,
    Json,
    _admin,
    _error,
    _html,
    _javascript,
    _json,
    _query,
    _ref,
)

_REPORT_PARAMS: list[Json] = [
    _KEY_PARAM,
    _query("from", "First day, YYYY-MM-DD.", {"type": "string", "format": "date"}),
    _query("to", "Last day, YYYY-MM-DD.", {"type": "string", "format": "date"}),
    _query("segment", "Break down by.", {"type": "string", "enum": ["country", "device"]}),
]
_REPORT_ERRORS: Json = {"400": _error("Bad from, to or segment."), **_NOT_FOUND}

MORE_PATHS: Json = {
    "/v1/admin/experiments/{key}/report": {
        "parameters": _REPORT_PARAMS,
        "get": _admin(
            "viewer",
            "The experiment report",
            {"200": _json(_ref("Report"), "The report."), **_REPORT_ERRORS},
        ),
    },
    "/v1/admin/experiments/{key}/report.csv": {
        "parameters": _REPORT_PARAMS,
        "get": _admin(
            "viewer",
            "The experiment report as CSV, one row per variant (and segment value)",
            {
                "200": {
                    "description": "The CSV file.",
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                **_REPORT_ERRORS,
            },
        ),
    },
    "/v1/admin/visitors/{visitor}": {
        "parameters": [
            {
                "name": "visitor",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"},
            }
        ],
        "delete": _admin(
            "admin",
            "Erase a visitor everywhere",
            {
                "200": _json(_ref("Erasure"), "What was removed."),
                "400": _error("Malformed visitor id."),
            },
        ),
    },
    "/healthz": {
        "get": {
            "tags": _OPS,
            "summary": "Liveness",
            "responses": {"200": _json(_ref("Status"), "Alive.")},
        }
    },
    "/readyz": {
        "get": {
            "tags": _OPS,
            "summary": "Readiness: SQL at the schema head, Redis answering",
            "responses": {
                "200": _json(_ref("Status"), "Ready."),
                "503": _json(_ref("Status"), "Not ready; `checks` says why."),
            },
        }
    },
    "/metrics": {
        "get": {
            "tags": _OPS,
            "summary": "Prometheus metrics",
            "responses": {
                "200": {
                    "description": "The Prometheus text format.",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        }
    },
    "/openapi.json": {
        "get": {
            "tags": _OPS,
            "summary": "This document",
            "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")},
        }
    },
    "/docs": {
        "get": {
            "tags": _OPS,
            "summary": "This document as a readable reference page",
            "responses": {"200": _html("The page.")},
        }
    },
    "/snippet.js": {
        "get": {
            "tags": _PAGES,
            "summary": "The snippet, cached for 5 minutes",
            "responses": {"200": _javascript("The snippet.")},
        }
    },
    "/snippet.{version}.js": {
        "parameters": [
            {
                "name": "version",
                "in": "path",
                "required": True,
                "description": "The snippet's content hash.",
                "schema": {"type": "string"},
            }
        ],
        "get": {
            "tags": _PAGES,
            "summary": "The snippet at one version, cached for good",
            "responses": {
                "200": _javascript("The snippet."),
                "404": _error("Not the current version."),
            },
        },
    },
    "/demo": {
        "get": {
            "tags": _PAGES,
            "summary": "A demo article page with the snippet embedded",
            "parameters": [
                _query("placements", "Space-separated placements to show."),
                _query("hostile_css", "1 adds page CSS that fights the banner."),
                _query("consent", "0 asks for consent before any id or event."),
            ],
            "responses": {"200": _html("The page.")},
        }
    },
    "/demo/donate": {
        "get": {
            "tags": _PAGES,
            "summary": "The demo donation form",
            "parameters": [
                _query("sf_token", "The decision token."),
                _query("amount", "Prefilled amount."),
                _query("currency", "Prefilled currency."),
                _query("frequency", "Prefilled frequency."),
            ],
            "responses": {"200": _html("The form.")},
        },
        "post": {
            "tags": _PAGES,
            "summary": "Make a demo donation (off in production)",
            "description": "Signs the payment and hands it to the conversions webhook.",
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                name: {"type": "string"}
                                for name in ("token", "amount", "currency", "frequency")
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": _html("The thank-you page."),
                "404": _html("Turned off in production."),
                "422": _html("The form again, saying what is wrong."),
            },
        },
    },
}
