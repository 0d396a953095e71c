"""Keeps the processes of `smallfavor serve` running: web (the gunicorn master), flusher and
scheduler. One that exits while serve runs, whatever the reason, is started again after a
delay that doubles with each quick failure (1 s up to 30 s) and starts over once the process
has stayed up a while; the others never notice. SIGTERM or Ctrl-C stops them all.

The restart policy (Backoff) is pure, and the Supervisor takes its clock and its way of
starting a process as arguments, so both are tested without processes or waiting.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from service.stop_signals import stop_on_signals

log = logging.getLogger(__name__)


@dataclass
class Backoff:
    """Delay before restarting a process that exited: `first`, doubled after each exit that
    came soon after a start, at most `longest`; a process that ran `stable_after` seconds or
    more counts as healthy, so its next restart waits `first` again."""

    first: float = 1.0
    longest: float = 30.0
    stable_after: float = 60.0
    _next: float | None = field(default=None, repr=False)

    def delay(self, started_at: float, exited_at: float) -> float:
        if self._next is None or exited_at - started_at >= self.stable_after:
            self._next = self.first
        delay = self._next
        self._next = min(delay * 2, self.longest)
        return delay


class Child(Protocol):
    """What the supervisor needs of a process (subprocess.Popen has it)."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...


@dataclass
class _Slot:
    spawn: Callable[[], Child]
    backoff: Backoff
    process: Child | None = None
    started_at: float = 0.0
    restart_at: float | None = None  # set while the process is down and waiting out its delay


class Supervisor:
    def __init__(
        self,
        spawners: Mapping[str, Callable[[], Child]],
        clock: Callable[[], float] = time.monotonic,
        backoff: Callable[[], Backoff] = Backoff,
    ) -> None:
        self._clock = clock
        self._slots = {name: _Slot(spawn, backoff()) for name, spawn in spawners.items()}

    def pids(self) -> dict[str, int | None]:
        """The pid of each process, None while one waits to be restarted."""
        return {
            name: slot.process.pid if slot.restart_at is None and slot.process else None
            for name, slot in self._slots.items()
        }

    def start(self) -> None:
        for slot in self._slots.values():
            self._spawn(slot)

    def check(self) -> None:
        """One pass: schedule a restart for each process that has exited, and restart each
        whose delay is over."""
        now = self._clock()
        for name, slot in self._slots.items():
            if slot.restart_at is None and slot.process is not None:
                status = slot.process.poll()
                if status is not None:
                    delay = slot.backoff.delay(slot.started_at, now)
                    slot.restart_at = now + delay
                    log.warning(
                        "%s (pid %d) exited with %s; restarting it in %g s",
                        name,
                        slot.process.pid,
                        describe_status(status),
                        delay,
                    )
            if slot.restart_at is not None and now >= slot.restart_at:
                self._spawn(slot)
                log.warning("%s restarted (pid %d)", name, slot.process.pid)  # type: ignore[union-attr]

    def stop(self, grace: float = 30.0) -> None:
        """SIGTERM to every running process (the flusher finishes its batch, gunicorn its
        requests), then SIGKILL to any still running after `grace` seconds."""
        running = [
            s.process for s in self._slots.values() if s.process and s.process.poll() is None
        ]
        for process in running:
            process.terminate()
        deadline = self._clock() + grace
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - self._clock()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _spawn(self, slot: _Slot) -> None:
        slot.process = slot.spawn()
        slot.started_at = self._clock()
        slot.restart_at = None


def describe_status(status: int) -> str:
    """Popen's returncode in words: negative numbers are the signal that ended the process."""
    if status < 0:
        try:
            return f"signal {signal.Signals(-status).name}"
        except ValueError:
            return f"signal {-status}"
    return f"status {status}"


def run_until_signalled(supervisor: Supervisor, interval: float = 0.2) -> None:
    """Start the processes and keep them running until SIGTERM or SIGINT, then stop them."""
    stopping = threading.Event()
    previous = stop_on_signals(stopping)
    try:
        supervisor.start()
        while not stopping.wait(interval):
            supervisor.check()
    finally:
        supervisor.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
