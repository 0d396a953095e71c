"""The report's "since shipping" part: a shipped experiment's long-term holdout against the
shipped variant, the cumulative effect of the ship (README "Shipping a winner"); pure, no I/O.

It is the report's own machinery on a two-arm experiment: the holdout as the baseline arm
(weight: the holdout share) and the shipped variant as the treatment (the rest), so the
engine, CUPED, the sample-ratio check, verdicts and their minimum of donors all apply as they
do to the test. Guardrails do not: the holdout sees no banner, so it cannot be dismissed, and
every dismissal rate would read as a breach.

Both arms are the readers first reached since `since`, the first whole UTC hour after the ship
(the kept sums are per hour of first exposure): on the shipped side, readers the test never
reached (a test reader keeps their test variant's row); on the holdout side, readers the
decision counted (service/domain/shipped_holdout.py), who are never test readers either.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime, timedelta

from service.domain.arm_totals import ArmTotals
from service.domain.bucketing import HOLDOUT
from service.domain.experiment import Allocation, Experiment, Variant
from service.domain.instants import iso_utc
from service.domain.report import build_report
from service.domain.report_model import SinceShipping


def counted_since(shipped_at: datetime) -> datetime:
    """The first whole UTC hour after the ship (the ship's own, if it fell on the hour)."""
    hour = shipped_at.replace(minute=0, second=0, microsecond=0)
    return hour if hour == shipped_at else hour + timedelta(hours=1)


def since_shipping(
    experiment: Experiment,
    shipped_at: datetime,
    totals: Iterable[ArmTotals],
    *,
    generated_at: datetime,
    min_donors: int = 0,
) -> SinceShipping | None:
    """`totals`: the sums of readers first exposed since counted_since(shipped_at), per
    stored variant key (HOLDOUT for the holdout). None unless shipped with a holdout."""
    shipped = experiment.shipped
    winner = experiment.variant(shipped.variant) if shipped is not None else None
    if shipped is None or winner is None or shipped.holdout <= 0:
        return None
    # The holdout's key is the stored one, "~holdout", which no variant key can be.
    baseline = Variant(HOLDOUT, shipped.holdout, winner.banner)
    pair = dataclasses.replace(
        experiment,
        variants=(baseline, dataclasses.replace(winner, weight=1.0 - shipped.holdout)),
        allocation=Allocation.fixed,
        analysis=dataclasses.replace(experiment.analysis, guardrails=()),
        shipped=None,
    )
    rows = [row for row in totals if row.variant in (HOLDOUT, winner.key)]
    report = build_report(
        pair,
        rows,
        (),
        generated_at=generated_at,
        start=None,
        end=None,
        segment=None,
        min_donors=min_donors,
    )
    return SinceShipping(
        variant=winner.key,
        holdout=shipped.holdout,
        shipped_at=iso_utc(shipped_at),
        since=iso_utc(counted_since(shipped_at)),
        srm=report.srm,
        variants=report.variants,
        verdicts=report.verdicts,
    )
