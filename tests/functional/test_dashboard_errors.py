"""Errors on dashboard pages are HTML pages for people (status kept, the dashboard's look and
security headers); the same errors on API paths keep the JSON envelope."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from service.wiring import Services
from tests.functional.dashboard_support import csrf, log_in, make_user

Auth = Callable[[str], dict[str, str]]


def _broken_repository(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret-ish detail: connection to 10.0.0.7 lost")

    monkeypatch.setattr(services.experiments, "find", fail)


def _is_error_page(response: object, status: int) -> str:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.mimetype == "text/html"  # type: ignore[attr-defined]
    html: str = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert html.lstrip().startswith("<!doctype html>") and '"error"' not in html
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")  # type: ignore[attr-defined]
    return html


def test_an_unexpected_failure_on_a_page_is_an_html_500(
    client: FlaskClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_in(client, make_user(services, "viewer"))
    _broken_repository(services, monkeypatch)
    response = client.get("/dashboard/", headers={"X-Request-ID": "trace-500"})
    html = _is_error_page(response, 500)
    assert "went wrong" in html and "trace-500" in html  # a reference to quote to operators
    assert "10.0.0.7" not in html and "RuntimeError" not in html  # no internals shown
    assert response.headers["Cache-Control"] == "no-store"


def test_the_same_failure_on_the_api_stays_json(
    client: FlaskClient, auth: Auth, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = auth("viewer")
    _broken_repository(services, monkeypatch)
    response = client.get("/v1/admin/experiments", headers=headers)
    assert response.status_code == 500 and response.mimetype == "application/json"
    assert response.json == {"error": {"code": "internal", "message": "internal server error"}}


def test_an_unknown_page_is_an_html_404(client: FlaskClient, services: Services) -> None:
    html = _is_error_page(client.get("/dashboard/no-such-page"), 404)
    assert "Not Found" in html
    # Signed in, the page keeps the navigation.
    log_in(client, make_user(services, "viewer", "nav@newsroom.example"))
    html = _is_error_page(client.get("/dashboard/experiments/a/b/c/d"), 404)
    assert "nav@newsroom.example" in html and "Sign out" in html
    # Outside the dashboard, even a path that only starts like it, errors stay JSON.
    for path in ("/dashboardx", "/no/such/path"):
        response = client.get(path)
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_a_wrong_method_on_a_page_is_an_html_405_with_allow(client: FlaskClient) -> None:
    response = client.put("/dashboard/login")
    _is_error_page(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    response = client.put("/v1/admin/experiments")
    assert response.status_code == 405 and response.json["error"]["code"] == "method_not_allowed"


def test_a_bad_form_is_an_html_400(client: FlaskClient, services: Services) -> None:
    log_in(client, make_user(services, "editor"))
    page = client.get("/dashboard/exports/new")
    token = csrf(page)
    assert token
    html = _is_error_page(client.post("/dashboard/exports/new", data={"csrf_token": "x"}), 400)
    assert "expired" in html
