"""bench/events: long-running flushers sharing the event partitions, 1 process against 2.

    .venv/bin/python -m bench.events.flush_scaling [--events 200000] [--rounds 3]
        [--mode cold|settled|both]

Per round: a fresh schema and an empty Redis (every primary of a cluster), then the N events
of bench.events.flush_drain (50k visitors, 3 experiments) XADDed to their visitors'
partition streams as the service's ingest does (untimed, pipelined); then 1, or 2 started
together, `python -m service.cli flush` processes (run_forever: they share the partitions
through leases, each taking ceil(P / live flushers)), with the bench environment. The bench
polls PostgreSQL (the events id sequence every 50 ms, an exact count(*) once it could be
done) and sends SIGTERM to every flusher once `events` holds all N. Rounds alternate between
1 and 2 (the first of each round alternating too).

Two modes (--mode both, the default, runs each in every round):
- cold: the streams are filled before the flushers start, as after an outage or a deploy.
  Two clocks: from the spawn of the processes (Python start, connections and the lease
  sharing included: what an operator sees) and from the first write into `events`.
- settled: the flushers start on empty streams and the bench waits until their leases have
  settled (every partition held, by n processes); the events, XADDed beforehand to staged
  copies of the streams under the same hash tags, with the flusher group already made, are
  then RENAMEd into place (a few ms for all), and the clock runs from there: the drain rate of
  flushers already sharing the partitions.
Prints events/s per mode and clock (best and median round) and the ratio 2 / 1 by medians.
Target: 2 processes >= 1.7 x 1 process.

Exactly-once, checked after every round: count(*) and count(DISTINCT event_id) of `events`
are N; the flushers' own counts of new events add up to N (the duplicates they report are
entries written twice around a lease handover, which SQL's idempotence on event id refused);
and the aggregates (daily rollups, visitor outcomes, payments) are identical in every round.
Also shown: how the N events split between the 2 processes, and entries left pending.
PostgreSQL and Redis as in bench/decision (BENCH_DATABASE_URL, BENCH_REDIS_URL; a Redis
Cluster node too).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

from bench.events.flush_drain import fill_partitions, generate
from bench.harness import (
    ROOT,
    BenchRedis,
    bench_environment,
    bench_redis,
    empty_redis,
    fresh_schema,
)
from service.domain.events import EventRecord
from service.settings import Settings
from service.store.redis.event_stream import GROUP
from service.store.redis.keys import Keys
from service.store.sql.engine import build_engine

TARGET = 1.7
POLL_SECONDS = 0.05
FLUSHED = re.compile(r"flushed (\d+) stream entries: (\d+) events new, (\d+) duplicates")
FINGERPRINT = """
SELECT
  (SELECT count(*) FROM daily_rollups),
  (SELECT coalesce(sum(new_visitors), 0) FROM daily_rollups),
  (SELECT coalesce(sum(impressions + views + clicks), 0) FROM daily_rollups),
  (SELECT coalesce(sum(dismiss_remind_later + dismiss_close + dismiss_already_donated), 0)
     FROM daily_rollups),
  (SELECT coalesce(sum(conversions), 0) FROM daily_rollups),
  (SELECT coalesce(round(sum(revenue)::numeric, 2), 0) FROM daily_rollups),
  (SELECT count(*) FROM visitor_outcomes),
  (SELECT count(*) FROM payments),
  (SELECT count(*) FROM events WHERE counted)
