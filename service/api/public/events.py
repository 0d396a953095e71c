"""The public API for the snippet and the payment side: events and the conversions webhook.

(`GET /v1/decision` is served by decision_endpoint.py, in front of Flask, for speed.)
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from service.api.http import ApiError, parse_json
from service.api.public.bots import is_bot
from service.api.public.cors import CorsPolicy
from service.api.public.event_batch import read_events
from service.api.public.geo import normalise_country
from service.api.public.payment_webhook import SIGNATURE_HEADER, verify_signature
from service.domain.devices import device_from_user_agent
from service.metrics import EVENTS
from service.settings import Settings
from service.usecases.receive_payment import receive_payment
from service.usecases.record_events import (
    EventsRecorded,
    count_refused_batch,
    is_qa_session,
    record_events,
)
from service.web import services


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
        client = request.remote_addr or "unknown"
        try:
            events, qa_mark = read_events()
        except ApiError:
            count_refused_batch(svc, client)
            raise
        qa_session = qa_mark is not None and is_qa_session(svc, qa_mark)
        user_agent = request.headers.get("User-Agent", "")
        # A QA session's headless browser looks like a bot; its events still work the ledger
        # (snoozes, caps) but are never counted in results.
        if is_bot(user_agent) and not qa_session:
            EVENTS.labels("any", "bot").inc(len(events))
            return _answer(EventsRecorded(0, 0, [], 0), bot=len(events)), 202
        recorded = record_events(
            svc,
            events,
            client=client,
            country=normalise_country(request.headers.get(settings.geo_header)),
            device=str(device_from_user_agent(user_agent)),
            qa_session=qa_session,
        )
        return _answer(recorded), 202

    @bp.post("/v1/conversions")
    def conversions() -> tuple[Response, int]:
        svc = services()
        raw = request.get_data()
        signature = request.headers.get(SIGNATURE_HEADER, "")
        verify_signature(svc.settings.webhook_secret, raw, signature, svc.clock())
        return jsonify(receive_payment(svc, parse_json(raw)).as_dict()), 200

    return bp


def _answer(recorded: EventsRecorded, *, bot: int = 0) -> Response:
    return jsonify(
        {
            "accepted": recorded.accepted,
            "duplicates": recorded.duplicates,
            "pending": recorded.pending,
            "rejected": recorded.rejected,
            "dropped": {"qa": recorded.dropped_qa, "bot": bot},
        }
    )
