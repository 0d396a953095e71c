"""A won dispute through the generic webhook (POST /v1/conversions, type reinstatement): the
money a dispute took comes back to the report, once, and never more than was taken."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.wiring import Services
from tests.functional.test_conversions import pay, payment
from tests.functional.test_payment_model import expect, figures, send, variant

__all__ = ["variant"]  # the fixture, used by name

Auth = Callable[[str], dict[str, str]]
ONE_OFF = {"active_recurring_donors": 0}


def reinstatement(**overrides: Any) -> dict[str, Any]:
    body = {"type": "reinstatement", "id": "dw_1", "payment": "pay_0001", "amount": 10.0}
    return body | {"currency": "USD"} | overrides


def test_a_won_dispute_brings_the_report_back_to_the_full_amount(
    app: Flask, client: FlaskClient, auth: Auth, services: Services, variant: str
) -> None:
    assert send(client, services, payment(frequency="one_off"))["status"] == "applied"
    paid = expect(10.0, 10.0, 10.0, **ONE_OFF)
    # Nothing was taken back yet: a reinstatement gives nothing (it is recorded, so a
    # replay stays a duplicate).
    early = send(client, services, reinstatement(id="dw_0"))
    assert (early["status"], early["credited"]) == ("applied", [])
    assert figures(app, client, auth, variant) == paid

    dispute = {"id": "dp_1", "payment": "pay_0001", "amount": -10.0, "currency": "USD"}
    assert send(client, services, dispute)["status"] == "applied"
    assert figures(app, client, auth, variant) == expect(0.0, 10.0, 0.0, refunds=1, **ONE_OFF)

    # Won: the ten come back. The dispute stays counted as an event; the refunded amount
    # is what is still lost, nothing now.
    won = send(client, services, reinstatement())
    assert won["status"] == "applied" and won["credited"]
    back = expect(10.0, 10.0, 10.0, refunds=1, **ONE_OFF)
    assert figures(app, client, auth, variant) == back
    assert back["refunded_amount"] == 0.0
    # Replayed, or told again under another id: the payment never gets back more than
    # was taken from it.
    assert send(client, services, reinstatement())["status"] == "duplicate"
    assert send(client, services, reinstatement(id="dw_2"))["credited"] == []
    assert figures(app, client, auth, variant) == back


def test_a_reinstatement_of_a_partial_refund_gives_back_only_what_was_taken(
    app: Flask, client: FlaskClient, auth: Auth, services: Services, variant: str
) -> None:
    send(client, services, payment(frequency="one_off"))
    refund = {"type": "refund", "id": "re_1", "payment": "pay_0001", "amount": 4.0}
    send(client, services, refund | {"currency": "USD"})
    send(client, services, reinstatement(amount=10.0))
    assert figures(app, client, auth, variant) == expect(10.0, 10.0, 10.0, refunds=1, **ONE_OFF)


def test_a_reinstatement_before_its_payment_is_held(
    app: Flask, client: FlaskClient, auth: Auth, services: Services, variant: str
) -> None:
    assert send(client, services, reinstatement())["status"] == "held"
    assert send(client, services, payment(frequency="one_off"))["status"] == "applied"
    # Released with its payment, with nothing taken back yet: it adds nothing.
    assert figures(app, client, auth, variant) == expect(10.0, 10.0, 10.0, **ONE_OFF)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"payment": None}, "payment"),
        ({"amount": None}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": -3.0}, "amount"),
        ({"currency": "XXX"}, "currency"),
        ({"subscription": "sub_1"}, "subscription"),
    ],
)
def test_every_bad_field_of_a_reinstatement_is_named(
    client: FlaskClient, services: Services, changes: dict[str, Any], field: str
) -> None:
    body = {k: v for k, v in (reinstatement() | changes).items() if v is not None}
    response = pay(client, services, body)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"], response.json
