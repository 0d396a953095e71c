"""A Redis Cluster changing under load: a replica taking over a master (CLUSTER FAILOVER) and
slots moving between masters (redis-cli --cluster reshard) while decisions and events run.
Decisions recover within 2 s of the cluster completing the change (the replica reporting
itself master: while the old master pauses writes for the hand-over, decisions fail closed,
answering "unavailable", and events go straight to SQL), and SQL ends with exactly the
accepted events, none twice.

Each test starts a cluster of its own (3 masters + 3 replicas, .ci/redis-cluster), so
changing it disturbs nothing else. They run in CI's Redis Cluster pass (TEST_REDIS_URL names
a cluster node) or with SMALLFAVOR_CLUSTER_TESTS=1; SQL is the suite's database.
"""

from __future__ import annotations

import os
import random
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from flask import Flask
from sqlalchemy import Engine, select

from service.app import create_app
from service.domain.roles import Role
from service.settings import Settings
from service.store.sql.tables import events
from tests.functional.events_support import HEADERS, start_experiment
from tests.integration.flush_support import flush_process

ROOT = Path(__file__).resolve().parents[2]


def _cluster_pass() -> bool:
    if os.environ.get("SMALLFAVOR_CLUSTER_TESTS") == "1":
        return True
    url = os.environ.get("TEST_REDIS_URL", "")
    if not url.startswith("redis://"):
        return False
    try:
        client = redis_lib.Redis.from_url(url, socket_timeout=2)
        return bool(client.info("cluster").get("cluster_enabled"))
    except redis_lib.RedisError:
        return False


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not _cluster_pass(),
        reason="runs in CI's Redis Cluster pass (TEST_REDIS_URL=a cluster node), "
        "or with SMALLFAVOR_CLUSTER_TESTS=1",
    ),
]


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[str]:
    script = str(ROOT / ".ci" / "redis-cluster")
    started = subprocess.run(
        [script, "start", str(tmp_path / "cluster")], capture_output=True, text=True, timeout=120
    )
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip()
    try:
        yield url
    finally:
        subprocess.run([script, "stop", str(tmp_path / "cluster")], timeout=60, check=False)


