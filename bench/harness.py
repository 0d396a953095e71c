"""Shared pieces of the benchmarks: a throwaway schema, gunicorn processes, wrk runs."""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis
from redis.cluster import RedisCluster
from sqlalchemy import text

from service.settings import Settings
from service.store import migrate
from service.store.redis.keys import Keys
from service.store.sql.engine import build_engine

ROOT = Path(__file__).resolve().parent.parent
BENCH_SCHEMA = "smallfavor_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
BENCH_SECRET_KEY = secrets.token_urlsafe(48)
BENCH_WEBHOOK_SECRET = secrets.token_urlsafe(48)
CLUSTER_SCRIPT = ROOT / ".ci/redis-cluster"

BenchRedis = redis.Redis | RedisCluster


def bench_environment(port: int, redis_url: str | None = None) -> dict[str, str]:
    """Production mode on the real servers, in a schema and Redis database of its own.

    Redis is BENCH_REDIS_URL (default: database 14 of this machine's server), or `redis_url`;
    either may name a node of a Redis Cluster (no /db suffix then: a cluster has only 0)."""
    base = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    return {
        **os.environ,
        "SMALLFAVOR_ENV": "production",
        "DATABASE_URL": f"{base}?options=-csearch_path%3D{BENCH_SCHEMA}",
        "REDIS_URL": redis_url or os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        # Random per run: production refuses published, repeated or shared secrets.
        "SECRET_KEY": BENCH_SECRET_KEY,
        "WEBHOOK_SECRET": BENCH_WEBHOOK_SECRET,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def fresh_schema(env: dict[str, str]) -> Settings:
    settings = Settings.from_env(env)
    base = build_engine(settings.database_url.split("?")[0])
    with base.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {BENCH_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {BENCH_SCHEMA}"))
    base.dispose()
    engine = build_engine(settings.database_url)
    migrate.upgrade(engine)
    engine.dispose()
    return settings


def bench_redis(url: str) -> BenchRedis:
    """A client (decode_responses) for the bench's Redis: a cluster client when the server
    says cluster_enabled, else a plain one."""
    probe = redis.Redis.from_url(url, socket_timeout=5, decode_responses=True)
    try:
        clustered = bool(probe.info("cluster").get("cluster_enabled"))
    finally:
        probe.close()
    if not clustered:
        return redis.Redis.from_url(url, decode_responses=True)
    if re.search(r"://[^/]*/[1-9]", url):
        raise SystemExit(f"{url} names a Redis Cluster, which has database 0 only: drop the /db")
    return RedisCluster.from_url(url, decode_responses=True)


def is_cluster(client: BenchRedis) -> bool:
    return isinstance(client, RedisCluster)


def empty_redis(client: BenchRedis) -> None:
    """FLUSHDB the bench's database, on every primary of a cluster."""
    if isinstance(client, RedisCluster):
        client.flushdb(target_nodes=RedisCluster.PRIMARIES)
    else:
        client.flushdb()


def stream_lengths(client: BenchRedis, keys: Keys) -> list[int]:
    """XLEN of every event partition's stream, in partition order (0 for a missing one)."""
    pipe = client.pipeline(transaction=False)
    for partition in range(keys.partitions):
        pipe.xlen(keys.events_stream(partition))
    return [int(n) for n in pipe.execute()]


def primary_of(client: BenchRedis, key: str) -> str:
    """host:port of the primary holding `key` ("single" on one server)."""
    if isinstance(client, RedisCluster):
        return str(client.get_node_from_key(key).name)
    return "single"


@contextmanager
def local_cluster(replicas: int = 1) -> Iterator[str]:
    """A throwaway Redis Cluster of 3 masters with `replicas` replicas each (.ci/redis-cluster)
    in a temp dir, stopped and removed on exit; yields the first node's URL."""
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as directory:
        try:
            started = subprocess.run(
                ["bash", str(CLUSTER_SCRIPT), "start", directory, str(replicas)],
                capture_output=True,
                text=True,
            )
            if started.returncode != 0:
                raise SystemExit(f"the local Redis Cluster did not start:\n{started.stderr}")
            yield started.stdout.strip()
        finally:
            subprocess.run(["bash", str(CLUSTER_SCRIPT), "stop", directory], check=False)


@contextmanager
def gunicorn(app: str, env: dict[str, str], ready_path: str) -> Iterator[str]:
    url = f"http://127.0.0.1:{env['PORT']}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "deploy/gunicorn.conf.py"),
            "--access-logfile",
            "/dev/null",
            app,
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + ready_path, timeout=1) as response:
                    if response.status < 500:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"gunicorn for {app} did not start: "
                    f"{process.stderr.read().decode() if process.stderr else ''}"
                )
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def run_wrk(
    url: str, script: Path, *, connections: int, seconds: int, threads: int = 2
) -> WrkResult:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return WrkResult(
        rps,
        _latency(out, "50%"),
        _latency(out, "99%"),
        errors + (int(non2xx.group(1)) if non2xx else 0),
    )


def _latency(out: str, pct: str) -> float:
    match = re.search(rf"^\s+{re.escape(pct)}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if match is None:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


@dataclass(frozen=True)
class RoundSummary:
    lines: list[str]
    best: dict[str, WrkResult]
    medians: dict[str, WrkResult]

    def ratio(self, name: str, baseline: str) -> tuple[float, float]:
        """(best rounds, medians) of name's req/s over baseline's."""
        return (
            self.best[name].requests_per_second / self.best[baseline].requests_per_second,
            self.medians[name].requests_per_second / self.medians[baseline].requests_per_second,
        )


def summarise_rounds(rounds: dict[str, list[WrkResult]]) -> RoundSummary:
    """A table of each endpoint's best and median round. The best round is the one least
    disturbed by other load on this shared machine (as timeit takes the minimum)."""
    width = max(12, *(len(name) for name in rounds))
    lines = [
        f"{'endpoint':<{width}} {'best req/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'median':>7} "
        f"{'errors':>6}   rounds (req/s)"
    ]
    best: dict[str, WrkResult] = {}
    medians: dict[str, WrkResult] = {}
    for name, results in rounds.items():
        ordered = sorted(results, key=lambda r: r.requests_per_second)
        best[name], medians[name] = ordered[-1], ordered[len(ordered) // 2]
        each = " ".join(f"{r.requests_per_second:.0f}" for r in results)
        lines.append(
            f"{name:<{width}} {best[name].requests_per_second:>10.0f} {best[name].p50_ms:>7.2f} "
            f"{best[name].p99_ms:>7.2f} {medians[name].requests_per_second:>7.0f} "
            f"{sum(r.errors for r in results):>6}   {each}"
        )
    return RoundSummary(lines, best, medians)


def add_round_arguments(parser: argparse.ArgumentParser, seconds: int) -> None:
    """--seconds, --rounds and --connections, as every wrk-driven bench takes them."""
    parser.add_argument("--seconds", type=int, default=seconds, help="length of one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
