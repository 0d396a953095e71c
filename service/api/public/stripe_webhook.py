"""POST /v1/payments/stripe: a newsroom's Stripe webhook endpoint (docs/STRIPE.md).

Server to server, so no CORS: no browser page has any business calling it. Everything past the
body's size is service/usecases/receive_stripe_event.py's, which the demo calls directly too.
Stripe counts any answer but a 2xx as a failed delivery and retries it for up to three days,
so an event Small Favor does not use gets a 200 saying it was ignored.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from service.api.http import ApiError
from service.domain.stripe_signature import HEADER
from service.usecases.receive_stripe_event import receive_stripe_event
from service.web import services

PATH = "/v1/payments/stripe"
# Stripe's events carry one object each; an invoice with its first lines runs to tens of KiB
# and the largest seen stay well under this. Past it, a 413 rather than reading on.
MAX_BODY_BYTES = 512 * 1024

bp = Blueprint("stripe", __name__)


@bp.post(PATH)
def webhook() -> tuple[Response, int]:
    request.max_content_length = MAX_BODY_BYTES
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        message = f"the body is over {MAX_BODY_BYTES // 1024} KiB"
        raise ApiError(413, message, {"$": message}) from None
    receipt = receive_stripe_event(services(), raw, request.headers.get(HEADER))
    return jsonify(receipt.as_dict()), 200
