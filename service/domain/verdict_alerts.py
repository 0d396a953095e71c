"""Verdict alerts (docs/ALERTS.md): what changed between the verdicts last recorded for an
experiment and the report's verdicts now, and the message that tells its watchers. Pure.

A verdict state is the report's verdict list read generically: each verdict's variant and
status. Any status the report gives (ahead, behind, inconclusive, srm, guardrail, or a kind
added later) is compared the same way, so a new kind of verdict alerts without a change here;
known statuses only get friendlier words (_BECAME).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from service.domain.report_metrics import Format
from service.domain.report_metrics import metric as report_metric
from service.domain.report_model import Report, VsBayesian, VsControl

VerdictState = Mapping[str, str]  # variant key → verdict status

# How a variant's new status reads in a message; any other status reads "is now <status>".
_BECAME = {
    "ahead": "became the winner on {metric}",
    "behind": "became a loser on {metric}",
    "inconclusive": "is inconclusive on {metric}",
    "not_enough_data": "has too few donors for a verdict",
    "srm": "is flagged: sample ratio mismatch, do not trust these numbers",
    "guardrail": "breached a guardrail: review before shipping",
}


def verdict_state(report: Report) -> dict[str, str]:
    return {verdict.variant: str(verdict.status) for verdict in report.verdicts}


@dataclass(frozen=True, slots=True)
class Change:
    variant: str
    before: str | None  # None: the variant had no verdict at the last evaluation
    after: str | None  # None: the variant has no verdict any more
    verdict: str  # the report's verdict text now ("" when it has none)

    def to_document(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "before": self.before,
            "after": self.after,
            "verdict": self.verdict,
        }


def changes(before: VerdictState | None, report: Report) -> list[Change]:
    """Each variant whose verdict status differs from `before`, in the report's order. The
    first evaluation (`before` is None) only records the state: nothing has changed yet."""
    if before is None:
        return []
    texts = {verdict.variant: verdict.text for verdict in report.verdicts}
    now = verdict_state(report)
    found = [
        Change(variant, before.get(variant), status, texts[variant])
        for variant, status in now.items()
        if before.get(variant) != status
    ]
    found += [
        Change(variant, status, None, "")
        for variant, status in before.items()
        if variant not in now
    ]
    return found


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """One change's message: the e-mail's subject and body, and the webhook's JSON body
    (Slack-compatible: `text` is what Slack shows; the other fields are for programs)."""

    subject: str
    text: str
    payload: dict[str, Any]

    def to_document(self) -> dict[str, Any]:
        return {"subject": self.subject, "text": self.text, "payload": self.payload}

    @classmethod
    def from_stored(cls, document: Mapping[str, Any]) -> AlertMessage:
        return cls(document["subject"], document["text"], dict(document["payload"]))


def describe(change: Change, metric_label: str) -> str:
    """One line: "five-dollars became the winner on revenue per visitor"."""
    if change.after is None:
        return f"{change.variant} no longer has a verdict"
    template = _BECAME.get(change.after, "is now " + change.after.replace("_", " "))
    return f"{change.variant} {template.format(metric=metric_label)}"


def alert_message(
    *,
    experiment_key: str,
    experiment_name: str,
    revision: int,
    found: Sequence[Change],
    report: Report,
    results_url: str,
) -> AlertMessage:
    metric = report_metric(report.primary_metric)
    lines = [describe(change, metric.label) for change in found]
    headline = lines[0] if len(lines) == 1 else f"{len(lines)} verdicts changed"
    if len(lines) > 1 and all(change.after == "srm" for change in found):
        headline = "sample ratio mismatch flagged"
    # One line: a name may hold line breaks, which no mail header may.
    subject = " ".join(f"Small Favor: {experiment_name}: {headline}".split())
    body = [f"{experiment_name} ({experiment_key}): the verdict changed.", ""]
    for change, line in zip(found, lines, strict=True):
        body.append(f"- {line}")
        if change.verdict:
            body.append(f"  {change.verdict}")
        if change.before is not None:
            body.append(f"  (was: {change.before})")
    figures = key_figures(report)
    body += ["", f"Key figures ({metric.label} is the primary metric):", *figures]
    if report.srm.mismatch:
        p_value = report.srm.p_value
        shown = f"p = {p_value:.2g}" if p_value is not None else "see the report"
        body.append(f"Sample ratio mismatch: {shown}; traffic is not split as configured.")
    body += ["", f"Results: {results_url}", "", f"Figures as of {report.generated_at}."]
    text = "\n".join(body) + "\n"
    slack = f"*{experiment_name}*: {headline}\n" + "\n".join(
        f"• {line}" + (f": {c.verdict}" if c.verdict else "")
        for c, line in zip(found, lines, strict=True)
    )
    payload: dict[str, Any] = {
        "text": f"{slack}\n<{results_url}|Results>",
        "experiment": experiment_key,
        "name": experiment_name,
        "revision": revision,
        "headline": headline,
        "primary_metric": report.primary_metric,
        "changes": [change.to_document() for change in found],
        "srm": {"mismatch": report.srm.mismatch, "p_value": report.srm.p_value},
        "results_url": results_url,
        "generated_at": report.generated_at,
    }
    return AlertMessage(subject, text, payload)


def key_figures(report: Report) -> list[str]:
    """One line per variant: visitors, donors and the primary metric with its lift and the
    interval of the report's engine (and, Bayesian, the chance to beat control)."""
    metric = report_metric(report.primary_metric)
    lines = []
    for row in report.variants:
        figure = row.metrics.get(metric.name)
        value = figure.value if figure else None
        shown = "n/a" if value is None else _value(value, metric.format, report.currency)
        line = f"- {row.key}: {row.visitors:,} visitors, {row.conversions:,} donors, "
        line += f"{metric.label} {shown}"
        vs = figure.vs_control if figure else None
        if isinstance(vs, VsControl):
            low, high = (_pct(bound) for bound in vs.ci)
            kind = "credible interval " if isinstance(vs, VsBayesian) else ""
            line += f", lift {_pct(vs.relative_lift)} ({kind}{low} to {high})"
            if isinstance(vs, VsBayesian):
                line += f", {vs.chance_to_beat_control * 100:.1f} % chance to beat control"
        lines.append(line)
    return lines


def _value(value: float, fmt: Format, currency: str) -> str:
    if fmt == Format.pct:
        return f"{value * 100:.2f} %"
    return f"{value:,.2f} {currency}"


def _pct(fraction: float) -> str:
    return f"{fraction * 100:+.1f} %"
