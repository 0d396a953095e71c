"""Recording a batch of the snippet's events: each checked into a record and its ledger
updates, then the batch stored in Redis, or straight in SQL while Redis is away.

Everything the client says is checked here; identity (visitor, experiment, variant) comes
only from each event's signed decision token.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from service.domain.errors import RateLimited
from service.domain.events import (
    ANNUAL_MULTIPLIER,
    ClientEvent,
    EventInvalid,
    EventRecord,
    EventType,
    Source,
)
from service.domain.experiment import Experiment
from service.domain.ledger import LedgerOp, impression_ops, snooze_ops
from service.domain.money import MoneyError, convert, to_minor
from service.domain.tokens import CLOCK_SKEW_SECONDS, TokenInvalid, TokenSigner
from service.metrics import EVENTS, REDIS_FAILURES
from service.schemas.events import parse_client_event
from service.store.redis.client import REDIS_ERRORS
from service.store.redis.event_ingest import OverLimit
from service.usecases.errors import Unavailable
from service.wiring import Services

log = logging.getLogger(__name__)

_SKEW = timedelta(seconds=CLOCK_SKEW_SECONDS)


@dataclass(frozen=True, slots=True)
class EventsRecorded:
    """What became of a batch. pending: stored straight in SQL while Redis was away, neither
    accepted nor a duplicate as far as anyone can tell yet."""

    accepted: int
    duplicates: int
    rejected: list[dict[str, Any]]
    dropped_qa: int
    pending: int = 0


def is_qa_session(svc: Services, mark: str) -> bool:
    """Whether a batch's QA mark is a valid, unexpired preview token: the snippet keeps the
    one it was opened with (`?sf_preview=`) and sends it with every batch until it expires."""
    try:
        svc.signer.verify_preview(mark, int(svc.clock().timestamp()))
    except TokenInvalid:
        return False
    return True


def record_events(
    svc: Services,
    events: list[object],
    *,
    client: str,
    country: str | None,
    device: str | None,
    qa_session: bool = False,
) -> EventsRecorded:
    """events: the batch as the client sent it; client: its address, for the rate limit;
    qa_session: sent by a QA session (is_qa_session), whose events work the ledger but are
    kept out of results. Raises RateLimited, or Unavailable when neither Redis nor SQL can
    take the events."""
    now = svc.clock()
    settings = svc.settings
    batch = build_batch(
        events,
        BatchContext(
            now=now,
            experiments=svc.experiment_cache.snapshot().by_key,
            signer=svc.signer,
            token_max_age=settings.token_max_age_hours * 3600,
            rates=settings.currency_rates,
            country=country,
            device=device,
            qa_session=qa_session,
        ),
    )
    for rejection in batch.rejected:
        EVENTS.labels(_claimed_type(events[rejection["index"]]), "rejected").inc()
    EVENTS.labels("any", "qa").inc(batch.dropped_qa)
    # Recorded even when nothing was accepted, so that a flood of bad batches still
    # counts toward the client's rate limit.
    try:
        result = svc.event_ingest.record(
            batch.records, {}, client, now, record_ops=batch.ledger_ops
        )
    except REDIS_ERRORS as exc:
        if not batch.records:
            return EventsRecorded(0, 0, batch.rejected, batch.dropped_qa)
        REDIS_FAILURES.labels("events").inc()
        log.warning("events written straight to SQL, Redis is away: %s", exc)
        return _straight_to_sql(svc, batch)
    if isinstance(result, OverLimit):
        raise RateLimited(result.retry_after)
    accepted = sum(result.new)
    for record, new in zip(batch.records, result.new, strict=True):
        EVENTS.labels(record.type.value, "accepted" if new else "duplicate").inc()
    return EventsRecorded(accepted, len(result.new) - accepted, batch.rejected, batch.dropped_qa)


def count_refused_batch(svc: Services, client: str) -> None:
    """Count a request whose batch was refused whole toward the client's limit, so that a
    flood of them is cut off too; raises RateLimited once the address is over it."""
    try:
        result = svc.event_ingest.record([], {}, client, svc.clock())
    except REDIS_ERRORS:
        return  # the request is refused anyway; without Redis there is nothing to count
    if isinstance(result, OverLimit):
        raise RateLimited(result.retry_after)


def _straight_to_sql(svc: Services, batch: Batch) -> EventsRecorded:
    try:
        written = svc.event_writer.write(batch.records)
    except SQLAlchemyError as exc:
        log.error("events refused, Redis and SQL are both away: %s", exc)
        raise Unavailable("the service cannot store events right now; retry later") from None
    # Stored, but not "accepted": without Redis it cannot be told whether this is the first
    # copy (an earlier one may wait in the stream, not yet flushed) and the live counters do
    # not include it. A resend is answered from Redis: accepted once, or a duplicate.
    EVENTS.labels("any", "pending").inc(written.inserted)
    return EventsRecorded(
        0, written.duplicates, batch.rejected, batch.dropped_qa, pending=written.inserted
    )


_TYPES = frozenset(t.value for t in EventType)


def _claimed_type(event: object) -> str:
    """The type a rejected event says it has, for the metrics label: one of the known types,
    or "invalid" (a client's arbitrary string must not become a label)."""
    claimed = event.get("type") if isinstance(event, dict) else None
    return claimed if isinstance(claimed, str) and claimed in _TYPES else "invalid"


@dataclass
class Batch:
    records: list[EventRecord] = field(default_factory=list)
    # index in the request -> error body
    rejected: list[dict[str, Any]] = field(default_factory=list)
    dropped_qa: int = 0
    # per record, in order: its ledger updates, written only if Redis finds it new (a
    # duplicate id must leave no exposure, cap or snooze that SQL never sees)
    ledger_ops: list[list[LedgerOp]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BatchContext:
    now: datetime
    experiments: Mapping[str, Experiment]
    signer: TokenSigner
    token_max_age: int
    rates: Mapping[str, float]
    country: str | None
    device: str | None
    qa_session: bool = False


def build_batch(events: list[object], ctx: BatchContext) -> Batch:
    batch = Batch()
    for index, raw in enumerate(events):
        try:
            event = parse_client_event(raw)
            record, ops = _accept(event, ctx)
        except EventInvalid as exc:
            batch.rejected.append(_rejection(index, "invalid", "the event is invalid", exc.fields))
            continue
        except TokenInvalid as exc:
            batch.rejected.append(_rejection(index, "invalid_token", str(exc), {"token": str(exc)}))
            continue
        except Exception:
            # A fault with one event must cost neither the rest of the batch nor the rate
            # limit, which is counted when the batch is recorded, after this.
            log.exception("event %d of a batch could not be processed", index)
            why = {"$": "could not be processed"}
            batch.rejected.append(_rejection(index, "invalid", "the event is invalid", why))
            continue
        if record is None:
            batch.dropped_qa += 1
            continue
        batch.records.append(record)
        batch.ledger_ops.append(ops)
    return batch


def _accept(event: ClientEvent, ctx: BatchContext) -> tuple[EventRecord | None, list[LedgerOp]]:
    now_s = int(ctx.now.timestamp())
    claims = ctx.signer.verify_decision(event.token, now_s, ctx.token_max_age)
    if claims.qa:
        return None, []  # QA views of a variant never reach results or the ledger
    experiment = ctx.experiments.get(claims.experiment)
    if experiment is None or experiment.variant(claims.variant) is None:
        raise EventInvalid({"token": "names an experiment or variant that no longer exists"})
    # The event happened after its decision and not after now, whatever the client's clock.
    issued = datetime.fromtimestamp(claims.issued_at, ctx.now.tzinfo) - _SKEW
    ts = min(max(event.ts or ctx.now, issued), ctx.now)
    ts_ms = int(ts.timestamp() * 1000)

    amount_minor = revenue = annualised = None
    counted = True
    if event.type == EventType.conversion:
        assert event.amount is not None and event.currency is not None
        try:
            amount_minor = to_minor(event.amount, event.currency, ctx.rates)
        except MoneyError as exc:
            field = "currency" if "currency" in str(exc) else "amount"
            raise EventInvalid({field: str(exc)}) from None
        revenue = convert(amount_minor, event.currency, experiment.analysis.currency, ctx.rates)
        frequency = str(event.frequency or "one_off")
        annualised = revenue * ANNUAL_MULTIPLIER[frequency]
        # The payment webhook is the source of truth; a page's word counts only by choice.
        counted = experiment.trust_client_conversions
    if ctx.qa_session:
        counted = False  # QA's clicks and dismissals are kept for the record, never counted

    record = EventRecord(
        event_id=event.id,
        type=event.type,
        experiment=experiment.key,
        variant=claims.variant,
        visitor=claims.visitor,
        ts_ms=ts_ms,
        received_ms=int(ctx.now.timestamp() * 1000),
        source=Source.client,
        counted=counted,
        reason=str(event.reason) if event.reason else None,
        amount_minor=amount_minor,
        currency=event.currency,
        frequency=str(event.frequency) if event.frequency else None,
        revenue=revenue or 0.0,
        annualised=annualised or 0.0,
        country=ctx.country,
        device=ctx.device,
        article_views=event.article_views,
    )
    ops: list[LedgerOp] = []
    if event.type == EventType.impression:
        ops = impression_ops(experiment, ts.timestamp(), event.id)
    elif event.type == EventType.dismiss and event.reason is not None:
        ops = snooze_ops(experiment, event.reason, ts.timestamp())
    return record, ops


def _rejection(index: int, code: str, message: str, fields: dict[str, str]) -> dict[str, Any]:
    return {"index": index, "error": {"code": code, "message": message, "fields": fields}}
