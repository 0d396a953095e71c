"""Deciding which banner a page shows: config cache, domain rules, one ledger round trip.

Served by the hand-written WSGI front in service/api/public/decision_endpoint.py, which turns the
errors raised here (RateLimited, InvalidRequest) into answers. Without Redis the answer is
`unavailable`, no banner: that policy is this module's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.domain.banner_render import render_content
from service.domain.decision import Outcome, Reason, decide, plan
from service.domain.decision_trace import trace_rows
from service.domain.errors import InvalidRequest, RateLimited
from service.domain.experiment import Experiment, Variant
from service.domain.ledger import parse_ledger
from service.domain.page_context import PageContext
from service.domain.shipped_holdout import exposure_due, holdout_exposure
from service.domain.tokens import TokenInvalid, TokenSigner
from service.metrics import DECISIONS, REDIS_FAILURES
from service.store.experiment_cache import ExperimentCache, Snapshot
from service.store.redis.client import REDIS_ERRORS
from service.store.redis.decision_sampler import DecisionSampler
from service.store.redis.event_ingest import EventIngest
from service.store.redis.keys import Keys
from service.store.redis.ledger import RATE_WINDOW_SECONDS, LedgerStore

log = logging.getLogger(__name__)
_CONTENT_CACHE_SIZE = 20_000


@dataclass(frozen=True, slots=True)
class DecisionRequest:
    """What the edge parsed from the request (service/api/public/decision_params.py)."""

    context: PageContext
    debug: bool
    force: tuple[str, str] | None
    preview: str | None


class Decider:
    def __init__(
        self,
        cache: ExperimentCache,
        ledger: LedgerStore,
        signer: TokenSigner,
        clock: Callable[[], datetime],
        *,
        keys: Keys,
        rate_limit_per_minute: int = 0,
        decision_log: DecisionSampler | None = None,
        holdout_exposures: EventIngest | None = None,
    ) -> None:
        self._cache = cache
        self._ledger = ledger
        self._signer = signer
        self._clock = clock
        self._keys = keys
        self._rate_limit = rate_limit_per_minute
        # Where a shipped experiment's held-out readers are recorded (shipped_holdout.py);
        # None: they are not (a front that serves decisions only, in tests).
        self._holdout_exposures = holdout_exposures
        # None when sampling is off, so that an unsampled decision costs one attribute test.
        self.decision_log = decision_log if decision_log and decision_log.rate > 0 else None
        # Rendered content per (banner, country name, article count): the same few hundred
        # combinations recur all day. Emptied when the snapshot changes (banners may have been
        # edited) or when it grows past its bound.
        self._content: dict[tuple[int, str | None, int], dict[str, Any]] = {}
        self._content_snapshot: object = None

    def answer(self, request: DecisionRequest, client_ip: str = "") -> dict[str, Any]:
        now = self._clock()
        if request.force or request.preview:
            snapshot = self._cache.snapshot()  # QA needs no Redis: no failure check
            experiment, variant = self._qa_target(request, int(now.timestamp()), snapshot)
            banner = self._banner(experiment, variant, request.context, now, snapshot, qa=True)
            body = {"banner": banner, "reason": None}
            DECISIONS.labels("qa").inc()
            return body
        ctx = request.context
        snapshot, redis_failed = self._cache.checked_snapshot()
        if redis_failed:
            return self._unavailable("config version check")
        experiments = snapshot.running.get(ctx.placement, ())
        the_plan = plan(experiments, ctx, now)
        speculative = the_plan.speculative_assignment
        rate_key = self._keys.rate_limit(f"d:{client_ip}") if self._rate_limit else None
        try:
            fields, count = self._ledger.read_counting(ctx.visitor, speculative, rate_key)
        except REDIS_ERRORS as exc:
            return self._unavailable(str(exc))
        if count > self._rate_limit > 0:
            DECISIONS.labels("rate_limited").inc()
            raise RateLimited(RATE_WINDOW_SECONDS)
        ledger = parse_ledger(fields)
        outcome = decide(the_plan, ledger, ctx, now, stored_speculative=speculative is not None)
        if outcome.to_store is not None:
            self._store(ctx.visitor, outcome.to_store)
        if (
            outcome.reason is Reason.holdout
            and outcome.experiment is not None
            and exposure_due(outcome.experiment, ledger, now)
        ):
            self._record_holdout(outcome.experiment, ctx, now)
        if self.decision_log is not None and self.decision_log.draw():
            supporter = ctx.supporter or ledger.supporter_since is not None
            self.decision_log.record(ctx, outcome, supporter, now)
        body = self._body(outcome, ctx, now, snapshot)
        if request.debug:
            body["debug"] = {"experiments": trace_rows(experiments, outcome)}
        DECISIONS.labels(outcome.reason or "shown").inc()
        return body

    def _unavailable(self, why: str) -> dict[str, Any]:
        # Fail closed: with no ledger we cannot honour snoozes or caps, so no banner.
        REDIS_FAILURES.labels("decision").inc()
        DECISIONS.labels(Reason.unavailable).inc()
        log.warning("decision without Redis: %s", why)
        return {"banner": None, "reason": str(Reason.unavailable)}

    def _store(self, visitor: str, assignment: tuple[str, str]) -> None:
        try:
            self._ledger.store_assignment(visitor, *assignment)
        except REDIS_ERRORS as exc:
            # The answer stands: the deterministic hash gives the same assignment next time
            # unless the weights change before the write succeeds.
            REDIS_FAILURES.labels("assignment").inc()
            log.warning("assignment not stored: %s", exc)

    def _record_holdout(self, experiment: Experiment, ctx: PageContext, now: datetime) -> None:
        if self._holdout_exposures is None:
            return
        record, ops = holdout_exposure(experiment, ctx, now)
        try:
            self._holdout_exposures.record(
                [record], {ctx.visitor: ops}, "decision", now, rate_limited=False
            )
        except REDIS_ERRORS as exc:
            # The answer stands (no banner); the reader is counted on a later visit.
            REDIS_FAILURES.labels("holdout_exposure").inc()
            log.warning("shipped holdout exposure not recorded: %s", exc)

    def _body(
        self, outcome: Outcome, ctx: PageContext, now: datetime, snapshot: Snapshot
    ) -> dict[str, Any]:
        if outcome.variant is None or outcome.experiment is None:
            return {"banner": None, "reason": str(outcome.reason)}
        banner = self._banner(outcome.experiment, outcome.variant, ctx, now, snapshot, qa=False)
        return {"banner": banner, "reason": None}

    def _banner(
        self,
        experiment: Experiment,
        variant: Variant,
        ctx: PageContext,
        now: datetime,
        snapshot: Snapshot,
        *,
        qa: bool,
    ) -> dict[str, Any]:
        token = self._signer.decision(
            ctx.visitor, experiment.key, variant.key, int(now.timestamp()), qa
        )
        snooze = experiment.snooze_hours
        return {
            "experiment": experiment.key,
            "variant": variant.key,
            "token": token,
            "template": str(variant.banner.template),
            "content": self._render(variant, ctx, snapshot),
            "snooze_hours": {
                "remind_later": snooze.remind_later,
                "close": snooze.close,
                "already_donated": snooze.already_donated,
            },
            "qa": qa,
        }

    def _render(self, variant: Variant, ctx: PageContext, snapshot: Snapshot) -> dict[str, Any]:
        # `variant` comes from `snapshot`, which keeps it alive, so id(banner) cannot be reused
        # by another object while entries keyed by it are in the cache.
        if snapshot is not self._content_snapshot or len(self._content) > _CONTENT_CACHE_SIZE:
            self._content = {}
            self._content_snapshot = snapshot
        key = (id(variant.banner), ctx.country_name, ctx.article_views)
        content = self._content.get(key)
        if content is None:
            content = self._content[key] = render_content(variant.banner, ctx)
        return content

    def _qa_target(
        self, request: DecisionRequest, now: int, snapshot: Snapshot
    ) -> tuple[Experiment, Variant]:
        if request.preview:
            field = "preview"
            try:
                claims = self._signer.verify_preview(request.preview, now)
            except TokenInvalid as exc:
                raise _bad(field, str(exc)) from None
            key, variant_key = claims.experiment, claims.variant
            experiment = snapshot.by_key.get(key)
            if experiment is None:
                raise _bad(field, f"experiment {key!r} no longer exists")
        else:
            field = "force"
            assert request.force is not None
            key, variant_key = request.force
            experiment = snapshot.by_key.get(key)
            if experiment is None or experiment not in snapshot.running.get(
                experiment.placement, ()
            ):
                raise _bad(field, f"no running experiment {key!r}; use a preview link instead")
        if experiment.placement != request.context.placement:
            raise _bad(field, f"experiment {key!r} is on placement {experiment.placement}")
        variant = experiment.variant(variant_key)
        if variant is None:
            raise _bad(field, f"experiment {key!r} has no variant {variant_key!r}")
        return experiment, variant


def _bad(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, {field: message})
