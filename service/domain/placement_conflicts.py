"""Running (or shipped) experiments that would take a placement's readers before a given one
does, said in words for the editor and the Start confirmation.

With sampled decisions, the figure is the dry run's overlap (service/domain/dry_run.py): the
share of this experiment's qualifying readers that the other one also qualifies for, and so
takes first. Without them, the warning rests on configuration alone: same placement, higher or
equal priority (ties: service/domain/placement_order.py), and targeting that can match the same
page view, with no percentage.

A shipped experiment serves its winner on its placement like a running test
(service/domain/placement_order.py `ON_PLACEMENT`), so it takes readers first just the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.domain.dry_run import Reach
from service.domain.experiment import Audience, Experiment, Placement, Status, Targeting
from service.domain.placement_order import TIE_BREAK_RULE, order


@dataclass(frozen=True, slots=True)
class Contender:
    """What the form or the stored experiment says about the one being checked. `key` is ""
    while a new experiment has none yet; `experiment` is None when the form does not parse,
    and then only placement and priority are compared."""

    key: str
    placement: Placement
    priority: int
    experiment: Experiment | None = None


@dataclass(frozen=True, slots=True)
class Conflict:
    experiment: str
    name: str
    priority: int
    relation: str  # "higher", "equal" (its key sorts first) or "equal-undecided" (no key yet)
    share: float | None  # of the contender's qualifying readers, from sampled decisions
    shipped: bool = False  # a shipped winner rather than a running test

    def text(self, placement: Placement, key: str) -> str:
        who = f"{self.experiment} (priority {self.priority})"
        if self.share is not None:
            head = f"{who} takes this placement for {_percent(self.share)} of the readers "
            head += "this experiment would reach (sampled decisions)"
        else:
            live = "has shipped its winner" if self.shipped else "is running"
            head = (
                f"{who} {live} on {placement} with targeting that overlaps this one's and "
                "takes first the readers both qualify for (no decisions sampled yet to say how "
                "many)"
            )
        if self.relation == "higher":
            why = ": its priority is higher."
        elif self.relation == "equal":
            why = f": {TIE_BREAK_RULE}, and “{self.experiment}” sorts before “{key}”."
        else:
            why = (
                f", unless this experiment's key sorts before “{self.experiment}”: "
                f"{TIE_BREAK_RULE}."
            )
        fix = f"Give this experiment a priority above {self.priority} to win those readers."
        return f"{head}{why} {fix}"


def conflicts(
    contender: Contender, running: Sequence[Experiment], reach: Reach | None
) -> tuple[Conflict, ...]:
    """`running`: every experiment that takes part in decisions, running or shipped
    (`ON_PLACEMENT`); `reach`: the dry run's, None without samples."""
    shares = {o.experiment: o.share for o in reach.overlaps} if reach else {}
    found = []
    for other in sorted(running, key=order):
        if other.key == contender.key or other.placement != contender.placement:
            continue
        if other.priority < contender.priority:
            continue
        if other.priority == contender.priority and contender.key and contender.key < other.key:
            continue  # the contender wins the tie
        if contender.experiment is not None and not could_overlap(contender.experiment, other):
            continue
        if reach is not None and not shares.get(other.key):
            continue  # the sampled readers of one are never the other's
        if other.priority > contender.priority:
            relation = "higher"
        else:
            relation = "equal" if contender.key else "equal-undecided"
        share = shares.get(other.key) if reach is not None else None
        shipped = other.status == Status.shipped
        found.append(Conflict(other.key, other.name, other.priority, relation, share, shipped))
    return tuple(found)


def could_overlap(one: Experiment, other: Experiment) -> bool:
    """Whether one page view can pass both experiments' targeting and schedules."""
    if not _schedules_meet(one, other):
        return False
    audiences = {one.targeting.audience, other.targeting.audience}
    if audiences == {Audience.supporters, Audience.non_supporters}:
        return False
    a, b = one.targeting, other.targeting
    for field in ("countries", "devices", "languages", "sections"):
        mine, theirs = set(getattr(a, field)), set(getattr(b, field))
        if mine and theirs and mine.isdisjoint(theirs):
            return False
    return not (_sections_excluded(a, b) or _sections_excluded(b, a))


def _sections_excluded(a: Targeting, b: Targeting) -> bool:
    """a shows only on sections that b excludes."""
    return bool(a.sections) and set(a.sections) <= set(b.exclude_sections)


def _schedules_meet(one: Experiment, other: Experiment) -> bool:
    starts = [e.start_at for e in (one, other) if e.start_at is not None]
    ends = [e.end_at for e in (one, other) if e.end_at is not None]
    return not starts or not ends or max(starts) < min(ends)


def _percent(share: float) -> str:
    if 0 < share < 0.005:
        return "under 1 %"
    return f"{share * 100:.0f} %"
