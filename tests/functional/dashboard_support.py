"""Helpers for driving the dashboard through the Flask test client, as a browser would."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service.domain.roles import Role
from service.wiring import Services

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(page: TestResponse) -> str:
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, "the page has no CSRF field"
    return match.group(1)


def make_user(services: Services, role: str, email: str | None = None) -> str:
    email = email or f"{role}@newsroom.example"
    services.users.create(email, PASSWORD, Role(role), services.clock())
    return email


def log_in(client: FlaskClient, email: str, password: str = PASSWORD) -> TestResponse:
    token = csrf(client.get("/dashboard/login"))
    return client.post(
        "/dashboard/login",
        data={"email": email, "password": password, "csrf_token": token},
    )


def post_form(
    client: FlaskClient, url: str, fields: dict[str, Any], page: str | None = None
) -> TestResponse:
    """POST a dashboard form with the CSRF token of the page it sits on."""
    token = csrf(client.get(page or url))
    return client.post(url, data={**fields, "csrf_token": token})


def form_fields(html: str) -> dict[str, Any]:
    """Every successful control of the page's editor form, as a browser would submit it."""
    fields: dict[str, Any] = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = _attr(tag, "name")
        if not name or name == "csrf_token":
            continue
        kind = _attr(tag, "type") or "text"
        if kind == "checkbox":
            if " checked" in tag:
                fields.setdefault(name, []).append(_attr(tag, "value") or "on")
        elif kind == "radio":
            if " checked" in tag:
                fields[name] = _attr(tag, "value") or "on"
        elif kind != "submit":
            fields[name] = _attr(tag, "value") or ""
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        fields[name] = _unescape(body)
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body) or re.search(
            r'<option value="([^"]*)"', body
        )
        fields[name] = chosen.group(1) if chosen else ""
    return fields


def _attr(tag: str, name: str) -> str | None:
    match = re.search(rf'\s{name}="([^"]*)"', tag)
    return _unescape(match.group(1)) if match else None


def _unescape(text: str) -> str:
    return (
        text.replace("&#34;", '"')
        .replace("&quot;", '"')
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )
