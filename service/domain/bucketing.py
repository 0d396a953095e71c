"""Deterministic bucketing of visitors.

The hash: the first 8 bytes of BLAKE2b over "<seed>\\x1f<salt>\\x1f<visitor>", read as a
big-endian integer and divided by 2**64, gives a uniform number in [0, 1). Three salts give
three independent draws per experiment:

- "traffic": the visitor is in the experiment's traffic when the draw is below `traffic`;
- "holdout": a visitor in traffic is held out (sees no ask) when the draw is below `holdout`;
- "variant": the draw picks a variant by cumulative weight.

A shipped experiment (service/domain/lifecycle.py `ship`) buckets differently: every reader is
in traffic and gets the shipped variant, except those whose "shipped-holdout" draw is below
the shipped holdout, who are held out. A salt of its own keeps that long-term holdout
independent of who was in the test's holdout or in which variant.

Because the seed (the experiment key unless set) is part of the input, a visitor's variant in
one experiment tells nothing about their variant in another. The same inputs always give the
same bucket, on every process and every machine, so a lost assignment is recomputed the same
way while the weights are unchanged; the ledger keeps it sticky when they change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from service.domain.experiment import Experiment

HOLDOUT = "~holdout"  # the assignment value of a held-out visitor; not a valid variant key
_SCALE = float(2**64)


def unit_draw(seed: str, salt: str, visitor: str) -> float:
    digest = hashlib.blake2b(f"{seed}\x1f{salt}\x1f{visitor}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def pick_by_weight(weights: Sequence[float], draw: float) -> int:
    """Index of the weight whose cumulative share contains draw (weights are relative)."""
    total = sum(weights)
    threshold = draw * total
    cumulative = 0.0
    for index, weight in enumerate(weights):
        cumulative += weight
        if threshold < cumulative:
            return index
    return len(weights) - 1  # draw * total rounded up to exactly the total


@dataclass(frozen=True, slots=True)
class Bucket:
    in_traffic: bool
    # A variant key, or HOLDOUT.
    assignment: str


def bucket(experiment: Experiment, visitor: str) -> Bucket:
    seed = experiment.seed
    shipped = experiment.shipped
    if shipped is not None:
        held_out = shipped.holdout > 0 and unit_draw(seed, "shipped-holdout", visitor) < (
            shipped.holdout
        )
        return Bucket(True, HOLDOUT if held_out else shipped.variant)
    # A draw is below 1.0 always: at full traffic the hash need not be computed.
    in_traffic = (
        experiment.traffic >= 1.0 or unit_draw(seed, "traffic", visitor) < experiment.traffic
    )
    if experiment.holdout > 0 and unit_draw(seed, "holdout", visitor) < experiment.holdout:
        return Bucket(in_traffic, HOLDOUT)
    weights = [variant.weight for variant in experiment.variants]
    index = pick_by_weight(weights, unit_draw(seed, "variant", visitor))
    return Bucket(in_traffic, experiment.variants[index].key)
