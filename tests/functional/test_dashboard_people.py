"""The people page: admins invite a user (a one-time set-password link, shown once, expiring
after 72 hours), change a role, disable and enable, reset a password (ends the user's
sessions, new link); a used, expired or unknown link says so; viewers and editors get 403;
every form post needs the CSRF token; each change is audited."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from service.store.sql.admin_audit_repo import AdminAuditRepo
from service.wiring import Services
from tests.functional.dashboard_support import PASSWORD, csrf, log_in, make_user, post_form
from tests.support import FakeClock

_LINK = re.compile(
    r'<code id="set-password-link">http://[^/<]+(/dashboard/set-password/[^<]+)</code>'
)
NEW = "a brand new passphrase"


def _admin(client: FlaskClient, services: Services) -> str:
    email = make_user(services, "admin")
    log_in(client, email)
    return email


def _invite(client: FlaskClient, email: str, role: str = "editor") -> str:
    answer = post_form(client, "/dashboard/users", {"email": email, "role": role})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    found = _LINK.search(answer.get_data(as_text=True))
    assert found, "the answer shows the link"
    return found.group(1)


def _set(client: FlaskClient, path: str, password: str = NEW) -> object:
    return post_form(client, path, {"new_password": password, "new_password_again": password})


def _actions(services: Services) -> list[tuple[str, str]]:
    return [(e.actor, e.action) for e in reversed(AdminAuditRepo(services.engine).recent())]


def test_an_invited_user_sets_a_password_with_the_link_and_is_signed_in(
    client: FlaskClient, services: Services
) -> None:
    admin = _admin(client, services)
    assert 'href="/dashboard/users"' in client.get("/dashboard/").get_data(as_text=True)
    path = _invite(client, "New.Person@newsroom.example")
    listed = client.get("/dashboard/users").get_data(as_text=True)
    assert "new.person@newsroom.example" in listed and path not in listed  # shown once
    # Before the link is used nobody can sign in as them.
    guest = client.application.test_client()
    assert guest.get(path).status_code == 200
    assert "new.person@newsroom.example" in guest.get(path).get_data(as_text=True)
    done = _set(guest, path)
    assert done.status_code == 302  # type: ignore[attr-defined]
    home = guest.get("/dashboard/")
    assert home.status_code == 200
    assert "Your password is set" in home.get_data(as_text=True)
    assert services.users.verify("new.person@newsroom.example", NEW, services.clock())
    # The link works once.
    used = client.application.test_client().get(path)
    assert used.status_code == 410
    assert "used already" in used.get_data(as_text=True)
    assert _actions(services) == [
        (f"user:{admin}", "user.invite"),
        ("new.person@newsroom.example", "user.set-password"),
    ]


def test_an_expired_or_unknown_link_says_so_and_sets_nothing(
    client: FlaskClient, services: Services, clock: FakeClock
) -> None:
    _admin(client, services)
    path = _invite(client, "late@newsroom.example")
    guest = client.application.test_client()
    clock.advance(hours=71, minutes=59)
    form = guest.get(path)
    assert form.status_code == 200  # still live just before 72 hours
    clock.advance(minutes=1)
    expired = guest.get(path)
    assert expired.status_code == 410
    assert "expired" in expired.get_data(as_text=True)
    fields = {"new_password": NEW, "new_password_again": NEW, "csrf_token": csrf(form)}
    assert guest.post(path, data=fields).status_code == 410  # the form opened in time
    assert services.users.verify("late@newsroom.example", NEW, services.clock()) is None
    unknown = guest.get("/dashboard/set-password/not-a-real-link")
    assert unknown.status_code == 404
    assert "not valid" in unknown.get_data(as_text=True)


def test_a_short_or_mismatched_password_is_said_and_the_link_stays_usable(
    client: FlaskClient, services: Services
) -> None:
    _admin(client, services)
    path = _invite(client, "careful@newsroom.example")
    guest = client.application.test_client()
    short = _set(guest, path, "short")
    assert short.status_code == 400  # type: ignore[attr-defined]
    assert 'id="f-new_password-error"' in short.get_data(as_text=True)  # type: ignore[attr-defined]
    differ = post_form(guest, path, {"new_password": NEW, "new_password_again": NEW + "!"})
    assert differ.status_code == 400
    assert _set(guest, path).status_code == 302  # type: ignore[attr-defined]


def test_inviting_an_existing_or_bad_email_is_said_beside_the_field(
    client: FlaskClient, services: Services
) -> None:
    admin = _admin(client, services)
    for email in (admin, "not-an-email"):
        answer = post_form(client, "/dashboard/users", {"email": email, "role": "viewer"})
        assert answer.status_code == 400
        assert 'id="f-email-error"' in answer.get_data(as_text=True)
    assert len(services.users.list_all()) == 1


def test_changing_a_role_and_disabling_end_the_users_sessions(
    client: FlaskClient, services: Services
) -> None:
    admin = _admin(client, services)
    email = make_user(services, "viewer")
    other = client.application.test_client()
    log_in(other, email)
    user = services.users.get_by_email(email)
    assert user is not None
    changed = post_form(
        client, f"/dashboard/users/{user.id}/role", {"role": "editor"}, "/dashboard/users"
    )
    assert changed.status_code == 302
    assert other.get("/dashboard/").status_code == 302  # signed out
    assert services.users.get(user.id).role == "editor"  # type: ignore[union-attr]
    log_in(other, email)
    disabled = post_form(client, f"/dashboard/users/{user.id}/disable", {}, "/dashboard/users")
    assert disabled.status_code == 302
    assert other.get("/dashboard/").status_code == 302
    assert log_in(other, email).status_code == 401
    post_form(client, f"/dashboard/users/{user.id}/enable", {}, "/dashboard/users")
    assert log_in(other, email).status_code == 302
    assert _actions(services) == [
        (f"user:{admin}", "user.role-editor"),
        (f"user:{admin}", "user.disable"),
        (f"user:{admin}", "user.enable"),
    ]


def test_a_password_reset_ends_sessions_forgets_the_password_and_gives_a_new_link(
    client: FlaskClient, services: Services
) -> None:
    admin = _admin(client, services)
    email = make_user(services, "editor")
    other = client.application.test_client()
    log_in(other, email)
    user = services.users.get_by_email(email)
    assert user is not None
    reset = post_form(client, f"/dashboard/users/{user.id}/reset-password", {}, "/dashboard/users")
    assert reset.status_code == 200
    found = _LINK.search(reset.get_data(as_text=True))
    assert found
    assert other.get("/dashboard/").status_code == 302
    assert log_in(client.application.test_client(), email, PASSWORD).status_code == 401
    assert _set(client.application.test_client(), found.group(1)).status_code == 302  # type: ignore[attr-defined]
    assert log_in(client.application.test_client(), email, NEW).status_code == 302
    assert (f"user:{admin}", "user.reset-password") in _actions(services)


def test_an_admin_cannot_change_themselves_here(client: FlaskClient, services: Services) -> None:
    admin = _admin(client, services)
    me = services.users.get_by_email(admin)
    assert me is not None
    for action, fields in (("role", {"role": "viewer"}), ("disable", {}), ("reset-password", {})):
        answer = post_form(client, f"/dashboard/users/{me.id}/{action}", fields, "/dashboard/users")
        assert answer.status_code == 400
    assert services.users.get(me.id) == me
    assert client.get("/dashboard/users").status_code == 200


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_viewers_and_editors_get_403_and_no_link(
    client: FlaskClient, services: Services, role: str
) -> None:
    log_in(client, make_user(services, role))
    other = services.users.get_by_email(make_user(services, "viewer", "v2@newsroom.example"))
    assert other is not None
    assert 'href="/dashboard/users"' not in client.get("/dashboard/").get_data(as_text=True)
    assert client.get("/dashboard/users").status_code == 403
    token = csrf(client.get("/dashboard/account"))
    posts = {
        "/dashboard/users": {"email": "x@newsroom.example", "role": "admin"},
        f"/dashboard/users/{other.id}/role": {"role": "admin"},
        f"/dashboard/users/{other.id}/disable": {},
        f"/dashboard/users/{other.id}/reset-password": {},
    }
    for url, fields in posts.items():
        assert client.post(url, data={**fields, "csrf_token": token}).status_code == 403, url
    assert services.users.get(other.id) == other
    assert len(services.users.list_all()) == 2


def test_posts_need_the_csrf_token(client: FlaskClient, services: Services) -> None:
    _admin(client, services)
    email = make_user(services, "viewer")
    user = services.users.get_by_email(email)
    assert user is not None
    forged = {"csrf_token": "forged", "role": "admin", "email": "x@newsroom.example"}
    for url in ("/dashboard/users", f"/dashboard/users/{user.id}/role"):
        assert client.post(url, data=forged).status_code == 400
    assert services.users.get(user.id) == user
    assert len(services.users.list_all()) == 2
