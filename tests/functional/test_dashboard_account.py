"""The account page: your e-mail and role, change your password, your sessions, sign out
everywhere. Each change ends sessions at once, copies of the cookie included."""

from __future__ import annotations

from flask.testing import FlaskClient

from service.wiring import Services
from tests.functional.dashboard_support import PASSWORD, csrf, log_in, make_user
from tests.support import FakeClock

NEW_PASSWORD = "another long passphrase"


def _second_browser(client: FlaskClient, email: str, password: str = PASSWORD) -> FlaskClient:
    other = client.application.test_client()
    assert log_in(other, email, password).status_code == 302
    return other


def test_the_header_links_to_the_account_page_showing_email_and_role(
    client: FlaskClient, services: Services
) -> None:
    email = make_user(services, "editor")
    log_in(client, email)
    header = client.get("/dashboard/").get_data(as_text=True)
    assert 'href="/dashboard/account"' in header
    page = client.get("/dashboard/account")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'id="account-email">{email}<' in html
    assert ">editor<" in html


def test_the_account_page_needs_a_login(client: FlaskClient) -> None:
    page = client.get("/dashboard/account")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/dashboard/login?next=/dashboard/account")


def test_changing_the_password_keeps_this_browser_and_ends_every_other_session(
    client: FlaskClient, services: Services
) -> None:
    email = make_user(services, "viewer")
    log_in(client, email)
    laptop = _second_browser(client, email)
    token = csrf(client.get("/dashboard/account"))
    changed = client.post(
        "/dashboard/account/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 302
    assert changed.headers["Location"] == "/dashboard/account"
    assert "Password changed" in client.get("/dashboard/account").get_data(as_text=True)
    assert laptop.get("/dashboard/").status_code == 302
    assert log_in(client.application.test_client(), email, PASSWORD).status_code == 401
    assert log_in(client.application.test_client(), email, NEW_PASSWORD).status_code == 302


def test_the_old_cookie_of_this_browser_stops_working_after_a_password_change(
    client: FlaskClient, services: Services
) -> None:
    log_in(client, make_user(services, "viewer"))
    before = client.get_cookie("sf_session", path="/dashboard")
    assert before is not None
    client.post(
        "/dashboard/account/password",
        data={
            "csrf_token": csrf(client.get("/dashboard/account")),
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    copy = client.application.test_client()
    copy.set_cookie("sf_session", before.value, path="/dashboard")
    assert copy.get("/dashboard/").status_code == 302
    assert client.get("/dashboard/").status_code == 200


def test_password_change_errors_name_the_field_and_change_nothing(
    client: FlaskClient, services: Services
) -> None:
    email = make_user(services, "viewer")
    log_in(client, email)
    laptop = _second_browser(client, email)
    cases = [
        ({"current_password": "wrong one!!", "new_password": NEW_PASSWORD}, "not your current"),
        ({"current_password": PASSWORD, "new_password": "short"}, "at least 10 characters"),
        (
            {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "again": "x"},
            "two new passwords differ",
        ),
    ]
    for fields, message in cases:
        data = {
            "csrf_token": csrf(client.get("/dashboard/account")),
            "new_password_again": fields.get("again", fields["new_password"]),
            **{k: v for k, v in fields.items() if k != "again"},
        }
        refused = client.post("/dashboard/account/password", data=data)
        assert refused.status_code == 400, message
        html = refused.get_data(as_text=True)
        assert message in html
        assert "field-error" in html
    assert laptop.get("/dashboard/").status_code == 200
    assert log_in(client.application.test_client(), email, PASSWORD).status_code == 302


def test_guessing_the_current_password_is_throttled(
    client: FlaskClient, services: Services
) -> None:
    log_in(client, make_user(services, "viewer"))
    statuses = []
    for _ in range(11):
        answer = client.post(
            "/dashboard/account/password",
            data={
                "csrf_token": csrf(client.get("/dashboard/account")),
                "current_password": "a wrong guess",
                "new_password": NEW_PASSWORD,
                "new_password_again": NEW_PASSWORD,
            },
        )
        statuses.append(answer.status_code)
    assert statuses == [400] * 10 + [429]


def test_sign_out_everywhere_ends_every_session_including_this_one(
    client: FlaskClient, services: Services
) -> None:
    email = make_user(services, "admin")
    log_in(client, email)
    phone = _second_browser(client, email)
    out = client.post(
        "/dashboard/account/sign-out-everywhere",
        data={"csrf_token": csrf(client.get("/dashboard/account"))},
    )
    assert out.status_code == 302
    assert out.headers["Location"].startswith("/dashboard/login")
    assert client.get("/dashboard/").status_code == 302
    assert phone.get("/dashboard/").status_code == 302
    assert log_in(client, email).status_code == 302  # signing in again works


def test_account_posts_need_the_csrf_token(client: FlaskClient, services: Services) -> None:
    log_in(client, make_user(services, "viewer"))
    for url in ("/dashboard/account/sign-out-everywhere", "/dashboard/account/password"):
        refused = client.post(url, data={"csrf_token": "forged"})
        assert refused.status_code == 400
    assert client.get("/dashboard/").status_code == 200


def test_the_session_list_shows_each_sign_in_and_can_end_one(
    client: FlaskClient, services: Services, clock: FakeClock
) -> None:
    email = make_user(services, "viewer")
    log_in(client, email)
    clock.advance(hours=1)
    phone = client.application.test_client()
    phone.get("/dashboard/login", headers={"User-Agent": "Phone <b>Browser</b>"})
    token = csrf(phone.get("/dashboard/login"))
    phone.post(
        "/dashboard/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        headers={"User-Agent": "Phone <b>Browser</b>"},
    )
    page = client.get("/dashboard/account").get_data(as_text=True)
    assert "2026-11-28 12:00" in page and "2026-11-28 13:00" in page
    assert "Phone &lt;b&gt;Browser&lt;/b&gt;" in page  # escaped, never markup
    assert page.count("(this browser)") == 1
    sessions = services.users.get_by_email(email)
    assert sessions is not None
    from service.store.sql.dashboard_sessions_repo import DashboardSessionRepo

    listed = DashboardSessionRepo(services.engine).list_for_user(sessions.id, clock())
    phone_row = next(s for s in listed if "Phone" in s.user_agent)
    ended = client.post(
        f"/dashboard/account/sessions/{phone_row.id}/end",
        data={"csrf_token": csrf(client.get("/dashboard/account"))},
    )
    assert ended.status_code == 302
    assert phone.get("/dashboard/").status_code == 302
    assert client.get("/dashboard/").status_code == 200


def test_nobody_can_end_another_users_session(
    client: FlaskClient, services: Services, clock: FakeClock
) -> None:
    from service.store.sql.dashboard_sessions_repo import DashboardSessionRepo

    victim = make_user(services, "admin")
    victim_browser = client.application.test_client()
    log_in(victim_browser, victim)
    victim_user = services.users.get_by_email(victim)
    assert victim_user is not None
    [victim_session] = DashboardSessionRepo(services.engine).list_for_user(victim_user.id, clock())
    log_in(client, make_user(services, "viewer"))
    token = csrf(client.get("/dashboard/account"))
    answer = client.post(
        f"/dashboard/account/sessions/{victim_session.id}/end", data={"csrf_token": token}
    )
    assert answer.status_code == 404
    assert victim_browser.get("/dashboard/").status_code == 200
    huge = client.post(
        "/dashboard/account/sessions/99999999999999999999999/end", data={"csrf_token": token}
    )
    assert huge.status_code == 404
    assert client.get("/dashboard/").status_code == 200
