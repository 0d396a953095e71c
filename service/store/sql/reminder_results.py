"""The report's e-mail reminder figures (issue 19): per variant, the sign-ups of its exposed
visitors and the counted donations that came after a reminder was sent. Beside the report's
other queries (report_queries.py), whose exposure rule, winsorising and snapshot it shares
(report_sums.py)."""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from typing import Any

from sqlalchemy import Engine, and_, func, literal, select, union_all

from service.domain.arm_totals import ReminderTotals
from service.domain.events import EventType
from service.store.sql.delivery_tables import reminders as rm
from service.store.sql.event_tables import events as ev
from service.store.sql.event_tables import visitor_outcomes as vo
from service.store.sql.payment_tables import payment_money as pm
from service.store.sql.report_sums import capped, epoch_seconds, exposed_visitors, reading


def reminder_totals(
    engine: Engine,
    experiment_key: str,
    *,
    start: date | None,
    end: date | None,
    attribution_days: int,
    revenue_cap: float | None,
) -> list[ReminderTotals]:
    """Per variant: the e-mail reminders of its exposed visitors (the report's date range,
    QA sign-ups left out) and the counted conversions after one was sent, within
    `attribution_days` of it. Two grouped queries: the reminder rows (by the experiment's
    index on reminders), then only the conversions of visitors who were sent one (by the
    events' visitor index); a donation inside two reminders' windows counts once, and each
    visitor's revenue after a reminder (net of what was refunded of those donations, with their
    renewals) is winsorised at `revenue_cap` before the sums."""
    exposed = exposed_visitors(experiment_key, start, end)
    of_arm = [
        vo.c.experiment_key == rm.c.experiment_key,
        vo.c.visitor == rm.c.visitor,
        vo.c.variant_key == rm.c.variant_key,
    ]
    counts = (
        select(
            rm.c.variant_key,
            func.count().label("signups"),
            func.count(rm.c.confirmed_at).label("confirmations"),
            func.count(rm.c.sent_at).label("sent"),
            func.count(rm.c.clicked_at).label("clicks"),
            func.count(rm.c.visitor.distinct()).label("signup_visitors"),
        )
        .select_from(rm.join(vo, and_(*of_arm)))
        .where(rm.c.experiment_key == experiment_key, rm.c.qa.is_(False), *exposed)
        .group_by(rm.c.variant_key)
    )
    sent = [rm.c.experiment_key == experiment_key, rm.c.qa.is_(False), rm.c.sent_at.is_not(None)]
    window = attribution_days * 86_400
    after_a_reminder = (
        select(rm.c.id)
        .where(
            *sent,
            rm.c.visitor == ev.c.visitor,
            rm.c.variant_key == vo.c.variant_key,
            rm.c.sent_at < ev.c.ts,
            epoch_seconds(engine, ev.c.ts) <= epoch_seconds(engine, rm.c.sent_at) + window,
        )
        .exists()
    )
    donations_after = (
        select(
            vo.c.variant_key,
            ev.c.visitor,
            ev.c.payment_id,
            ev.c.revenue,
            literal(1).label("donation"),
        )
        .select_from(
            ev.join(
                vo, and_(vo.c.experiment_key == ev.c.experiment_key, vo.c.visitor == ev.c.visitor)
            )
        )
        .where(
            ev.c.visitor.in_(select(rm.c.visitor).where(*sent)),
            ev.c.experiment_key == experiment_key,
            ev.c.type == EventType.conversion.value,
            ev.c.counted.is_(True),
            after_a_reminder,
            *exposed,
        )
    )
    donated = donations_after.subquery()
    # What those donations became since: their renewals and what was refunded of them (or of
    # their renewals), found through the payment they belong to (payment_money.series_id).
    followed = (
        select(
            donated.c.variant_key,
            ev.c.visitor,
            ev.c.payment_id,
            ev.c.revenue,
            literal(0).label("donation"),
        )
        .select_from(
            ev.join(pm, pm.c.money_id == ev.c.payment_id).join(
                donated,
                and_(donated.c.payment_id == pm.c.series_id, donated.c.visitor == ev.c.visitor),
            )
        )
        .where(
            ev.c.experiment_key == experiment_key,
            ev.c.type.in_(
                [EventType.renewal.value, EventType.refund.value, EventType.reinstatement.value]
            ),
            ev.c.counted.is_(True),
        )
    )
    money = union_all(donations_after, followed).subquery()
    per_visitor = (
        select(
            money.c.variant_key,
            func.sum(money.c.donation).label("donations"),
            func.sum(func.coalesce(money.c.revenue, 0.0)).label("revenue"),
        )
        .group_by(money.c.variant_key, money.c.visitor)
        .subquery()
    )
    revenue = capped(per_visitor.c.revenue, revenue_cap)
    donations = select(
        per_visitor.c.variant_key,
        func.count().label("donors"),
        func.sum(per_visitor.c.donations).label("donations"),
        func.sum(per_visitor.c.revenue).label("revenue"),
        func.sum(revenue).label("revenue_capped"),
        func.sum(revenue * revenue).label("revenue_capped_squares"),
    ).group_by(per_visitor.c.variant_key)
    with reading(engine) as conn:
        found: dict[str, dict[str, Any]] = {}
        for row in conn.execute(counts).mappings():
            found.setdefault(row["variant_key"], {}).update(row)
        for row in conn.execute(donations).mappings():
            found.setdefault(row["variant_key"], {}).update(row)
    return [_reminder_row(key, row) for key, row in found.items()]


def _reminder_row(key: str, row: dict[str, Any]) -> ReminderTotals:
    """The sums the two queries found for a variant, each as ReminderTotals types it."""
    empty = ReminderTotals(key)
    return ReminderTotals(
        key,
        **{
            f.name: type(getattr(empty, f.name))(row.get(f.name) or 0)
            for f in fields(ReminderTotals)[1:]
        },
    )
