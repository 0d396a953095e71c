"""Accepted events as they travel from the API through the Redis stream to SQL.

An EventRecord is what the service accepted: identity from the signed token (never the
client's word), the client's event id for deduplication, and money already in integer minor
units of its own currency plus a float in the experiment's reporting currency.

Stream entries use short field names (`to_fields` / `from_fields`) because the stream holds
every event until the flusher has written it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from service.domain.experiment import DismissReason, Frequency


class EventType(StrEnum):
    impression = "impression"
    view = "view"
    click = "click"
    dismiss = "dismiss"
    conversion = "conversion"
    # Money after a conversion, from the payment side only (service/domain/payment_facts.py),
    # credited to the experiment and variant the conversion was. `revenue` and `annualised`
    # carry what each changes a visitor's totals by, `amount_minor` the money in its own
    # currency, signed the same way:
    # - renewal: a later payment of a recurring gift: revenue +amount; annualised (the
    #   12-month value) unchanged, since the conversion already expected it.
    # - refund: a refund or dispute: revenue and annualised -amount.
    # - reinstatement: money a refund or dispute took coming back (a won dispute): revenue
    #   and annualised +amount; counted in no counter (the refund it undoes stays counted),
    #   it lowers the refunded amount instead.
    # - cancellation: a recurring gift ended: revenue 0; annualised minus the payments it
    #   expected within 12 months of the first that will now not come.
    renewal = "renewal"
    refund = "refund"
    reinstatement = "reinstatement"
    cancellation = "cancellation"


@dataclass(frozen=True, slots=True)
class ClientEvent:
    """One event as the snippet sent it, validated but not yet trusted: identity comes from
    its token."""

    id: str
    type: EventType
    token: str
    ts: datetime | None
    reason: DismissReason | None = None
    amount: float | None = None
    currency: str | None = None
    frequency: Frequency | None = None
    article_views: int | None = None  # impressions only: as sent on the decision request


class EventInvalid(ValueError):
    """An event broke its rules; fields maps each broken field to why."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


class Source(StrEnum):
    client = "client"  # POST /v1/events from the snippet
    webhook = "webhook"  # POST /v1/conversions from the payment side
    # GET /v1/decision: a reader held out of a shipped experiment, counted in its holdout
    # group (service/domain/shipped_holdout.py); no banner, so no client event says so.
    decision = "decision"


_EVENT_TYPES = {kind.value: kind for kind in EventType}
_SOURCES = {source.value: source for source in Source}

# Frequency -> multiplier for annualised value (docs/DESIGN.md §5).
ANNUAL_MULTIPLIER = {"one_off": 1, "monthly": 12, "annual": 1}


@dataclass(frozen=True, slots=True)
class EventRecord:
    event_id: str
    type: EventType
    experiment: str
    variant: str
    visitor: str
    ts_ms: int  # when it happened (client clock, clamped at ingest)
    received_ms: int  # when the service accepted it
    source: Source
    # False for events kept for the record but not counted in results (a client-reported
    # conversion on an experiment that does not trust them).
    counted: bool = True
    reason: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    frequency: str | None = None
    revenue: float = 0.0  # in the experiment's reporting currency
    annualised: float = 0.0
    country: str | None = None
    device: str | None = None
    payment_id: str | None = None
    # An impression's article_views from the decision request: the CUPED covariate.
    article_views: int | None = None

    def to_fields(self) -> dict[str, str]:
        fields = {
            "id": self.event_id,
            "t": self.type.value,
            "e": self.experiment,
            "v": self.variant,
            "u": self.visitor,
            "ts": str(self.ts_ms),
            "rc": str(self.received_ms),
            "s": self.source.value,
        }
        if not self.counted:
            fields["nc"] = "1"
        optional = {
            "r": self.reason,
            "am": None if self.amount_minor is None else str(self.amount_minor),
            "cu": self.currency,
            "f": self.frequency,
            "rv": repr(self.revenue) if self.revenue else None,
            "an": repr(self.annualised) if self.annualised else None,
            "cy": self.country,
            "d": self.device,
            "p": self.payment_id,
            "av": None if self.article_views is None else str(self.article_views),
        }
        fields.update({k: v for k, v in optional.items() if v is not None})
        return fields

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> EventRecord:
        """Inverse of to_fields; raises KeyError/ValueError on a malformed entry.

        The flusher parses every entry on its reading thread, whose CPU is what a second
        flusher process competes for: positional arguments and dict lookups for the enums
        take ~40 % less time than keywords and EventType(...) calls."""
        get = fields.get
        amount = get("am")
        views = get("av")
        return cls(
            fields["id"],
            # A miss falls through to the enum, which raises its usual ValueError.
            _EVENT_TYPES.get(fields["t"]) or EventType(fields["t"]),
            fields["e"],
            fields["v"],
            fields["u"],
            int(fields["ts"]),
            int(fields["rc"]),
            _SOURCES.get(fields["s"]) or Source(fields["s"]),
            get("nc") != "1",
            get("r"),
            None if amount is None else int(amount),
            get("cu"),
            get("f"),
            float(get("rv", "0")),
            float(get("an", "0")),
            get("cy"),
            get("d"),
            get("p"),
            None if views is None else int(views),
        )
