"""Layout checks shared by the browser tests."""

from __future__ import annotations

from typing import Any


def scrolls_sideways(page: Any) -> bool:
    """Whether the page is wider than the viewport, once it has loaded: measured before its
    stylesheet applies (a busy machine), a long token or table is still unwrapped."""
    page.wait_for_load_state("load")
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth"))
