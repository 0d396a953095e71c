"""The report's shape (DESIGN §5): frozen dataclasses, their one JSON serializer, and the JSON
schema generated from the same declarations; pure, no I/O.

`report_json` is the only way a report becomes JSON (the admin API; the CSV, exports, charts
and page read the dataclasses). `report_json_schema()` is pydantic's serialization-mode schema
of `Report`, for /openapi.json; tests validate serialized reports against it, so the two cannot
drift. The serializer is not pydantic's: that one would turn an integer weight into 1.0, and
the JSON keeps values as they are. Fields marked OMIT_IF_NONE are left out rather than null
(they are optional in the schema too).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Literal, get_type_hints

import pydantic
from pydantic.json_schema import DEFAULT_REF_TEMPLATE

from service.domain.experiment import Engine

OMIT_IF_NONE = {"omit_if_none": True}
Interval = tuple[float, float]
VerdictStatus = Literal["ahead", "behind", "inconclusive", "srm", "not_enough_data", "guardrail"]


class _Closed:
    """The base of every part of the report: its schema allows no key the serializer does not
    write (pydantic reads the config from the class)."""

    __slots__ = ()
    __pydantic_config__ = pydantic.ConfigDict(extra="forbid")


@dataclass(frozen=True, slots=True)
class AnalysisSettings(_Closed):
    """How the report's comparisons were made, echoed from the experiment's `analysis`:
    the engine whose figures `vs_control` carries, always-valid intervals (frequentist only),
    CUPED (per-visitor metrics adjusted by articles read, see vs_control's
    variance_reduction) and the level, 1 - alpha, of every interval."""

    engine: Engine
    sequential: bool
    cuped: bool
    alpha: float


@dataclass(frozen=True, slots=True)
class VsFrequentist(_Closed):
    """A treatment against control on one metric, frequentist engine: the relative lift, its
    confidence interval (fixed horizon or always-valid), p-value and Holm-adjusted p-value,
    and the absolute difference of means with its interval (service/stats/compare.py)."""

    relative_lift: float
    ci: Interval
    p_value: float
    p_value_adjusted: float
    absolute_difference: float
    absolute_ci: Interval
    # With analysis.cuped: the share of the lift's variance the adjustment removed (0.23 =
    # 23 %); left out when the comparison is not adjusted.
    variance_reduction: float | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class VsBayesian(_Closed):
    """A treatment against control on one metric, Bayesian engine (flat prior): the relative
    lift, its credible interval, the chance the treatment is better than control (higher, or
    lower for a metric where lower is better) and the risk, the expected loss of shipping it
    as a share of the control mean."""

    relative_lift: float
    ci: Interval
    chance_to_beat_control: float
    risk: float
    # With analysis.cuped: as VsFrequentist's.
    variance_reduction: float | None = field(default=None, metadata=OMIT_IF_NONE)


VsControl = VsFrequentist | VsBayesian  # a comparison that could be made, either engine


@dataclass(frozen=True, slots=True)
class VsError(_Closed):
    """No comparison possible yet; `error` says why, for people."""

    error: str


@dataclass(frozen=True, slots=True)
class MetricValue(_Closed):
    value: float | None
    vs_control: VsFrequentist | VsBayesian | VsError | None  # None for control

    def columns(self) -> dict[str, float | str | None]:
        """The comparison as flat file columns, COMPARISON_COLUMNS in order, None where absent
        (the other engine's figures are always absent)."""
        vs = self.vs_control
        made = vs if isinstance(vs, VsControl) else None
        low, high = made.ci if made else (None, None)
        return {
            "relative_lift": made.relative_lift if made else None,
            "ci_low": low,
            "ci_high": high,
            **{name: getattr(made, name, None) for name in COMPARISON_COLUMNS[3:-1]},
            "error": vs.error if isinstance(vs, VsError) else None,
        }


# A metric's comparison in files (the CSV, exports), as columns `<metric>_<name>` in this order.
# p_value, p_value_adjusted and absolute_difference are the frequentist engine's,
# chance_to_beat_control and risk the Bayesian one's; ci_low and ci_high are the engine's
# interval (confidence or credible).
COMPARISON_COLUMNS = (
    "relative_lift",
    "ci_low",
    "ci_high",
    "p_value",
    "p_value_adjusted",
    "chance_to_beat_control",
    "risk",
    "absolute_difference",
    "error",
)
ENGINE_COLUMNS: dict[Engine, tuple[str, ...]] = {
    Engine.frequentist: tuple(
        c for c in COMPARISON_COLUMNS if c not in ("chance_to_beat_control", "risk")
    ),
    Engine.bayesian: tuple(
        c
        for c in COMPARISON_COLUMNS
        if c not in ("p_value", "p_value_adjusted", "absolute_difference")
    ),
}


@dataclass(frozen=True, slots=True)
class Dismissals(_Closed):
    remind_later: int
    close: int
    already_donated: int


@dataclass(frozen=True, slots=True)
class VariantRow(_Closed):
    """One variant's counts, figures (None when undefined) and compared metrics."""

    key: str
    weight: float
    visitors: int
    impressions: int
    views: int
    clicks: int
    dismissals: Dismissals
    conversions: int  # converting visitors
    payments: int
    revenue: float | None
    annualised_value: float | None
    # The average first gift, before refunds: (revenue + refunded - renewal revenue) /
    # payments (payment_model.first_gifts), so renewals and refunds do not move it.
    average_gift: float | None
    recurring_share: float | None
    revenue_per_1000_impressions: float | None
    click_through_rate: float | None
    dismiss_rate: float | None
    remind_later_visitors: int
    remind_later_to_donated: float | None
    # Money after conversions (service/domain/payment_model.py). `revenue` is net of refunds
    # (`net_revenue`, the same figure), `gross_revenue` before them; `annualised_value` is
    # the 12-month value: net revenue plus the payments active monthly donors have left in
    # the 12 months after their first.
    gross_revenue: float | None
    net_revenue: float | None
    refunds: int  # refunds and disputes
    refunded_amount: float | None
    renewals: int
    renewal_amount: float | None
    active_recurring_donors: int
    churned_donors: int
    metrics: dict[str, MetricValue]  # by metric name, in registry order


@dataclass(frozen=True, slots=True)
class Srm(_Closed):
    p_value: float | None
    mismatch: bool
    reason: str | None = field(default=None, metadata=OMIT_IF_NONE)  # when p_value is None


@dataclass(frozen=True, slots=True)
class Verdict(_Closed):
    """`donors` (converting visitors in the arm of the pair with fewer) and `donors_needed`
    (MIN_DONORS_PER_ARM) only when the status is not_enough_data; `breached` (the guardrail
    metrics the variant made significantly worse, service/domain/guardrails.py) only when
    it is guardrail."""

    variant: str
    status: VerdictStatus
    text: str
    donors: int | None = field(default=None, metadata=OMIT_IF_NONE)
    donors_needed: int | None = field(default=None, metadata=OMIT_IF_NONE)
    breached: tuple[str, ...] | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True, slots=True)
