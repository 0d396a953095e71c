"""The public API for the snippet and the payment side: events and the conversions webhook.

(`GET /v1/decision` is served by decision_endpoint.py, in front of Flask, for speed.)
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from service.api.bots import is_bot
from service.api.context import services
from service.api.cors import CorsPolicy
from service.api.errors import ApiError
from service.api.event_batch import MAX_EVENTS, BatchContext, build_batch
from service.api.geo import normalise_country
from service.api.json_body import parse_json
from service.api.payment_webhook import SIGNATURE_HEADER, receive_payment
from service.domain.devices import device_from_user_agent
from service.domain.events import EventType
from service.metrics import EVENTS, REDIS_FAILURES
from service.settings import Settings
from service.store.redis.client import REDIS_ERRORS
from service.store.redis.event_ingest import RateLimited
from service.wiring import Services

log = logging.getLogger(__name__)

MAX_EVENTS_BYTES = 64 * 1024
_UNAVAILABLE_RETRY_AFTER = "30"


def blueprint(settings: Settings) -> Blueprint:
    bp = Blueprint("public", __name__)
    cors = CorsPolicy(settings)

    @bp.after_request
    def add_cors(response: Response) -> Response:
        if request.path == "/v1/events":
            preflight = request.method == "OPTIONS"
            for name, value in cors.headers(request.headers.get("Origin"), preflight):
                response.headers[name] = value
        return response

    @bp.post("/v1/events")
    def events() -> tuple[Response, int]:
        svc = services()
        try:
            events = _envelope()
        except ApiError:
            # A malformed batch counts toward the limit too, so a flood of them is cut off.
            _count_toward_limit(svc, svc.clock())
            raise
        user_agent = request.headers.get("User-Agent", "")
        if is_bot(user_agent):
            EVENTS.labels("any", "bot").inc(len(events))
            return _answer(0, 0, [], bot=len(events)), 202
        now = svc.clock()
        country = normalise_country(request.headers.get(settings.geo_header))
        batch = build_batch(
            events,
            BatchContext(
                now=now,
                experiments=svc.experiment_cache.snapshot().by_key,
                signer=svc.signer,
                token_max_age=settings.token_max_age_hours * 3600,
                rates=settings.currency_rates,
                country=country,
                device=str(device_from_user_agent(user_agent)),
            ),
        )
        for rejection in batch.rejected:
            EVENTS.labels(_claimed_type(events[rejection["index"]]), "rejected").inc()
        EVENTS.labels("any", "qa").inc(batch.dropped_qa)
        # Recorded even when nothing was accepted, so that a flood of bad batches still
        # counts toward the client's rate limit.
        try:
            result = svc.event_ingest.record(
                batch.records,
                batch.ledger_ops,
                request.remote_addr or "unknown",
                now,
            )
        except REDIS_ERRORS as exc:
            if not batch.records:
                return _answer(0, 0, batch.rejected, qa=batch.dropped_qa), 202
            REDIS_FAILURES.labels("events").inc()
            log.warning("events written straight to SQL, Redis is away: %s", exc)
            return _straight_to_sql(batch.records, batch.rejected, batch.dropped_qa), 202
        if isinstance(result, RateLimited):
            raise _rate_limited(result.retry_after)
        accepted = sum(result.new)
        for record, new in zip(batch.records, result.new, strict=True):
            EVENTS.labels(record.type.value, "accepted" if new else "duplicate").inc()
        return _answer(
            accepted, len(result.new) - accepted, batch.rejected, qa=batch.dropped_qa
        ), 202

    @bp.post("/v1/conversions")
    def conversions() -> tuple[Response, int]:
        signature = request.headers.get(SIGNATURE_HEADER, "")
        status, body = receive_payment(services(), request.get_data(), signature)
        return jsonify(body), status

    return bp


def _envelope() -> list[Any]:
    """The batch: application/json or text/plain (what sendBeacon sends), at most 64 KiB."""
    if request.content_length is not None and request.content_length > MAX_EVENTS_BYTES:
        raise _too_large()
    mimetype = request.mimetype
    if mimetype not in ("application/json", "text/plain"):
        raise ApiError(
            415,
            "unsupported_media_type",
            "send application/json or text/plain",
            {"Content-Type": "must be application/json or text/plain"},
        )
    raw = request.get_data(cache=False)
    if len(raw) > MAX_EVENTS_BYTES:
        raise _too_large()
    body = parse_json(raw)
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
        raise ApiError(
            400,
            "bad_request",
            'the body must be {"events": [...]}',
            {"events": f"a list of 1 to {MAX_EVENTS} events"},
        )
    return events


def _too_large() -> ApiError:
    message = f"a batch is at most {MAX_EVENTS_BYTES} bytes"
    return ApiError(413, "payload_too_large", message, {"$": message})


def _count_toward_limit(svc: Services, now: datetime) -> None:
    """Counts a request that carries no events; a 429 once the address is over its limit."""
    try:
        result = svc.event_ingest.record([], {}, request.remote_addr or "unknown", now)
    except REDIS_ERRORS:
        return  # the request is refused anyway; without Redis there is nothing to count
    if isinstance(result, RateLimited):
        raise _rate_limited(result.retry_after)


def _straight_to_sql(records: list[Any], rejected: list[dict[str, Any]], qa: int) -> Response:
    svc = services()
    try:
        written = svc.event_writer.write(records)
    except SQLAlchemyError as exc:
        log.error("events refused, Redis and SQL are both away: %s", exc)
        raise ApiError(
            503,
            "unavailable",
            "the service cannot store events right now; retry later",
            headers={"Retry-After": _UNAVAILABLE_RETRY_AFTER},
        ) from None
    # Stored, but not "accepted": without Redis it cannot be told whether this is the first
    # copy (an earlier one may wait in the stream, not yet flushed) and the live counters do
    # not include it. A resend is answered from Redis: accepted once, or a duplicate.
    EVENTS.labels("any", "pending").inc(written.inserted)
    return _answer(0, written.duplicates, rejected, qa=qa, pending=written.inserted)


def _answer(
    accepted: int,
    duplicates: int,
    rejected: list[dict[str, Any]],
    *,
    qa: int = 0,
    bot: int = 0,
    pending: int = 0,
) -> Response:
    return jsonify(
        {
            "accepted": accepted,
            "duplicates": duplicates,
            "pending": pending,
            "rejected": rejected,
            "dropped": {"qa": qa, "bot": bot},
        }
    )


def _rate_limited(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "rate_limited",
        "too many requests from this address; slow down",
        headers={"Retry-After": str(retry_after)},
    )


_TYPES = frozenset(t.value for t in EventType)


def _claimed_type(event: object) -> str:
    """The type a rejected event says it has, for the metrics label: one of the known types,
    or "invalid" (a client's arbitrary string must not become a label)."""
    claimed = event.get("type") if isinstance(event, dict) else None
    return claimed if isinstance(claimed, str) and claimed in _TYPES else "invalid"
