"""The demo article page and the demo donation page that completes the loop.

The donation page is a local stand-in for Stripe Checkout (service/demo/checkout_standin.py):
paying sends the signed webhook events Stripe would, to the code behind
POST /v1/payments/stripe; the thank-you page then lets the demo play what Stripe sends later (a
renewal, a refund, a cancellation). Turned off in production, where it would let anyone
report a donation.
"""

from __future__ import annotations

import math
import re

from flask import Blueprint, render_template, request

from service.demo.checkout_standin import CheckoutStandIn, Delivered
from service.domain.errors import InvalidRequest, ValidationFailed
from service.domain.money import MoneyError, to_minor
from service.snippet import SnippetAsset
from service.usecases.errors import Unavailable
from service.web import services

_CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD")
_FREQUENCY_LABELS = {"monthly": "monthly", "one_off": "one-off", "annual": "annual"}
# What the later steps' forms carry back: ids the stand-in made up, the first payment's money.
_LATER_FIELDS = ("payment_intent", "subscription", "amount", "currency")
_DEMO_ID = re.compile(r"[A-Za-z0-9_]{1,100}")


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
            "visitor": args.get("client_reference_id", ""),
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
            "visitor": form.get("visitor", ""),
            "amount": form.get("amount", ""),
            "currency": form.get("currency", "USD"),
            "frequency": form.get("frequency", "monthly"),
        }
        if svc.settings.is_production:
            return _form(values, "Demo payments are turned off in production mode.", True), 404
        problem, amount_minor = _money(values["amount"], values["currency"])
        if values["frequency"] not in _FREQUENCY_LABELS:
            problem = "Choose how often: monthly, one-off or annual."
        if problem:
            return _form(values, problem), 422
        standin = CheckoutStandIn(svc)
        try:
            sent, ids = standin.checkout(
                visitor=values["visitor"] or None,
                token=values["token"] or None,
                amount_minor=amount_minor,
                currency=values["currency"],
                frequency=values["frequency"],
            )
        except (ValidationFailed, InvalidRequest) as exc:
            return _form(values, f"The payment was refused: {_why(exc)}"), 422
        except Unavailable as exc:
            return _form(values, f"The payment was refused: {exc.message}"), 503
        label = _FREQUENCY_LABELS[values["frequency"]]
        summary = f"Your {label} gift of {values['amount']} {values['currency']} was paid."
        return _done(summary, sent, ids), 200

    @bp.post("/demo/checkout/<any(renew, refund, cancel):step>")
    def later(step: str) -> tuple[str, int]:
        """What Stripe sends after Checkout, on the demo's say-so: a renewal, a refund, a
        cancellation, through the same code as the real webhook."""
        svc = services()
        if svc.settings.is_production:
            return _form({}, "Demo payments are turned off in production mode.", True), 404
        ids = {name: request.form.get(name, "") for name in _LATER_FIELDS}
        # A refund names the payment alone; amount and currency are checked below.
        ids_needed = ("payment_intent",) if step == "refund" else ("subscription",)
        bad = [name for name in ids_needed if not _DEMO_ID.fullmatch(ids[name])]
        if not ids["amount"].isascii() or not ids["amount"].isdigit() or len(ids["amount"]) > 9:
            bad.append("amount")
        if ids["currency"] not in _CURRENCIES:
            bad.append("currency")
        if bad:
            return _done(f"That step was refused: bad {', '.join(bad)}.", [], {}), 422
        standin, amount = CheckoutStandIn(svc), int(ids["amount"])
        try:
            if step == "renew":
                sent = standin.renew(ids["subscription"], amount, ids["currency"])
                summary = "A renewal was charged."
            elif step == "refund":
                sent = standin.refund(ids["payment_intent"], amount, ids["currency"])
                summary = "The first payment was refunded in full."
            else:
                sent, summary = standin.cancel(ids["subscription"]), "The gift was cancelled."
        except (ValidationFailed, InvalidRequest) as exc:
            return _done(f"That step was refused: {_why(exc)}", [], ids), 422
        except Unavailable as exc:
            return _done(f"That step was refused: {exc.message}", [], ids), 503
        return _done(summary, sent, ids), 200

    return bp


def _form(values: dict[str, str], error: str | None, disabled: bool = False) -> str:
    return render_template(
        "donate.html", done=False, disabled=disabled, error=error, currencies=_CURRENCIES, **values
    )


def _done(summary: str, sent: list[Delivered], ids: dict[str, str]) -> str:
    return render_template("donate.html", done=True, summary=summary, sent=sent, ids=ids)


def _money(amount: str, currency: str) -> tuple[str | None, int]:
    """(what is wrong, the amount in minor units) for the form's amount and currency."""
    if currency not in _CURRENCIES:
        return f"Choose a currency: {', '.join(_CURRENCIES)}.", 0
    try:
        value = float(amount)
    except ValueError:
        return "Enter the amount as a number, such as 5 or 7.50.", 0
    if not math.isfinite(value) or value <= 0:
        return "Enter an amount above zero, such as 5 or 7.50.", 0
    try:
        minor = to_minor(value, currency, services().settings.currency_rates)
    except MoneyError as exc:
        return f"The amount cannot be paid: {exc}.", 0
    return None, minor


def _why(exc: ValidationFailed | InvalidRequest) -> str:
    return "; ".join(f"{k}: {v}" for k, v in exc.fields.items()) or exc.message
