"""Stopping a long-running process on SIGTERM/SIGINT through a threading.Event, safely.

Python runs a signal handler in the main thread between two bytecodes, possibly while that
thread is inside `Event.wait()` holding the event's internal (non-reentrant) lock. Calling
`Event.set()` in the handler then waits for that lock forever: a flusher that never stopped
after SIGTERM was caught doing exactly that. The handler therefore hands `set()` to a
short-lived thread, which takes the lock as soon as the main thread lets it go.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def stop_on_signals(stop: threading.Event) -> dict[int, Any]:
    """Set `stop` on SIGTERM or SIGINT; returns the previous handlers, to restore them."""

    def handler(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=stop.set, name="stop-signal", daemon=True).start()

    return {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
