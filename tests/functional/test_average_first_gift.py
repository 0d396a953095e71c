"""The average gift is the average first gift: renewals coming in do not lift it and refunds
do not lower it, in the report and in the export's summary and day rows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
from flask import Flask
from flask.testing import FlaskClient

from service.domain.export_schedule import ExportFormat
from service.jobs.exports.runner import ExportRunner
from service.settings import Settings
from service.wiring import Services
from tests.functional.test_conversions import payment
from tests.functional.test_payment_model import figures, send, variant
from tests.support import FakeClock

__all__ = ["variant"]  # the fixture, used by name

Auth = Callable[[str], dict[str, str]]
KEY = "monthly-ask"


def average_gift(client: FlaskClient, auth: Auth, variant: str) -> float | None:
    response = client.get(f"/v1/admin/experiments/{KEY}/report", headers=auth("viewer"))
    [row] = [v for v in response.json["variants"] if v["key"] == variant]
    gift: float | None = row["average_gift"]
    return gift


def test_renewals_and_refunds_leave_the_average_first_gift_alone(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    clock: FakeClock,
    services: Services,
    settings: Settings,
    tmp_path: Path,
    variant: str,
) -> None:
    send(client, services, payment(subscription="sub_1", amount=12.0))
    renewal = {"type": "renewal", "id": "pay_0002", "subscription": "sub_1", "amount": 12.0}
    send(client, services, renewal | {"currency": "USD"})
    refund = {"type": "refund", "id": "re_1", "payment": "pay_0001", "amount": 5.0}
    send(client, services, refund | {"currency": "USD"})
    got = figures(app, client, auth, variant)  # flushes
    # Net revenue 19 over one payment would say 19; the first gift was 12.
    assert (got["revenue"], got["payments"], got["renewals"]) == (19.0, 1, 1)
    assert average_gift(client, auth, variant) == 12.0

    out = tmp_path / "export.json"
    ExportRunner(services.engine, settings).export_one(KEY, ExportFormat.json, out, clock())
    rows = [r for r in orjson.loads(out.read_bytes()) if r["variant"] == variant]
    summary = [r for r in rows if r["row_type"] == "summary"]
    days = [r for r in rows if r["row_type"] == "day" and r["payments"]]
    assert [r["average_gift"] for r in summary] == [12.0]
    assert [r["average_gift"] for r in days] == [12.0]
