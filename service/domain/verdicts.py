"""Each treatment's verdict in plain words, in the experiment's engine: frequentist, ahead or
behind only when the interval of the primary metric's lift excludes no change; Bayesian, ahead
when the chance to beat control is at least 1 - alpha and behind when it is at most alpha.
Never while the sample ratio is off, and none while either arm of the pair has fewer donors
than `min_donors`: a handful of donors gives intervals so wide (a lift "between -174 % and
+90 %") that showing them costs more trust than it earns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from service.domain.experiment import Engine, Experiment
from service.domain.report_metrics import metric as report_metric
from service.domain.report_model import Verdict, VerdictStatus
from service.stats.compare import Comparison, Unavailable


def verdicts(
    experiment: Experiment,
    comparisons: Mapping[str, Sequence[Comparison | Unavailable]],
    *,
    srm_mismatch: bool,
    donors: Mapping[str, int] | None = None,
    min_donors: int = 0,
) -> list[Verdict]:
    """`donors`: converting visitors per variant key; `min_donors`: how many each arm of a
    comparison needs before it gets a verdict (0: no minimum)."""
    metric = str(experiment.analysis.primary_metric)
    label = report_metric(metric).label
    good_up = report_metric(metric).higher_is_better
    alpha = experiment.analysis.alpha
    level = f"{_num((1 - alpha) * 100)} %"
    bayesian = experiment.analysis.engine == Engine.bayesian
    kind = "always-valid CI" if experiment.analysis.sequential else "CI"
    counts = donors or {}
    control = counts.get(experiment.variants[0].key, 0)
    out = []
    for variant, result in zip(experiment.variants[1:], comparisons[metric], strict=True):
        status: VerdictStatus
        if srm_mismatch:
            status, text = "srm", "sample ratio mismatch: do not trust these numbers"
        elif too_few_donors(control, counts.get(variant.key, 0), min_donors):
            fewest = min(control, counts.get(variant.key, 0))
            out.append(not_enough_data(variant.key, fewest, min_donors))
            continue
        elif isinstance(result, Unavailable):
            status, text = "inconclusive", f"keep running: not enough data yet ({result.reason})"
        elif bayesian:
            status, text = _bayesian(result, label, level, alpha, good_up)
        else:
            low, high = result.ci
            figures = f"{_pct(result.lift)} {label}, {level} {kind} {_pct(low)} to {_pct(high)}"
            # Ahead means better: a higher value, or a lower one for a metric where lower is good.
            up: VerdictStatus = "ahead" if good_up else "behind"
            down: VerdictStatus = "behind" if good_up else "ahead"
            if low > 0:
                status, text = up, f"{up}: {figures}"
            elif high < 0:
                status, text = down, f"{down}: {figures}"
            else:
                status = "inconclusive"
                text = f"inconclusive: {figures}; the interval includes no change, keep running"
        out.append(Verdict(variant.key, status, text))
    return out


def _bayesian(
    result: Comparison, label: str, level: str, alpha: float, good_up: bool
) -> tuple[VerdictStatus, str]:
    """Ahead at a chance to beat control of 1 - alpha or more, behind at alpha or less: the
    Bayesian reading of the same error rate the frequentist engine holds to."""
    # Better means higher, or lower for a metric where lower is good (as the report shows it).
    chance = result.chance_to_beat_control if good_up else 1 - result.chance_to_beat_control
    low, high = result.credible_interval
    figures = (
        f"{_chance(chance)} chance to beat control, {_pct(result.lift)} {label}, "
        f"{level} credible interval {_pct(low)} to {_pct(high)}"
    )
    if chance >= 1 - alpha:
        return "ahead", f"ahead: {figures}"
    if chance <= alpha:
        return "behind", f"behind: {figures}"
    return "inconclusive", f"inconclusive: {figures}; neither likely better nor worse, keep running"


def _chance(probability: float) -> str:
    """A chance as people read it: never a certain 100.0 % or 0.0 % from a model."""
    percent = probability * 100
    if percent >= 99.95:
        return "> 99.9 %"
    if percent < 0.05:
        return "< 0.1 %"
    return f"{percent:.1f} %"


def not_enough_data(variant: str, donors: int, needed: int) -> Verdict:
    """The verdict held back until the arm with fewer donors (converting visitors) has
    `needed` of them; the text carries both numbers."""
    text = not_enough_data_text(donors, needed)
    return Verdict(variant, "not_enough_data", text, donors=donors, donors_needed=needed)


def not_enough_data_text(donors: int, needed: int) -> str:
    return f"not enough data yet: {donors} of {needed} donors"


def too_few_donors(control_donors: int, variant_donors: int, needed: int) -> bool:
    """Whether a comparison between arms with these donor counts is held back."""
    return min(control_donors, variant_donors) < needed


def held_back(control_donors: int, variant_donors: int, needed: int) -> str | None:
    """What to show instead of a comparison's lift and interval, or None to show them."""
    if not too_few_donors(control_donors, variant_donors, needed):
        return None
    return not_enough_data_text(min(control_donors, variant_donors), needed)


def _num(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:.1f}"


def _pct(fraction: float) -> str:
    """A lift for the verdict's text; below -100 % only says so, an interval cannot mean
    more than losing everything."""
    if fraction < -1:
        return "below -100 %"
    percent = fraction * 100
    return f"{percent:+.1f} %" if abs(percent) < 10 else f"{percent:+.0f} %"
