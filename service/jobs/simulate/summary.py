"""Counting what a simulation did, and saying it in a few lines."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, fields

from service.domain.experiment import Experiment


@dataclass
class Tally:
    """One worker's counts; workers keep their own and the runner merges them (no locks)."""

    visitors: int = 0
    shown: Counter[str] = field(default_factory=Counter)  # variant → banners shown
    no_banner: Counter[str] = field(default_factory=Counter)  # reason → visitors
    event_requests: int = 0
    accepted: int = 0
    duplicates: int = 0
    # Stored straight in SQL while Redis did not answer (the events answer's "pending").
    pending: int = 0
    rejected: Counter[str] = field(default_factory=Counter)  # error code → events
    donations: Counter[str] = field(default_factory=Counter)  # variant → payments sent
    credited: Counter[str] = field(default_factory=Counter)  # variant → credited to it
    donation_duplicates: int = 0
    # Donors whose impression the service did not record: the webhook could not credit them.
    donations_skipped: int = 0
    # (variant, currency) → amount donated
    donated: defaultdict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))

    def merge(self, other: Tally) -> None:
        for name in (f.name for f in fields(self)):
            mine, theirs = getattr(self, name), getattr(other, name)
            if isinstance(mine, int):
                setattr(self, name, mine + theirs)
            else:  # a Counter or a defaultdict: add up key by key
                for key, value in theirs.items():
                    mine[key] += value


def summary_lines(
    tally: Tally,
    info: Experiment,
    *,
    base_url: str,
    seed: int,
    elapsed: float,
    held_back: int,
) -> list[str]:
    lines = [
        f"simulated {tally.visitors} visitors on {info.key!r} at {base_url} "
        f"in {elapsed:.1f} s (seed {seed})",
        f"  {'variant':<24} {'shown':>7} {'donations':>10} {'credited':>9}  donated",
    ]
    for variant in (v.key for v in info.variants):
        donated = ", ".join(
            f"{currency} {amount:,.2f}"
            for (name, currency), amount in sorted(tally.donated.items())
            if name == variant
        )
        lines.append(
            f"  {variant:<24} {tally.shown[variant]:>7} {tally.donations[variant]:>10} "
            f"{tally.credited[variant]:>9}  {donated or '-'}"
        )
    not_shown = sum(tally.no_banner.values())
    reasons = ", ".join(f"{reason} {n}" for reason, n in tally.no_banner.most_common())
    lines.append(f"  no banner: {not_shown}" + (f" ({reasons})" if reasons else ""))
    rejected = sum(tally.rejected.values())
    codes = ", ".join(f"{code} {n}" for code, n in tally.rejected.most_common())
    lines.append(
        f"  events: {tally.accepted} accepted, {tally.duplicates} duplicates, "
        + (
            f"{tally.pending} pending (stored in SQL while Redis was away), "
            if tally.pending
            else ""
        )
        + f"{rejected} rejected"
        + (f" ({codes})" if codes else "")
        + f" in {tally.event_requests} requests"
    )
    if held_back:
        lines.append(f"  paced: {held_back} requests waited to stay under the service's rate limit")
    sent = sum(tally.donations.values())
    lines.append(
        f"  donations: {sent} sent, {sum(tally.credited.values())} credited to {info.key!r}, "
        f"{tally.donation_duplicates} duplicates (payment id seen before)"
    )
    if tally.donations_skipped:
        lines.append(
            f"  {tally.donations_skipped} donations not sent: their impression was not recorded"
        )
    if tally.duplicates or tally.donation_duplicates:
        lines.append(
            "  (the same experiment, --seed, --rates and --amounts replay the same visitors; "
            "the service counts them once)"
        )
    return lines
