"""EXPORT_WEBHOOK_ALLOW: an install that names its internal receivers may send exports to them
(plain http included), and to nothing else internal."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from tests.support import experiment_doc

URL = "/v1/admin/exports"
SECRET = "a-long-enough-secret-123"


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "EXPORT_WEBHOOK_ALLOW": "10.1.2.0/24, Reports.Corp."}


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("http://10.1.2.3:8080/in", 201),
        ("http://012.1.2.3/in", 201),  # 10.1.2.3 in octal
        ("http://reports.corp/in", 201),
        ("https://REPORTS.corp.:8443/in", 201),
        ("https://10.1.3.1/in", 422),
        ("https://billing.corp/in", 422),
        ("http://127.0.0.1:8080/in", 422),
        ("http://hooks.example/in", 422),  # public, but only https crosses the internet
    ],
)
def test_allowed_receivers_are_accepted_and_no_other_internal_one(
    client: FlaskClient, auth: Callable[[str], dict[str, str]], url: str, status: int
) -> None:
    client.post("/v1/admin/experiments", json=experiment_doc(), headers=auth("editor"))
    document = {
        "name": "to finance",
        "cron": "0 6 * * 1",
        "experiments": "all_running",
        "format": "csv",
        "destination": {"type": "webhook", "url": url, "secret": SECRET},
    }
    response = client.post(URL, json=document, headers=auth("editor"))
    assert response.status_code == status, response.json
    if status == 422:
        assert response.json is not None
        assert set(response.json["error"]["fields"]) == {"destination.url"}
