"""The arithmetic of money after a donation: what a renewal, a refund or a cancellation changes
a donor's revenue and 12-month value by, and in which order held facts are applied. Pure: the
use case (service/usecases/apply_payment_fact.py) reads the stored state, asks here, writes.

The 12-month value of a donor is the net revenue received plus, while a monthly gift is active,
the payments still to come in the 12 months after its first payment: a new monthly donor of 10
is worth 120, one who cancels after three payments is worth 30, one refunded in full is worth
0. An annual or one-off gift is worth what was received. It assumes an active donor keeps
giving; a cancellation or refund removes what will not come.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from service.domain.experiment import Frequency

HORIZON_MONTHS = 12


def expected_payments(frequency: str) -> int:
    """Payments a series is expected to bring within the 12 months after its first."""
    return HORIZON_MONTHS if frequency == Frequency.monthly else 1


def first_payment_value(amount: float, frequency: str) -> float:
    """A first payment's 12-month value: the payments expected within the horizon."""
    return amount * expected_payments(frequency)


def renewal_value(amount: float, frequency: str, received_before: int) -> float:
    """What a renewal adds to the 12-month value, `received_before` the series' payments before
    it (the first included): nothing while it was expected already (the first payment counted
    it), its amount once the series gives beyond the horizon's expected payments."""
    return 0.0 if received_before < expected_payments(frequency) else amount


def cancellation_loss(amount: float, frequency: str, received: int) -> float:
    """What cancelling a series takes from its 12-month value (positive): the expected
    payments not received, `received` counting the first; nothing for annual or one-off."""
    if frequency != Frequency.monthly:
        return 0.0
    return amount * max(0, HORIZON_MONTHS - received)


@dataclass(frozen=True, slots=True)
class Reversal:
    applied_minor: int  # what this refund takes back now (0: nothing left to take)
    reversed_minor: int  # all taken back from the payment after it
    reported_total_minor: int  # the highest cumulative refunded total reported so far


def reversal(
    amount_minor: int,
    reversed_minor: int,
    reported_total_minor: int,
    *,
    incremental_minor: int | None = None,
    cumulative_minor: int | None = None,
) -> Reversal:
    """A refund or dispute of a payment of `amount_minor` of which `reversed_minor` was taken
    back before. `incremental_minor`: this refund alone (a dispute, or a processor that reports
    each refund); `cumulative_minor`: all refunded so far as the processor reports it (Stripe's
    Charge.amount_refunded), of which only what exceeds the highest total reported before is
    new. Either way the payment never loses more than its amount."""
    reported = reported_total_minor
    if cumulative_minor is not None:
        wanted = max(0, cumulative_minor - reported_total_minor)
        reported = max(reported_total_minor, cumulative_minor)
    else:
        wanted = max(0, incremental_minor or 0)
    applied = max(0, min(wanted, amount_minor - reversed_minor))
    return Reversal(applied, reversed_minor + applied, reported)


def reinstated(requested_minor: int, reversed_minor: int) -> int:
    """What a reinstatement (a won dispute) of `requested_minor` gives back to a payment of
    which `reversed_minor` was taken back: never more than was taken, so a reinstatement with
    nothing taken before it (or replayed under another id) adds nothing."""
    return max(0, min(requested_minor, reversed_minor))


def first_gifts(revenue: float, refunded: float, renewal_revenue: float) -> float:
    """The money of first payments alone, before refunds: net revenue plus what refunds and
    disputes still hold, less renewals. So the average gift (this / payments) is the average
    first gift, not drifting upward as renewals come in or down as refunds do."""
    return revenue + refunded - renewal_revenue


def minor_share(part_minor: int, whole_minor: int, whole: float) -> float:
    """`part_minor` of a payment as a share of its converted amount `whole`, so a refund in
    the payment's currency moves the reporting currency by the same share."""
    if whole_minor <= 0:
        return 0.0
    return whole * part_minor / whole_minor


@dataclass(frozen=True, slots=True)
class HeldFact:
    fact_id: str
    ts: datetime


def held_order(held: Iterable[HeldFact]) -> list[str]:
    """Held facts in the order to apply them: when they happened, then by id so the order is
    the same on every retry; each once."""
    seen: dict[str, HeldFact] = {}
    for fact in held:
        seen.setdefault(fact.fact_id, fact)
    return [f.fact_id for f in sorted(seen.values(), key=lambda f: (f.ts, f.fact_id))]
