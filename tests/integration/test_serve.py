"""`smallfavor serve` (what `make run` ends with): web, flusher and scheduler start together;
one that dies is restarted while the others keep serving; stopping serve (Ctrl-C or SIGTERM)
stops them all and leaves no embedded Redis and no temporary folder behind."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.functional.events_support import HEADERS
from tests.support import free_port, wait_until_ready

ROOT = Path(__file__).resolve().parents[2]


class Serve:
    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.var_dir = tmp_path / "var"
        # serve's temporary folders (embedded Redis, metrics) land here, so a test can see
        # whether any is left; short, as a unix socket path must stay under 108 bytes.
        self.tmp_dir = tmp_path / "t"
        self.tmp_dir.mkdir()
        self.log = tmp_path / "serve.log"
        self.env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
        self.env.update(
            VAR_DIR=str(self.var_dir),
            TMPDIR=str(self.tmp_dir),
            PORT=str(self.port),
            WEB_CONCURRENCY="1",
            LOG_LEVEL="WARNING",
        )
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "service.cli", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
        )

    def start(self) -> subprocess.Popen[bytes]:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service.cli", "serve"],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        wait_until_ready(f"{self.url}/readyz", self.process)
        return self.process

    def redis_folders(self) -> list[Path]:
        """The embedded server's socket folder, which lives under VAR_DIR (or under TMPDIR
        when VAR_DIR is too deep for a socket path: then tmp_dir holds it)."""
        return list(self.var_dir.glob("smallfavor-redis-*"))

    def children(self, command: str) -> list[psutil.Process]:
        """serve's live children running `command` (web: gunicorn's master)."""
        assert self.process is not None
        found = []
        for child in psutil.Process(self.process.pid).children():
            try:
                argv = child.cmdline() if child.status() != psutil.STATUS_ZOMBIE else []
            except psutil.NoSuchProcess:
                continue
            if argv[-1:] == [command] or (command == "web" and "gunicorn" in argv):
                found.append(child)
        return found

    def child(self, command: str) -> psutil.Process:
        found = self.children(command)
        assert len(found) == 1, found
        return found[0]

    def redis_servers(self) -> list[psutil.Process]:
        """The live redis-servers of this var dir (Redis runs in its `dir`)."""
        found = []
        for process in psutil.process_iter(["name"]):
            try:
                if (
                    "redis-server" in (process.info["name"] or "")
                    and process.status() != psutil.STATUS_ZOMBIE
                    and Path(process.cwd()) == self.var_dir.resolve()
                ):
                    found.append(process)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        return found

    def stop(self) -> None:
        """Stop serve as an operator would (SIGTERM: it stops its children); whatever is still
        running after that is killed, so no web, flusher or scheduler outlives the test."""
        if self.process is not None and self.process.poll() is None:
            family = psutil.Process(self.process.pid).children(recursive=True)
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            for process in family:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.kill()
        for process in self.redis_servers():
            process.kill()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    instance = Serve(tmp_path)
    instance.cli("migrate")
    yield instance
    instance.stop()


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.1)
    return result


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stopping_serve_stops_every_process_and_leaves_nothing(serve: Serve, signum: int) -> None:
    process = serve.start()
    children = psutil.Process(process.pid).children(recursive=True)
    commands = " ".join(" ".join(c.cmdline()) for c in children)
    assert "gunicorn" in commands and " flush" in commands and " schedule" in commands
    assert len(serve.redis_servers()) == 1
    made = sorted(p.name for p in [*serve.tmp_dir.iterdir(), *serve.redis_folders()])
    assert [name.rsplit("-", 1)[0] for name in made] == ["smallfavor-metrics", "smallfavor-redis"]

    process.send_signal(signum)
    assert process.wait(timeout=60) == 0
    _, alive = psutil.wait_procs(children, timeout=20)
    assert alive == [], [p.cmdline() for p in alive]
    # serve waits for the server to stop before it exits: nothing to wait for here.
    assert serve.redis_servers() == []
    assert list(serve.tmp_dir.iterdir()) == []
    assert serve.redis_folders() == []
    assert (serve.var_dir / "redis.db").exists()  # the local data is kept for the next run


class HealthWatch(threading.Thread):
    """Asks /healthz over and over, keeping every failure."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.answers, self.failures = url, 0, []  # type: ignore[var-annotated]
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=15) as response:
                    assert response.status == 200
                    self.answers += 1
            except Exception as exc:  # every failure is the finding
                self.failures.append(repr(exc))


def post_impression(url: str, visitor: str) -> str:
    query = f"visitor={visitor}&placement=article-end&url=https%3A%2F%2Fnews.example%2Fa"
    request = urllib.request.Request(f"{url}/v1/decision?{query}", headers=HEADERS)
    with urllib.request.urlopen(request, timeout=10) as response:
        banner = json.load(response)["banner"]
    assert banner is not None
    event_id = str(uuid.uuid4())
    body = json.dumps(
        {"events": [{"id": event_id, "type": "impression", "token": banner["token"]}]}
    )
    request = urllib.request.Request(
        f"{url}/v1/events",
        data=body.encode(),
        headers={**HEADERS, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response)["accepted"] == 1
    return event_id


def flushed(var_dir: Path, event_id: str) -> bool:
    with sqlite3.connect(var_dir / "smallfavor.db", timeout=10) as db:
        return (
            db.execute("SELECT 1 FROM events WHERE event_id = ?", (event_id,)).fetchone()
            is not None
        )


def test_a_killed_flusher_is_restarted_while_web_keeps_serving(serve: Serve) -> None:
    serve.cli("seed-demo")
    serve.start()
    web, scheduler, flusher = serve.child("web"), serve.child("schedule"), serve.child("flush")
    health = HealthWatch(serve.url)
    health.start()
    try:
        flusher.kill()
        restarted = wait_for(
            lambda: [c for c in serve.children("flush") if c.pid != flusher.pid],
            timeout=30,
            what="a new flusher",
        )[0]
        event_id = post_impression(serve.url, "reader-after-restart")
        # A killed flusher's partitions pass to the new one once its leases expire (10 s).
        wait_for(lambda: flushed(serve.var_dir, event_id), timeout=60, what="event flushed")
        assert restarted.is_running()
    finally:
        health.done.set()
        health.join()
    assert health.failures == [] and health.answers > 0
    assert serve.child("web").pid == web.pid and serve.child("schedule").pid == scheduler.pid
    messages = [
        json.loads(line)["message"]
        for line in serve.log.read_text().splitlines()
        if line.startswith("{") and "supervisor" in line
    ]
    assert f"flusher (pid {flusher.pid}) exited with signal SIGKILL; restarting it in 1 s" in (
        messages
    )


def test_a_killed_web_master_is_restarted_and_its_workers_go(serve: Serve) -> None:
    serve.start()
    web, flusher = serve.child("web"), serve.child("flush")
    workers = web.children()
    assert workers
    web.kill()

    def answering_again() -> bool:
        try:
            with urllib.request.urlopen(f"{serve.url}/healthz", timeout=5):
                return any(c.pid != web.pid for c in serve.children("web"))
        except OSError:
            return False

    wait_for(answering_again, timeout=60, what="a new web answering /healthz")
    # gunicorn workers leave once their master is gone, so none holds the port or Redis.
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert alive == []
    assert serve.child("flush").pid == flusher.pid
