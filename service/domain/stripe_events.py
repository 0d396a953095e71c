"""A Stripe event (a snapshot webhook payload) as the PaymentFacts it tells of.

Payload shapes follow Stripe's API version STRIPE_API_VERSION (docs/STRIPE.md), the one the
`stripe` package the tests cross-check with is pinned to. Since 2025-03-31.basil an Invoice
names its subscription under parent.subscription_details.subscription and a Charge no longer
names its Invoice: invoice_payment.paid is what ties a renewal's PaymentIntent (which a refund
names, through its Charge) to the Invoice the renewal was reported under.

| event                                   | fact                                              |
|-----------------------------------------|---------------------------------------------------|
| checkout.session.completed (paid),      | payment: names session, payment intent, invoice,  |
| checkout.session.async_payment_succeeded| subscription; reader from client_reference_id     |
| checkout.session.completed, subscription| trial: as a payment, but no money and no          |
| with amount_total 0 (a free trial)      | conversion until the first paid invoice           |
| invoice.paid, first of a subscription   | link: the invoice's ids to the Checkout payment   |
| invoice.paid, later                     | renewal of the subscription (after a trial, the   |
|                                         | first paid one is the conversion: applying knows) |
| invoice_payment.paid                    | link: the payment intent / charge to the invoice  |
| charge.refunded                         | refund: all refunded on the charge so far         |
| charge.dispute.created                  | refund: the disputed amount                       |
| charge.dispute.funds_reinstated         | reinstatement: the disputed amount comes back     |
| charge.dispute.closed                   | nothing (won: funds_reinstated told it already)   |
| customer.subscription.deleted           | cancellation of the subscription                  |

Anything else tells nothing (Stripe expects a 2xx all the same). A handled event whose fields
are not what that version sends is InvalidRequest naming the field by its JSON path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from service.domain.errors import InvalidRequest
from service.domain.experiment import Frequency
from service.domain.money import MAX_MINOR_UNITS
from service.domain.payment_facts import ID_PATTERN, FactKind, PaymentFact

STRIPE_API_VERSION = "2026-10-28.endive"
HANDLED = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "invoice.paid",
    "invoice_payment.paid",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.funds_reinstated",
    "charge.dispute.closed",
    "customer.subscription.deleted",
)
# The reader: the snippet's visitor id (its pattern, service/schemas/events.py), or the
# decision token the donation link carries.
VISITOR_METADATA = "smallfavor_visitor"
TOKEN_METADATA = "smallfavor_token"
FREQUENCY_METADATA = "smallfavor_frequency"
_VISITOR = re.compile(r"[A-Za-z0-9_-]{8,64}")
_ID = re.compile(ID_PATTERN)
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_LAST_INSTANT = 253_402_300_799  # 9999-12-31T23:59:59Z, datetime's last second
_RECURRING = {Frequency.monthly.value, Frequency.annual.value}


@dataclass(frozen=True, slots=True)
class StripeEvent:
    id: str
    type: str
    created: datetime
    facts: tuple[PaymentFact, ...]
    # Why an event tells nothing (not handled, or not a payment yet); "" when it tells facts.
    note: str = ""


def read_event(body: object) -> StripeEvent:
    """The facts `body` (a parsed snapshot event) tells. Raises InvalidRequest naming the field."""
    if not isinstance(body, dict):
        _invalid("$", "must be a Stripe event object")
    event = _Reader(body, "")
    if body.get("object", "event") != "event":
        _invalid("object", 'must be "event": a snapshot event (thin events are not supported)')
    event_id = event.id("id")
    kind = event.text("type")
    created = event.instant("created")
    if kind not in HANDLED:
        return StripeEvent(event_id, kind, created, (), f"{kind} is not an event Small Favor uses")
    obj = event.child("data").child("object")
    facts, note = _MAPPERS[kind](obj, created)
    # One fact per event so far; a second would be "<event id>:1", still unique and stable.
    numbered = tuple(
        _with_id(fact, event_id if i == 0 else f"{event_id}:{i}") for i, fact in enumerate(facts)
    )
    return StripeEvent(event_id, kind, created, numbered, note if not numbered else "")


_Facts = tuple[list[PaymentFact], str]


def _checkout(obj: _Reader, ts: datetime) -> _Facts:
    mode = obj.text("mode")
    if mode not in ("payment", "subscription"):
        return [], f"a Checkout Session in {mode} mode moves no money"
    status = obj.text("payment_status")
    amount = obj.money("amount_total")
    # A subscription that starts with a free trial: nothing paid (payment_status
    # no_payment_required), but the reader and the subscription are who later invoices name.
    trial = mode == "subscription" and amount == 0 and status in ("paid", "no_payment_required")
    if status != "paid" and not trial:
        return [], (
            f"payment_status is {status}: a delayed payment is reported by "
            "checkout.session.async_payment_succeeded once it succeeds"
        )
    if amount == 0 and not trial:
        return [], "nothing was paid (amount_total is 0)"
    metadata = obj.metadata("metadata")
    subscription = obj.optional_ref("subscription") if mode == "subscription" else None
    names = [obj.id("id")]
    names += [i for i in (obj.optional_ref("payment_intent"), obj.optional_ref("invoice")) if i]
    names += [subscription] if subscription else []
    frequency = Frequency.one_off
    if mode == "subscription":
        claimed = metadata.get(FREQUENCY_METADATA, "")
        frequency = Frequency(claimed) if claimed in _RECURRING else Frequency.monthly
    fact = PaymentFact(
        fact_id="",
        kind=FactKind.trial if trial else FactKind.payment,
        ts=ts,
        names=tuple(dict.fromkeys(names)),
        subscription=subscription,
        visitor=_visitor(obj.optional_text("client_reference_id"), metadata),
        token=metadata.get(TOKEN_METADATA) or None,
        amount_minor=amount,
        currency=obj.currency("currency"),
        frequency=frequency,
    )
    return [fact], ""


def _visitor(reference: str | None, metadata: Mapping[str, str]) -> str | None:
    # client_reference_id is the newsroom's to use as it likes: a value that is no visitor id
    # leaves the payment unattributed rather than refused (which Stripe would retry for days).
    for candidate in (reference, metadata.get(VISITOR_METADATA)):
        if candidate and _VISITOR.fullmatch(candidate):
            return candidate
    return None


def _invoice_paid(obj: _Reader, ts: datetime) -> _Facts:
    amount = obj.money("amount_paid")
    parent = obj.optional_child("parent")
    details = parent.optional_child("subscription_details") if parent else None
    subscription = details.optional_ref("subscription") if details else None
    if subscription is None:
        return [], "the invoice belongs to no subscription"
    if amount == 0:
        return [], "nothing was paid (amount_paid is 0)"
    invoice = obj.id("id")
    names = (invoice, *_invoice_payment_intents(obj))
    if obj.optional_text("billing_reason") == "subscription_create":
        # The subscription's first payment: Checkout reported it (checkout.session.completed
        # names this invoice and the subscription), so only its further ids are news.
        fact = PaymentFact("", FactKind.link, ts, names=names, refers_to=(invoice, subscription))
        return [fact], ""
    fact = PaymentFact(
        fact_id="",
        kind=FactKind.renewal,
        ts=ts,
        names=names,
        refers_to=(subscription,),
        subscription=subscription,
        amount_minor=amount,
        currency=obj.currency("currency"),
    )
    return [fact], ""


def _invoice_payment_intents(obj: _Reader) -> list[str]:
    # `payments` is in the payload only when expanded; its payment intents then come for free.
    payments = obj.optional_child("payments")
    if payments is None:
        return []
    found = []
    for item in payments.items("data"):
        payment = item.optional_child("payment")
        intent = payment.optional_ref("payment_intent") if payment else None
        if intent:
            found.append(intent)
    return found


def _invoice_payment_paid(obj: _Reader, ts: datetime) -> _Facts:
    payment = obj.child("payment")
    names = [
        i for i in (payment.optional_ref("payment_intent"), payment.optional_ref("charge")) if i
    ]
    if not names:
        return [], "the invoice was paid by neither a payment intent nor a charge"
    fact = PaymentFact("", FactKind.link, ts, names=tuple(names), refers_to=(obj.ref("invoice"),))
    return [fact], ""


def _charge_refunded(obj: _Reader, ts: datetime) -> _Facts:
    # The Charge reports all refunded on it so far: applying takes back only what is new.
    refunded = obj.money("amount_refunded")
    return [_charge_money(obj, ts, FactKind.refund, obj.id("id"), refunded_total=refunded)], ""


def _dispute_created(obj: _Reader, ts: datetime) -> _Facts:
    return [_charge_money(obj, ts, FactKind.refund, obj.ref("charge"), obj.money("amount"))], ""


def _dispute_reinstated(obj: _Reader, ts: datetime) -> _Facts:
    # A won dispute: Stripe sends this when the disputed money is back in the balance (it
    # also sends charge.dispute.closed, status won, which _dispute_closed leaves alone so
    # the money is not given back twice). Capped when applied at what the dispute took.
    fact = _charge_money(obj, ts, FactKind.reinstatement, obj.ref("charge"), obj.money("amount"))
    return [fact], ""


def _charge_money(
    obj: _Reader,
    ts: datetime,
    kind: FactKind,
    charge: str,
    amount: int = 0,
    *,
    refunded_total: int | None = None,
) -> PaymentFact:
    """Money moving on a Charge (a Charge or a Dispute object): the payment it belongs to is
    known by its payment intent, else by the Charge itself."""
    intent = obj.optional_ref("payment_intent")
    return PaymentFact(
        fact_id="",
        kind=kind,
        ts=ts,
        refers_to=(intent, charge) if intent else (charge,),
        amount_minor=amount,
        currency=obj.currency("currency"),
        refunded_total_minor=refunded_total,
    )


def _dispute_closed(obj: _Reader, ts: datetime) -> _Facts:
    status = obj.text("status")
    if status == "won":
        return [], (
            "a won dispute's money is given back by charge.dispute.funds_reinstated, "
            "not counted again here"
        )
    return [], f"the dispute closed {status}: what it took stays taken"


def _subscription_deleted(obj: _Reader, ts: datetime) -> _Facts:
    subscription = obj.id("id")
    when = obj.instant("ended_at") if obj.optional_whole("ended_at") is not None else ts
    return [PaymentFact("", FactKind.cancellation, when, refers_to=(subscription,))], ""


_MAPPERS = {
    "checkout.session.completed": _checkout,
    "checkout.session.async_payment_succeeded": _checkout,
    "invoice.paid": _invoice_paid,
    "invoice_payment.paid": _invoice_payment_paid,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute_created,
    "charge.dispute.funds_reinstated": _dispute_reinstated,
    "charge.dispute.closed": _dispute_closed,
    "customer.subscription.deleted": _subscription_deleted,
}


def _with_id(fact: PaymentFact, fact_id: str) -> PaymentFact:
    return PaymentFact(
        fact_id=fact_id,
        kind=fact.kind,
        ts=fact.ts,
        names=fact.names,
        refers_to=fact.refers_to,
        subscription=fact.subscription,
        visitor=fact.visitor,
        token=fact.token,
        amount_minor=fact.amount_minor,
        currency=fact.currency,
        refunded_total_minor=fact.refunded_total_minor,
        frequency=fact.frequency,
    )


def _invalid(path: str, reason: str) -> NoReturn:
    raise InvalidRequest(f"the Stripe event is invalid: {path} {reason}", {path: reason})


class _Reader:
    """One object of the payload, reading fields by name and naming any bad one by its path."""

    def __init__(self, value: Mapping[str, Any], path: str) -> None:
        self._value = value
        self._path = path

    def _at(self, name: str) -> str:
        return f"{self._path}.{name}" if self._path else name

    def child(self, name: str) -> _Reader:
        found = self.optional_child(name)
        return found if found is not None else _invalid(self._at(name), "must be an object")

    def optional_child(self, name: str) -> _Reader | None:
        value = self._value.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            _invalid(self._at(name), "must be an object or null")
        return _Reader(value, self._at(name))

    def items(self, name: str) -> list[_Reader]:
        value = self._value.get(name)
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            _invalid(self._at(name), "must be a list of objects")
        return [_Reader(v, f"{self._at(name)}[{i}]") for i, v in enumerate(value)]

    def text(self, name: str) -> str:
        value = self.optional_text(name)
        return value if value is not None else _invalid(self._at(name), "must be a string")

    def optional_text(self, name: str) -> str | None:
        value = self._value.get(name)
        if value is not None and not isinstance(value, str):
            _invalid(self._at(name), "must be a string or null")
        return value

    def id(self, name: str) -> str:
        value = self._value.get(name)
        if not isinstance(value, str) or not _ID.fullmatch(value):
            _invalid(self._at(name), "must be a Stripe id: 1 to 100 of A-Z a-z 0-9 _ . : -")
        return str(value)

    def ref(self, name: str) -> str:
        found = self.optional_ref(name)
        return found if found is not None else _invalid(self._at(name), "must be a Stripe id")

    def optional_ref(self, name: str) -> str | None:
        """An expandable field: the id, or the expanded object holding it, or null."""
        value = self._value.get(name)
        if value is None:
            return None
        if isinstance(value, dict):
            return _Reader(value, self._at(name)).id("id")
        return self.id(name)

    def whole(self, name: str) -> int:
        value = self.optional_whole(name)
        if value is None or value < 0:
            _invalid(self._at(name), "must be a whole number, 0 or more")
        return int(value)

    def money(self, name: str) -> int:
        """An amount in minor units, within what Small Favor stores."""
        value = self.whole(name)
        if value > MAX_MINOR_UNITS:
            _invalid(self._at(name), f"must be at most {MAX_MINOR_UNITS} minor units")
        return value

    def optional_whole(self, name: str) -> int | None:
        value = self._value.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            _invalid(self._at(name), "must be a whole number")
        return value

    def instant(self, name: str) -> datetime:
        """A unix timestamp in seconds, as Stripe gives every time."""
        value = self.optional_whole(name)
        if value is None or not 0 <= value <= _LAST_INSTANT:
            _invalid(self._at(name), "must be a unix timestamp in seconds")
        return datetime.fromtimestamp(value, UTC)

    def currency(self, name: str) -> str:
        value = self._value.get(name)
        if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
            _invalid(self._at(name), "must be a three-letter ISO 4217 code")
        return str(value).upper()

    def metadata(self, name: str) -> dict[str, str]:
        value = self._value.get(name) or {}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            _invalid(self._at(name), "must be an object of strings")
        return dict(value)
