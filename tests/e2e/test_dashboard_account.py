"""The account page in a real browser: reached from the header, a password change that keeps
this browser and signs the other one out, and "sign out everywhere"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from service.domain.roles import Role
from service.wiring import Services
from tests.e2e.layout import scrolls_sideways
from tests.e2e.test_dashboard import PASSWORD, sign_in

pytestmark = pytest.mark.e2e
EMAIL = "editor@newsroom.example"
NEW_PASSWORD = "a fresh long passphrase"


def test_change_password_and_sign_out_everywhere(
    page: Any,
    browser: Any,
    live: Services,
    live_server: str,
    screenshot: Callable[[str], None],
) -> None:
    live.users.create(EMAIL, PASSWORD, Role.editor, datetime.now(UTC))
    other = browser.new_context().new_page()
    sign_in(other, live_server, EMAIL)
    sign_in(page, live_server, EMAIL)

    page.get_by_role("link", name=EMAIL).click()
    page.wait_for_url("**/dashboard/account")
    assert page.locator("#sessions tbody tr").count() == 2
    screenshot("dashboard-account")
    page.set_viewport_size({"width": 375, "height": 800})
    assert not scrolls_sideways(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    page.get_by_text("Password changed").wait_for()
    assert page.locator("#sessions tbody tr").count() == 1

    other.goto(live_server + "/dashboard/")
    assert "/dashboard/login" in other.url  # the other browser was signed out

    page.get_by_role("button", name="Sign out everywhere").click()
    page.wait_for_url("**/dashboard/login?signed_out=1")
    page.goto(live_server + "/dashboard/account")
    assert "/dashboard/login" in page.url
    assert page.console_errors == []  # type: ignore[attr-defined]
    other.context.close()
