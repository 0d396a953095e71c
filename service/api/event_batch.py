"""Turning one POST /v1/events body into accepted records, rejections and ledger updates.

Everything the client says is checked here; identity (visitor, experiment, variant) comes
only from each event's signed decision token.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

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
from service.schemas.events import parse_client_event

log = logging.getLogger(__name__)

MAX_EVENTS = 50
_SKEW = timedelta(seconds=CLOCK_SKEW_SECONDS)


@dataclass
class Batch:
    records: list[EventRecord] = field(default_factory=list)
    # index in the request -> error body
    rejected: list[dict[str, Any]] = field(default_factory=list)
    dropped_qa: int = 0
    ledger_ops: dict[str, list[LedgerOp]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BatchContext:
    now: datetime
    experiments: Mapping[str, Experiment]
    signer: TokenSigner
    token_max_age: int
    rates: Mapping[str, float]
    country: str | None
    device: str | None


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
        batch.ledger_ops.setdefault(record.visitor, []).extend(ops)
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
    )
    ops: list[LedgerOp] = []
    if event.type == EventType.impression:
        ops = impression_ops(experiment, ts.timestamp(), event.id)
    elif event.type == EventType.dismiss and event.reason is not None:
        ops = snooze_ops(experiment, event.reason, ts.timestamp())
    return record, ops


def _rejection(index: int, code: str, message: str, fields: dict[str, str]) -> dict[str, Any]:
    return {"index": index, "error": {"code": code, "message": message, "fields": fields}}
