"""Per-arm sufficient statistics, as the report's grouped SQL queries yield them; pure, no I/O.

Their own module so that the report, the bandit's allocation rule and its stratified report
all build on them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta


@dataclass(frozen=True, slots=True)
class ArmTotals:
    """Sums over the exposed visitors of one variant (in one segment value, if segmented).
    `*_capped` revenue figures are winsorised at the experiment's revenue cap."""

    variant: str
    segment: str | None = None
    visitors: int = 0
    converters: int = 0  # visitors with at least one conversion
    revenue: float = 0.0
    revenue_capped: float = 0.0
    revenue_capped_squares: float = 0.0
    annualised: float = 0.0
    annualised_capped: float = 0.0
    annualised_capped_squares: float = 0.0
    impressions: int = 0
    views: int = 0
    clicks: int = 0
    dismiss_remind_later: int = 0
    dismiss_close: int = 0
    dismiss_already_donated: int = 0
    conversions: int = 0
    recurring_conversions: int = 0
    remind_later_visitors: int = 0
    converted_after_remind_later: int = 0
    # CUPED's covariate x, the article count at first exposure (0 when not sent): Σx, Σx² and
    # Σx·y for each per-visitor metric y (converted, capped revenue, capped annualised).
    article_views: float = 0.0
    article_views_squares: float = 0.0
    article_views_converted: float = 0.0
    article_views_revenue_capped: float = 0.0
    article_views_annualised_capped: float = 0.0
    close_visitors: int = 0  # visitors who closed the banner at least once
    already_donated_visitors: int = 0  # visitors who answered "already donated" at least once
    # Money after conversions (service/domain/payment_model.py): `revenue` and `annualised`
    # are net of refunds and cancellations; gross revenue is revenue + refunded.
    renewals: int = 0
    renewal_revenue: float = 0.0
    refunds: int = 0
    refunded: float = 0.0
    cancellations: int = 0
    active_recurring_donors: int = 0  # visitors with a recurring gift not cancelled
    churned_donors: int = 0  # visitors whose recurring gifts were all cancelled

    def __add__(self, other: ArmTotals) -> ArmTotals:
        # Every sufficient statistic is a plain sum, so segments add up to the overall figures.
        return ArmTotals(
            self.variant,
            None,
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)[2:]),
        )


# Every sum of ArmTotals (all fields but the variant and segment) with its type, in order.
SUM_FIELDS: tuple[tuple[str, type[int] | type[float]], ...] = tuple(
    (f.name, float if isinstance(f.default, float) else int) for f in fields(ArmTotals)[2:]
)


@dataclass(frozen=True, slots=True)
class DayTotals:
    """Visitors first exposed on `day` (UTC), or only in its `hour` (0-23) when set; `totals`
    holds visitors, converters and the capped revenue sums (the series needs no more)."""

    day: date
    totals: ArmTotals
    hour: int | None = None


# The report's series is hourly at first, so a chart on day one has more than one point.
HOURLY_FOR = timedelta(hours=48)


def hourly_until(first_exposure: datetime) -> datetime:
    """Where the series turns from hours to days: HOURLY_FOR after the hour of the first
    exposure, then on to the next UTC midnight, so every later point is a whole UTC day and
    each is drawn after the last hour (a day's point sits at its midnight)."""
    first = first_exposure.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    switch = first + HOURLY_FOR
    midnight = datetime.combine(switch.date(), time(), UTC)
    return switch if switch == midnight else midnight + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class StratumTotals:
    """Sums over visitors first exposed in stratum `stratum`: the index of the last boundary
    at or before their first exposure, -1 before the first boundary."""

    stratum: int
    totals: ArmTotals


@dataclass(frozen=True, slots=True)
class ReminderTotals:
    """One variant's e-mail reminders (the `reminders` table, QA sign-ups left out) over the
    report's exposed visitors: row counts, and the counted conversions that came within the
    attribution window after a reminder was sent. `revenue_capped*` are per visitor, each
    reminded visitor's revenue after a reminder winsorised at the revenue cap, for the
    per-visitor metric whose n is the arm's exposed visitors (ArmTotals.visitors)."""

    variant: str
    signups: int = 0  # rows
    confirmations: int = 0  # rows confirmed
    sent: int = 0  # rows sent
    clicks: int = 0  # rows whose reminder link was followed
    signup_visitors: int = 0  # visitors with at least one sign-up
    donors: int = 0  # visitors with a donation after a reminder
    donations: int = 0
    revenue: float = 0.0
    revenue_capped: float = 0.0
    revenue_capped_squares: float = 0.0
