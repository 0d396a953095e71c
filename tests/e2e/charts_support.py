"""Reading the results page's charts in the browser: what charts.js drew (tick labels,
intervals) at 1280 and 375 px, with a screenshot of the page and of each chart."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.layout import scrolls_sideways

WIDTHS = ((1280, 900), (375, 800))


def read_charts(page: Any, name: str) -> dict[int, dict[str, Any]]:
    """At each width: a screenshot, and what every drawn chart shows (its tick labels and
    interval bars, as charts.js drew them) and whether the page overflows sideways."""
    ARTIFACTS.mkdir(exist_ok=True)
    seen = {}
    for width, height in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        # Charts redraw at the new width (charts.js, after a short pause): wait until they fit.
        page.wait_for_function(
            """() => [...document.querySelectorAll('[data-chart][data-rendered] canvas')]
                .every(c => c.getBoundingClientRect().width <= window.innerWidth)"""
        )
        page.screenshot(path=str(ARTIFACTS / f"results-{name}-{width}.png"), full_page=True)
        charts = {}
        for el in page.locator("[data-chart][data-rendered]").all():
            chart = el.get_attribute("data-chart")
            el.screenshot(path=str(ARTIFACTS / f"results-{name}-{chart}-{width}.png"))
            charts[chart] = {
                "y": json.loads(el.get_attribute("data-y-labels") or "[]"),
                "x": json.loads(el.get_attribute("data-x-labels") or "[]"),
                "bands": int(el.get_attribute("data-bands") or 0),
            }
        seen[width] = {
            "charts": charts,
            "overflow": scrolls_sideways(page),
        }
    page.set_viewport_size({"width": 1280, "height": 900})
    return seen


def assert_readable(seen: dict[int, dict[str, Any]], charts: set[str]) -> None:
    for width, shown in seen.items():
        assert not shown["overflow"], f"the page scrolls sideways at {width} px"
        assert set(shown["charts"]) == charts, (width, shown["charts"].keys())
        for name, chart in shown["charts"].items():
            assert len(chart["y"]) >= 2, (width, name, chart)
            assert len(set(chart["y"])) == len(chart["y"]), (width, name, chart["y"])
            assert [label for label in chart["x"] if label], (width, name, chart)
            if name != "activity":
                assert chart["bands"] > 0, (width, name, chart)
