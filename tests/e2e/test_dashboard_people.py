"""People in a real browser, at 1280 and 375 px: an admin invites someone, who opens the
one-time link in another browser, sets a password and is signed in; the link then says it
was used."""

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
ADMIN = "admin@newsroom.example"
INVITED = "new.editor@newsroom.example"
NEW_PASSWORD = "an invited long passphrase"


@pytest.mark.parametrize("width", [1280, 375])
def test_invite_then_sign_in_with_the_link(
    page: Any,
    browser: Any,
    live: Services,
    live_server: str,
    screenshot: Callable[[str], None],
    width: int,
) -> None:
    live.users.create(ADMIN, PASSWORD, Role.admin, datetime.now(UTC))
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server, ADMIN)
    page.get_by_role("link", name="People").click()
    page.wait_for_url("**/dashboard/users")
    page.get_by_label("E-mail").fill(INVITED)
    page.get_by_label("Role", exact=True).select_option("editor")
    page.get_by_role("button", name="Invite").click()
    link = page.locator("#set-password-link").inner_text()
    assert link.startswith(live_server + "/dashboard/set-password/")
    # Tables scroll in their own region; nothing else may widen the page.
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')]"
        ".filter(e => !e.closest('.scroll') && e.getBoundingClientRect().right > innerWidth)"
        ".map(e => e.tagName + '#' + e.id).join(' ')"
    )
    assert not scrolls_sideways(page), wide
    if width == 1280:
        screenshot("dashboard-people")

    invited = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    invited.goto(link)
    assert invited.locator("#link-email").inner_text() == INVITED
    invited.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    invited.get_by_label("New password again").fill(NEW_PASSWORD)
    invited.get_by_role("button", name="Set password and sign in").click()
    invited.wait_for_url("**/dashboard/")
    invited.get_by_text("Your password is set").wait_for()
    assert INVITED in invited.locator("header").inner_text()
    assert not scrolls_sideways(invited)

    invited.goto(link)
    assert "used already" in invited.locator("#link-refused").inner_text()
    page.goto(live_server + "/dashboard/users")
    assert "user.set-password" in page.locator("#audit").inner_text()
    assert page.console_errors == []  # type: ignore[attr-defined]
    invited.context.close()
