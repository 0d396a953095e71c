"""bench/report: the results report for experiments with 1M and 10M exposed visitors.

    .venv/bin/python -m bench.report.run [--visitors 1000000,10000000] [--repeat 5]

For each size: loads the visitors' per-visitor outcomes into PostgreSQL (BENCH_DATABASE_URL; a
schema of its own) with COPY, ANALYZEs, and builds the report's kept sums from them
(store/sql/outcome_sums.py; the flusher keeps them as it writes, a bulk load has to build
them once). Then times `GET /v1/admin/experiments/<key>/report` through the app (SQL, stats,
JSON) plain, with a date range, and segmented by country: first from the kept sums, then,
as the baseline, scanning every visitor's row as reports did before the sums (and still do
while an experiment's sums are being rebuilt). Medians of --repeat rounds. Target: <= 1 s
at 10M.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bench.harness import bench_environment, fresh_schema
from service.app import create_app
from service.domain.experiment import Status
from service.domain.roles import Role
from service.schemas.experiment import parse_experiment
from service.settings import Settings
from service.store.sql import outcome_sums
from service.store.sql.engine import build_engine
from service.store.sql.event_tables import outcome_sums as sums_table
from service.store.sql.experiments_repo import ExperimentRepo
from tests.support import experiment_doc

KEY = "bench-report"
COLUMNS = (
    "experiment_key",
    "visitor",
    "variant_key",
    "first_seen_at",
    "first_exposure_at",
    "last_event_at",
    "country",
    "device",
    "impressions",
    "views",
    "clicks",
    "dismiss_remind_later",
    "dismiss_close",
    "dismiss_already_donated",
    "first_remind_later_at",
    "conversions",
    "revenue",
    "annualised_value",
    "recurring_conversions",
    "converted_after_remind_later",
)


def load(settings: Settings, visitors: int) -> None:
    engine = build_engine(settings.database_url)
    now = datetime.now(UTC)
    repo = ExperimentRepo(engine)
    stored = repo.create(parse_experiment(experiment_doc(key=KEY)), "bench", now)
    repo.save(stored.experiment.with_status(Status.running), action="start", actor="bench", now=now)
    rng = random.Random(11)
    start = now - timedelta(days=30)
    countries = ["US", "GB", "DE", "FR", "CA", "AU", "IN", "BR"]
    devices = ["mobile", "desktop", "tablet"]
    began = time.perf_counter()
    with engine.begin() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY visitor_outcomes ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for i in range(visitors):
                variant = "control" if rng.random() < 0.5 else "five-dollars"
                seen = start + timedelta(seconds=rng.random() * 30 * 86_400)
                impressions = 1 + int(rng.expovariate(0.5))
                converted = rng.random() < (0.020 if variant == "control" else 0.026)
                monthly = converted and rng.random() < 0.6
                revenue = (
                    (rng.choice([2, 5, 10]) if monthly else rng.choice([5, 10, 25, 50]))
                    if converted
                    else 0.0
                )
                remind = rng.random() < 0.08
                copy.write_row(
                    (
                        KEY,
                        f"visitor-{i:09d}",
                        variant,
                        seen,
                        seen,
                        seen + timedelta(hours=rng.random() * 48),
                        rng.choice(countries),
                        rng.choice(devices),
                        impressions,
                        impressions - (rng.random() < 0.3),
                        int(rng.random() < 0.05),
                        int(remind),
                        int(rng.random() < 0.02),
                        0,
                        seen if remind else None,
                        int(converted),
                        float(revenue),
                        float(revenue * (12 if monthly else 1)),
                        int(monthly),
                        remind and converted,
                    )
                )
        conn.exec_driver_sql("ANALYZE visitor_outcomes")
    engine.dispose()
    print(f"loaded {visitors} exposed visitors in {time.perf_counter() - began:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visitors", default="1000000,10000000", help="comma-separated sizes")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for visitors in (int(size) for size in args.visitors.split(",")):
        print(f"== {visitors:,} exposed visitors")
        run(visitors, args.repeat)


def run(visitors: int, repeat: int) -> None:
    env = bench_environment(8183)
    settings = fresh_schema(env)
    load(settings, visitors)
    engine = build_engine(settings.database_url)
    began = time.perf_counter()
    outcome_sums.rebuild(engine, KEY, None, datetime.now(UTC))
    with engine.connect() as conn:
        buckets = conn.execute(select(func.count()).select_from(sums_table)).scalar()
    print(f"built the kept sums ({buckets} buckets) in {time.perf_counter() - began:.1f} s")
    app = create_app(settings)
    svc = app.extensions["smallfavor"]
    _, token = svc.tokens.create("bench", Role.viewer, svc.clock())
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    today = datetime.now(UTC).date()
    cases = {
        "whole run": "",
        "last 7 days": f"?from={today - timedelta(days=7)}&to={today}",
        "by country": "?segment=country",
    }
    medians: dict[tuple[str, str], float] = {}
    bodies: dict[tuple[str, str], Any] = {}
    for source in ("kept sums", "scan"):
        if source == "scan":
            with engine.begin() as conn:
                outcome_sums.drop(conn, KEY)
        for name, query in cases.items():
            timings = []
            for _ in range(repeat):
                began = time.perf_counter()
                response = client.get(f"/v1/admin/experiments/{KEY}/report{query}", headers=headers)
                timings.append(time.perf_counter() - began)
                assert response.status_code == 200, response.json
            body = bodies[(source, name)] = response.json
            medians[(source, name)] = statistics.median(timings)
            counted = sum(v["visitors"] or 0 for v in body["variants"])
            print(
                f"{source:<9} {name:<12} median {medians[(source, name)] * 1000:7.1f} ms  "
                f"({counted} visitors, {len(body['daily'])} daily rows; target <= 1000 ms)"
            )
    for name in cases:
        kept, scan = bodies[("kept sums", name)], bodies[("scan", name)]
        for body in (kept, scan):
            body.pop("generated_at")
        same = "same report" if kept == scan else "REPORTS DIFFER"
        ratio = medians[("scan", name)] / medians[("kept sums", name)]
        print(f"{name:<12} scan / kept sums = {ratio:5.1f}x  ({same})")
    print(f"verdict: {bodies[('kept sums', 'whole run')]['verdicts'][0]['text']}")
    engine.dispose()


if __name__ == "__main__":
    main()
