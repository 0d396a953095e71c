"""Staff give a variant a reminder offer in the editor, see it in the live preview (drawn by
the snippet readers get) and save it, at desktop and phone widths."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from service.domain.experiment import ReminderChoice
from service.domain.roles import Role
from service.wiring import Services
from tests.e2e.layout import scrolls_sideways
from tests.e2e.test_dashboard import PASSWORD, sign_in
from tests.e2e.test_snippet_reminder import axe_violations

pytestmark = pytest.mark.e2e
V = "variants[0].banner.reminder."


@pytest.mark.parametrize("width", [1280, 375])
def test_an_offer_set_in_the_editor_shows_in_the_live_preview_and_is_saved(
    page: Any, live: Services, live_server: str, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    live.users.create("editor@newsroom.example", PASSWORD, Role.editor, datetime.now(UTC))
    sign_in(page, live_server, "editor@newsroom.example")
    page.goto(live_server + "/dashboard/experiments/new")
    page.get_by_label("Key (required)", exact=True).fill("remind-ask")
    page.get_by_label("Name (required)", exact=True).fill("Remind ask")

    offer_fields = page.locator('[data-variant="0"] [data-reminder-fields]')
    assert offer_fields.is_hidden()  # "snooze only" to begin with
    page.get_by_label("“Remind me later” does").select_option("email")
    assert offer_fields.is_visible()
    page.locator(f'[name="{V}choices[0].label"]').fill("In 2 weeks")
    page.locator(f'[name="{V}choices[0].in_days"]').fill("14")
    page.locator(f'[name="{V}choices[1].label"]').fill("Next month")
    page.locator(f'[name="{V}choices[1].kind"]').select_option("next_month")
    page.locator(f'[name="{V}consent"]').fill("We will e-mail you once, then delete it.")
    page.locator(f'[name="{V}privacy_url"]').fill("https://news.example.org/privacy")
    with page.expect_response("**/dashboard/banner-preview") as drawn:
        page.locator(f'[name="{V}thanks"]').fill("Thanks, check your inbox.")
    assert drawn.value.json()["banner"]["content"]["reminder"]["thanks"] == (
        "Thanks, check your inbox."
    )
    assert not scrolls_sideways(page)

    # The preview draws the banner; its "remind me later" opens the offer as readers see it.
    preview = page.locator('[data-preview="0"] small-favor section')
    later = preview.get_by_role("button", name="Not ready to support today? Remind me later.")
    later.wait_for()
    later.click()
    assert preview.get_by_role("radio", name="In 2 weeks").is_checked()
    assert preview.get_by_role("radio", name="Next month").is_visible()
    assert preview.get_by_text("We will e-mail you once, then delete it.").is_visible()
    assert axe_violations(page, '[data-preview="0"]') == []
    preview.get_by_role("textbox", name="Your e-mail address").fill("staff@example.org")
    preview.get_by_role("button", name="Remind me").click()
    # A preview sends nothing: it shows the thanks the reader would see.
    assert preview.get_by_role("status").inner_text() == "Thanks, check your inbox."

    page.get_by_role("button", name="Create draft").click()
    page.get_by_text("Created draft remind-ask").wait_for()
    stored = live.experiments.get("remind-ask")
    assert stored is not None
    offer = stored.experiment.control.banner.reminder
    assert offer is not None
    assert offer.choices == (
        ReminderChoice("In 2 weeks", in_days=14),
        ReminderChoice("Next month", next_month=True),
    )
    assert offer.thanks == "Thanks, check your inbox."
    assert page.console_errors == []
