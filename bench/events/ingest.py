"""bench/events: POST /v1/events, batches of 10 valid events, against a hello-world baseline.

    .venv/bin/python -m bench.events.ingest [--seconds 10] [--rounds 3] [--connections 32]

Starts the service in production mode against PostgreSQL and Redis (BENCH_DATABASE_URL,
BENCH_REDIS_URL; defaults are this machine's servers; BENCH_REDIS_URL may name a node of a
Redis Cluster, without /db) with the rate limiter off, seeds the 5 running experiments of
bench/decision, and signs a pool of decision tokens for them (one visitor each, issued now).
wrk then posts {"events": [10 events]} as snippet.js's sendBeacon does (text/plain, desktop
Chrome User-Agent): 5 impressions, 3 views, a click and a dismissal, each with a new id and a
token from the pool (--tokens-per-batch of them per batch), alternating rounds with a
hello-world JSON endpoint on the same gunicorn config.
Before timing, one batch must answer 202 with all 10 accepted, and so must every answer of a
short wrk run of the same script. No flusher runs: accepted events pile up in the Redis
streams (one per event partition, EVENT_PARTITIONS), whose total growth cross-checks
req/s x 10; the bench's Redis database (every primary of a cluster) is emptied at the end.
Prints req/s, p50, p99, accepted events/s and the ratio. Target: >= 10,000 events/s.

Then it runs bench.events.flush_drain (the flusher's drain rate next to a raw COPY of the
same rows) with the same --rounds, unless --skip-flusher.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.decision.run import EXPERIMENTS, seed
from bench.harness import (
    BenchRedis,
    WrkResult,
    add_round_arguments,
    bench_environment,
    bench_redis,
    empty_redis,
    gunicorn,
    run_wrk,
    stream_lengths,
    summarise_rounds,
)
from service.domain.tokens import TokenSigner
from service.settings import Settings
from service.store.redis.keys import Keys
from tests.support import experiment_doc

HERE = Path(__file__).parent
HELLO_SCRIPT = HERE.parent / "decision" / "hello.lua"
EVENTS_PER_REQUEST = 10
TARGET = 10_000
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


def token_pool(secret: str, size: int, issued_at: int) -> list[str]:
    """Valid decision tokens for the seeded experiments and their variants, one visitor each."""
    signer = TokenSigner(secret)
    variants = [variant["key"] for variant in experiment_doc()["variants"]]
    pairs = [(experiment[0], variant) for experiment in EXPERIMENTS for variant in variants]
    return [
        signer.decision(f"bench-reader-{i:06d}", *pairs[i % len(pairs)], issued_at, qa=False)
        for i in range(size)
    ]


def write_script(directory: Path, tokens: list[str], tokens_per_batch: int) -> Path:
    """post_events.lua with the token pool embedded, under `directory`."""
    pool = ",\n".join(json.dumps(token) for token in tokens)
    script = directory / "post_events.lua"
    script.write_text(
        f"tokens = {{\n{pool}\n}}\ntokens_per_batch = {tokens_per_batch}\n\n"
        + (HERE / "post_events.lua").read_text()
    )
    return script


def post_one_batch(url: str, tokens: list[str]) -> dict[str, object]:
    """One batch of 10 from Python; anything but 202 with all 10 accepted stops the run."""
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    kinds = ["impression"] * 5 + ["view"] * 3 + ["click", "dismiss"]
    events = [
        {"id": str(uuid.uuid4()), "type": kind, "token": tokens[i], "ts": now}
        | ({"reason": "remind_later"} if kind == "dismiss" else {})
        for i, kind in enumerate(kinds)
    ]
    request = urllib.request.Request(
        url + "/v1/events",
        data=json.dumps({"events": events}).encode(),
        headers={"Content-Type": "text/plain;charset=UTF-8", "User-Agent": USER_AGENT},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status, body = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read().decode()
    answer = json.loads(body) if body.startswith("{") else {}
    if (
        status != 202
        or answer.get("accepted") != EVENTS_PER_REQUEST
        or answer.get("duplicates") != 0
        or answer.get("rejected") != []
        or answer.get("dropped") != {"bot": 0, "qa": 0}
    ):
        raise SystemExit(f"POST /v1/events did not accept the batch: {status} {body}")
    return answer


def check_script(url: str, script: Path, directory: Path) -> int:
    """A short wrk run of the real script, checking every answer; returns the number checked."""
    checking = directory / "check.lua"
    checking.write_text(script.read_text() + "\n" + (HERE / "check_responses.lua").read_text())
    out = subprocess.run(
        ["wrk", "-t2", "-c4", "-d2s", "-s", str(checking), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"checked (\d+) bad (\d+)", out)
    if match is None or int(match.group(1)) == 0 or int(match.group(2)) != 0:
        raise SystemExit(f"wrk's batches were not all accepted:\n{out}")
    return int(match.group(1))


@dataclass(frozen=True)
class EventsRound:
    wrk: WrkResult
    stream_growth: int  # entries added to the partitions' streams during the round

    @property
    def events_per_second(self) -> float:
        return self.wrk.requests_per_second * EVENTS_PER_REQUEST


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_round_arguments(parser, seconds=10)
    parser.add_argument("--tokens", type=int, default=2000, help="size of the token pool")
    parser.add_argument(
        "--tokens-per-batch",
        type=int,
        default=EVENTS_PER_REQUEST,
        choices=range(1, EVENTS_PER_REQUEST + 1),
        metavar="1-10",
        help="distinct tokens (visitors) in one batch; 10: every event its own",
    )
    parser.add_argument("--skip-flusher", action="store_true", help="do not run flush_drain")
    args = parser.parse_args()

    app_env = bench_environment(8184) | {"RATE_LIMIT_PER_MINUTE": "0"}
    hello_env = bench_environment(8185)
    seed(app_env)
    settings = Settings.from_env(app_env)
    client = bench_redis(app_env["REDIS_URL"])
    keys = Keys(settings.redis_prefix, settings.event_partitions)
    tokens = token_pool(app_env["SECRET_KEY"], args.tokens, int(time.time()))
    try:
        with tempfile.TemporaryDirectory(prefix="bench-events-") as tmp:
            script = write_script(Path(tmp), tokens, args.tokens_per_batch)
            with (
                gunicorn("bench.hello_app:create_app()", hello_env, "/hello") as hello_url,
                gunicorn("service:create_app()", app_env, "/healthz") as app_url,
            ):
                answer = post_one_batch(app_url, tokens)
                checked = check_script(app_url, script, Path(tmp))
                print(f"check: one batch answered {answer}; {checked} wrk batches all accepted")
                rounds = measure(
                    {"hello-world": hello_url, "events": app_url},
                    {"hello-world": HELLO_SCRIPT, "events": script},
                    client,
                    keys,
                    args,
                )
    finally:
        empty_redis(client)  # the streams and dedupe marks of a few hundred thousand events
        client.close()
    print(report(rounds, args.connections, args.tokens_per_batch, args.seconds))
    if not args.skip_flusher:
        print("\nflusher (bench.events.flush_drain):", flush=True)
        subprocess.run(
            [sys.executable, "-m", "bench.events.flush_drain", "--rounds", str(args.rounds)],
            check=True,
        )


def measure(
    urls: dict[str, str],
    scripts: dict[str, Path],
    client: BenchRedis,
    keys: Keys,
    args: argparse.Namespace,
) -> tuple[list[WrkResult], list[EventsRound]]:
    for name, script in scripts.items():  # warm up both
        run_wrk(urls[name], script, connections=args.connections, seconds=3)
    # Rounds alternate between the two, so a burst of other load on this shared machine hits
    # both sides rather than one. The best round of each is the one least disturbed by that
    # load (as timeit takes the minimum); the median is shown beside it.
    hello: list[WrkResult] = []
    events: list[EventsRound] = []
    for _ in range(args.rounds):
        hello.append(
            run_wrk(
                urls["hello-world"],
                scripts["hello-world"],
                connections=args.connections,
                seconds=args.seconds,
            )
        )
        before = sum(stream_lengths(client, keys))
        result = run_wrk(
            urls["events"], scripts["events"], connections=args.connections, seconds=args.seconds
        )
        events.append(EventsRound(result, sum(stream_lengths(client, keys)) - before))
    return hello, events


def report(
    rounds: tuple[list[WrkResult], list[EventsRound]],
    connections: int,
    tokens_per_batch: int,
    seconds: int,
) -> str:
    hello, events = rounds
    summary = summarise_rounds({"hello-world": hello, "events": [r.wrk for r in events]})
    lines = summary.lines
    ordered_events = sorted(events, key=lambda r: r.events_per_second)
    best_events = ordered_events[-1].events_per_second
    median_events = ordered_events[len(ordered_events) // 2].events_per_second
    lines.append(
        f"accepted events/s (req/s x {EVENTS_PER_REQUEST}): {best_events:.0f} best round, "
        f"{median_events:.0f} median (target >= {TARGET}: "
        f"{'met' if best_events >= TARGET else 'NOT met'}); "
        f"{tokens_per_batch} tokens per batch, {connections} connections"
    )
    # The stream grows by exactly the accepted events; against req/s x 10 x the round's
    # length it is a little over 1 (wrk's clock runs a bit longer than -d, and answers still
    # in flight at the end are not counted by wrk).
    checks = " ".join(f"{r.stream_growth / (r.events_per_second * seconds):.3f}" for r in events)
    lines.append(
        f"stream growth per round: {' '.join(str(r.stream_growth) for r in events)} events; "
        f"/ (req/s x 10 x {seconds} s): {checks}"
    )
    ratio, median_ratio = summary.ratio("events", "hello-world")
    lines.append(
        f"ratio events/hello-world (requests): {ratio:.2f} best rounds, {median_ratio:.2f} medians"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
