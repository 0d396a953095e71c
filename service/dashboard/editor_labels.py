"""What the experiment editor says beside its inputs: the targeting inputs' labels and help, a
sentence per choice whose name alone does not say what it does, and the names of the select
options. The inputs themselves, and how each is read, come from the document's schema
(experiment_form.py); a new targeting field's words go here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from service.domain.report_metrics import metric_label


@dataclass(frozen=True)
class Spec:
    """One targeting input as the editor draws it. The editor lists the targeting inputs
    from TARGETING_INPUTS, so a new targeting field is one line here rather than one more in
    the template: its label, help and attributes."""

    name: str
    label: str
    help: str = ""
    attrs: Mapping[str, object] = field(default_factory=dict)


TARGETING_INPUTS: tuple[Spec, ...] = (
    Spec(
        "targeting.countries",
        "Countries",
        help="ISO codes separated by commas, e.g. US, GB. Empty: everywhere.",
    ),
    Spec("targeting.languages", "Languages", help="ISO 639 codes, e.g. en, es. Empty: any."),
    Spec("targeting.sections", "Only in sections", help="Section slugs. Empty: every section."),
    Spec("targeting.exclude_sections", "Never in sections", help="e.g. obituaries"),
    Spec(
        "targeting.tags",
        "Articles tagged",
        help="Tag slugs; the article needs one of them. Empty: any.",
    ),
    Spec(
        "targeting.min_article_views",
        "Minimum articles read (30 days)",
        attrs={"type": "number", "min": 0},
    ),
)


# One plain sentence per choice, for choices whose name alone does not say what they do; the
# editor draws these fields as radio buttons, each with its sentence. The choices themselves
# come from the document's schema (experiment_form.CHOICES), and a test checks every one has
# its sentence.
CHOICE_HELP: dict[str, dict[str, str]] = {
    "analysis.engine": {
        "bayesian": "Reports the chance each variant beats control and the expected loss if "
        "you ship it.",
        "frequentist": "Reports p-values and confidence intervals; choose always-valid to look "
        "at results any time.",
    },
}


# How the editor names the options of its selects: a reminder choice's kind
# (experiment_form.ONE_OF) and what "remind me later" does (experiment_form.REMINDER_MODES).
OPTION_LABELS: dict[str, str] = {
    "snooze": "Snooze the banner only",
    "email": "Offer an e-mail reminder",
    "in_days": "In a number of days",
    "next_month": "Next month (on the 1st)",
    "on": "On a date",
    "annualised_value_per_visitor": metric_label("annualised_value_per_visitor"),
}
