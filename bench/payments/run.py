"""bench/payments: what a payment costs to receive, Stripe's webhook against Small Favor's own.

    .venv/bin/python -m bench.payments.run [--payments 300] [--rounds 3]

In-process (the Flask app, PostgreSQL in a schema of its own (BENCH_DATABASE_URL), Redis
database 12 unless BENCH_REDIS_URL says otherwise), production settings. Each round sets up
2 x --payments readers who saw the appeal, then delivers, alternating one of each, a payment
per reader: half as a signed Stripe `checkout.session.completed`, half as a signed
POST /v1/conversions body; then a refund of each the same two ways (`charge.refunded`
against `{"type": "refund"}`). Prints the median milliseconds per delivery of each kind and
Stripe's cost as a ratio of the generic webhook's, per round and the median over rounds.

Both end in the same apply_payment_fact; the difference is Stripe's signature scheme and the
walk through its event (service/domain/stripe_events.py).
"""

from __future__ import annotations

import argparse
import itertools
import os
import secrets
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import redis
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from bench.harness import bench_environment, fresh_schema
from service.api.public.payment_webhook import sign
from service.app import create_app
from service.domain.experiment import Status
from service.schemas.experiment import parse_experiment
from service.settings import Settings
from service.store.sql.engine import build_engine
from service.store.sql.experiments_repo import ExperimentRepo
from tests.functional.events_support import banner_for, event, post_events
from tests.stripe_support import Delivery, Stripe
from tests.support import experiment_doc

KEY = "bench-payments"
REDIS_URL = "redis://127.0.0.1:6379/12"
STRIPE_SECRET = "whsec_" + secrets.token_hex(24)


def start_experiment(settings: Settings) -> None:
    engine = build_engine(settings.database_url)
    now = datetime.now(UTC)
    repo = ExperimentRepo(engine)
    document = experiment_doc(key=KEY, targeting={})
    stored = repo.create(parse_experiment(document), "bench", now)
    repo.save(stored.experiment.with_status(Status.running), action="start", actor="bench", now=now)
    engine.dispose()


def readers(client: FlaskClient, prefix: str, count: int) -> list[str]:
    """`count` readers who were shown the appeal (decision, then impression)."""
    out = []
    for i in range(count):
        visitor = f"{prefix}{i:08d}"
        banner = banner_for(client, visitor)
        assert post_events(client, [event(banner["token"])]).json["accepted"] == 1
        out.append(visitor)
    return out


def timed(deliver: Callable[[], TestResponse]) -> float:
    began = time.perf_counter()
    response = deliver()
    elapsed = (time.perf_counter() - began) * 1000
    # A duplicate takes a shorter path: each delivery must be new, and applied.
    if response.status_code != 200 or response.json["status"] != "applied":  # type: ignore[index]
        raise SystemExit(f"a delivery was answered {response.status_code}: {response.json}")
    return elapsed


def one_round(
    client: FlaskClient, settings: Settings, round_no: int, count: int
) -> dict[str, float]:
    stripe = Stripe(now=int(time.time()), secrets=(STRIPE_SECRET,))
    stripe._counter = itertools.count(1_000_000 * (round_no + 1))  # ids new in every round
    ours, theirs = readers(client, f"g{round_no}x", count), readers(client, f"s{round_no}x", count)
    intents: list[str] = []
    times: dict[str, list[float]] = {
        kind: [] for kind in ("generic", "stripe", "generic_refund", "stripe_refund")
    }

    def generic(body: dict[str, object]) -> Callable[[], TestResponse]:
        raw = orjson.dumps(body)
        signature = sign(settings.webhook_secret, int(time.time()), raw)
        headers = {"X-SmallFavor-Signature": signature, "Content-Type": "application/json"}
        return lambda: client.post("/v1/conversions", data=raw, headers=headers)

    def stripe_delivery(delivery: Delivery) -> Callable[[], TestResponse]:
        return lambda: client.post(
            "/v1/payments/stripe", data=delivery.body, headers=delivery.headers
        )

    for i, (mine, yours) in enumerate(zip(ours, theirs, strict=True)):
        body = {"id": f"pay_{round_no}_{i}", "visitor": mine, "amount": 10, "currency": "USD"}
        times["generic"].append(timed(generic(body | {"frequency": "monthly"})))
        stripe.now = int(time.time())
        checkout = stripe.checkout_completed(visitor=yours, amount=1000)
        intents.append(checkout.event["data"]["object"]["payment_intent"])
        times["stripe"].append(timed(stripe_delivery(checkout)))
    for i, intent in enumerate(intents):
        refund = {"type": "refund", "id": f"re_{round_no}_{i}", "payment": f"pay_{round_no}_{i}"}
        refund |= {"amount": 4, "currency": "USD"}
        times["generic_refund"].append(timed(generic(refund)))
        stripe.now = int(time.time())
        delivery = stripe.charge_refunded(intent, refunded=400)
        times["stripe_refund"].append(timed(stripe_delivery(delivery)))
    return {kind: statistics.median(values) for kind, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payments", type=int, default=300, help="payments of each kind")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env = bench_environment(8399, os.environ.get("BENCH_REDIS_URL", REDIS_URL))
    env["STRIPE_WEBHOOK_SECRET"] = STRIPE_SECRET
    # Every reader of the set-up comes from this one client: not a flood to limit.
    env["RATE_LIMIT_PER_MINUTE"] = "0"
    settings = fresh_schema(env)
    redis.Redis.from_url(settings.redis_url or REDIS_URL).flushdb()
    start_experiment(settings)
    client = create_app(settings).test_client()
    rounds = []
    print(f"{args.payments} payments and refunds of each kind per round (median ms per delivery)")
    print("round  generic  stripe  ratio | generic refund  stripe refund  ratio")
    for round_no in range(args.rounds):
        r = one_round(client, settings, round_no, args.payments)
        rounds.append(r)
        print(
            f"{round_no + 1:5}  {r['generic']:7.2f}  {r['stripe']:6.2f}  "
            f"{r['stripe'] / r['generic']:5.2f} | {r['generic_refund']:14.2f}  "
            f"{r['stripe_refund']:13.2f}  {r['stripe_refund'] / r['generic_refund']:5.2f}"
        )
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    print(
        f"median {med['generic']:7.2f}  {med['stripe']:6.2f}  "
        f"{med['stripe'] / med['generic']:5.2f} | {med['generic_refund']:14.2f}  "
        f"{med['stripe_refund']:13.2f}  {med['stripe_refund'] / med['generic_refund']:5.2f}"
    )


if __name__ == "__main__":
    main()
