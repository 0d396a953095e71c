"""Driving a running service: decisions, batched events, signed donations, on a thread pool.

Per visitor: GET /v1/decision; if this experiment's banner comes back, its events join a
shared batch (batches.py), and a donor's payment goes to POST /v1/conversions once the batch
holding the impression has been accepted: the webhook credits a donation only to experiments
the visitor had an impression in, so the order matters.

Rate limits: a shared pacer keeps POST /v1/events (and decisions, if the service limits them)
under the limit the local settings give, a 429 is waited out (Retry-After), and whatever is
still refused is counted and reported.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from service.domain.experiment import Experiment
from service.jobs.simulate.batches import Batch, Batcher
from service.jobs.simulate.http_client import (
    HttpClient,
    Pacer,
    Response,
    SimulationError,
    Unreachable,
)
from service.jobs.simulate.plan import (
    Donation,
    Visit,
    device_user_agent,
    menu_from_banner,
    plan_actions,
    plan_visit,
)
from service.jobs.simulate.preflight import SIGNATURE_HEADER, payment_signature
from service.jobs.simulate.summary import Tally


@dataclass(frozen=True, slots=True)
class RunConfig:
    base_url: str
    visitors: int
    rates: Mapping[str, float]
    amounts: Mapping[str, float]
    seed: int
    webhook_secret: str
    geo_header: str = "CF-IPCountry"
    concurrency: int = 8
    events_per_minute: int = 0  # 0: no pacing (429s are still waited out)
    decisions_per_minute: int = 0
    max_wait: float = 120.0  # seconds one request may spend waiting out 429s


@dataclass(frozen=True, slots=True)
class Result:
    info: Experiment
    tally: Tally
    elapsed: float
    held_back: int


def run_identity(
    key: str, seed: int, rates: Mapping[str, float], amounts: Mapping[str, float]
) -> str:
    """What makes two runs the same readers doing the same things: the experiment, the seed,
    --rates and --amounts (not --visitors: a longer run's first readers are a shorter one's).

    Every id a reader sends (visitor, event and payment ids) is drawn from a generator seeded
    from this and the reader's number, so the same command run twice is counted once (events
    and payments are deduplicated by id), while a run on another experiment, or with other
    rates or amounts, is new readers. Ids from the seed alone made a second experiment's run
    repeat the first one's ids: its events were all refused as duplicates, and its readers,
    being the first run's, had their donations credited to the first experiment as well.
    """
    rates_part = ",".join(f"{k}={v!r}" for k, v in sorted(rates.items()))
    amounts_part = ",".join(f"{k}={v!r}" for k, v in sorted(amounts.items()))
    return f"{key}|{seed}|{rates_part}|{amounts_part}"


def visitor_seeds(identity: str, visitors: int) -> list[int]:
    """One generator seed per visitor: a digest of the run's identity and the visitor's number,
    so visitor n's ids do not depend on how many visitors the run has."""
    return [
        int.from_bytes(hashlib.blake2b(f"{identity}|{n}".encode(), digest_size=8).digest())
        for n in range(visitors)
    ]


def run(config: RunConfig, info: Experiment) -> Result:
    """Simulate config.visitors readers of a running experiment (checked by the caller)."""
    state = _State(
        config=config,
        info=info,
        seeds=visitor_seeds(
            run_identity(info.key, config.seed, config.rates, config.amounts), config.visitors
        ),
        events_pacer=Pacer(config.events_per_minute),
        decisions_pacer=Pacer(config.decisions_per_minute),
    )
    started = time.monotonic()
    with ThreadPoolExecutor(config.concurrency, thread_name_prefix="simulate") as pool:
        futures = [pool.submit(_Worker(state).run) for _ in range(config.concurrency)]
        try:
            tallies = [future.result() for future in futures]
        except KeyboardInterrupt:
            state.fail("interrupted")  # workers stop at their next visitor
            raise
    if state.failure is not None:
        raise SimulationError(state.failure)
    tally = Tally()
    for part in tallies:
        tally.merge(part)
    held_back = state.events_pacer.held_back + state.decisions_pacer.held_back
    return Result(info, tally, time.monotonic() - started, held_back)