@dataclass
class Traffic:
    """Decisions and events from one thread, recording what the service said."""

    app: Flask
    stop: threading.Event = field(default_factory=threading.Event)
    accepted: set[str] = field(default_factory=set)
    # (monotonic time, whether the decision had the ledger: reason != "unavailable")
    decisions: list[tuple[float, bool]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    change_s: float = 0.0  # how long the cluster took to make the change
    recovered_s: float = 0.0  # from the change done to decisions with the ledger again

    def run(self) -> None:
        client = self.app.test_client()
        rng = random.Random(7)
        n = 0
        while not self.stop.is_set():
            n += 1
            visitor = f"reader-{n:07d}"
            answer = client.get(
                "/v1/decision",
                query_string={"visitor": visitor, "placement": "article-end"},
                headers=HEADERS,
            )
            if answer.status_code != 200:
                self.errors.append(f"decision {answer.status_code}: {answer.get_data(True)}")
                continue
            body = answer.json
            self.decisions.append((time.monotonic(), body["reason"] != "unavailable"))
            if body["banner"] is None:
                continue
            token = body["banner"]["token"]
            batch = [
                {"id": uuid.uuid4().hex, "type": kind, "token": token}
                for kind in ("impression", "view", "click")[: rng.randint(1, 3)]
            ]
            for attempt in range(1 + (rng.random() < 0.05)):  # now and then a retried beacon
                posted = client.post("/v1/events", json={"events": batch}, headers=HEADERS)
                if posted.status_code != 202:
                    self.errors.append(f"events {posted.status_code}: {posted.get_data(True)}")
                    break
                if attempt == 0:
                    assert posted.json["accepted"] + posted.json["duplicates"] == len(batch)
                    self.accepted.update(e["id"] for e in batch)

    def recovery_after(self, moment: float) -> float:
        """Seconds from `moment` to the first of an unbroken run of decisions with the
        ledger that lasts to the end (0 if none failed)."""
        after = [(t, ok) for t, ok in self.decisions if t >= moment]
        assert after, "no decisions after the change"
        failed = [t for t, ok in after if not ok]
        if not failed:
            return 0.0
        recovered = [t for t, ok in after if ok and t > failed[-1]]
        assert recovered, "decisions never recovered"
        return recovered[0] - moment


@pytest.fixture
def cluster_app(
    own_cluster: str, env: dict[str, str], clean_db: Engine
) -> Iterator[tuple[Flask, dict[str, str]]]:
    cluster_env = {**env, "REDIS_URL": own_cluster, "RATE_LIMIT_PER_MINUTE": "0"}
    app = create_app(Settings.from_env(cluster_env))
    svc = app.extensions["smallfavor"]
    _, token = svc.tokens.create("cluster", Role.editor, svc.clock())
    start_experiment(
        app.test_client(),
        {"Authorization": f"Bearer {token}"},
        caps={"max_impressions": 1000, "per_days": 1},
    )
    yield app, cluster_env
    svc.close()


def _run_with(
    app: Flask, env: dict[str, str], change: Any, engine: Engine, settle_s: float = 3.0
) -> Traffic:
    """Traffic and a flusher before, during and after `change()`; then everything drained."""
    traffic = Traffic(app)
    thread = threading.Thread(target=traffic.run, daemon=True)
    flusher = flush_process(env, "--batch-size", "500")
    thread.start()
    try:
        _wait(lambda: len(traffic.accepted) > 300, 60, "traffic before the change")
        began = time.monotonic()
        change()
        traffic.change_s = time.monotonic() - began
        done_at = time.monotonic()
        before = len(traffic.accepted)
        _wait(lambda: len(traffic.accepted) > before + 300, 60, "traffic after the change")
        time.sleep(settle_s)  # traffic continues for a while on the changed cluster
        traffic.recovered_s = traffic.recovery_after(done_at)
    finally:
        traffic.stop.set()
        thread.join(timeout=30)
        flusher.terminate()
        _, err = flusher.communicate(timeout=60)
    assert flusher.returncode == 0, err.decode()
    once = flush_process(env, "--batch-size", "500", "--once")
    _, err = once.communicate(timeout=300)
    assert once.returncode == 0, err.decode()
    with engine.connect() as conn:
        stored = conn.execute(select(events.c.event_id)).scalars().all()
    assert len(stored) == len(set(stored)), "an event was written twice"
    assert set(stored) == traffic.accepted, (len(stored), len(traffic.accepted))
    assert not traffic.errors, traffic.errors[:5]
    return traffic


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _nodes(url: str) -> list[dict[str, Any]]:
    """The cluster's nodes as CLUSTER NODES lists them (redis-py parses the reply)."""
    port = int(url.rsplit(":", 1)[1])
    client = redis_lib.Redis(port=port, decode_responses=True)
    raw: dict[str, dict[str, Any]] = client.execute_command("CLUSTER NODES")
    client.close()
    return [
        {
            "id": node["node_id"],
            "port": int(address.split(":")[1].split("@")[0]),
            "master": "master" in node["flags"],
            "slots": node["slots"],
        }
        for address, node in raw.items()
    ]


def _slot_count(node: dict[str, Any]) -> int:
    return sum(int(r[-1]) - int(r[0]) + 1 for r in node["slots"])


def test_a_failover_loses_nothing_and_decisions_recover_within_two_seconds(
    cluster_app: tuple[Flask, dict[str, str]], clean_db: Engine, own_cluster: str
) -> None:
    app, env = cluster_app
    _wait(lambda: sum(not n["master"] for n in _nodes(own_cluster)) == 3, 30, "the replicas")
    replica = next(n for n in _nodes(own_cluster) if not n["master"])

    def fail_over() -> None:
        node = redis_lib.Redis(port=replica["port"], decode_responses=True)
        node.execute_command("CLUSTER FAILOVER")
        _wait(lambda: node.info("replication")["role"] == "master", 30, "the replica to lead")

    traffic = _run_with(app, env, fail_over, clean_db)
    assert traffic.recovered_s <= 2.0, traffic.recovered_s


def test_resharding_during_ingest_loses_and_doubles_nothing(
    cluster_app: tuple[Flask, dict[str, str]], clean_db: Engine, own_cluster: str
) -> None:
    app, env = cluster_app
    moves: list[dict[str, Any]] = []

    def reshard() -> None:
        masters = [n for n in _nodes(own_cluster) if n["master"] and n["slots"]]
        source, target = masters[0], masters[1]
        moves.append(target)
        # A third of the source's slots, a few partitions' streams among them, move while
        # events keep arriving: the client follows MOVED and ASK.
        moved = subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "reshard",
                f"127.0.0.1:{source['port']}",
                "--cluster-from",
                source["id"],
                "--cluster-to",
                target["id"],
                "--cluster-slots",
                "2000",
                "--cluster-yes",
                "--cluster-pipeline",
                "50",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert moved.returncode == 0, moved.stdout[-2000:] + moved.stderr

    _run_with(app, env, reshard, clean_db, settle_s=1.0)
    (target,) = moves
    moved = next(n for n in _nodes(own_cluster) if n["id"] == target["id"])
    assert _slot_count(moved) == _slot_count(target) + 2000
