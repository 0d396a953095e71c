"""GET /openapi.json: a valid OpenAPI 3.1 document with a path item for every route."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator

from service.api.openapi import operations, prose
from service.api.public.decision_endpoint import PATH as DECISION_PATH
from service.domain.decision import Reason
from service.schemas.decision import DecisionQuery

# Documented where the service answers them itself; everywhere else they are Flask's.
_IMPLICIT = {"HEAD", "OPTIONS"}
_ARGUMENT = re.compile(r"<(?:[^<>]*:)?(\w+)>")


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.is_json
    body = response.json
    assert isinstance(body, dict)
    return body


def _served(app: Flask) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {DECISION_PATH: {"GET", "OPTIONS"}}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = _ARGUMENT.sub(r"{\1}", rule.rule)
        routes.setdefault(path, set()).update((rule.methods or set()) - _IMPLICIT)
    return routes


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    validate(document, cls=OpenAPIV31SpecValidator)


def test_every_route_has_a_path_item_with_its_methods(app: Flask, document: dict[str, Any]) -> None:
    paths = document["paths"]
    missing = []
    for path, methods in sorted(_served(app).items()):
        documented = {m.upper() for m in paths.get(path, {}) if m != "parameters"}
        missing += [f"{method} {path}" for method in sorted(methods - documented)]
    assert missing == []


def test_no_path_is_documented_that_is_not_served(app: Flask, document: dict[str, Any]) -> None:
    assert set(document["paths"]) - set(_served(app)) == set()


def test_admin_operations_need_a_bearer_token_and_name_a_role(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            is_admin = path.startswith("/v1/admin/")
            assert (operation.get("security") == [{"bearerAuth": []}]) is is_admin, path
            if is_admin:
                assert re.search(r"Role: `(viewer|editor|admin)`", operation["description"])


def test_error_answers_use_the_error_envelope(document: dict[str, Any]) -> None:
    error = document["components"]["responses"]["Error"]
    assert error["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    detail = document["components"]["schemas"]["ErrorDetail"]
    assert set(detail["properties"]) == {"code", "message", "fields"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            pages = ("/demo", "/dashboard", "/v1/reminders/{")
            if method == "parameters" or path.startswith(pages):
                continue  # the demo, dashboard and reminder e-mails' pages answer in HTML
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    assert response.get("$ref") == "#/components/responses/Error", (path, status)


def test_the_decision_reasons_are_the_domains(document: dict[str, Any]) -> None:
    reason = document["components"]["schemas"]["Decision"]["properties"]["reason"]
    assert set(reason["enum"]) == {r.value for r in Reason} | {None}


def test_the_docs_page_shows_every_operation_and_schema(
    client: FlaskClient, document: dict[str, Any]
) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    operations = [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    ]
    shown = re.findall(r'<span class="method \w+">(\w+)</span> <code>([^<]+)</code>', html)
    assert sorted(shown) == sorted(operations)
    for name in document["components"]["schemas"]:
        assert f'id="schema-{name}"' in html
    assert "<script" not in html


def test_the_decision_parameters_are_its_query_model(document: dict[str, Any]) -> None:
    parameters = document["paths"][DECISION_PATH]["get"]["parameters"]
    assert [p["name"] for p in parameters] == list(DecisionQuery.model_fields)
    required = {p["name"] for p in parameters if p.get("required")}
    assert required == {"visitor", "placement"}


def test_a_route_without_a_declaration_stops_the_document(app: Flask) -> None:
    app.add_url_rule("/undeclared", "undeclared", lambda: "")
    with pytest.raises(LookupError, match="undeclared"):
        operations.document(app)


def test_the_docs_page_shows_code_spans_as_code_not_backticks(
    client: FlaskClient, document: dict[str, Any]
) -> None:
    spans = {span for text in _prose_of(document) for span in re.findall(r"`([^`]+)`", text)}
    assert spans, "no description has a code span: this test would prove nothing"
    html = client.get("/docs").get_data(as_text=True)
    assert "`" not in html
    for span in spans:
        assert f"<code>{escape(span)}</code>" in html, span


def _prose_of(node: Any) -> Iterator[str]:
    """Every summary and description in the document: what the page renders as text."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("summary", "description") and isinstance(value, str):
                yield value
            else:
                yield from _prose_of(value)
    elif isinstance(node, list):
        for item in node:
            yield from _prose_of(item)


def test_descriptions_are_text_with_code_spans_never_markup() -> None:
    shown = prose('Send `<b>` as "`x & y`"; <script>alert(1)</script> `a` and `b`')
    assert str(shown) == (
        "Send <code>&lt;b&gt;</code> as &#34;<code>x &amp; y</code>&#34;; "
        "&lt;script&gt;alert(1)&lt;/script&gt; <code>a</code> and <code>b</code>"
    )
    assert str(prose(None)) == ""
    assert str(prose("an odd ` backtick stays")) == "an odd ` backtick stays"