"""


@dataclass(frozen=True)
class Round:
    processes: int
    mode: str  # "cold" or "settled"
    clocks: dict[str, float]  # clock name → seconds until all N were in SQL
    inserted: list[int]  # per process: events new to SQL
    duplicates: int
    pending_left: int
    fingerprint: tuple[object, ...]
    cores: dict[str, float]  # CPU in use over the timed drain, by process kind (Linux /proc)


STAGED = ":staged"
CLOCKS = {"cold": ("first write", "spawn"), "settled": ("release",)}


def run_round(
    env: dict[str, str], records: list[EventRecord], processes: int, batch_size: int, mode: str
) -> Round:
    settings = fresh_schema(env)
    keys = Keys(settings.redis_prefix, settings.event_partitions)
    client = bench_redis(env["REDIS_URL"])
    engine = build_engine(settings.database_url)
    try:
        empty_redis(client)
        if mode == "cold":
            fill_partitions(client, keys, records)
        else:
            fill_partitions(client, keys, records, STAGED)
            pipe = client.pipeline(transaction=False)
            for p in range(keys.partitions):
                pipe.xgroup_create(keys.events_stream(p) + STAGED, GROUP, id="0", mkstream=True)
            pipe.execute()
        with tempfile.TemporaryDirectory(prefix="bench-flushers-") as tmp:
            outputs = [Path(tmp) / f"flusher-{i}.out" for i in range(processes)]
            clocks, cores = drain(
                engine, env, outputs, len(records), batch_size, client, keys, mode
            )
            counts = [_flushed(path) for path in outputs]
        pending = _pending(client, keys)
        with engine.connect() as conn:
            total, distinct = conn.execute(
                text("SELECT count(*), count(DISTINCT event_id) FROM events")
            ).one()
            fingerprint = tuple(conn.execute(text(FINGERPRINT)).one())
    finally:
        empty_redis(client)
        client.close()
        engine.dispose()
    inserted = [new for new, _ in counts]
    if total != len(records) or distinct != len(records) or sum(inserted) != len(records):
        raise SystemExit(
            f"not exactly once with {processes} flushers ({mode}): events {total}, distinct "
            f"ids {distinct}, flushers' new events {inserted}, expected {len(records)}"
        )
    return Round(
        processes,
        mode,
        clocks,
        inserted,
        sum(duplicates for _, duplicates in counts),
        pending,
        fingerprint,
        cores,
    )


def drain(
    engine: Engine,
    env: dict[str, str],
    outputs: list[Path],
    n: int,
    batch_size: int,
    client: BenchRedis,
    keys: Keys,
    mode: str,
) -> tuple[dict[str, float], dict[str, float]]:
    """Start the flushers (settled: wait for their leases, then move the staged streams into
    place), wait until `events` holds n rows, SIGTERM them; seconds to that point from each
    of the mode's clocks, and the cores each kind of process used from the mode's first clock
    (the one the ratio is read from) to that point."""
    command = [sys.executable, "-m", "service.cli", "flush", "--batch-size", str(batch_size)]
    workers: list[subprocess.Popen[bytes]] = []
    starts: dict[str, float] = {"spawn": time.perf_counter()}
    for path in outputs:
        with path.open("w") as out:
            workers.append(
                subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
            )

    def check_alive(deadline: float) -> None:
        dead = [w.returncode for w in workers if w.poll() is not None]
        if dead or time.perf_counter() > deadline:
            raise SystemExit(
                f"flushers exited ({dead}) or timed out before writing {n} events:\n"
                + "\n".join(path.read_text()[-2000:] for path in outputs)
            )

    try:
        if mode == "settled":
            deadline = time.perf_counter() + 60
            while not _settled(client, keys, len(workers)):
                check_alive(deadline)
                time.sleep(POLL_SECONDS)
            # One by one (a cluster pipeline refuses RENAME): ~0.1 ms apart, a few ms in all.
            starts["release"] = time.perf_counter()
            cpu_start = cpu_seconds([w.pid for w in workers])
            for p in range(keys.partitions):
                client.rename(keys.events_stream(p) + STAGED, keys.events_stream(p))
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            deadline = time.perf_counter() + 600
            while True:
                now = time.perf_counter()
                last, called = conn.execute(
                    text("SELECT last_value, is_called FROM events_id_seq")
                ).one()
                if called and "first write" not in starts:
                    starts["first write"] = now
                    cpu_start = cpu_seconds([w.pid for w in workers])
                if last >= n and conn.execute(text("SELECT count(*) FROM events")).scalar() == n:
                    done = time.perf_counter()
                    cpu_end = cpu_seconds([w.pid for w in workers])
                    break
                check_alive(deadline)
                time.sleep(POLL_SECONDS)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
    seconds = done - starts[CLOCKS[mode][0]]
    cores = {kind: (cpu_end[kind] - cpu_start.get(kind, 0.0)) / seconds for kind in cpu_end}
    return {clock: done - starts[clock] for clock in CLOCKS[mode]}, cores


def cpu_seconds(flushers: list[int]) -> dict[str, float]:
    """CPU seconds (user + system) so far of the flusher processes, of PostgreSQL's processes
    and of redis-server's, from /proc (Linux). A PostgreSQL backend that exits between two
    readings takes its time with it; the flushers' own backends live as long as they do."""
    tick = os.sysconf("SC_CLK_TCK")
    totals = dict.fromkeys(("flushers", "postgres", "redis"), 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        used = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        if int(entry.name) in flushers:
            totals["flushers"] += used
        elif name.startswith("postgres"):
            totals["postgres"] += used
        elif name.startswith("redis-server"):
            totals["redis"] += used
    return totals


def _settled(client: BenchRedis, keys: Keys, flushers: int) -> bool:
    """Every partition's lease is held, by `flushers` distinct processes."""
    pipe = client.pipeline(transaction=False)
    for p in range(keys.partitions):
        pipe.get(keys.flusher_lease(p))
    holders = pipe.execute()
    return None not in holders and len(set(holders)) == flushers


def _flushed(path: Path) -> tuple[int, int]:
    """(events new, duplicates) from a flusher's last line."""
    match = FLUSHED.search(path.read_text())
    if match is None:
        raise SystemExit(f"a flusher did not report its counts:\n{path.read_text()[-2000:]}")
    return int(match.group(2)), int(match.group(3))


def _pending(client: BenchRedis, keys: Keys) -> int:
    """Entries still pending in the flusher group, over every partition."""
    total = 0
    for partition in range(keys.partitions):
        stream = keys.events_stream(partition)
        if client.exists(stream):
            total += int(client.xpending(stream, GROUP)["pending"])
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--visitors", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each (1 and 2)")
    parser.add_argument("--mode", choices=("cold", "settled", "both"), default="both")
    args = parser.parse_args()

    env = bench_environment(8193)
    settings = Settings.from_env(env)
    records = generate(args.events, args.visitors)
    modes = ("cold", "settled") if args.mode == "both" else (args.mode,)
    rounds: dict[tuple[str, int], list[Round]] = {(m, n): [] for m in modes for n in (1, 2)}
    for i in range(args.rounds):
        for mode in modes:
            for processes in (1, 2) if i % 2 == 0 else (2, 1):
                result = run_round(env, records, processes, args.batch_size, mode)
                rounds[mode, processes].append(result)
                clocks = ", ".join(f"{s:.2f} s from {c}" for c, s in result.clocks.items())
                print(
                    f"round {i + 1}, {mode}, {processes} flusher(s): {clocks}; new events per "
                    f"process {result.inserted}, duplicates {result.duplicates}, pending left "
                    f"{result.pending_left}",
                    flush=True,
                )
    print(report(rounds, len(records), args.batch_size, settings.event_partitions))
    if len({r.fingerprint for results in rounds.values() for r in results}) != 1:
        raise SystemExit("the aggregates differ between rounds: not exactly once")


