"""Dashboard login: sessions, roles, CSRF, the login throttle and cookie scope."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.wiring import Services
from tests.functional.dashboard_support import PASSWORD, csrf, log_in, make_user
from tests.support import FakeClock


def test_pages_need_a_login_and_come_back_after_it(client: FlaskClient, services: Services) -> None:
    email = make_user(services, "viewer")
    page = client.get("/dashboard/?archived=1")
    assert page.status_code == 302
    login_url = page.headers["Location"]
    assert login_url.startswith("/dashboard/login?next=")
    form = client.get(login_url)
    assert 'name="next" value="/dashboard/?archived=1"' in form.get_data(as_text=True)
    response = client.post(
        "/dashboard/login",
        data={
            "email": email,
            "password": PASSWORD,
            "csrf_token": csrf(form),
            "next": "/dashboard/?archived=1",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/?archived=1"
    listing = client.get("/dashboard/")
    assert listing.status_code == 200
    assert email in listing.get_data(as_text=True)


def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: FlaskClient, services: Services
) -> None:
    email = make_user(services, "editor")
    wrong = log_in(client, email, "not the password")
    unknown = log_in(client, "nobody@newsroom.example", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert "do not match an active account" in wrong.get_data(as_text=True)
    assert client.get("/dashboard/").status_code == 302


def test_session_cookie_is_scoped_httponly_and_samesite(
    client: FlaskClient, services: Services
) -> None:
    response = log_in(client, make_user(services, "viewer"))
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("sf_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # plain http locally; see the TLS test below
    # Nothing outside the dashboard reads or sets a session.
    assert "Set-Cookie" not in client.get("/healthz").headers


def test_cookie_is_secure_behind_tls(client: FlaskClient, services: Services) -> None:
    email = make_user(services, "viewer")
    page = client.get("/dashboard/login", base_url="https://localhost")
    response = client.post(
        "/dashboard/login",
        base_url="https://localhost",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf(page)},
    )
    assert "Secure" in response.headers["Set-Cookie"]


def test_forms_without_the_csrf_token_are_refused(client: FlaskClient, services: Services) -> None:
    email = make_user(services, "editor")
    client.get("/dashboard/login")
    refused = client.post("/dashboard/login", data={"email": email, "password": PASSWORD})
    assert refused.status_code == 400
    assert "expired" in refused.get_data(as_text=True)
    log_in(client, email)
    forged = client.post("/dashboard/logout", data={"csrf_token": "guessed"})
    assert forged.status_code == 400
    assert client.get("/dashboard/").status_code == 200  # still signed in


def test_logout_ends_the_session(client: FlaskClient, services: Services) -> None:
    log_in(client, make_user(services, "viewer"))
    token = csrf(client.get("/dashboard/"))
    out = client.post("/dashboard/logout", data={"csrf_token": token})
    assert out.status_code == 302
    assert "sf_session=;" in out.headers["Set-Cookie"]
    assert client.get("/dashboard/").status_code == 302


def test_a_stolen_cookie_stops_working_when_the_user_is_disabled(
    client: FlaskClient, services: Services
) -> None:
    from sqlalchemy import update

    from service.store.sql.access_tables import users

    email = make_user(services, "editor")
    log_in(client, email)
    with services.engine.begin() as conn:
        conn.execute(update(users).where(users.c.email == email).values(disabled=True))
    assert client.get("/dashboard/").status_code == 302


def test_login_is_rate_limited_per_e_mail(client: FlaskClient, services: Services) -> None:
    email = make_user(services, "admin")
    for _ in range(10):
        assert log_in(client, email, "wrong guess").status_code == 401
    blocked = log_in(client, email)  # even the right password waits out the window
    assert blocked.status_code == 429
    assert "Too many failed attempts" in blocked.get_data(as_text=True)
    other = make_user(services, "viewer")
    assert log_in(client, other).status_code == 302


def test_next_never_leaves_the_dashboard(client: FlaskClient, services: Services) -> None:
    email = make_user(services, "viewer")
    for target in ("https://evil.example/", "//evil.example/x", "/v1/admin/experiments"):
        token = csrf(client.get("/dashboard/login"))
        response = client.post(
            "/dashboard/login",
            data={"email": email, "password": PASSWORD, "csrf_token": token, "next": target},
        )
        assert response.headers["Location"] == "/dashboard/", target
        client.post("/dashboard/logout", data={"csrf_token": csrf(client.get("/dashboard/"))})


def test_dashboard_pages_carry_security_headers(client: FlaskClient, services: Services) -> None:
    page = client.get("/dashboard/login")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers.getlist("X-Content-Type-Options") == ["nosniff"]  # once, not twice
    assert page.headers["Cache-Control"] == "no-store"


def _copy_of_cookie(client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of the client's session cookie, as a thief would."""
    cookie = client.get_cookie("sf_session", path="/dashboard")
    assert cookie is not None
    thief = client.application.test_client()
    thief.set_cookie("sf_session", cookie.value, path="/dashboard")
    return thief


