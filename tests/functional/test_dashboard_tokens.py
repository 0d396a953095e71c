"""The API tokens page: admins create a token (its secret shown once), see every token with
its last use, revoke one (the admin API refuses it at once), and see who did which; viewers
and editors get 403; every form post needs the CSRF token."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from service.domain.roles import Role
from service.store.sql.admin_audit_repo import AdminAuditRepo
from service.wiring import Services
from tests.functional.dashboard_support import csrf, log_in, make_user, post_form

_SECRET = re.compile(r'<code id="token-secret">(sf_[^<]+)</code>')


def _admin(client: FlaskClient, services: Services) -> str:
    email = make_user(services, "admin")
    log_in(client, email)
    return email


def _api(client: FlaskClient, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return client.get("/v1/admin/experiments", headers=headers).status_code


def test_an_admin_creates_a_token_whose_secret_is_shown_once_and_works(
    client: FlaskClient, services: Services
) -> None:
    email = _admin(client, services)
    assert 'href="/dashboard/tokens"' in client.get("/dashboard/").get_data(as_text=True)
    created = post_form(client, "/dashboard/tokens", {"name": "ci-bot", "role": "editor"})
    assert created.status_code == 200
    html = created.get_data(as_text=True)
    secret = _SECRET.search(html)
    assert secret, "the new token's secret is on the page"
    assert _api(client, secret.group(1)) == 200
    # Reloading the page never shows the secret again.
    again = client.get("/dashboard/tokens").get_data(as_text=True)
    assert secret.group(1) not in again
    assert "ci-bot" in again and ">editor<" in again
    entries = AdminAuditRepo(services.engine).recent()
    assert [(e.actor, e.action) for e in entries] == [(f"user:{email}", "token.create")]
    assert "ci-bot" in entries[0].subject


def test_the_list_shows_when_a_token_was_last_used(client: FlaskClient, services: Services) -> None:
    _admin(client, services)
    _, plain = services.tokens.create("reporting", Role.viewer, services.clock())
    row = re.compile(r"<td>reporting</td>.*?</tr>", re.S)
    before = row.search(client.get("/dashboard/tokens").get_data(as_text=True))
    assert before and "never" in before.group(0)
    assert _api(client, plain) == 200
    after = row.search(client.get("/dashboard/tokens").get_data(as_text=True))
    assert after and "never" not in after.group(0)
    assert services.clock().strftime("%Y-%m-%d %H:%M") in after.group(0)


def test_revoking_a_token_makes_the_api_refuse_it_at_once(
    client: FlaskClient, services: Services
) -> None:
    email = _admin(client, services)
    token, plain = services.tokens.create("old-script", Role.admin, services.clock())
    kept, kept_plain = services.tokens.create("kept", Role.viewer, services.clock())
    assert _api(client, plain) == 200
    revoked = post_form(
        client, f"/dashboard/tokens/{token.id}/revoke", {}, page="/dashboard/tokens"
    )
    assert revoked.status_code == 302
    assert _api(client, plain) == 401
    assert _api(client, kept_plain) == 200
    page = client.get("/dashboard/tokens").get_data(as_text=True)
    assert "&#39;old-script&#39; is revoked" in page
    assert f"/dashboard/tokens/{token.id}/revoke" not in page  # no button for a dead token
    assert f"/dashboard/tokens/{kept.id}/revoke" in page
    entries = AdminAuditRepo(services.engine).recent()
    assert [(e.actor, e.action) for e in entries] == [(f"user:{email}", "token.revoke")]
    # A second revoke of the same token is a 404 page, and audits nothing more.
    twice = post_form(client, f"/dashboard/tokens/{token.id}/revoke", {}, "/dashboard/tokens")
    assert twice.status_code == 404
    assert len(AdminAuditRepo(services.engine).recent()) == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "", "role": "viewer"}, "name"),
        ({"name": "x" * 101, "role": "viewer"}, "name"),
        ({"name": "bot", "role": "owner"}, "role"),
    ],
)
def test_a_bad_name_or_role_is_said_beside_its_field_and_creates_nothing(
    client: FlaskClient, services: Services, fields: dict[str, str], field: str
) -> None:
    _admin(client, services)
    answer = post_form(client, "/dashboard/tokens", fields)
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert f'id="f-{field}-error"' in html
    assert "token-secret" not in html
    assert services.tokens.list_all() == []


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_viewers_and_editors_get_403_and_no_link(
    client: FlaskClient, services: Services, role: str
) -> None:
    log_in(client, make_user(services, role))
    token, plain = services.tokens.create("bot", Role.viewer, services.clock())
    assert 'href="/dashboard/tokens"' not in client.get("/dashboard/").get_data(as_text=True)
    assert client.get("/dashboard/tokens").status_code == 403
    form = csrf(client.get("/dashboard/account"))
    created = client.post(
        "/dashboard/tokens", data={"name": "mine", "role": "admin", "csrf_token": form}
    )
    assert created.status_code == 403
    revoked = client.post(f"/dashboard/tokens/{token.id}/revoke", data={"csrf_token": form})
    assert revoked.status_code == 403
    assert [t.name for t in services.tokens.list_all()] == ["bot"]
    assert _api(client, plain) == 200


def test_the_pages_need_a_login_and_the_posts_a_csrf_token(
    client: FlaskClient, services: Services
) -> None:
    page = client.get("/dashboard/tokens")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/dashboard/login?next=/dashboard/tokens")
    _admin(client, services)
    token, plain = services.tokens.create("bot", Role.viewer, services.clock())
    assert client.post("/dashboard/tokens", data={"name": "x", "role": "admin"}).status_code == 400
    forged = client.post(f"/dashboard/tokens/{token.id}/revoke", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    assert [t.name for t in services.tokens.list_all()] == ["bot"]
    assert _api(client, plain) == 200
