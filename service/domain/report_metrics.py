"""The metric registry: every metric the report compares against control; pure, no I/O.

One entry per metric says what the JSON, the CSV, the export files, the results page and the
verdicts need: its name, the per-arm sums it reads (fields of `ArmTotals`, each one aggregate of
the report's grouped SQL sums in store/sql/report_sums.py), how those sums become the
sufficient statistics (n, Σx, Σx²) that service/stats/compare.py tests, how to display its
value, and which way is good. Adding a metric is one entry here (and a test): every reader
loops over `METRICS`. A metric that needs a sum not aggregated yet also adds it to `ArmTotals`
and to the query.

Every comparison is relative: the delta-method ratio of the two arms' means
(stats/frequentist.py), whatever the metric's unit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from service.domain.arm_totals import ArmTotals
from service.stats.cuped import Covariate
from service.stats.summaries import SampleStats


class Format(StrEnum):
    """How the results page shows a value (the template's filter of the same name)."""

    pct = "pct"
    money = "money"


@dataclass(frozen=True, slots=True)
class Metric:
    """`stats` turns an arm's sums into the sample the comparison runs on; its n is the unit
    of analysis: exposed visitors unless `per_visitor` is False (e.g. donors). Only
    per-visitor metrics can be an experiment's primary metric. `covariate`: the arm's CUPED
    sums (Σx, Σx², Σx·y) over the same visitors, for a metric `analysis.cuped` adjusts."""

    name: str
    sums: tuple[str, ...]
    stats: Callable[[ArmTotals], SampleStats]
    format: Format
    higher_is_better: bool = True
    per_visitor: bool = True
    covariate: Callable[[ArmTotals], Covariate] | None = None
    # What staff read, when the name (an API key, kept stable) says it less well.
    title: str | None = None

    @property
    def label(self) -> str:
        return self.title or self.name.replace("_", " ")


METRICS: tuple[Metric, ...] = (
    Metric(
        "conversion_rate",
        ("visitors", "converters"),
        lambda a: SampleStats.proportion(a.visitors, a.converters),
        Format.pct,
        covariate=lambda a: Covariate(
            a.article_views, a.article_views_squares, a.article_views_converted
        ),
    ),
    Metric(
        "revenue_per_visitor",
        ("visitors", "revenue_capped", "revenue_capped_squares"),
        lambda a: SampleStats(a.visitors, a.revenue_capped, a.revenue_capped_squares),
        Format.money,
        covariate=lambda a: Covariate(
            a.article_views, a.article_views_squares, a.article_views_revenue_capped
        ),
    ),
    Metric(
        "annualised_value_per_visitor",
        ("visitors", "annualised_capped", "annualised_capped_squares"),
        lambda a: SampleStats(a.visitors, a.annualised_capped, a.annualised_capped_squares),
        Format.money,
        covariate=lambda a: Covariate(
            a.article_views, a.article_views_squares, a.article_views_annualised_capped
        ),
        # Net revenue plus what active monthly donors have left to give in their first year
        # (service/domain/payment_model.py): no longer a plain times 12.
        title="12-month value per visitor",
    ),
    # Revenue only ever comes with a conversion (store/sql/event_deltas.py), so the capped
    # revenue sums over all visitors are the sums over converting ones: the donors' n, Σx, Σx².
    Metric(
        "average_gift_per_donor",
        ("converters", "revenue_capped", "revenue_capped_squares"),
        lambda a: SampleStats(a.converters, a.revenue_capped, a.revenue_capped_squares),
        Format.money,
        per_visitor=False,
    ),
    # Guardrails (service/domain/guardrails.py): the share of exposed visitors who turned the
    # banner away at least once, by how. Lower is better; a proportion, like conversions.
    Metric(
        "close_rate",
        ("visitors", "close_visitors"),
        lambda a: SampleStats.proportion(a.visitors, a.close_visitors),
        Format.pct,
        higher_is_better=False,
    ),
    Metric(
        "remind_later_rate",
        ("visitors", "remind_later_visitors"),
        lambda a: SampleStats.proportion(a.visitors, a.remind_later_visitors),
        Format.pct,
        higher_is_better=False,
    ),
    Metric(
        "already_donated_rate",
        ("visitors", "already_donated_visitors"),
        lambda a: SampleStats.proportion(a.visitors, a.already_donated_visitors),
        Format.pct,
        higher_is_better=False,
    ),
)
METRIC_NAMES = tuple(metric.name for metric in METRICS)
_BY_NAME = {metric.name: metric for metric in METRICS}


def metric(name: str) -> Metric:
    return _BY_NAME[name]


def metric_label(name: str) -> str:
    """The metric's label for people ("12-month value per visitor"); an unknown name as is."""
    found = _BY_NAME.get(name)
    return found.label if found else name.replace("_", " ")


def metric_stats(arm: ArmTotals, name: str) -> SampleStats:
    """The sample metric `name` is compared on, from one arm's sums."""
    return _BY_NAME[name].stats(arm)
