"""Shared test helpers: a controllable clock and experiment documents."""

from __future__ import annotations

import copy
import socket
import subprocess
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def banner(
    heading: str = "…we have a small favor to ask", monthly: list[int] | None = None
) -> dict[str, Any]:
    return {
        "template": "epic",
        "heading": heading,
        "paragraphs": ["Our reporting is free to read because readers pay for it."],
        "highlight": "Support us monthly from just %%AMOUNT%%.",
        "cta": {"label": "Support us", "url": "https://example.org/donate"},
        "amounts": {
            "currency": "USD",
            "one_off": [5, 10, 25],
            "monthly": monthly or [2, 5, 10],
            "default_frequency": "monthly",
        },
        "payment_methods": ["card", "paypal"],
        "remind_later_label": "Not ready to support today? Remind me later.",
    }


def experiment_doc(key: str = "monthly-ask", **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "key": key,
        "name": "Monthly ask: $2 vs $5",
        "placement": "article-end",
        "priority": 10,
        "targeting": {"countries": ["US", "GB"], "devices": ["mobile", "desktop"]},
        "variants": [
            {"key": "control", "weight": 50, "banner": banner()},
            {"key": "five-dollars", "weight": 50, "banner": banner(monthly=[5, 10, 20])},
        ],
    }
    doc.update(copy.deepcopy(overrides))
    return doc


def free_port() -> int:
    """A TCP port nothing listens on right now, for a server a test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_ready(url: str, process: subprocess.Popen[Any], timeout: float = 30) -> None:
    """Poll `url` until it answers 2xx; fail if the process exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"{url} did not answer in {timeout:.0f} s") from None
            time.sleep(0.2)
