"""The payment model's arithmetic (service/domain/payment_model.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.domain.payment_model import (
    HeldFact,
    cancellation_loss,
    first_payment_value,
    held_order,
    reinstated,
    renewal_value,
    reversal,
)


def test_a_monthly_gift_is_worth_twelve_payments_and_others_what_was_paid() -> None:
    assert first_payment_value(10.0, "monthly") == 120.0
    assert first_payment_value(10.0, "annual") == 10.0
    assert first_payment_value(10.0, "one_off") == 10.0


@pytest.mark.parametrize(
    ("frequency", "received", "loss"),
    [
        ("monthly", 1, 110.0),
        ("monthly", 3, 90.0),
        ("monthly", 12, 0.0),
        ("monthly", 15, 0.0),
        ("annual", 1, 0.0),
        ("one_off", 1, 0.0),
    ],
)
def test_a_cancellation_takes_the_payments_that_will_not_come(
    frequency: str, received: int, loss: float
) -> None:
    assert cancellation_loss(10.0, frequency, received) == loss
    # What is left is what was received, within the horizon.
    if frequency == "monthly" and received <= 12:
        assert first_payment_value(10.0, frequency) - loss == 10.0 * received


def test_renewals_within_the_horizon_were_counted_already_later_ones_add() -> None:
    assert renewal_value(10.0, "monthly", 1) == 0.0
    assert renewal_value(10.0, "monthly", 11) == 0.0
    assert renewal_value(10.0, "monthly", 12) == 10.0  # the 13th payment
    assert renewal_value(50.0, "annual", 1) == 50.0  # the second year's


def test_incremental_refunds_add_up_and_stop_at_the_payment() -> None:
    first = reversal(1000, 0, 0, incremental_minor=300)
    assert (first.applied_minor, first.reversed_minor) == (300, 300)
    dispute = reversal(1000, first.reversed_minor, 0, incremental_minor=1000)
    assert (dispute.applied_minor, dispute.reversed_minor) == (700, 1000)
    assert reversal(1000, 1000, 0, incremental_minor=5).applied_minor == 0


def test_cumulative_totals_apply_only_what_is_new_even_when_replayed_or_out_of_order() -> None:
    four = reversal(1000, 0, 0, cumulative_minor=400)
    assert four.applied_minor == 400
    again = reversal(1000, four.reversed_minor, four.reported_total_minor, cumulative_minor=400)
    assert again.applied_minor == 0
    six = reversal(1000, 400, 400, cumulative_minor=600)
    assert (six.applied_minor, six.reported_total_minor) == (200, 600)
    older = reversal(1000, 600, 600, cumulative_minor=400)  # an earlier total, late
    assert (older.applied_minor, older.reported_total_minor) == (0, 600)


def test_a_dispute_then_a_cumulative_refund_never_exceed_the_payment() -> None:
    dispute = reversal(1000, 0, 0, incremental_minor=400)
    refund = reversal(1000, dispute.reversed_minor, 0, cumulative_minor=900)
    assert (refund.applied_minor, refund.reversed_minor) == (600, 1000)


def test_a_won_dispute_gives_back_at_most_what_was_taken() -> None:
    dispute = reversal(1000, 0, 0, incremental_minor=700)
    assert reinstated(700, dispute.reversed_minor) == 700
    # More claimed back than was taken (a partial refund was all that stood): capped.
    assert reinstated(700, 300) == 300
    # Nothing taken yet (the reinstatement came first) or already given back: nothing.
    assert reinstated(700, 0) == 0
    assert reinstated(-5, 700) == 0
    # Given back, the payment can be taken again, still never past its amount.
    again = reversal(1000, 700 - reinstated(700, 700), 0, incremental_minor=1000)
    assert (again.applied_minor, again.reversed_minor) == (1000, 1000)


def test_held_facts_apply_in_time_order_then_by_id_each_once() -> None:
    t = datetime(2026, 12, 1, tzinfo=UTC)
    held = [
        HeldFact("b", t + timedelta(seconds=5)),
        HeldFact("z", t),
        HeldFact("a", t),
        HeldFact("b", t + timedelta(seconds=5)),
    ]
    assert held_order(held) == ["a", "z", "b"]
