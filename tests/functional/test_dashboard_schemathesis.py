"""Schemathesis against the dashboard's pages and form posts, on the Flask app itself: every
documented operation under /dashboard with generated query values and form fields, sent as a
signed-in admin with the session's CSRF token. No answer may be a 5xx, and every answer must
match the document (status, content type, body).

Sign-in, sign-out and the account pages are the session's own business (test_dashboard_auth.py);
signing out here would end the session every other case needs. Path segments point at things
that exist, so the forms behind them are reached; arbitrary segments are
test_dashboard_hostile_input.py's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from service.api.openapi import document
from service.dashboard import experiment_form
from service.dashboard.session import COOKIE, PREFIX
from service.dashboard.views_decisions import PANEL_FIELDS
from service.schemas.dashboard import (
    DRY_RUN_FIELDS,
    EDITOR_FIELDS,
    EDITOR_TICKED,
    VARIANT_FIELDS,
    VARIANT_TICKED,
)
from service.wiring import Services
from tests.functional.hostile_support import DRAFT, World, dashboard_world
from tests.support import experiment_doc

schemathesis.experimental.OPEN_API_3_1.enable()
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)
FORM = "application/x-www-form-urlencoded"
# Lifecycle actions change what they act on for good; they get an experiment of their own.
SPARE = "spare-ask"


@pytest.fixture
def signed_in(
    client: FlaskClient, services: Services, auth: Callable[[str], dict[str, str]]
) -> World:
    world = dashboard_world(client, services, auth)
    spare = client.post(
        "/v1/admin/experiments", json=experiment_doc(key=SPARE), headers=auth("editor")
    )
    assert spare.status_code == 201, spare.json
    return world


@pytest.fixture
def dashboard_schema(app: Flask) -> Any:
    return (
        schemathesis.from_dict(document(app), app=app)
        .include(path_regex=r"^/dashboard/")
        .exclude(path_regex=r"^/dashboard/(login|logout|account|static)")
    )


schema = schemathesis.from_pytest_fixture("dashboard_schema")


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_every_dashboard_page_and_form_keeps_the_contract(case: Any, signed_in: World) -> None:
    params = case.path_parameters or {}
    if "key" in params:
        params["key"] = SPARE if "action" in params else DRAFT
    if "schedule_id" in params:
        params["schedule_id"] = signed_in.schedule_id
    if case.media_type == FORM and isinstance(case.body, dict):
        case.body["csrf_token"] = signed_in.token
    cookie = signed_in.client.get_cookie(COOKIE, path=PREFIX)
    assert cookie is not None
    case.call_and_validate(
        headers={"X-CSRF-Token": signed_in.token}, cookies={COOKIE: cookie.value}, checks=CHECKS
    )


def test_the_documented_editor_fields_are_the_forms() -> None:
    assert {*EDITOR_FIELDS, *EDITOR_TICKED} == experiment_form.TOP_FIELDS
    assert {*VARIANT_FIELDS, *VARIANT_TICKED} == experiment_form.VARIANT_FIELDS
    assert set(DRY_RUN_FIELDS) == set(PANEL_FIELDS)
