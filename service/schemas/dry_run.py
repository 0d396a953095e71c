"""POST /v1/admin/experiments/{key}/dry-run (and the dashboard's dry-run panel): the request,
checked against the experiment's primary metric, and the estimate it answers with."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from service.domain.dry_run import (
    DEFAULT_DAYS,
    DEFAULT_MINIMUM_EFFECT,
    MAX_DAYS,
    MAX_EFFECT,
    MAX_VALUE,
    MIN_EFFECT,
    MIN_VALUE,
    DryRunRequest,
)
from service.domain.dry_run_power import DEFAULT_CONVERSION_BASELINE, HISTORY_DAYS
from service.domain.errors import ValidationFailed
from service.domain.experiment import Placement, PrimaryMetric
from service.schemas.errors import error_fields


def _range(low: float, high: float, *, open_high: bool = False) -> str:
    bound = f"below {high:g}" if open_high else f"at most {high:g}"
    return f"must be a number from {low:g} and {bound}"


def _whole(value: object) -> object:
    # 7.0 is a whole number in JSON; true and "7" are not numbers at all.
    return int(value) if isinstance(value, float) and value.is_integer() else value


# A number as JSON writes one: not true, not "7", not NaN or infinite.
Number = Annotated[float | None, Field(strict=True, allow_inf_nan=False)]


class DryRunBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    minimum_effect: Number = Field(
        default=None,
        ge=MIN_EFFECT,
        le=MAX_EFFECT,
        description=f"The relative lift to detect: 0.1 is +10 % on the primary metric "
        f"(the default, {DEFAULT_MINIMUM_EFFECT}).",
    )
    baseline: Number = Field(
        default=None,
        ge=MIN_VALUE,
        le=MAX_VALUE,
        description="The control's conversion rate (below 1), or its mean revenue per visitor. "
        f"Default: the placement's last {HISTORY_DAYS} days of results, else "
        f"{DEFAULT_CONVERSION_BASELINE} for conversion_rate.",
    )
    baseline_sd: Number = Field(
        default=None,
        ge=MIN_VALUE,
        le=MAX_VALUE,
        description="Revenue metrics only: the per-visitor standard deviation.",
    )
    days: Annotated[int, BeforeValidator(_whole)] = Field(
        default=DEFAULT_DAYS,
        ge=1,
        le=MAX_DAYS,
        strict=True,
        description="Days of sampled decisions to read, back from now.",
    )


_SD_RATE = "only for revenue metrics: a rate's spread follows from it"
_MESSAGES = {
    "minimum_effect": _range(MIN_EFFECT, MAX_EFFECT),
    "baseline_sd": _range(MIN_VALUE, MAX_VALUE),
    "days": f"must be a whole number from 1 to {MAX_DAYS}",
}


def parse_request(body: Mapping[str, Any], metric: PrimaryMetric) -> DryRunRequest:
    """The request body, checked; ValidationFailed names every bad field."""
    conversion = metric == PrimaryMetric.conversion_rate
    messages = {
        **_MESSAGES,
        "baseline": _range(MIN_VALUE, 1.0, open_high=True)
        if conversion
        else _range(MIN_VALUE, MAX_VALUE),
    }
    errors: dict[str, str] = {}
    checked = None
    try:
        checked = DryRunBody.model_validate(body)
    except ValidationError as exc:
        errors = error_fields(exc, messages)
    if conversion:
        # On the raw values, so these are named along with every other bad field.
        baseline = body.get("baseline")
        if isinstance(baseline, int | float) and not isinstance(baseline, bool) and baseline >= 1:
            errors.setdefault("baseline", messages["baseline"])
        if body.get("baseline_sd") is not None:
            errors.setdefault("baseline_sd", _SD_RATE)
    if checked is not None and conversion and checked.baseline is not None:
        effect = checked.minimum_effect or DEFAULT_MINIMUM_EFFECT
        if checked.baseline * (1 + effect) >= 1:
            errors.setdefault("minimum_effect", "baseline x (1 + minimum_effect) must stay below 1")
    if errors or checked is None:
        raise ValidationFailed(errors, "the dry-run request is invalid")
    effect = DEFAULT_MINIMUM_EFFECT if checked.minimum_effect is None else checked.minimum_effect
    return DryRunRequest(effect, checked.baseline, checked.baseline_sd, checked.days)


# The answer.

Share = Annotated[float | None, Field(ge=0, le=1)]
Count = Annotated[float | None, Field(ge=0)]


class Window(BaseModel):
    from_: datetime = Field(alias="from")
    to: datetime
    days: int


class OverlapItem(BaseModel):
    experiment: str
    priority: int
    higher_priority: bool = Field(description="Its priority is strictly higher.")
    takes_first: bool = Field(
        description="It wins the placement where both apply: a higher priority, or an equal "
        "one and its key sorts first alphabetically."
    )
    share: float = Field(ge=0, le=1)


class OverlapSummary(BaseModel):
    taken_first_share: Share = Field(
        description="Of qualifying readers: taken first by another experiment on the "
        "placement (higher_priority_share + equal_priority_share)."
    )
    higher_priority_share: Share = Field(
        description="Of qualifying readers: taken first by one of strictly higher priority."
    )
    equal_priority_share: Share = Field(
        description="Of qualifying readers: taken first by one of equal priority whose key "
        "sorts first alphabetically (the tie-break)."
    )
    any_priority_share: Share = Field(
        description="Of qualifying readers: qualifying for another one too."
    )
    experiments: list[OverlapItem]


class BaselineUsed(BaseModel):
    value: float
    sd: float | None
    source: Literal["request", "history", "default"]
    history_visitors: int


class Power(BaseModel):
    """The duration calculation."""

    metric: PrimaryMetric
    alpha: float
    alpha_per_comparison: float
    comparisons: int
    power: float
    minimum_effect: float
    sequential: bool
    baseline: BaselineUsed
    visitors_per_arm: int | None
    visitors_needed: int | None
    sequential_factor: float | None


class DryRunAnswer(BaseModel):
    experiment: str
    placement: Placement
    priority: int
    window: Window
    samples: int = Field(ge=0, description="Sampled decisions read.")
    first_sample_at: datetime | None
    estimated_daily_decisions: float = Field(ge=0)
    targeted_share: Share = Field(description="Decisions whose page passes the rules.")
    qualifying_share: Share = Field(description="… and whose reader is in the traffic.")
    qualifying_daily_visitors: Count
    exposed_daily_visitors: Count = Field(
        description="After the experiments taking readers first and the holdout."
    )
    overlap: OverlapSummary
    power: Power | None = Field(description="Null when there is no baseline.")
    minimum_effect: float = Field(description="Relative lift the duration is for, as asked.")
    days_to_detect: int | None = Field(ge=1)
    reason: str | None = Field(description="Why days_to_detect is null.")
    assumptions: list[str]
