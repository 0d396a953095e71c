"""The dashboard's visitor lookup: the decision one reader would get now on one placement, and
why, with the same trace `?sf_debug=1` shows (service/domain/decision_trace.py).

Nothing is written: the ledger is only read (service/store/redis/ledger.py `peek`), and an
assignment the decision would make is reported, not stored.
"""

from __future__ import annotations

from datetime import datetime

from service.domain.decision_trace import Explanation, explain
from service.domain.ledger import parse_ledger
from service.domain.page_context import PageContext
from service.store.experiment_cache import ExperimentCache
from service.store.redis.ledger import LedgerStore


def explain_for_visitor(
    cache: ExperimentCache, ledger: LedgerStore, ctx: PageContext, now: datetime
) -> Explanation:
    """Raises REDIS_ERRORS (service/store/redis/client.py) when the ledger cannot be read."""
    experiments = cache.snapshot().running.get(ctx.placement, ())
    return explain(experiments, parse_ledger(ledger.peek(ctx.visitor)), ctx, now)
