"""bench/events: the flusher's drain rate into PostgreSQL against a raw COPY of the same rows.

    .venv/bin/python -m bench.events.flush_drain [--events 200000] [--rounds 3]

Generates N accepted events in arrival order (50k visitors, 3 experiments; page views of
an impression, usually a view, sometimes a click, a dismissal or a donation), then per round:
(a) COPY the same rows, prepared beforehand, into an events-shaped table with the same
indexes: the database's ceiling; (b) XADD them to the event partitions' Redis streams, each
to its visitor's partition as the service does (untimed, pipelined), and time `flush --once`
draining them into events, visitor outcomes and daily rollups, in one process and
(--processes) in several at once. `flush --once` drains every partition in turn and takes
over whatever is pending in each, so several at once overlap (their duplicates are shown);
bench.events.flush_scaling measures long-running flushers sharing the partitions by lease.
PostgreSQL and Redis as in bench/decision (BENCH_DATABASE_URL, BENCH_REDIS_URL; a Redis
Cluster node too). Prints events/s for both and the ratio. Target: flusher >= 25,000
events/s. Each round also drains with one flusher while no experiment's report sums are kept
(store/sql/outcome_sums.py), the baseline of what keeping them costs.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text

from bench.harness import BenchRedis, bench_environment, bench_redis, empty_redis, fresh_schema
from service.domain.events import ANNUAL_MULTIPLIER, EventRecord, EventType, Source
from service.jobs.flusher import open_flusher
from service.settings import Settings
from service.store.redis.keys import Keys
from service.store.sql import outcome_sums
from service.store.sql.engine import build_engine
from service.store.sql.event_deltas import EVENT_COLUMNS, event_row

EXPERIMENTS = {
    "monthly-ask": ("control", "five-dollars"),
    "annual-ask": ("control", "annual-first", "no-amounts"),
    "sticky-banner": ("control", "short-copy"),
}
START_MS = 1_795_000_000_000  # late November 2026, UTC
SPAN_MS = 3 * 86_400_000  # three days, so rollups span several rows per variant
TARGET = 25_000
UNKEPT = "x1 no sums"  # one flusher, the experiments' report sums not kept


def generate(n: int, visitors: int, seed: int = 7) -> list[EventRecord]:
    """n events in arrival order, as the stream holds them: page views by random visitors
    at random times, each an impression, usually a view within seconds, sometimes a click,
    a dismissal or a donation (half of them reported by the payment webhook)."""
    rng = random.Random(seed)
    profiles = [
        (rng.choice(["US", "GB", "DE", "FR", None]), rng.choice(["mobile", "desktop", "tablet"]))
        for _ in range(visitors)
    ]
    timed: list[tuple[int, EventRecord]] = []
    while len(timed) < n:
        visitor = rng.randrange(visitors)
        experiment = list(EXPERIMENTS)[visitor % len(EXPERIMENTS)]
        variant = EXPERIMENTS[experiment][visitor % len(EXPERIMENTS[experiment])]
        at = START_MS + rng.randrange(SPAN_MS)
        session = [(EventType.impression, {})]
        if rng.random() < 0.7:
            session.append((EventType.view, {}))
        roll = rng.random()
        if roll < 0.06:
            session.append((EventType.click, {}))
            if rng.random() < 0.3:
                session.append((EventType.conversion, _donation(rng, len(timed))))
        elif roll < 0.11:
            reason = rng.choice(["remind_later", "remind_later", "close", "already_donated"])
            session.append((EventType.dismiss, {"reason": reason}))
        for kind, extra in session:
            at += rng.randrange(500, 20_000)
            country, device = profiles[visitor]
            record = EventRecord(
                event_id=f"{len(timed):08d}-{rng.getrandbits(64):016x}",
                type=kind,
                experiment=experiment,
                variant=variant,
                visitor=f"reader-{visitor:08d}",
                ts_ms=at,
                received_ms=at + rng.randrange(50, 2000),
                source=extra.pop("source", Source.client),
                country=country,
                device=device,
                **extra,
            )
            timed.append((record.received_ms, record))
    timed.sort(key=lambda pair: pair[0])
    return [record for _, record in timed[:n]]


def _donation(rng: random.Random, i: int) -> dict[str, Any]:
    frequency = rng.choice(["one_off", "monthly", "monthly", "annual"])
    amount = rng.choice([200, 500, 1000, 2500])
    donation: dict[str, Any] = {
        "amount_minor": amount,
        "currency": "USD",
        "frequency": frequency,
        "revenue": amount / 100,
        "annualised": amount / 100 * ANNUAL_MULTIPLIER[frequency],
    }
    if rng.random() < 0.5:
        donation.update(source=Source.webhook, payment_id=f"pay-{i}")
    return donation


def reset(engine: Engine, *, kept: bool = True) -> None:
    """Empty tables; `kept`: the experiments' report sums are kept, as for every experiment
    created through the service (store/sql/outcome_sums.py), so the flusher maintains them."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE events, visitor_outcomes, daily_rollups, payments, raw_copy_events, "
                "outcome_sums, outcome_sums_state"
            )
        )
        if kept:
            for key in EXPERIMENTS:
                outcome_sums.start(conn, key, None, datetime.now(UTC))


