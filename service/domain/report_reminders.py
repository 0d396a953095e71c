"""The report's e-mail reminder section: per variant, the sign-ups, mails and the donations
after them, and the two reminder metrics against control in the experiment's engine; pure,
no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from service.domain.arm_totals import ArmTotals, ReminderTotals
from service.domain.experiment import Experiment
from service.domain.report_model import (
    MetricValue,
    ReminderRow,
    Reminders,
    VsError,
)
from service.domain.report_variants import (
    finite,
    mean,
    vs_control,
)
from service.stats.compare import compare_arms
from service.stats.summaries import SampleStats

# The reminders' compared metrics, per exposed visitor (both higher is better): the sample
# each is compared on, from the arm's visitors and its reminder sums.
REMINDER_METRICS = ("signup_rate", "revenue_after_reminder_per_visitor")


CONTROL_SNOOZES = (
    "control offers no e-mail reminder, so there is nothing to be relative to; the metrics "
    "above (revenue per visitor) compare a plain snooze with a reminder"
)


def reminder_stats(arm: ArmTotals, sums: ReminderTotals, metric: str) -> SampleStats:
    """The sample a reminder metric is compared on: n is the arm's exposed visitors, as for
    every per-visitor metric; a visitor who never signed up or never gave after a reminder
    adds a zero."""
    if metric == "signup_rate":
        return SampleStats.proportion(arm.visitors, sums.signup_visitors)
    return SampleStats(arm.visitors, sums.revenue_capped, sums.revenue_capped_squares)


def reminder_section(
    experiment: Experiment, arms: Mapping[str, ArmTotals], sums: Iterable[ReminderTotals]
) -> Reminders | None:
    """Per variant, the reminders' counts and their two metrics against control in the
    experiment's engine (pooled, like the report's other metrics without a bandit); None
    when no variant offers a reminder and there are no sign-ups, so a report without them
    does not grow a table of zeros."""
    by_variant = {v.key: ReminderTotals(v.key) for v in experiment.variants}
    seen = False
    for row in sums:
        if row.variant in by_variant:
            by_variant[row.variant] = row
            seen = seen or row.signups > 0
    if not seen and all(v.banner.reminder is None for v in experiment.variants):
        return None
    analysis = experiment.analysis
    control, *treatments = experiment.variants

    def stats(key: str, metric: str) -> SampleStats:
        return reminder_stats(arms[key], by_variant[key], metric)

    compared = {
        metric: compare_arms(
            stats(control.key, metric),
            [stats(t.key, metric) for t in treatments],
            alpha=analysis.alpha,
            sequential=analysis.sequential,
        )
        for metric in REMINDER_METRICS
    }
    # A control that only snoozes has nothing to be relative to: say so, and where the
    # snooze-or-reminder verdict is (the per-visitor metrics above count every gift).
    snoozes = control.banner.reminder is None and by_variant[control.key].signups == 0
    values = {
        metric: [
            MetricValue(
                mean(stats(variant.key, metric)),
                None
                if index == 0
                else VsError(CONTROL_SNOOZES)
                if snoozes
                else vs_control(compared[metric][index - 1], analysis, True),
            )
            for index, variant in enumerate(experiment.variants)
        ]
        for metric in REMINDER_METRICS
    }
    rows = []
    for index, variant in enumerate(experiment.variants):
        got = by_variant[variant.key]
        rows.append(
            ReminderRow(
                variant=variant.key,
                signups=got.signups,
                confirmations=got.confirmations,
                sent=got.sent,
                clicks=got.clicks,
                donors_after_reminder=got.donors,
                donations_after_reminder=got.donations,
                revenue_after_reminder=finite(got.revenue) or 0.0,
                signup_rate=values["signup_rate"][index],
                revenue_after_reminder_per_visitor=values["revenue_after_reminder_per_visitor"][
                    index
                ],
            )
        )
    return Reminders(experiment.attribution_days, tuple(rows))
