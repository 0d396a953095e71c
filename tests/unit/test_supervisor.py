"""`smallfavor serve`'s supervisor: a process that exits is restarted after a delay that
doubles while it keeps failing and starts over once it stays up; the others are left alone."""

from __future__ import annotations

import logging
import subprocess
from itertools import count

import pytest

from service.supervisor import Backoff, Supervisor, describe_status
from tests.support import FakeClock

PIDS = count(100)


class FakeProcess:
    def __init__(self, exits_on_terminate: bool = True) -> None:
        self.pid = next(PIDS)
        self.returncode: int | None = None
        self.exits_on_terminate = exits_on_terminate
        self.signals: list[str] = []

    def poll(self) -> int | None:
        return self.returncode

    def terminate(self) -> None:
        self.signals.append("TERM")
        if self.exits_on_terminate:
            self.returncode = -15

    def kill(self) -> None:
        self.signals.append("KILL")
        self.returncode = -9

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            raise subprocess.TimeoutExpired("fake", timeout or 0)
        return self.returncode


class Stack:
    """A supervisor of web, flusher and scheduler made of fake processes, on a fake clock."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.spawned: dict[str, list[FakeProcess]] = {"web": [], "flusher": [], "scheduler": []}
        self.supervisor = Supervisor(
            {name: self._spawner(name) for name in self.spawned},
            clock=lambda: self.clock().timestamp(),
        )
        self.supervisor.start()

    def _spawner(self, name: str):  # type: ignore[no-untyped-def]
        def spawn() -> FakeProcess:
            self.spawned[name].append(FakeProcess())
            return self.spawned[name][-1]

        return spawn

    def current(self, name: str) -> FakeProcess:
        return self.spawned[name][-1]

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds=seconds)
        self.supervisor.check()


def test_backoff_doubles_up_to_the_longest_delay() -> None:
    backoff = Backoff(first=1, longest=30, stable_after=60)
    delays = []
    now = 0.0
    for _ in range(8):
        delay = backoff.delay(started_at=now, exited_at=now + 0.5)  # dies at once each time
        delays.append(delay)
        now += 0.5 + delay
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30]


def test_backoff_starts_over_after_a_process_stayed_up() -> None:
    backoff = Backoff(first=1, longest=30, stable_after=60)
    assert [backoff.delay(0, 1), backoff.delay(2, 3), backoff.delay(5, 6)] == [1, 2, 4]
    assert backoff.delay(started_at=10, exited_at=70) == 1  # up 60 s: healthy again
    assert backoff.delay(started_at=71, exited_at=72) == 2
    assert backoff.delay(started_at=74, exited_at=133.9) == 4  # just short of stable


def test_a_killed_flusher_is_restarted_after_its_delay_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stack = Stack()
    web, scheduler, flusher = (stack.current(n) for n in ("web", "scheduler", "flusher"))
    flusher.returncode = -9
    with caplog.at_level(logging.WARNING, logger="service.supervisor"):
        stack.advance(0.2)
        assert stack.supervisor.pids()["flusher"] is None
        stack.advance(0.7)
        assert len(stack.spawned["flusher"]) == 1  # still waiting out the 1 s
        stack.advance(0.3)
    restarted = stack.current("flusher")
    assert restarted is not flusher
    assert stack.supervisor.pids() == {
        "web": web.pid,
        "flusher": restarted.pid,
        "scheduler": scheduler.pid,
    }
    assert web.signals == [] and scheduler.signals == []
    assert [r.getMessage() for r in caplog.records] == [
        f"flusher (pid {flusher.pid}) exited with signal SIGKILL; restarting it in 1 s",
        f"flusher restarted (pid {restarted.pid})",
    ]


def test_a_crash_loop_waits_longer_each_time_and_the_others_stay_up() -> None:
    stack = Stack()
    web = stack.current("web")
    waited = []
    for _ in range(6):
        stack.current("scheduler").returncode = 1  # fails right after each start
        stack.advance(0.1)
        restarts = len(stack.spawned["scheduler"])
        seconds = 0.0
        while len(stack.spawned["scheduler"]) == restarts:
            stack.advance(0.5)
            seconds += 0.5
        waited.append(seconds)
    assert waited == [1, 2, 4, 8, 16, 30]
    assert stack.current("web") is web and len(stack.spawned["flusher"]) == 1


@pytest.mark.parametrize("name", ["web", "flusher", "scheduler"])
@pytest.mark.parametrize("status", [0, 1, -9, -11])
def test_any_exit_of_any_process_is_restarted(name: str, status: int) -> None:
    stack = Stack()
    first = stack.current(name)
    first.returncode = status
    stack.advance(0.1)
    stack.advance(1.0)
    assert stack.current(name) is not first and stack.current(name).returncode is None


def test_stop_terminates_every_process_and_kills_one_that_hangs() -> None:
    web, hung, dead = FakeProcess(), FakeProcess(exits_on_terminate=False), FakeProcess()
    clock = FakeClock()
    supervisor = Supervisor(
        {"web": lambda: web, "scheduler": lambda: hung, "flusher": lambda: dead},
        clock=lambda: clock().timestamp(),
    )
    supervisor.start()
    dead.returncode = -9
    supervisor.stop(grace=0)
    assert web.signals == ["TERM"]
    assert hung.signals == ["TERM", "KILL"]
    assert dead.signals == []


def test_exit_statuses_are_described_in_words() -> None:
    assert describe_status(-9) == "signal SIGKILL"
    assert describe_status(-15) == "signal SIGTERM"
    assert describe_status(3) == "status 3"
    assert describe_status(-200) == "signal 200"