class DailyPoint(_Closed):
    """Cumulative figures of one variant at the end of a period: an hour in the first 48
    hours of the experiment, a UTC day after them (arm_totals.hourly_until). `at` is when the
    period starts (ISO 8601, UTC), `date` its UTC day; lift and ci compare the variant with
    control on the primary metric."""

    date: str
    variant: str
    visitors: int
    conversion_rate: float | None
    conversion_rate_ci: Interval | None
    revenue_per_visitor: float | None
    revenue_per_visitor_ci: Interval | None
    lift: float | None
    ci: Interval | None
    period: Literal["hour", "day"]
    at: str


@dataclass(frozen=True, slots=True)
class SegmentGroup(_Closed):
    value: str | None
    variants: tuple[VariantRow, ...]


@dataclass(frozen=True, slots=True)
class BanditSettings(_Closed):
    method: str
    floor: float
    min_visitors: int
    min_conversions: int
    cadence_minutes: int
    last_evaluated_at: str | None
    last_reason: str | None


@dataclass(frozen=True, slots=True)
class WeightPeriod(_Closed):
    effective_at: str
    weights: dict[str, float]
    shares: dict[str, float]
    reason: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReminderRow(_Closed):
    """One variant's e-mail reminders: sign-ups (rows), confirmations, reminders sent and
    reminder links clicked (QA sign-ups never count), then the counted donations that came
    after a reminder was sent and within the attribution window: donating visitors, donations
    and revenue (not capped). The two compared metrics are per exposed visitor, the same n as
    the report's other metrics: the share who signed up for a reminder, and revenue after a
    reminder per visitor (each visitor's winsorised at the revenue cap). Over the report's
    exposed visitors (the date range filters on first exposure, as for the other figures):
    pooled, whole-experiment figures, even in a segmented report. When control only snoozes,
    its figures are 0 and each treatment's vs_control is an error saying so: the report's
    own metrics are then the snooze-or-reminder verdict."""

    variant: str
    signups: int
    confirmations: int
    sent: int
    clicks: int
    donors_after_reminder: int
    donations_after_reminder: int
    revenue_after_reminder: float
    signup_rate: MetricValue
    revenue_after_reminder_per_visitor: MetricValue


