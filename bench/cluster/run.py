"""bench/cluster: bench/decision and bench/events on one Redis against a Redis Cluster, in one run.

    .venv/bin/python -m bench.cluster.run [--seconds 8] [--rounds 3] [--connections 32]

Starts a throwaway local Redis Cluster (3 masters, and with --replicas 1 a replica each,
.ci/redis-cluster, in a temp dir; stopped and removed at the end) beside the single Redis of
BENCH_REDIS_URL (default database 14 of this machine's server), seeds the 5 running
experiments of bench/decision once in PostgreSQL (BENCH_DATABASE_URL) and the config version
in both Redis, and serves the service twice under deploy/gunicorn.conf.py: once on each
Redis (port 8191: single, 8192: cluster; the cluster one detects the cluster by itself,
REDIS_CLUSTER=auto), both with RATE_LIMIT_PER_MINUTE=0 as bench/events runs it.

Before timing, each must accept a batch of events from Python and every batch of a short
wrk run (bench/events's checks). Then rounds alternate between single and cluster (the first
of each round alternating too), for the decision (bench/decision's random_visitor.lua, a new
visitor per request) and for events (bench/events's post_events.lua, 10 events of
--visitors-per-batch visitors per request: 1 by default, as a page's snippet sends them;
with 10, a request touches up to 10 partitions, each a script call of its own on a cluster).
Prints median and best req/s per side and the ratio cluster / single by medians. Target:
>= 0.9 for both. Every server runs on this machine's 2 cores beside gunicorn and wrk, so each
extra server (a replica) takes CPU the single Redis does not need: hence 3 masters alone by
default, the cluster the target names.

For events it also prints where the cluster's entries went: the growth of every partition's
stream over the events rounds (so sampled decisions of the decision rounds do not count),
each partition mapped to the master that owns its key's slot (the client's
get_node_from_key), summed per master, and the spread as the largest deviation of a master
from an even share, in %. Target: within +-20 %. Both Redis are emptied at the end.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.decision.run import HERE as DECISION_DIR
from bench.decision.run import seed, seed_redis
from bench.events.ingest import (
    EVENTS_PER_REQUEST,
    check_script,
    post_one_batch,
    token_pool,
    write_script,
)
from bench.harness import (
    BenchRedis,
    WrkResult,
    add_round_arguments,
    bench_environment,
    bench_redis,
    empty_redis,
    gunicorn,
    local_cluster,
    primary_of,
    run_wrk,
    stream_lengths,
    summarise_rounds,
)
from service.settings import Settings
from service.store.redis.keys import Keys

SIDES = ("single", "cluster")
RATIO_TARGET = 0.9
SPREAD_TARGET = 20.0


@dataclass
class Measured:
    rounds: dict[str, list[WrkResult]]  # "<bench> <side>" → its rounds
    growth: dict[str, list[int]]  # side → entries added per partition over the events rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_round_arguments(parser, seconds=8)
    parser.add_argument("--tokens", type=int, default=2000, help="events: token pool size")
    parser.add_argument(
        "--visitors-per-batch",
        type=int,
        default=1,
        choices=range(1, EVENTS_PER_REQUEST + 1),
        metavar="1-10",
        help="events: distinct visitors in one batch (1, as a page's snippet sends them)",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=0,
        choices=(0, 1),
        help="replicas per master (0: the 3-master cluster the target is stated for; 1 puts "
        "3 more servers on the same cores)",
    )
    args = parser.parse_args()

    with local_cluster(args.replicas) as cluster_redis_url:
        envs = {
            "single": bench_environment(8191) | {"RATE_LIMIT_PER_MINUTE": "0"},
            "cluster": bench_environment(8192, cluster_redis_url) | {"RATE_LIMIT_PER_MINUTE": "0"},
        }
        seed(envs["single"])  # the schema, the experiments, and the single Redis
        settings = Settings.from_env(envs["cluster"])
        seed_redis(cluster_redis_url, settings)
        keys = Keys(settings.redis_prefix, settings.event_partitions)
        clients = {side: bench_redis(envs[side]["REDIS_URL"]) for side in SIDES}
        print(f"single Redis {envs['single']['REDIS_URL']}, cluster {cluster_redis_url}")
        tokens = token_pool(envs["single"]["SECRET_KEY"], args.tokens, int(time.time()))
        try:
            with (
                tempfile.TemporaryDirectory(prefix="bench-cluster-events-") as tmp,
                gunicorn("service:create_app()", envs["single"], "/healthz") as single_url,
                gunicorn("service:create_app()", envs["cluster"], "/healthz") as cluster_url,
            ):
                script = write_script(Path(tmp), tokens, args.visitors_per_batch)
                urls = {"single": single_url, "cluster": cluster_url}
                for side in SIDES:
                    answer = post_one_batch(urls[side], tokens)
                    checked = check_script(urls[side], script, Path(tmp))
                    print(f"check {side}: one batch answered {answer}; {checked} wrk batches ok")
                measured = measure(urls, script, clients, keys, args)
        finally:
            for client in clients.values():
                empty_redis(client)
                client.close()
        print(report(measured, clients["cluster"], keys, args))


def measure(
    urls: dict[str, str],
    events_script: Path,
    clients: dict[str, BenchRedis],
    keys: Keys,
    args: argparse.Namespace,
) -> Measured:
    scripts = {"decision": DECISION_DIR / "random_visitor.lua", "events": events_script}
    for script in scripts.values():  # warm up every pair
        for side in SIDES:
            run_wrk(urls[side], script, connections=args.connections, seconds=3)
    rounds: dict[str, list[WrkResult]] = {f"{b} {s}": [] for b in scripts for s in SIDES}
    growth = {side: [0] * keys.partitions for side in SIDES}
    for i in range(args.rounds):
        order = SIDES if i % 2 == 0 else SIDES[::-1]
        for bench, script in scripts.items():
            for side in order:
                before = stream_lengths(clients[side], keys)
                result = run_wrk(
                    urls[side], script, connections=args.connections, seconds=args.seconds
                )
                rounds[f"{bench} {side}"].append(result)
                if bench == "events":
                    after = stream_lengths(clients[side], keys)
                    for p in range(keys.partitions):
                        growth[side][p] += after[p] - before[p]
                print(
                    f"round {i + 1} {bench} {side}: {result.requests_per_second:.0f} req/s, "
                    f"p99 {result.p99_ms:.1f} ms, {result.errors} errors",
                    flush=True,
                )
    return Measured(rounds, growth)


def report(measured: Measured, cluster: BenchRedis, keys: Keys, args: argparse.Namespace) -> str:
    summary = summarise_rounds(measured.rounds)
    lines = [*summary.lines]
    for bench in ("decision", "events"):
        best, median = summary.ratio(f"{bench} cluster", f"{bench} single")
        lines.append(
            f"ratio {bench} cluster/single: {median:.2f} medians (target >= {RATIO_TARGET}: "
            f"{'met' if median >= RATIO_TARGET else 'NOT met'}), {best:.2f} best rounds"
        )
    for side in SIDES:
        expected = sum(
            r.requests_per_second * EVENTS_PER_REQUEST * args.seconds
            for r in measured.rounds[f"events {side}"]
        )
        total = sum(measured.growth[side])
        lines.append(
            f"events {side}: streams grew by {total} entries over the events rounds "
            f"({total / expected:.3f} x req/s x {EVENTS_PER_REQUEST} x {args.seconds} s)"
        )

    per_master: Counter[str] = Counter()
    partitions: dict[str, list[int]] = {}
    for p, grown in enumerate(measured.growth["cluster"]):
        master = primary_of(cluster, keys.events_stream(p))
        per_master[master] += grown
        partitions.setdefault(master, []).append(p)
    even = sum(per_master.values()) / len(per_master)
    lines.append(f"cluster stream entries per master ({keys.partitions} partitions):")
    for master in sorted(per_master):
        lines.append(
            f"  {master}: {per_master[master]} entries ({per_master[master] / even - 1:+.1%} "
            f"from even), partitions {partitions[master]}"
        )
    spread = max(abs(count / even - 1) for count in per_master.values()) * 100
    lines.append(
        f"spread: {spread:.1f} % largest deviation from even (target within +-{SPREAD_TARGET:.0f} "
        f"%: {'met' if spread <= SPREAD_TARGET else 'NOT met'}); {args.connections} connections"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
