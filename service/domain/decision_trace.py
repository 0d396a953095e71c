"""Why a reader saw this banner or none: every experiment on the placement with the rule that
ruled it out. One function answers both `?sf_debug=1` on the page and the dashboard's visitor
lookup, so the two can never disagree about a reader.

Rule names are those of service/domain/decision.py (a page rule's name, "schedule",
"audience", "traffic", "holdout", "snoozed", "capped"), plus "priority": an experiment the
decision never reached because one before it in decision order decided the placement (it
showed its banner, or held out, snoozed or capped the reader). None: the experiment whose
banner is shown.

Only experiment keys and rule names: the page's debug answer goes to anyone who asks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from service.domain.decision import Outcome, decide, plan
from service.domain.experiment import Experiment
from service.domain.ledger import Ledger
from service.domain.page_context import PageContext

NOT_REACHED = "priority"
TraceRow = dict[str, str | None]


def trace_rows(experiments: Sequence[Experiment], outcome: Outcome) -> list[TraceRow]:
    """experiments: the placement's running experiments in decision order, as given to `plan`;
    outcome: what `decide` made of them. Rows in decision order, one per experiment."""
    ruled = {str(row["experiment"]): row["failed"] for row in outcome.trace}
    return [{"experiment": e.key, "failed": ruled.get(e.key, NOT_REACHED)} for e in experiments]


@dataclass(frozen=True, slots=True)
class Explanation:
    outcome: Outcome
    rows: list[TraceRow]


def explain(
    experiments: Sequence[Experiment], ledger: Ledger, ctx: PageContext, now: datetime
) -> Explanation:
    """The decision a reader with this ledger and page would get now, with its trace. Pure:
    nothing is stored (an assignment the decision would make is not written)."""
    outcome = decide(plan(experiments, ctx, now), ledger, ctx, now, stored_speculative=False)
    return Explanation(outcome, trace_rows(experiments, outcome))
