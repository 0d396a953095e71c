"""Dashboard login: sessions, roles, CSRF, the login throttle and cookie scope."""

from __future__ import annotations

from flask.testing import FlaskClient

from service.wiring import Services
from tests.functional.dashboard_support import PASSWORD, csrf, log_in, make_user


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

    from service.store.sql.tables import users

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
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-store"
