"""What the payment side tells us about money, in one shape whichever processor said it.

Small Favor's own webhook (POST /v1/conversions) and Stripe's (POST /v1/payments/stripe) each
translate what they receive into PaymentFacts; one use case (service/usecases/
apply_payment_fact.py) applies them. So a refund from PayPal and a refund from Stripe move a
variant's results through the same code.

A processor names one payment by several ids (Stripe: the Checkout Session, its
PaymentIntent, the Charge, the Invoice, the Subscription), and its later events name it by
whichever id they carry. A payment or renewal fact lists the ids its money goes by in
`names`; later facts list the ids they know in `refers_to`, and the first one known wins. A
`link` fact adds names to a payment that is already known, when a processor only says later
that two ids belong together (Stripe's invoice_payment.paid ties a renewal's PaymentIntent to
its Invoice, which a refund of that renewal names through its Charge).

Facts may arrive in any order: one that refers to nothing known yet is held and applied when
a fact that names what it refers to arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from service.domain.experiment import Frequency

# Every id a fact carries: a processor's id, or the caller's own payment id.
ID_PATTERN = r"[A-Za-z0-9_.:-]{1,100}"


class FactKind(StrEnum):
    # Money received that starts a donor's giving: a one-off gift, or the first payment of a
    # recurring one. Credited to the experiments that showed the reader an appeal.
    payment = "payment"
    # A recurring gift started with no money yet (a free trial): the reader and the
    # experiments to credit are recorded, no conversion. The series' first paid renewal is
    # then its first payment: the conversion, the 12-month value from then.
    trial = "trial"
    # A later payment of a recurring gift: revenue of the experiments its first payment was
    # credited to, not a new conversion.
    renewal = "renewal"
    # Money going back (a refund or a dispute): taken from the revenue it was credited to.
    refund = "refund"
    # Money coming back after a refund or dispute took it (a dispute the newsroom won):
    # given back to the revenue it was taken from, never more than was taken.
    reinstatement = "reinstatement"
    # A recurring gift ended: no more renewals are expected from it.
    cancellation = "cancellation"
    # No money: `names` are further ids of the payment `refers_to` names.
    link = "link"


@dataclass(frozen=True, slots=True)
class PaymentFact:
    # Unique per fact, what makes applying it idempotent: the processor's event id (Stripe's
    # evt_…), or the caller's payment or refund id.
    fact_id: str
    kind: FactKind
    ts: datetime  # when it happened at the processor (UTC)
    # payment / trial / renewal: the ids this money goes by, its own first; link: the ids to add.
    names: tuple[str, ...] = ()
    # renewal / refund / reinstatement / cancellation / link: ids under which the earlier
    # payment (or the subscription a payment started) may be known; the first one known wins.
    refers_to: tuple[str, ...] = ()
    # payment / trial / renewal: the recurring series this money belongs to (Stripe's sub_…), so
    # renewals and the cancellation can name it.
    subscription: str | None = None
    # payment / trial: the reader, by visitor id or by decision token (the other facts follow
    # their payment). Neither: the payment is acknowledged and counted as unattributed.
    visitor: str | None = None
    token: str | None = None
    # payment / renewal / refund / reinstatement: the money, in minor units of `currency`
    # (ISO 4217), positive. For a refund, either `amount_minor` (this refund alone) or
    # `refunded_total_minor` (all refunded on that payment so far, as Stripe's Charge
    # reports it: applying it takes back only what was not taken back before).
    amount_minor: int = 0
    currency: str | None = None
    refunded_total_minor: int | None = None
    frequency: Frequency = Frequency.one_off  # payment / trial
