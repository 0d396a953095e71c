"""Schemathesis against the live server: every documented operation, public and admin (with
an admin token), with generated inputs; no answer may be a 5xx, and every answer must match
the document (status, content type, body schema)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from service.domain.roles import Role
from service.wiring import Services

schemathesis.experimental.OPEN_API_3_1.enable()
pytestmark = pytest.mark.e2e
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)


@pytest.fixture
def api_schema(live_server: str) -> Any:
    # The dashboard and demo pages are HTML for browsers (forms, CSRF), covered by their own
    # tests; everything else is exercised.
    return schemathesis.from_uri(f"{live_server}/openapi.json").exclude(
        path_regex=r"^/(dashboard|demo)"
    )


@pytest.fixture
def admin_token(live: Services) -> Iterator[str]:
    _, token = live.tokens.create("schemathesis", Role.admin, datetime.now(UTC))
    yield token


schema = schemathesis.from_pytest_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_keeps_the_contract(case: Any, admin_token: str) -> None:
    headers = (
        {"Authorization": f"Bearer {admin_token}"} if case.path.startswith("/v1/admin") else {}
    )
    case.call_and_validate(headers=headers, checks=CHECKS)
