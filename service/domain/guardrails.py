"""Guardrails: a treatment that makes one of the experiment's guardrail metrics significantly
worse gets the verdict "guardrail", whatever it does to the primary metric; pure, no I/O.

A guardrail is breached when the treatment's interval on it excludes no change on the bad
side (a rise, as every guardrail is lower-is-better) and, with several guardrails, its p-value
still clears alpha after Holm's correction over the experiment's guardrails for that treatment:
each guardrail is another chance of a false alarm, and Holm keeps the chance of any false
alarm per treatment at alpha. With one guardrail this is exactly "the interval excludes no
change". The interval and p-value are the report's own (fixed or always-valid, as the
experiment's analysis says). With the Bayesian engine a guardrail is breached when the chance
that the treatment is worse on it reaches 1 - alpha, the rule its primary verdict follows, and
the text gives that chance and the credible interval: a Bayesian experiment shows no p-values.

How it combines with the primary verdict (service/domain/verdicts.py):
- a sample ratio mismatch wins over everything: the srm verdict stays, nothing is trusted;
- a verdict held back for too few donors is still replaced by a breach: dismissals are far
  more frequent than donations, so the dismissal rates are measured well long before the
  donor minimum is met, and a banner that drives readers away should not run on unnoticed.
  The text keeps the donor count;
- a draft has no verdicts at all, so no breach either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from service.domain.experiment import Engine, Experiment
from service.domain.report_metrics import metric as report_metric
from service.domain.report_model import Verdict
from service.domain.verdicts import _chance, _num, _pct
from service.stats.compare import Comparison, Unavailable
from service.stats.corrections import holm_adjust

Results = Mapping[str, Sequence[Comparison | Unavailable]]  # metric -> result per treatment


def guarded(experiment: Experiment, said: Sequence[Verdict], comparisons: Results) -> list[Verdict]:
    """The verdicts `said` (one per treatment, in order), each treatment that breaches a
    guardrail turned into a "guardrail" verdict naming the breaches (the module docstring has
    the rules)."""
    out = []
    for index, verdict in enumerate(said):
        found = breaches(experiment, comparisons, index) if verdict.status != "srm" else []
        if not found:
            out.append(verdict)
            continue
        out.append(
            Verdict(
                verdict.variant,
                "guardrail",
                guardrail_text(experiment, verdict, comparisons, index, found),
                breached=tuple(name for name, _ in found),
            )
        )
    return out


def breaches(
    experiment: Experiment, comparisons: Results, index: int
) -> list[tuple[str, Comparison]]:
    """The guardrails treatment `index` (0: the first after control) breaches, each with its
    comparison, in the order the experiment lists them."""
    alpha = experiment.analysis.alpha
    made = [
        (str(name), result)
        for name in experiment.analysis.guardrails
        for result in [comparisons[str(name)][index]]
        if isinstance(result, Comparison)
    ]
    if experiment.analysis.engine == Engine.bayesian:
        return [(name, r) for name, r in made if _chance_worse(name, r) >= 1 - alpha]
    adjusted = holm_adjust([result.p_value for _, result in made])
    return [
        (name, result)
        for (name, result), p_value in zip(made, adjusted, strict=True)
        if p_value < alpha and _worse(name, result)
    ]


def _worse(name: str, result: Comparison) -> bool:
    low, high = result.ci
    return high < 0 if report_metric(name).higher_is_better else low > 0


def _chance_worse(name: str, result: Comparison) -> float:
    """P(the treatment is worse on the metric): chance_to_beat_control is P(lift > 0)."""
    rise = result.chance_to_beat_control
    return 1.0 - rise if report_metric(name).higher_is_better else rise


def guardrail_text(
    experiment: Experiment,
    verdict: Verdict,
    comparisons: Results,
    index: int,
    found: Sequence[tuple[str, Comparison]],
) -> str:
    """ "ahead on revenue per visitor (+6.1 %), but hurts a guardrail: close rate +18 %
    (95 % CI +7 % to +30 %); review before shipping"."""
    analysis = experiment.analysis
    level = f"{_num((1 - analysis.alpha) * 100)} %"
    bayesian = analysis.engine == Engine.bayesian
    kind = "credible interval" if bayesian else "always-valid CI" if analysis.sequential else "CI"

    def figures(name: str, result: Comparison) -> str:
        low, high = result.credible_interval if bayesian else result.ci
        said = f"{level} {kind} {_pct(low)} to {_pct(high)}"
        if bayesian:
            said += f", {_chance(_chance_worse(name, result))} chance it is worse"
        return f"{report_metric(name).label} {_pct(result.lift)} ({said})"

    hurt = " and ".join(figures(name, result) for name, result in found)
    some = "a guardrail" if len(found) == 1 else f"{len(found)} guardrails"
    primary = _primary(experiment, verdict, comparisons, index)
    return f"{primary}, but hurts {some}: {hurt}; review before shipping"


def _primary(experiment: Experiment, verdict: Verdict, comparisons: Results, index: int) -> str:
    """Where the treatment stands on the primary metric, in a few words."""
    metric = str(experiment.analysis.primary_metric)
    label = report_metric(metric).label
    if verdict.status == "not_enough_data":
        return f"too few donors yet to judge {label} ({verdict.donors} of {verdict.donors_needed})"
    result = comparisons[metric][index]
    if not isinstance(result, Comparison):
        return f"no reading yet on {label}"
    return f"{verdict.status} on {label} ({_pct(result.lift)})"
