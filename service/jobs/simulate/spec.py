"""What the user asked for (--rates, --amounts) and what the experiment allows.

Pure: the experiment arrives as the admin API's JSON document, already fetched. Every error is
a one-line reason naming the option or field, for the CLI to print as it is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from service.domain.experiment import Experiment
from service.schemas.events import MAX_AMOUNT
from service.schemas.experiment import Experiment as Document


class SpecError(ValueError):
    """A bad option or an unusable experiment; the message is the one-line reason."""


def parse_pairs(text: str, option: str) -> dict[str, float]:
    """`control=0.02,five-dollars=0.026` → {"control": 0.02, "five-dollars": 0.026}."""
    pairs: dict[str, float] = {}
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise SpecError(f"{option} is empty; expected variant=number[,variant=number…]")
    for part in parts:
        name, sep, raw = (s.strip() for s in part.partition("="))
        if not sep or not name:
            raise SpecError(f"{option}: {part!r} is not variant=number")
        try:
            value = float(raw)
        except ValueError:
            raise SpecError(f"{option}: {name}={raw!r} is not a number") from None
        if not math.isfinite(value):
            raise SpecError(f"{option}: {name}={raw!r} is not a number")
        if name in pairs:
            raise SpecError(f"{option}: {name} is given twice")
        pairs[name] = value
    return pairs


def parse_rates(text: str) -> dict[str, float]:
    """Donation probability per variant, for a visitor shown that variant's banner."""
    rates = parse_pairs(text, "--rates")
    for name, rate in rates.items():
        if not 0.0 <= rate <= 1.0:
            raise SpecError(f"--rates: {name}={rate:g} is not a rate between 0 and 1")
    return rates


def parse_amounts(text: str | None) -> dict[str, float]:
    """Donation amount per variant in the banner's currency; None: pick from each banner."""
    if text is None:
        return {}
    amounts = parse_pairs(text, "--amounts")
    for name, amount in amounts.items():
        if not 0.0 < amount <= MAX_AMOUNT:
            raise SpecError(
                f"--amounts: {name}={amount:g} must be above 0 and at most {MAX_AMOUNT}"
            )
    return amounts


def experiment_info(doc: Mapping[str, Any]) -> Experiment:
    """The experiment `GET /v1/admin/experiments/<key>` sent, read with the service's own model
    (the resource's fields, such as its revision, left out)."""
    try:
        fields = {name: doc[name] for name in Document.model_fields if name in doc}
        experiment: Experiment = Document.model_validate(fields).to_domain()
        return experiment
    except (ValidationError, TypeError) as exc:  # TypeError: not a JSON object
        reason = str(exc).splitlines()[0]
    raise SpecError(f"the admin API sent an unexpected experiment document ({reason})")


def check_against(
    info: Experiment, rates: Mapping[str, float], amounts: Mapping[str, float]
) -> None:
    """The experiment must be running and every variant must have a rate (a missing one would
    silently mean "never donates"); --rates and --amounts may name only its variants."""
    if info.status != "running":
        raise SpecError(
            f"experiment {info.key!r} is {info.status}, not running; start it first "
            f"(POST /v1/admin/experiments/{info.key}/start)"
        )
    variants = [v.key for v in info.variants]
    known = ", ".join(variants)
    for option, given in (("--rates", rates), ("--amounts", amounts)):
        unknown = [name for name in given if name not in variants]
        if unknown:
            raise SpecError(
                f"{option} names {', '.join(unknown)}, not a variant of {info.key!r} "
                f"(its variants: {known})"
            )
    missing = [name for name in variants if name not in rates]
    if missing:
        raise SpecError(f"--rates gives no rate for {', '.join(missing)} (variants: {known})")
