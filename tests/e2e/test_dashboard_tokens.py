"""API tokens in a real browser, at 1280 and 375 px: an admin creates a token that works,
revokes it from the list, and the admin API answers 401 to it at once."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from service.domain.roles import Role
from service.wiring import Services
from tests.e2e.layout import scrolls_sideways
from tests.e2e.test_dashboard import PASSWORD, sign_in

pytestmark = pytest.mark.e2e
EMAIL = "admin@newsroom.example"


def _api_status(base: str, token: str) -> int:
    request = urllib.request.Request(
        base + "/v1/admin/experiments", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("width", [1280, 375])
def test_create_then_revoke_a_token_and_the_api_refuses_it(
    page: Any,
    live: Services,
    live_server: str,
    screenshot: Callable[[str], None],
    width: int,
) -> None:
    live.users.create(EMAIL, PASSWORD, Role.admin, datetime.now(UTC))
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, EMAIL)
    page.get_by_role("link", name="API tokens").click()
    page.wait_for_url("**/dashboard/tokens")
    page.get_by_label("Name").fill("ci-bot")
    page.get_by_label("Role").select_option("editor")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#token-secret").inner_text()
    assert secret.startswith("sf_")
    assert not scrolls_sideways(page)
    if width == 1280:
        screenshot("dashboard-tokens")
    assert _api_status(live_server, secret) == 200

    page.goto(live_server + "/dashboard/tokens")
    assert page.locator("#token-secret").count() == 0  # shown once
    page.get_by_role("button", name="Revoke ci-bot").click()
    page.get_by_text("is revoked").wait_for()
    assert "revoked" in page.locator("#tokens tbody tr").first.inner_text()
    assert _api_status(live_server, secret) == 401
    assert "token.revoke" in page.locator("#audit").inner_text()
    assert page.console_errors == []  # type: ignore[attr-defined]
