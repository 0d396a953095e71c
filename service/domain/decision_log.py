"""One sampled decision, as it travels from the decision path through the events stream into
the `decision_log` table, and back out for the "why no banner" page and the dry run.

No visitor id is kept: the log describes page views (where, what kind of reader, what was
answered), which is all the aggregate views and the dry run need.

Stream entries share the events stream with events; `k=decision` tells them apart (an
EventRecord never has a `k` field). Field names are short for the same reason as events'.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from service.domain.decision import Reason
from service.domain.experiment import Device, Placement
from service.domain.page_context import PageContext

SHOWN = "shown"
# Every outcome a logged decision can have. "unavailable" is never logged: those decisions are
# answered without Redis, so they cannot reach the stream.
OUTCOMES: tuple[str, ...] = (SHOWN, *(r.value for r in Reason if r is not Reason.unavailable))
KIND_FIELD = "k"
KIND = "decision"


@dataclass(frozen=True, slots=True)
class LoggedDecision:
    entry_id: str  # made by the sampler; the idempotency key of the SQL row
    decided_ms: int  # epoch milliseconds
    placement: Placement
    outcome: str  # SHOWN or a Reason value
    sample_rate: float  # the rate this decision was sampled at (0 < rate <= 1)
    device: Device
    experiment: str | None = None
    variant: str | None = None
    country: str | None = None
    language: str | None = None
    section: str | None = None
    tags: frozenset[str] = field(default_factory=frozenset)
    article_views: int = 0
    # The page's word or the ledger's verified-donation mark, as the audience rule saw it.
    supporter: bool = False

    @property
    def weight(self) -> float:
        """How many decisions this sample stands for (Horvitz-Thompson: 1 / its rate)."""
        return 1.0 / self.sample_rate

    def context(self) -> PageContext:
        """The page context the targeting rules read (no visitor: the log keeps none)."""
        return PageContext(
            visitor="",
            placement=self.placement,
            device=self.device,
            country=self.country,
            language=self.language,
            section=self.section,
            tags=self.tags,
            article_views=self.article_views,
            supporter=self.supporter,
        )

    def to_fields(self) -> dict[str, str]:
        fields = {
            KIND_FIELD: KIND,
            "id": self.entry_id,
            "at": str(self.decided_ms),
            "pl": self.placement.value,
            "o": self.outcome,
            "sr": repr(self.sample_rate),
            "d": self.device.value,
            "av": str(self.article_views),
        }
        if self.supporter:
            fields["sp"] = "1"
        if self.tags:
            fields["tg"] = ",".join(sorted(self.tags))  # tags are slugs: no commas
        optional = {
            "e": self.experiment,
            "v": self.variant,
            "cy": self.country,
            "la": self.language,
            "se": self.section,
        }
        fields.update({k: v for k, v in optional.items() if v is not None})
        return fields

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> LoggedDecision:
        """Inverse of to_fields; raises KeyError/ValueError on a malformed entry."""
        outcome = fields["o"]
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        rate = float(fields["sr"])
        if not (math.isfinite(rate) and 0.0 < rate <= 1.0):
            raise ValueError(f"sample rate {rate!r} is not in (0, 1]")
        views = int(fields["av"])
        if views < 0:
            raise ValueError("article_views is negative")
        tags = fields.get("tg")
        return cls(
            entry_id=fields["id"],
            decided_ms=int(fields["at"]),
            placement=Placement(fields["pl"]),
            outcome=outcome,
            sample_rate=rate,
            device=Device(fields["d"]),
            experiment=fields.get("e"),
            variant=fields.get("v"),
            country=fields.get("cy"),
            language=fields.get("la"),
            section=fields.get("se"),
            tags=frozenset(tags.split(",")) if tags else frozenset(),
            article_views=views,
            supporter=fields.get("sp") == "1",
        )