@dataclass
class _State:
    """What the workers share: the plan, pacers, open batches, the first failure."""

    config: RunConfig
    info: Experiment
    seeds: list[int]
    events_pacer: Pacer
    decisions_pacer: Pacer
    batcher: Batcher = field(default_factory=Batcher)
    failure: str | None = None
    _next: itertools.count[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_visitor(self) -> int | None:
        with self._lock:
            index = next(self._next)
        return index if index < len(self.seeds) and self.failure is None else None

    def fail(self, reason: str) -> None:
        with self._lock:
            self.failure = self.failure or reason


class _Worker:
    def __init__(self, state: _State) -> None:
        self.state = state
        self.config = state.config
        self.client = HttpClient(state.config.base_url)
        self.tally = Tally()

    def run(self) -> Tally:
        try:
            while (index := self.state.next_visitor()) is not None:
                self._visit(random.Random(self.state.seeds[index]))
            # The last worker to finish sends whatever batches are still open.
            batcher = self.state.batcher
            while self.state.failure is None and (batch := batcher.take_open()) is not None:
                self._send_batch(batch)
        except (SimulationError, Unreachable) as exc:
            self.state.fail(str(exc))
        finally:
            self.client.close()
        return self.tally

    def _visit(self, rng: random.Random) -> None:
        info = self.state.info
        visit = plan_visit(rng, info)
        self.tally.visitors += 1
        banner = self._decide(visit)
        if banner is None:
            return
        variant = str(banner["variant"])
        self.tally.shown[variant] += 1
        menu = menu_from_banner(
            (banner.get("content") or {}).get("amounts"), info.analysis.currency
        )
        actions = plan_actions(
            rng,
            rate=self.config.rates[variant],
            menu=menu,
            amount=self.config.amounts.get(variant),
        )
        ts = _now_iso()
        events = [
            {"id": e.id, "type": e.type, "token": banner["token"], "ts": ts}
            | ({"reason": e.reason} if e.reason else {})
            for e in actions.events
        ]
        full = self.state.batcher.add(visit, variant, events, actions.donation)
        if full is not None:
            self._send_batch(full)

    def _decide(self, visit: Visit) -> dict[str, Any] | None:
        headers = {"User-Agent": visit.user_agent}
        if visit.country:
            headers[self.config.geo_header] = visit.country
        response = self._send(
            "GET", "/v1/decision", self.state.decisions_pacer, query=visit.query, headers=headers
        )
        if response.status == 429:
            self.tally.no_banner["rate_limited"] += 1
            return None
        if response.status != 200 or not isinstance(response.body, dict):
            raise SimulationError(f"GET /v1/decision answered {response.error_message()}")
        banner = response.body.get("banner")
        if banner is None:
            self.tally.no_banner[str(response.body.get("reason"))] += 1
            return None
        if banner.get("experiment") != self.state.info.key:
            self.tally.no_banner["other_experiment"] += 1
            return None
        return dict(banner)

    def _send_batch(self, batch: Batch) -> None:
        headers = {"User-Agent": device_user_agent(batch.device)}
        if batch.country:
            headers[self.config.geo_header] = batch.country
        body = json.dumps({"events": batch.events}).encode()
        response = self._send(
            "POST", "/v1/events", self.state.events_pacer, body=body, headers=headers
        )
        self.tally.event_requests += 1
        if response.status == 429:
            self.tally.rejected["rate_limited"] += len(batch.events)
            self.tally.donations_skipped += len(batch.donors)
            return
        if response.status != 202 or not isinstance(response.body, dict):
            raise SimulationError(f"POST /v1/events answered {response.error_message()}")
        answer = response.body
        self.tally.accepted += int(answer.get("accepted", 0))
        self.tally.duplicates += int(answer.get("duplicates", 0))
        self.tally.pending += int(answer.get("pending", 0))
        refused = {int(r["index"]) for r in answer.get("rejected", [])}
        for rejection in answer.get("rejected", []):
            self.tally.rejected[str(rejection.get("error", {}).get("code", "invalid"))] += 1
        bots = int((answer.get("dropped") or {}).get("bot", 0))
        if bots:
            self.tally.rejected["dropped_as_bot"] += bots
        for donor in batch.donors:
            if donor.impression in refused or bots:
                self.tally.donations_skipped += 1
            else:
                self._donate(donor.visitor, donor.variant, donor.donation)

    def _donate(self, visitor: str, variant: str, donation: Donation) -> None:
        body = json.dumps(
            {
                "id": donation.payment_id,
                "visitor": visitor,
                "amount": donation.amount,
                "currency": donation.currency,
                "frequency": donation.frequency,
                "ts": _now_iso(),
            }
        ).encode()
        signature = payment_signature(self.config.webhook_secret, int(time.time()), body)
        response = self.client.request(
            "POST", "/v1/conversions", body=body, headers={SIGNATURE_HEADER: signature}
        )
        if response.status != 200 or not isinstance(response.body, dict):
            raise SimulationError(f"POST /v1/conversions answered {response.error_message()}")
        self.tally.donations[variant] += 1
        self.tally.donated[(variant, donation.currency)] += donation.amount
        if response.body.get("duplicate"):
            self.tally.donation_duplicates += 1
        for credit in response.body.get("credited", []):
            if credit.get("experiment") == self.state.info.key:
                self.tally.credited[str(credit.get("variant"))] += 1

    def _send(self, method: str, path: str, pacer: Pacer, **kwargs: Any) -> Response:
        return self.client.send(method, path, pacer=pacer, max_wait=self.config.max_wait, **kwargs)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
