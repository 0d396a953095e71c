"""bench/memory: Redis bytes per visitor ledger and per accepted event, on a private Redis.

    .venv/bin/python -m bench.memory.run [--visitors 5000] [--events-per-visitor 10]
                                         [--redis-url URL]

Starts Debian's redis-server on a free port (no RDB, no AOF) in a temporary directory, or with
--redis-url uses an existing, otherwise unused Redis and empties its database first (and at the
end). Builds the app as the tests do, through its public surfaces only: create_app() on
Settings.from_env() with a SQLite database migrated by service.store.migrate, a fixed clock,
the rate limiters and the decision log off; an editor token, then one running experiment
(tests.support.experiment_doc, caps of 5 impressions per 30 days, as bench/decision seeds)
created and started through the admin API. Requests go through Flask's test client.

Warm-up: visitors get a decision and post a batch until every variant has had one, then
`smallfavor flush --once` runs, so the scripts, the stream, its consumer group, the live
counters and HyperLogLogs exist before anything is measured. Each snapshot waits for
used_memory to settle (INFO memory), then sums MEMORY USAGE (SAMPLES 0) over every key (SCAN),
grouped into key families: the visitor ids, event ids, experiment, variant keys, days and
other ids in a key are replaced by placeholders.

Phase A: V new visitors (uuid hex ids, as snippet.js makes them) get one decision each: one
assignment each. Bytes per visitor ledger = used_memory delta / V, and the MEMORY USAGE of
the keys naming a visitor / V (of all new keys if no key names a visitor).
Phase B: each of them posts one batch of K events as snippet.js sends them (uuid ids, ISO ts,
desktop Chrome): impressions and views alternating, the last one a click (K=10: 5, 4, 1).
Every batch must answer 202 with all K accepted, no duplicates. Then the flusher drains the
stream into SQL: `smallfavor flush --once` (service.cli's main, by `python -c`) in a
subprocess with the same settings, on the same code as this process: PYTHONPATH starts with
the directory `service` was imported from, and the child's service.__file__ is checked. It
must exit 0. Bytes per accepted event = (used_memory after the flush - used_memory after
phase A) / accepted events, and the same with the MEMORY USAGE sums.
Prints both phases' key families (count, bytes, delta) and the two summary lines.

The two measures differ: MEMORY USAGE counts a key, its value and its dict entry; used_memory
also counts the TTL's entry in the expires dict and both dicts' bucket arrays, which double at
powers of two, so it needs thousands of visitors to mean anything. Nothing here is random
between runs (the ids come from a seeded generator), so runs agree to within a few bytes.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from flask.testing import FlaskClient

import service
from service.app import create_app
from service.domain.roles import Role
from service.settings import Settings
from service.store import migrate
from service.store.sql.engine import build_engine
from tests.support import FakeClock, experiment_doc, free_port

EXPERIMENT = "memory-ask"
VARIANTS = tuple(variant["key"] for variant in experiment_doc()["variants"])
CAPS = {"max_impressions": 5, "per_days": 30}
PLACEMENT = "article-end"
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
HEADERS = {"User-Agent": USER_AGENT, "CF-IPCountry": "US"}
SERVICE_ROOT = Path(service.__file__).resolve().parent.parent  # the code under measurement
SEED = 20261128
TOP_FAMILIES = 12
# One segment of a key: what lies between ':', '{' and '}'.
PARTITION_TAG = re.compile(r"\{e\d+\.\d+\}")
SEGMENT = re.compile(r"[^:{}]+")
DAY = re.compile(r"\d{4}-?\d{2}-?\d{2}")


# --- Redis ---------------------------------------------------------------------------------


@contextmanager
def private_redis(directory: Path) -> Iterator[str]:
    """redis-server on a free port, nothing persisted, stopped on the way out."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not on PATH (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            str(directory),
            "--logfile",
            str(directory / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for_redis(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_redis(url: str, process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    client = redis.Redis.from_url(url)
    try:
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"redis-server did not answer on {url}") from None
                time.sleep(0.05)
    finally:
        client.close()


def settled_used_memory(client: redis.Redis, timeout: float = 10) -> int:
    """INFO memory's used_memory once it stops moving (incremental rehashing, lazy frees)."""
    time.sleep(0.5)
    deadline = time.monotonic() + timeout
    readings = [used_memory(client)]
    while time.monotonic() < deadline:
        time.sleep(0.2)
        readings.append(used_memory(client))
        if len(readings) >= 3 and readings[-1] == readings[-2] == readings[-3]:
            break
    return readings[-1]


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


# --- Key families --------------------------------------------------------------------------


@dataclass
class Names:
    """The variable parts this run put into keys, to fold keys into families."""

    visitors: set[str] = field(default_factory=set)
    events: set[str] = field(default_factory=set)

    def family(self, key: str) -> str:
        # An event partition's hash tag ({e<p>.<n>}) is one family over all partitions.
        key = PARTITION_TAG.sub("{e<p>}", key)
        return SEGMENT.sub(lambda match: self.placeholder(match.group(0)), key)

    def placeholder(self, segment: str) -> str:
        if segment in self.visitors:
            return "<visitor>"
        if segment in self.events:
            return "<event>"
        if segment == EXPERIMENT:
            return "<experiment>"
        if segment in VARIANTS:
            return "<variant>"
        if DAY.fullmatch(segment):
            return "<day>"
        if segment.isdigit():
            return "<n>"
        if len(segment) >= 8 and any(c.isdigit() for c in segment):
            return "<id>"
        return segment


@dataclass(frozen=True)
class Family:
    keys: int
    bytes: int


@dataclass(frozen=True)
class Snapshot:
    used_memory: int
    families: dict[str, Family]

    @property
    def keys(self) -> int:
        return sum(f.keys for f in self.families.values())

    @property
    def usage(self) -> int:
        return sum(f.bytes for f in self.families.values())

    def usage_of(self, placeholder: str) -> tuple[int, int]:
        """Keys and MEMORY USAGE bytes of the families whose name holds `placeholder`."""
        chosen = [f for name, f in self.families.items() if placeholder in name]
        return sum(f.keys for f in chosen), sum(f.bytes for f in chosen)


def snapshot(client: redis.Redis, names: Names) -> Snapshot:
    used = settled_used_memory(client)
    counts: dict[str, list[int]] = {}
    for batch in scan_batches(client):
        pipe = client.pipeline(transaction=False)
        for key in batch:
            pipe.memory_usage(key, samples=0)  # every element, not a sample
        for key, size in zip(batch, pipe.execute(), strict=True):
            if size is None:  # expired between SCAN and MEMORY USAGE
                continue
            name = names.family(key.decode(errors="backslashreplace"))
            entry = counts.setdefault(name, [0, 0])
            entry[0] += 1
            entry[1] += int(size)
    return Snapshot(used, {name: Family(n, size) for name, (n, size) in counts.items()})


def scan_batches(client: redis.Redis, size: int = 2000) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    for key in client.scan_iter(count=size):
        batch.append(key)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- The service ---------------------------------------------------------------------------


def service_env(directory: Path, redis_url: str) -> dict[str, str]:
    return {
        "VAR_DIR": str(directory / "var"),
        "DATABASE_URL": f"sqlite:///{directory / 'memory.db'}",
        "REDIS_URL": redis_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "WEBHOOK_SECRET": secrets.token_urlsafe(48),
        "CONFIG_CHECK_MS": "0",
        "DECISION_LOG_SAMPLE_RATE": "0",
        "RATE_LIMIT_PER_MINUTE": "0",
        "DECISION_RATE_LIMIT_PER_MINUTE": "0",
        "LOG_LEVEL": "WARNING",
    }


def start_experiment(client: FlaskClient, editor: str) -> None:
    headers = {"Authorization": f"Bearer {editor}"}
    doc = experiment_doc(key=EXPERIMENT, caps=CAPS)
    created = client.post("/v1/admin/experiments", json=doc, headers=headers)
    if created.status_code != 201:
        raise SystemExit(f"creating the experiment: {created.status_code} {created.json}")
    started = client.post(f"/v1/admin/experiments/{EXPERIMENT}/start", headers=headers)
    if started.status_code != 200:
        raise SystemExit(f"starting the experiment: {started.status_code} {started.json}")


def decide(client: FlaskClient, visitor: str) -> tuple[str, str]:
    """The banner's decision token and variant for a new visitor."""
    response = client.get(
        "/v1/decision", query_string={"visitor": visitor, "placement": PLACEMENT}, headers=HEADERS
    )
    body = response.json or {}
    if response.status_code != 200 or not body.get("banner"):
        raise SystemExit(f"no banner for {visitor}: {response.status_code} {body}")
    return str(body["banner"]["token"]), str(body["banner"]["variant"])


def event_types(count: int) -> list[str]:
    """Impressions and views alternating, the last one a click: 10 gives 5, 4 and 1."""
    kinds = ["impression" if i % 2 == 0 else "view" for i in range(count)]
    if count >= 2:
        kinds[-1] = "click"
    return kinds


@dataclass
class Tally:
    requests: int = 0
    accepted: int = 0
    duplicates: int = 0


def post_events(
    client: FlaskClient, token: str, kinds: list[str], ts: str, rng: random.Random, names: Names
) -> dict[str, Any]:
    events = []
    for kind in kinds:
        event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        names.events.add(event_id)
        events.append({"id": event_id, "type": kind, "token": token, "ts": ts})
    response = client.post("/v1/events", json={"events": events}, headers=HEADERS)
    body: dict[str, Any] = response.json or {}
    if (
        response.status_code != 202
        or body.get("accepted") != len(kinds)
        or body.get("duplicates") != 0
        or body.get("rejected") != []
        or body.get("dropped") != {"bot": 0, "qa": 0}
    ):
        raise SystemExit(f"POST /v1/events did not accept the batch: {response.status_code} {body}")
    return body


def flush_once(env: dict[str, str]) -> str:
    """`smallfavor flush --once` in a subprocess running the code this process imported."""
    child_env = {
        **os.environ,
        **env,
        "PYTHONPATH": os.pathsep.join(
            [str(SERVICE_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    }
    code = (
        "import sys, service; print('flusher code:', service.__file__, file=sys.stderr); "
        "from service.cli import main; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "flush", "--once"],
        env=child_env,
        cwd=SERVICE_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise SystemExit(f"flush --once exited {result.returncode}:\n{result.stderr}")
    match = re.search(r"flusher code: (\S+)", result.stderr)
    expected = str(Path(service.__file__).resolve())
    if match is None or str(Path(match.group(1)).resolve()) != expected:
        raise SystemExit(f"the flusher ran other code than {expected}:\n{result.stderr}")
    return result.stdout.strip()


def visitor_id(rng: random.Random) -> str:
    """32 hex characters, as snippet.js makes them (a UUID without its dashes)."""
    return uuid.UUID(int=rng.getrandbits(128), version=4).hex


# --- The run -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    visitors: int
    accepted: int
    warm_visitors: int
    warm: Snapshot
    after_a: Snapshot
    after_b: Snapshot
    flush_output: str
    seconds: dict[str, float]


def run(args: argparse.Namespace, redis_url: str, directory: Path) -> Result:
    env = service_env(directory, redis_url)
    settings = Settings.from_env(env)
    engine = build_engine(settings.database_url)
    migrate.upgrade(engine)
    engine.dispose()
    rng = random.Random(SEED)
    names = Names()
    kinds = event_types(args.events_per_visitor)
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    ts = clock().isoformat().replace("+00:00", "Z")
    probe = redis.Redis.from_url(redis_url)
    app = create_app(settings, clock=clock)
    services = app.extensions["smallfavor"]
    seconds: dict[str, float] = {}
    try:
        client = app.test_client()
        _, editor = services.tokens.create("bench-memory", Role.editor, clock())
        start_experiment(client, editor)

        # Warm-up visitors until every variant has had events (its HyperLogLog exists).
        seen: set[str] = set()
        while seen != set(VARIANTS) and len(names.visitors) < 100:
            visitor = visitor_id(rng)
            names.visitors.add(visitor)
            token, variant = decide(client, visitor)
            post_events(client, token, kinds, ts, rng, names)
            seen.add(variant)
        flush_once(env)
        warm_visitors = len(names.visitors)
        warm = snapshot(probe, names)

        started = time.monotonic()
        visitors = [visitor_id(rng) for _ in range(args.visitors)]
        names.visitors.update(visitors)
        tokens = [decide(client, visitor)[0] for visitor in visitors]
        seconds["phase A decisions"] = time.monotonic() - started
        after_a = snapshot(probe, names)

        started = time.monotonic()
        tally = Tally()
        for token in tokens:
            body = post_events(client, token, kinds, ts, rng, names)
            tally.requests += 1
            tally.accepted += int(body["accepted"])
            tally.duplicates += int(body["duplicates"])
        seconds["phase B events"] = time.monotonic() - started
        started = time.monotonic()
        flush_output = flush_once(env)
        seconds["phase B flush"] = time.monotonic() - started
        after_b = snapshot(probe, names)
    finally:
        services.close()
        probe.close()
    if tally.duplicates != 0 or tally.accepted != args.visitors * len(kinds):
        raise SystemExit(f"expected {args.visitors * len(kinds)} accepted, 0 duplicates: {tally}")
    return Result(
        args.visitors, tally.accepted, warm_visitors, warm, after_a, after_b, flush_output, seconds
    )


def families_table(before: Snapshot, after: Snapshot, per: int, unit: str) -> list[str]:
    names = sorted(
        set(before.families) | set(after.families),
        key=lambda n: -abs(after.families.get(n, Family(0, 0)).bytes - family_bytes(before, n)),
    )
    lines = [
        f"  {'family':<48} {'keys':>8} {'bytes':>12} {'delta keys':>11} {'delta bytes':>12} "
        f"{'delta/' + unit:>13}"
    ]
    for name in names[:TOP_FAMILIES]:
        now = after.families.get(name, Family(0, 0))
        then = before.families.get(name, Family(0, 0))
        delta = now.bytes - then.bytes
        lines.append(
            f"  {name:<48} {now.keys:>8} {now.bytes:>12} {now.keys - then.keys:>11} "
            f"{delta:>12} {delta / per:>13.1f}"
        )
    if len(names) > TOP_FAMILIES:
        rest = names[TOP_FAMILIES:]
        delta = sum(family_bytes(after, n) - family_bytes(before, n) for n in rest)
        lines.append(f"  ({len(rest)} more families, delta bytes {delta})")
    return lines


def family_bytes(snap: Snapshot, name: str) -> int:
    return snap.families.get(name, Family(0, 0)).bytes


def report(result: Result) -> str:
    warm, a, b = result.warm, result.after_a, result.after_b
    v, n = result.visitors, result.accepted
    ledger_keys, ledger_bytes = a.usage_of("<visitor>")
    warm_ledger_keys, warm_ledger_bytes = warm.usage_of("<visitor>")
    per_visitor_used = (a.used_memory - warm.used_memory) / v
    per_visitor_usage = (ledger_bytes - warm_ledger_bytes) / v
    usage_label = "MEMORY USAGE of keys naming a visitor"
    if ledger_keys == warm_ledger_keys:  # no key names a visitor (hashed ids, say)
        per_visitor_usage = (a.usage - warm.usage) / v
        usage_label = "MEMORY USAGE of all new keys: no key names a visitor"
    per_event_used = (b.used_memory - a.used_memory) / n
    per_event_usage = (b.usage - a.usage) / n
    kinds = event_types(n // v)
    mix = ", ".join(f"{kinds.count(k)} {k}" for k in ("impression", "view", "click"))
    timing = ", ".join(f"{name} {s:.1f} s" for name, s in result.seconds.items())
    lines = [
        f"timing: {timing}",
        f"flusher: {result.flush_output}",
        "",
        f"after warm-up ({result.warm_visitors} visitors, a decision and a batch each, "
        f"flushed): used_memory {warm.used_memory}, {warm.keys} keys, MEMORY USAGE {warm.usage}",
        f"phase A: {v} visitors, one decision (one assignment) each",
        f"  used_memory {a.used_memory} (+{a.used_memory - warm.used_memory}), {a.keys} keys, "
        f"MEMORY USAGE {a.usage} (+{a.usage - warm.usage}); keys naming a visitor: "
        f"{ledger_keys - warm_ledger_keys} new, {ledger_bytes - warm_ledger_bytes} bytes",
        *families_table(warm, a, v, "visitor"),
        f"phase B: {n} events accepted ({n // v} per visitor: {mix}), 0 duplicates; flushed",
        f"  used_memory {b.used_memory} ({b.used_memory - a.used_memory:+}), {b.keys} keys, "
        f"MEMORY USAGE {b.usage} ({b.usage - a.usage:+})",
        *families_table(a, b, n, "event"),
        "",
        f"bytes per accepted event: {per_event_used:.1f} (used_memory), "
        f"{per_event_usage:.1f} (MEMORY USAGE)",
        f"bytes per visitor ledger: {per_visitor_used:.1f} (used_memory), "
        f"{per_visitor_usage:.1f} ({usage_label})",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--visitors", type=int, default=5000)
    parser.add_argument("--events-per-visitor", type=int, default=10)
    parser.add_argument(
        "--redis-url", help="an existing, otherwise unused Redis (emptied before and after)"
    )
    args = parser.parse_args()
    if args.visitors < 1 or args.events_per_visitor < 1:
        parser.error("--visitors and --events-per-visitor must be at least 1")
    print(f"code under test: {service.__file__}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        directory = Path(tmp)
        if args.redis_url:
            client = redis.Redis.from_url(args.redis_url)
            client.flushdb()
            try:
                result = run(args, args.redis_url, directory)
            finally:
                client.flushdb()
                client.close()
        else:
            with private_redis(directory) as url:
                result = run(args, url, directory)
    print(report(result))


if __name__ == "__main__":
    main()
