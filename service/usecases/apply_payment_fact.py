"""Applying one PaymentFact (service/domain/payment_facts.py) to results: the single path every
processor's webhook goes through.

Interface only on this commit; the implementation lands with the payment model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from service.domain.payment_facts import PaymentFact
from service.wiring import Services

# applied: results moved (or, for a payment, it was recorded); duplicate: this fact_id was
# applied before, nothing changed; held: it refers to a payment not known yet, and will be
# applied when that payment arrives; unattributed: a payment with no reader, recorded and
# counted as such (facts about it are then applied as no-ops).
FactStatus = Literal["applied", "duplicate", "held", "unattributed"]


@dataclass(frozen=True, slots=True)
class FactApplied:
    fact: str  # the fact_id
    status: FactStatus
    # {"experiment": key, "variant": key} per experiment whose results moved
    credited: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"fact": self.fact, "status": self.status, "credited": self.credited}


def apply_payment_fact(svc: Services, fact: PaymentFact) -> FactApplied:
    """Apply `fact` exactly once. Raises ValidationFailed (a value the fact carries is
    unusable: an unknown currency, a bad token) naming the field, or Unavailable (SQL or
    Redis away: the caller answers 503 so the processor retries)."""
    raise NotImplementedError
