"""The demo article page and the demo donation page that completes the loop.

The donation page plays the payment provider: it hands the payment to the same use case a
real provider's signed request reaches (service/usecases/receive_payment.py). Turned off in
production, where it would let anyone report a donation.
"""

from __future__ import annotations

import math
import uuid

from flask import Blueprint, render_template, request

from service.domain.errors import ValidationFailed
from service.snippet import SnippetAsset
from service.usecases.errors import Unavailable
from service.usecases.receive_payment import receive_payment
from service.web import services

_CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD")
_FREQUENCY_LABELS = {"monthly": "monthly", "one_off": "one-off", "annual": "annual"}


def blueprint(asset: SnippetAsset) -> Blueprint:
    bp = Blueprint("demo", __name__, template_folder="templates")

    @bp.get("/demo")
    def article() -> str:
        return render_template(
            "article.html",
            snippet_src=asset.versioned_path,
            placements=request.args.get("placements", "article-end bottom-banner"),
            hostile_css=request.args.get("hostile_css") == "1",
            # As a site with a consent banner would: no ids or events until the reader agrees.
            ask_consent=request.args.get("consent") == "0",
        )

    @bp.get("/demo/privacy")
    def privacy() -> str:
        # The page the demo's reminder offer links to, as a newsroom's privacy page would be.
        return render_template("privacy.html")

    @bp.get("/demo/donate")
    def donate_form() -> str:
        args = request.args
        values = {
            "token": args.get("sf_token", ""),
            "amount": args.get("amount", "5"),
            "currency": args.get("currency", "USD"),
            "frequency": args.get("frequency", "monthly"),
        }
        return _form(values, None, services().settings.is_production)

    @bp.post("/demo/donate")
    def donate() -> tuple[str, int]:
        svc = services()
        form = request.form
        values = {
            "token": form.get("token", ""),
            "amount": form.get("amount", ""),
            "currency": form.get("currency", "USD"),
            "frequency": form.get("frequency", "monthly"),
        }
        if svc.settings.is_production:
            return _form(values, "Demo payments are turned off in production mode.", True), 404
        try:
            amount = float(values["amount"])
        except ValueError:
            return _form(values, "Enter the amount as a number, such as 5 or 7.50."), 422
        payment_id = f"demo_{uuid.uuid4().hex[:16]}"
        # What a provider's JSON can carry: no infinity or NaN (orjson writes them as null).
        body = {"id": payment_id, **values, "amount": amount if math.isfinite(amount) else None}
        try:
            received = receive_payment(svc, body)
        except ValidationFailed as exc:
            problems = "; ".join(f"{k}: {v}" for k, v in exc.fields.items()) or exc.message
            return _form(values, f"The payment was refused: {problems}"), 422
        except Unavailable as exc:
            return _form(values, f"The payment was refused: {exc.message}"), 503
        return render_template(
            "donate.html",
            done=True,
            payment_id=payment_id,
            amount=values["amount"],
            currency=values["currency"],
            frequency_label=_FREQUENCY_LABELS.get(values["frequency"], values["frequency"]),
            credited=received.credited,
        ), 200

    return bp


def _form(values: dict[str, str], error: str | None, disabled: bool = False) -> str:
    return render_template(
        "donate.html", done=False, disabled=disabled, error=error, currencies=_CURRENCIES, **values
    )
