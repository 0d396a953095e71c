"""bench/decision: GET /v1/decision against a hello-world baseline, on the same gunicorn config.

    .venv/bin/python -m bench.decision.run [--seconds 15] [--connections 32]

Starts the service in production mode against PostgreSQL and Redis (BENCH_DATABASE_URL,
BENCH_REDIS_URL; defaults are this machine's servers), seeds 5 running experiments on 3
placements with targeting, then runs wrk with a new random visitor per request against the
decision endpoint and, in the same run, against a hello-world JSON endpoint. Prints req/s,
p50, p99 and the ratio. Targets: ratio >= 0.6 and p99 <= 30 ms at 32 connections.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import redis

from bench.harness import bench_environment, fresh_schema, gunicorn, run_wrk
from service.domain.experiment import Status
from service.domain.experiment_validation import parse_experiment
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
    client = redis.Redis.from_url(env["REDIS_URL"])
    client.flushdb()
    config_version.bump(client, Keys(settings.redis_prefix))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    app_env = bench_environment(8181)
    seed(app_env)
    hello_env = bench_environment(8182)
    results = {}
    with gunicorn("bench.hello_app:create_app()", hello_env, "/hello") as url:
        run_wrk(url, HERE / "hello.lua", connections=args.connections, seconds=3)  # warm up
        results["hello-world"] = run_wrk(
            url, HERE / "hello.lua", connections=args.connections, seconds=args.seconds
        )
    with gunicorn("service:create_app()", app_env, "/healthz") as url:
        run_wrk(url, HERE / "random_visitor.lua", connections=args.connections, seconds=3)
        results["decision"] = run_wrk(
            url, HERE / "random_visitor.lua", connections=args.connections, seconds=args.seconds
        )

    print(f"{'endpoint':<12} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, r in results.items():
        print(
            f"{name:<12} {r.requests_per_second:>9.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} "
            f"{r.errors:>7}"
        )
    ratio = results["decision"].requests_per_second / results["hello-world"].requests_per_second
    p99 = results["decision"].p99_ms
    print(
        f"ratio decision/hello-world: {ratio:.2f} (target >= 0.60)  "
        f"p99: {p99:.1f} ms (target <= 30)  connections: {args.connections}"
    )


if __name__ == "__main__":
    main()
