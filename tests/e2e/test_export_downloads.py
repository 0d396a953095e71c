"""Downloading an export run's file from its schedule's page, as a viewer, at desktop and
phone widths: the browser saves the file the run wrote, byte for byte, and the run's times
read in the viewer's own time zone (Asia/Kolkata, UTC+5:30)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from service.domain.roles import Role
from service.store.sql.exports_repo import ExportRepo
from service.wiring import Services
from tests.e2e.conftest import USER_AGENT
from tests.e2e.test_dashboard import PASSWORD, sign_in
from tests.integration.export_support import (
    save_schedule,
    scheduler,
    seed_figures,
    start_experiment,
)
from tests.support import FakeClock

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [1280, 375])
def test_a_viewer_downloads_a_run_file(
    browser: Any, live: Services, live_server: str, tmp_path: Path, width: int
) -> None:
    clock = FakeClock()  # 28 Nov 2026, 12:00 UTC
    start_experiment(live.engine)
    seed_figures(live.engine)
    stored = save_schedule(live.engine, clock())
    queued = ExportRepo(live.engine).queue_adhoc(stored.id, clock())
    scheduler(live.engine, live.settings, clock).run_pending()
    run = ExportRepo(live.engine).run(queued.id)
    assert run is not None and len(run.files) == 1
    written = live.settings.export_dir / "board" / run.files[0].name
    live.users.create("viewer@newsroom.example", PASSWORD, Role.viewer, datetime.now(UTC))

    context = browser.new_context(
        viewport={"width": width, "height": 800},
        user_agent=USER_AGENT,
        timezone_id="Asia/Kolkata",
        locale="en-GB",
        accept_downloads=True,
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        sign_in(page, live_server, "viewer@newsroom.example")
        page.goto(f"{live_server}/dashboard/exports/{stored.id}")
        started = page.locator("#runs-table tbody tr").first.locator("time").first
        assert started.get_attribute("datetime").startswith("2026-11-28T12:00:00")
        assert "17:30" in started.inner_text() and "UTC" not in started.inner_text()

        with page.expect_download() as info:
            page.get_by_role("link", name=run.files[0].name).click()
        download = info.value
        assert download.suggested_filename == run.files[0].name
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        assert saved.read_bytes() == written.read_bytes()
        assert saved.read_bytes().count(b"\r\n") == run.files[0].rows + 1  # header + rows
    finally:
        context.close()
    assert errors == []
