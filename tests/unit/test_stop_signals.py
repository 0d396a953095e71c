"""SIGTERM must stop a process even when it lands while the main thread is inside the stop
event's wait (holding the event's lock): setting the event from the handler itself deadlocked
the flusher there."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The signal is delivered while the main thread holds the event's internal lock, exactly
# where Event.wait() holds it; the handler runs at the next bytecode, still under the lock.
CHILD = textwrap.dedent(
    """
    import os, signal, threading
    from service.stop_signals import stop_on_signals

    stop = threading.Event()
    stop_on_signals(stop)
    with stop._cond:
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):
            pass
    print("stopped" if stop.wait(30) else "still running")
    """
)


def test_a_stop_signal_landing_inside_the_events_lock_still_stops_the_process() -> None:
    child = subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,  # a deadlocked handler never returns: the run times out and fails
    )
    assert child.stdout.strip() == "stopped", child.stderr