def raw_copy(engine: Engine, rows: list[tuple[Any, ...]]) -> float:
    """Seconds to COPY prepared rows into an events-shaped table (same columns and indexes)."""
    columns = ", ".join(EVENT_COLUMNS)
    with engine.begin() as conn:
        driver: Any = conn.connection.driver_connection
        started = time.perf_counter()
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY raw_copy_events ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
    return time.perf_counter() - started


def fill_partitions(
    client: BenchRedis, keys: Keys, records: list[EventRecord], suffix: str = ""
) -> None:
    """XADD every record to its visitor's partition stream, as the service's ingest does,
    pipelined in order (so each partition holds its records in arrival order). With a suffix,
    to `<the partition's stream><suffix>` instead (same hash tag, so same slot)."""
    for start in range(0, len(records), 1000):
        pipe = client.pipeline(transaction=False)
        for record in records[start : start + 1000]:
            stream = keys.events_stream(keys.partition_of(record.visitor)) + suffix
            pipe.xadd(stream, record.to_fields())  # type: ignore[arg-type]
        pipe.execute()


def flusher_drain(
    settings: Settings, records: list[EventRecord], batch_size: int, processes: int
) -> tuple[float, int]:
    """(seconds, duplicates) for `flush --once` in `processes` processes to drain the
    records, XADDed beforehand to their partitions (untimed, as is starting the processes)."""
    client = bench_redis(settings.redis_url or "")
    empty_redis(client)
    fill_partitions(client, Keys(settings.redis_prefix, settings.event_partitions), records)
    client.close()
    # Forked, so each process builds its own connections and imports nothing anew; all
    # start draining at the barrier, and the clock runs from there to the last one done.
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(processes + 1)
    results = context.Queue()
    workers = [
        context.Process(target=_drain, args=(settings, batch_size, barrier, results))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    counts = [results.get(timeout=600) for _ in workers]
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    inserted = sum(new for new, _ in counts)
    if inserted != len(records):
        raise SystemExit(f"flusher wrote {inserted} of {len(records)} events")
    return elapsed, sum(duplicates for _, duplicates in counts)


def _drain(settings: Settings, batch_size: int, barrier: Any, results: Any) -> None:
    with open_flusher(settings, batch_size) as flusher:
        barrier.wait()
        counts = flusher.run_once()
        results.put((counts.inserted, counts.duplicates))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--visitors", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--processes", type=int, default=2, help="also drain with this many flushers at once"
    )
    args = parser.parse_args()

    env = bench_environment(8183)
    settings = fresh_schema(env)
    engine = build_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE raw_copy_events (LIKE events INCLUDING ALL)"))
    records = generate(args.events, args.visitors)
    prepared = [tuple(event_row(r)[name] for name in EVENT_COLUMNS) for r in records]

    flushers = sorted({1, args.processes})
    rates: dict[str, list[float]] = {"raw COPY": []} | {f"flusher x{n}": [] for n in flushers}
    rates[UNKEPT] = []
    duplicates: dict[str, list[int]] = {f"flusher x{n}": [] for n in flushers}
    # Rounds alternate, so a burst of other load on this shared machine hits every side; the
    # best round of each is the least disturbed one, the median is shown beside it.
    for _ in range(args.rounds):
        reset(engine)
        rates["raw COPY"].append(len(records) / raw_copy(engine, prepared))
        for n in flushers:
            reset(engine)
            seconds, doubled = flusher_drain(settings, records, args.batch_size, n)
            rates[f"flusher x{n}"].append(len(records) / seconds)
            duplicates[f"flusher x{n}"].append(doubled)
        reset(engine, kept=False)  # the baseline of keeping the report's sums
        rates[UNKEPT].append(len(records) / flusher_drain(settings, records, args.batch_size, 1)[0])
    engine.dispose()
    print(report(rates, len(records), args.batch_size, duplicates))


def report(
    rates: dict[str, list[float]],
    n: int,
    batch_size: int,
    duplicates: dict[str, list[int]] | None = None,
) -> str:
    lines = [
        f"{n} events, batch size {batch_size}; flusher xN: N flush --once processes",
        f"{'':<11} {'best/s':>9} {'median/s':>9}   rounds",
    ]
    best, median = {}, {}
    for name, values in rates.items():
        ordered = sorted(values)
        best[name], median[name] = ordered[-1], ordered[len(ordered) // 2]
        each = " ".join(f"{v:.0f}" for v in values)
        lines.append(f"{name:<11} {best[name]:>9.0f} {median[name]:>9.0f}   {each}")
    if UNKEPT in rates and "flusher x1" in rates:
        lines.append(
            f"ratio flusher x1 / {UNKEPT}: {median['flusher x1'] / median[UNKEPT]:.2f} medians "
            "(the cost of keeping the report's sums)"
        )
    for name in rates:
        if name.startswith("flusher") and name != UNKEPT:
            lines.append(
                f"ratio {name}/raw COPY: {best[name] / best['raw COPY']:.2f} best rounds, "
                f"{median[name] / median['raw COPY']:.2f} medians; "
                f"{best[name]:.0f} events/s (target >= {TARGET})"
            )
    for name, values in (duplicates or {}).items():
        each = " ".join(str(v) for v in values)
        lines.append(f"{name}: entries written twice (idempotent, not counted) per round: {each}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
