"""Staff in a real browser: sign in, build a two-variant test with the live preview, start it,
drive traffic through the simulator, read the results and the CSV, sign out; a viewer reads
but cannot edit. Screenshots at 1280 and 375 px go to test-artifacts/."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from service.domain.roles import Role
from service.schemas.experiment import parse_experiment
from service.wiring import Services
from tests.e2e.charts_support import assert_readable, read_charts
from tests.e2e.conftest import ROOT
from tests.support import experiment_doc

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"


def sign_in(page: Any, base: str, email: str) -> None:
    page.goto(base + "/dashboard/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard/")


def test_build_run_and_read_an_experiment(
    page: Any,
    live: Services,
    live_server: str,
    live_env: dict[str, str],
    screenshot: Callable[[str], None],
) -> None:
    live.users.create("editor@newsroom.example", PASSWORD, Role.editor, datetime.now(UTC))
    sign_in(page, live_server, "editor@newsroom.example")
    page.get_by_role("link", name="New experiment").click()
    page.get_by_label("Key (required)", exact=True).fill("winter-ask")
    page.get_by_label("Name (required)", exact=True).fill("Winter ask: $2 vs $5")
    page.get_by_role("button", name="Add a variant").click()
    page.locator('[name="variants[1].key"]').fill("five-dollars")
    page.locator('[name="variants[1].banner.amounts.monthly"]').fill("5, 10, 20")
    page.locator('[name="variants[1].banner.heading"]').fill("Readers like you keep us going")
    # The snippet itself draws the preview, placeholders filled as a reader would see them.
    preview = page.locator('[data-preview="1"] small-favor section')
    preview.get_by_text("Readers like you keep us going").wait_for()
    assert "Please support us with $10 a month." in preview.inner_text()
    screenshot("dashboard-editor")
    page.get_by_role("button", name="Create draft").click()
    page.get_by_text("Created draft winter-ask").wait_for()

    page.get_by_role("link", name="Start").click()
    page.get_by_role("button", name="Yes, start it").click()
    page.get_by_text("is now running").wait_for()

    _, token = live.tokens.create("e2e-simulator", Role.viewer, datetime.now(UTC))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli",
            "simulate",
            "--experiment",
            "winter-ask",
            "--visitors",
            "800",
            "--rates",
            "control=0.02,five-dollars=0.12",
            "--seed",
            "7",
            "--base-url",
            live_server,
            "--token",
            token,
            "--flush",
        ],
        env={**os.environ, **live_env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr

    page.reload()
    # 800 readers converting at 2 % and 12 %: about 8 donors in control, short of the 30 each
    # arm needs (MIN_DONORS_PER_ARM) before a lift, an interval or a verdict is shown.
    verdict = page.locator("li.verdict").first
    assert "five-dollars" in verdict.inner_text()
    assert re.search(r"not enough data yet: \d+ of 30 donors", verdict.inner_text())
    comparison = page.locator("#comparison-table tbody tr").first.inner_text()
    assert "not enough data yet" in comparison and " % to " not in comparison
    assert "each arm needs 30 donors" in page.locator("#lift-held").inner_text()
    for chart in ("conversion", "activity"):
        page.locator(f'[data-chart="{chart}"][data-rendered] canvas').first.wait_for()
    assert page.locator('[data-chart="lift"]').count() == 0
    # Minutes of traffic: a dot per variant with its interval, on an axis of hours.
    seen = read_charts(page, "small")
    assert_readable(seen, {"conversion", "activity"})
    conversion = seen[1280]["charts"]["conversion"]
    assert conversion["bands"] >= 2
    assert all(re.match(r"\d\d:00", label) for label in conversion["x"] if label)
    assert page.console_errors == []  # type: ignore[attr-defined]
    screenshot("dashboard-results")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["variant"] for r in rows] == ["control", "five-dollars"]
    assert sum(int(r["visitors"]) for r in rows) > 0
    assert int(rows[1]["conversions"]) > 0

    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("You are signed out").wait_for()
    page.goto(live_server + "/dashboard/experiments/winter-ask")
    assert "/dashboard/login" in page.url


def test_a_viewer_reads_but_cannot_edit(
    page: Any, live: Services, live_server: str, screenshot: Callable[[str], None]
) -> None:
    now = datetime.now(UTC)
    live.experiments.create(parse_experiment(experiment_doc("viewer-check")), "e2e", now)
    live.users.create("viewer@newsroom.example", PASSWORD, Role.viewer, now)
    sign_in(page, live_server, "viewer@newsroom.example")
    page.get_by_role("link", name="Monthly ask: $2 vs $5").click()
    page.get_by_role("heading", name="Verdict").wait_for()
    assert page.get_by_role("link", name="Edit").count() == 0
    assert page.get_by_role("link", name="Start").count() == 0
    assert page.get_by_role("link", name="New experiment").count() == 0
    screenshot("dashboard-viewer")
    response = page.goto(live_server + "/dashboard/experiments/viewer-check/edit")
    assert response.status == 403
    assert "needs the editor role" in page.content()
