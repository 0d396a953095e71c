"""What the service knows about one page view when it decides: parsed and validated at the edge."""

from __future__ import annotations

from dataclasses import dataclass, field

from service.domain.experiment import Device, Placement


@dataclass(frozen=True, slots=True)
class PageContext:
    visitor: str
    placement: Placement
    device: Device
    country: str | None = None  # ISO 3166 alpha-2, None when the CDN did not say
    country_name: str | None = None
    language: str | None = None  # ISO 639 primary subtag, lower case
    section: str | None = None
    tags: frozenset[str] = field(default_factory=frozenset)
    article_views: int = 0
    # The page's own word that the reader supports us (e.g. a logged-in member); the ledger's
    # verified-donation mark is the other source.
    supporter: bool = False
    url: str | None = None