def test_a_copied_cookie_stops_working_at_logout(client: FlaskClient, services: Services) -> None:
    log_in(client, make_user(services, "editor"))
    thief = _copy_of_cookie(client)
    assert thief.get("/dashboard/").status_code == 200
    client.post("/dashboard/logout", data={"csrf_token": csrf(client.get("/dashboard/"))})
    assert thief.get("/dashboard/").status_code == 302
    # Its CSRF token is no help either: a change is refused as signed out.
    token = csrf(thief.get("/dashboard/login"))
    refused = thief.post("/dashboard/experiments/new", data={"csrf_token": token})
    assert refused.status_code == 302
    assert refused.headers["Location"].startswith("/dashboard/login")


def test_password_role_and_disable_changes_end_every_session(
    client: FlaskClient, services: Services
) -> None:
    from service.domain.roles import Role

    email = make_user(services, "editor")
    changes = [
        lambda: services.users.set_password(email, "a brand new password"),
        lambda: services.users.set_role(email, Role.viewer),
        lambda: services.users.set_disabled(email, True),
    ]
    password = PASSWORD
    for change in changes:
        log_in(client, email, password)
        other_browser = client.application.test_client()
        log_in(other_browser, email, password)
        assert client.get("/dashboard/").status_code == 200
        assert change() is not None
        password = "a brand new password"
        assert client.get("/dashboard/").status_code == 302, change
        assert other_browser.get("/dashboard/").status_code == 302, change


def test_sessions_expire_on_the_server_after_twelve_hours(
    client: FlaskClient, services: Services, clock: FakeClock
) -> None:
    log_in(client, make_user(services, "viewer"))
    clock.advance(hours=11, minutes=59)
    assert client.get("/dashboard/").status_code == 200
    clock.advance(minutes=2)
    assert client.get("/dashboard/").status_code == 302


def test_the_session_table_holds_no_usable_session_id(
    client: FlaskClient, services: Services
) -> None:
    from sqlalchemy import select

    from service.store.sql.access_tables import dashboard_sessions

    log_in(client, make_user(services, "viewer"))
    with services.engine.connect() as conn:
        stored = conn.execute(select(dashboard_sessions.c.token_hash)).scalar_one()
    cookie = client.get_cookie("sf_session", path="/dashboard")
    assert cookie is not None
    assert stored not in cookie.value  # the cookie carries the id, SQL only its SHA-256


@pytest.mark.parametrize("token", ["é", "\u2603" * 43, "ü" + "a" * 42, "\x00"])
def test_a_non_ascii_csrf_token_is_an_expired_form_not_a_crash(
    client: FlaskClient, services: Services, token: str
) -> None:
    client.get("/dashboard/login")
    in_form = client.post(
        "/dashboard/login", data={"email": "a@b.example", "password": "x", "csrf_token": token}
    )
    assert in_form.status_code == 400
    assert "expired" in in_form.get_data(as_text=True)
    latin1 = token.encode("utf-8").decode("latin-1")  # what a raw UTF-8 header arrives as
    in_header = client.post("/dashboard/logout", headers={"X-CSRF-Token": latin1})
    assert in_header.status_code == 400


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(token=st.text(max_size=80))
def test_any_csrf_token_text_is_refused_with_400(client: FlaskClient, token: str) -> None:
    client.get("/dashboard/login")
    answer = client.post("/dashboard/login", data={"csrf_token": token, "email": "x"})
    assert answer.status_code == 400


CONTROL_NEXTS = [
    "/dashboard/\r\nSet-Cookie: sf_session=evil",
    "/dashboard/\nLocation: https://evil.example/",
    "/dashboard/%0d%0aSet-Cookie:%20x=1",
    "/dashboard/%0ASet-Cookie:x",
    "/dashboard/%250d%250aX: y",
    "/dashboard/\x00",
    "/dashboard/\x7f",
    "/dashboard/\u2028",
    "/dashboard/\t",
    "http://[/dashboard/",
    "/dashboard/../v1/admin/experiments",
    "/dashboard/%2e%2e/v1/admin/experiments",
    "/dashboardevil",
]


@pytest.mark.parametrize("target", CONTROL_NEXTS)
def test_a_next_with_control_characters_falls_back_to_the_default(
    client: FlaskClient, services: Services, target: str
) -> None:
    email = make_user(services, "viewer")
    form = client.get("/dashboard/login", query_string={"next": target})
    assert form.status_code == 200
    assert 'name="next" value="/dashboard/"' in form.get_data(as_text=True)
    response = client.post(
        "/dashboard/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf(form), "next": target},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/"
    again = client.get("/dashboard/login", query_string={"next": target})  # signed in: redirect
    assert again.status_code == 302
    assert again.headers["Location"] == "/dashboard/"


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(target=st.one_of(st.text(max_size=60), st.text(max_size=40).map("/dashboard/".__add__)))
def test_any_next_is_a_dashboard_path_or_the_default(client: FlaskClient, target: str) -> None:
    page = client.get("/dashboard/login", query_string={"next": target})
    assert page.status_code == 200
    answer = client.post(
        "/dashboard/login",
        data={"csrf_token": csrf(page), "email": "", "password": "", "next": target},
    )
    # Refused (401, or 429 once the examples used up the allowance), the page rendered again.
    assert answer.status_code in (401, 429)
    match = re.search(r'name="next" value="([^"]*)"', answer.get_data(as_text=True))
    assert match is not None
    kept = match.group(1)
    assert kept.isascii() and kept.isprintable()
    assert kept == "/dashboard" or kept.startswith("/dashboard/")