@dataclass(frozen=True, slots=True)
class Reminders(_Closed):
    """E-mail reminders per variant, when a variant offers one or sign-ups exist: a donation
    counts when it comes after its reader's reminder was sent and at most `attribution_days`
    later."""

    attribution_days: int
    variants: tuple[ReminderRow, ...]


@dataclass(frozen=True, slots=True)
class SinceShipping(_Closed):
    """A shipped experiment's long-term holdout measured against the shipped variant: readers
    first reached since `since` (the first whole UTC hour after the ship), whatever the
    report's date range and segment. `variants` holds two arms, the holdout first (key
    "~holdout", shown no banner; the baseline) and then the shipped variant, each with the
    figures and metrics of a report's variant, the shipped one compared with the holdout by
    the experiment's engine (`vs_control` is against the holdout). `verdicts` and `srm` read
    as the report's, guardrails aside (the holdout sees no banner to dismiss). The holdout's
    impressions are its readers' recorded decisions, one each; its views, clicks and
    dismissals stay 0."""

    variant: str
    holdout: float
    shipped_at: str
    since: str
    srm: Srm
    variants: tuple[VariantRow, ...]
    verdicts: tuple[Verdict, ...]


@dataclass(frozen=True, slots=True)
class Report(_Closed):
    """`bandit` and `weight_history` only for bandit experiments, `segments` only when the
    report is segmented, `reminders` only when a variant offers an e-mail reminder or there
    are reminder sign-ups (left out otherwise), `since_shipping` only for a shipped experiment
    with a holdout."""

    experiment: str
    generated_at: str
    currency: str
    start: Annotated[str | None, pydantic.Field(serialization_alias="from")]
    end: Annotated[str | None, pydantic.Field(serialization_alias="to")]
    segment: Literal["country", "device"] | None
    analysis: AnalysisSettings
    revenue_cap: float | None
    primary_metric: str
    allocation: str
    estimator: str
    srm: Srm
    variants: tuple[VariantRow, ...]
    verdicts: tuple[Verdict, ...]
    daily: tuple[DailyPoint, ...]
    bandit: BanditSettings | None = field(default=None, metadata=OMIT_IF_NONE)
    weight_history: tuple[WeightPeriod, ...] | None = field(default=None, metadata=OMIT_IF_NONE)
    segments: tuple[SegmentGroup, ...] | None = field(default=None, metadata=OMIT_IF_NONE)
    reminders: Reminders | None = field(default=None, metadata=OMIT_IF_NONE)
    since_shipping: SinceShipping | None = field(default=None, metadata=OMIT_IF_NONE)


def report_json(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data: the API's body."""
    out = _json(report)
    assert isinstance(out, dict)
    return out


def report_json_schema(ref_template: str = DEFAULT_REF_TEMPLATE) -> dict[str, Any]:
    """The JSON schema of what `report_json` emits, its parts under "$defs" and referred to by
    `ref_template` (for OpenAPI: "#/components/schemas/{model}", then move "$defs" there).
    A new dict each call, the caller's to change."""
    adapter = pydantic.TypeAdapter(Report)
    return adapter.json_schema(mode="serialization", ref_template=ref_template)


def _json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            name: _json(item)
            for name, item, omit in (
                (alias, getattr(value, attr), skip) for attr, alias, skip in _fields(type(value))
            )
            if not (omit and item is None)
        }
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    return value


@cache
def _fields(cls: type) -> tuple[tuple[str, str, bool], ...]:
    """(attribute, JSON key, omit when None) per field, the key from a pydantic alias."""
    hints = get_type_hints(cls, include_extras=True)
    out = []
    for f in dataclasses.fields(cls):
        aliases = [
            m.serialization_alias
            for m in getattr(hints[f.name], "__metadata__", ())
            if isinstance(m, pydantic.fields.FieldInfo) and m.serialization_alias
        ]
        out.append(
            (f.name, aliases[0] if aliases else f.name, bool(f.metadata.get("omit_if_none")))
        )
    return tuple(out)
