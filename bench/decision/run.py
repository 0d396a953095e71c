"""bench/decision: GET /v1/decision against a hello-world baseline and a physical ceiling, on
the same gunicorn config.

    .venv/bin/python -m bench.decision.run [--seconds 10] [--rounds 3] [--connections 32]

Starts the service in production mode against PostgreSQL and Redis (BENCH_DATABASE_URL,
BENCH_REDIS_URL; defaults are this machine's servers; BENCH_REDIS_URL may name a node of a
Redis Cluster, e.g. redis://127.0.0.1:PORT without /db), seeds 5 running experiments on 3
placements with targeting, then runs wrk with a new random visitor per request against the
decision endpoint and, in the same run, against two baselines under the same gunicorn
settings: a Flask hello-world JSON endpoint (bench/hello_app.py), and the "physical ceiling"
(bench/ceiling_app.py: a bare WSGI app doing one pipelined Redis round trip on the visitor's
ledger key, HGETALL + HSETNX + EXPIRE, driven by the decision's own wrk script). Rounds
alternate between the three (the starting endpoint rotates each round). Prints req/s, p50,
p99 and the ratios, best rounds and medians. Targets: decision / hello-world >= 0.6,
decision / ceiling >= 0.8 (medians), p99 <= 30 ms at 32 connections.
The bench's Redis database (every primary, on a cluster) is emptied at the start and the end.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.harness import (
    WrkResult,
    add_round_arguments,
    bench_environment,
    bench_redis,
    empty_redis,
    fresh_schema,
    gunicorn,
    run_wrk,
    summarise_rounds,
)
from service.domain.experiment import Status
from service.schemas.experiment import parse_experiment
from service.settings import Settings
from service.store.redis import config_version
from service.store.redis.keys import Keys
from service.store.sql.engine import build_engine
from service.store.sql.experiments_repo import ExperimentRepo
from tests.support import experiment_doc

HERE = Path(__file__).parent

EXPERIMENTS = [
    ("monthly-ask", "article-end", 20, {"countries": ["US", "GB"], "devices": ["mobile"]}),
    ("annual-ask", "article-end", 10, {"sections": ["world", "politics"]}),
    ("sticky-banner", "bottom-banner", 10, {"audience": "non_supporters", "min_article_views": 3}),
    ("banner-copy", "bottom-banner", 5, {"languages": ["en"]}),
    ("header-ask", "header", 10, {"exclude_sections": ["obituaries"]}),
]


def seed(env: dict[str, str]) -> None:
    settings = fresh_schema(env)
    engine = build_engine(settings.database_url)
    repo = ExperimentRepo(engine)
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    for key, placement, priority, targeting in EXPERIMENTS:
        doc = experiment_doc(
            key=key,
            placement=placement,
            priority=priority,
            targeting=targeting,
            caps={"max_impressions": 5, "per_days": 30},
        )
        if placement == "bottom-banner":
            for variant in doc["variants"]:
                variant["banner"]["template"] = "bottom-banner"
        stored = repo.create(parse_experiment(doc), "bench", now)
        repo.save(
            stored.experiment.with_status(Status.running), action="start", actor="bench", now=now
        )
    engine.dispose()
    seed_redis(env["REDIS_URL"], settings)


def seed_redis(url: str, settings: Settings) -> None:
    """Empty the bench's Redis (every primary of a cluster) and bump the config version, so
    the service's experiment cache loads the seeded experiments."""
    client = bench_redis(url)
    try:
        empty_redis(client)
        config_version.bump(client, Keys(settings.redis_prefix, settings.event_partitions))
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_round_arguments(parser, seconds=10)
    args = parser.parse_args()

    app_env = bench_environment(8181)
    seed(app_env)
    hello_env = bench_environment(8182)
    ceiling_env = bench_environment(8180)
    targets = {
        "hello-world": HERE / "hello.lua",
        "ceiling": HERE / "random_visitor.lua",
        "decision": HERE / "random_visitor.lua",
    }
    try:
        with (
            gunicorn("bench.hello_app:create_app()", hello_env, "/hello") as hello_url,
            gunicorn("bench.ceiling_app:app", ceiling_env, "/ready?visitor=ready") as ceiling_url,
            gunicorn("service:create_app()", app_env, "/healthz") as app_url,
        ):
            urls = {"hello-world": hello_url, "ceiling": ceiling_url, "decision": app_url}
            rounds = measure(urls, targets, args)
    finally:
        client = bench_redis(app_env["REDIS_URL"])
        empty_redis(client)  # a few hundred thousand ledgers
        client.close()
    print(report(rounds, args.connections))


def measure(
    urls: dict[str, str], targets: dict[str, Path], args: argparse.Namespace
) -> dict[str, list[WrkResult]]:
    for name, script in targets.items():  # warm up every one
        run_wrk(urls[name], script, connections=args.connections, seconds=3)
    # Rounds alternate between the endpoints, the first of each round rotating, so a burst of
    # other load on this shared machine hits every side rather than one. The median round of
    # each is the figure to compare; the best (the least disturbed, as timeit takes the
    # minimum) is shown beside it.
    names = list(targets)
    rounds: dict[str, list[WrkResult]] = {name: [] for name in names}
    for i in range(args.rounds):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            rounds[name].append(
                run_wrk(
                    urls[name], targets[name], connections=args.connections, seconds=args.seconds
                )
            )
    return rounds


def report(rounds: dict[str, list[WrkResult]], connections: int) -> str:
    summary = summarise_rounds(rounds)
    p99 = summary.best["decision"].p99_ms
    for baseline, target in (("hello-world", 0.6), ("ceiling", 0.8)):
        if baseline not in rounds:
            continue
        best, median = summary.ratio("decision", baseline)
        summary.lines.append(
            f"ratio decision/{baseline}: {median:.2f} medians (target >= {target:.2f}: "
            f"{'met' if median >= target else 'NOT met'}), {best:.2f} best rounds"
        )
    if "ceiling" in rounds:
        best, median = summary.ratio("ceiling", "hello-world")
        summary.lines.append(f"ratio ceiling/hello-world: {median:.2f} medians, {best:.2f} best")
    summary.lines.append(
        f"decision p99 {p99:.1f} ms best round, {summary.medians['decision'].p99_ms:.1f} ms "
        f"median round (target <= 30); {connections} connections"
    )
    return "\n".join(summary.lines)


if __name__ == "__main__":
    main()