def report(
    rounds: dict[tuple[str, int], list[Round]], n: int, batch_size: int, partitions: int
) -> str:
    fingerprints = {r.fingerprint for results in rounds.values() for r in results}
    lines = [
        f"{n} events over {partitions} partitions, batch size {batch_size}; "
        f"`flush` processes (run_forever) sharing partitions by lease",
        f"{'':<40} {'best/s':>8} {'median/s':>9}   rounds (events/s)",
    ]
    medians: dict[tuple[str, str, int], float] = {}
    for (mode, processes), results in rounds.items():
        for clock in CLOCKS[mode]:
            rates = [n / r.clocks[clock] for r in results]
            ordered = sorted(rates)
            medians[mode, clock, processes] = ordered[len(ordered) // 2]
            each = " ".join(f"{rate:.0f}" for rate in rates)
            label = f"{mode}, {processes} flusher(s), from {clock}"
            lines.append(
                f"{label:<40} {ordered[-1]:>8.0f} {medians[mode, clock, processes]:>9.0f}   {each}"
            )
    for mode, clock, processes in medians:
        if processes != 2:
            continue
        ratio = medians[mode, clock, 2] / medians[mode, clock, 1]
        lines.append(
            f"ratio 2/1 flushers, {mode}, from {clock}, medians: {ratio:.2f} "
            f"(target >= {TARGET}: {'met' if ratio >= TARGET else 'NOT met'})"
        )
    cpus = os.cpu_count() or 1
    for (mode, processes), results in rounds.items():
        use = {k: statistics.median(r.cores[k] for r in results) for k in results[0].cores}
        total = sum(use.values())
        shown = ", ".join(f"{kind} {cores:.2f}" for kind, cores in use.items())
        lines.append(
            f"cores in use, {mode}, {processes} flusher(s), medians: {shown}; total {total:.2f}"
            f" of {cpus}"
        )
        if processes == 1:
            # Flusher processes share nothing but the machine: n of them cannot go faster
            # than the cores there are, over the cores one of them keeps busy.
            lines.append(
                f"bound on this machine for 2 flushers, {mode}: {min(2.0, cpus / total):.2f} x 1"
            )
    lines.append(
        "exactly once: every round events = distinct ids = flushers' new events = "
        f"{n}; aggregates {'identical in every round' if len(fingerprints) == 1 else 'DIFFER'}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
