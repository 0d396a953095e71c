"""The experiment model: typed, immutable values built only by `parse_experiment`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from service.domain.instants import iso_utc
from service.domain.targeting_rules import PageRule, page_rules


class Placement(StrEnum):
    article_end = "article-end"
    bottom_banner = "bottom-banner"
    header = "header"


class Status(StrEnum):
    draft = "draft"
    running = "running"
    paused = "paused"
    stopped = "stopped"
    archived = "archived"
    # The test has ended and one variant shows to every eligible reader
    # (service/domain/lifecycle.py `ship`); `unship` returns to the status before.
    shipped = "shipped"


class Device(StrEnum):
    mobile = "mobile"
    desktop = "desktop"
    tablet = "tablet"


class Audience(StrEnum):
    everyone = "everyone"
    non_supporters = "non_supporters"
    supporters = "supporters"


class Allocation(StrEnum):
    fixed = "fixed"
    bandit = "bandit"


class Frequency(StrEnum):
    one_off = "one_off"
    monthly = "monthly"
    annual = "annual"


class DismissReason(StrEnum):
    remind_later = "remind_later"
    close = "close"
    already_donated = "already_donated"


class Template(StrEnum):
    epic = "epic"
    bottom_banner = "bottom-banner"


class PrimaryMetric(StrEnum):
    conversion_rate = "conversion_rate"
    revenue_per_visitor = "revenue_per_visitor"
    annualised_value_per_visitor = "annualised_value_per_visitor"


class Engine(StrEnum):
    """Which statistics an experiment's report shows: one engine, never both side by side."""

    frequentist = "frequentist"  # p-values and confidence intervals (fixed or always-valid)
    bayesian = "bayesian"  # chance to beat control, risk and credible intervals, flat prior


class GuardrailMetric(StrEnum):
    """The metrics an experiment may name as guardrails: per-visitor rates of the banner
    annoying readers, where lower is better (service/domain/report_metrics.py has their
    definitions; service/domain/guardrails.py the verdict they lead to). None of them can be
    a primary metric, so a guardrail is never the primary metric too."""

    close_rate = "close_rate"
    remind_later_rate = "remind_later_rate"
    already_donated_rate = "already_donated_rate"


class PaymentMethod(StrEnum):
    card = "card"
    paypal = "paypal"
    apple_pay = "apple_pay"
    google_pay = "google_pay"
    bank_transfer = "bank_transfer"
    direct_debit = "direct_debit"


@dataclass(frozen=True, slots=True)
class Cta:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Amounts:
    currency: str
    one_off: tuple[float, ...] = ()
    monthly: tuple[float, ...] = ()
    annual: tuple[float, ...] = ()
    default_frequency: Frequency = Frequency.monthly
    # The amount selected when the banner opens, one of the default frequency's amounts;
    # None: the second amount (the only one, if there is one), as banners always opened.
    default_amount: float | None = None

    def for_frequency(self, frequency: Frequency) -> tuple[float, ...]:
        amounts: tuple[float, ...] = getattr(self, frequency)  # a field per Frequency member
        return amounts

    def preselected(self, frequency: Frequency) -> float | None:
        """The amount selected when the reader opens (or switches to) `frequency`."""
        if frequency == self.default_frequency and self.default_amount is not None:
            return self.default_amount
        choices = self.for_frequency(frequency)
        return choices[min(1, len(choices) - 1)] if choices else None


@dataclass(frozen=True, slots=True)
class ReminderChoice:
    """One "when" a reminder offer lets the reader pick; exactly one of `in_days` (that many
    days from the sign-up), `next_month` (the first day of the next month) or `on` (a date,
    YYYY-MM-DD) is set. The snippet turns the choice into an instant in the reader's own
    calendar and sends that; the service checks the instant, not the choice."""

    label: str
    in_days: int | None = None
    next_month: bool = False
    on: str | None = None


@dataclass(frozen=True, slots=True)
class ReminderOffer:
    """What "remind me later" offers instead of a plain snooze: one to three choices of when,
    an e-mail field, and the newsroom's consent sentence and privacy page."""

    choices: tuple[ReminderChoice, ...]
    consent: str
    privacy_url: str
    email_label: str = "Your e-mail address"
    submit_label: str = "Remind me"
    thanks: str = "Thank you. Please confirm your reminder through the e-mail we just sent you."


@dataclass(frozen=True, slots=True)
class ReminderMessage:
    """The reminder e-mail of an experiment's variants that offer one. Plain text; the service
    adds the variant's amount line, the signed link to give and the unsubscribe link."""

    subject: str = "Your reminder to support our journalism"
    body: str = (
        "You asked us to remind you about supporting our journalism. "
        "Every contribution, however big or small, keeps it open to everyone."
    )


@dataclass(frozen=True, slots=True)
class Banner:
    template: Template
    heading: str
    paragraphs: tuple[str, ...]
    highlight: str | None
    cta: Cta
    amounts: Amounts | None
    payment_methods: tuple[PaymentMethod, ...]
    remind_later_label: str | None
    # None: "remind me later" only snoozes the banner. Set: it offers an e-mail reminder.
    reminder: ReminderOffer | None = None


@dataclass(frozen=True, slots=True)
class Variant:
    key: str
    weight: float  # a relative share: weights need not add up to anything
    banner: Banner


# The defaults below are the document's defaults; validation reads them from here.


@dataclass(frozen=True, slots=True)
class Targeting:
    """Who may see the experiment; an empty tuple places no restriction."""

    countries: tuple[str, ...] = ()
    devices: tuple[Device, ...] = ()
    languages: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    exclude_sections: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    min_article_views: int = 0
    audience: Audience = Audience.everyone
    # The page rules of the fields above (service/domain/targeting_rules.py), built here once
    # per experiment so that a decision only runs them. Not part of the document.
    page_rules: tuple[PageRule, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "page_rules", page_rules(self))


@dataclass(frozen=True, slots=True)
class Caps:
    max_impressions: int | None = None  # None: no cap
    per_days: int = 30
    min_hours_between: float = 0.0


@dataclass(frozen=True, slots=True)
class SnoozeHours:
    remind_later: float = 168.0
    close: float = 336.0
    already_donated: float = 8760.0

    def hours_for(self, reason: DismissReason) -> float:
        hours: float = getattr(self, reason)  # a field per DismissReason member
        return hours


@dataclass(frozen=True, slots=True)
class Analysis:
    primary_metric: PrimaryMetric = PrimaryMetric.revenue_per_visitor
    alpha: float = 0.05
    sequential: bool = False  # always-valid intervals; the frequentist engine only
    revenue_cap: float | None = None  # winsorises each visitor's revenue; None: no cap
    currency: str = "USD"
    # Documents written before engines existed are frequentist, as their reports were.
    engine: Engine = Engine.frequentist
    # CUPED: per-visitor metrics adjusted by the reader's article count at first exposure
    # (service/stats/cuped.py); narrower intervals when reading predicts giving.
    cuped: bool = False
    # Metrics a treatment must not make significantly worse, whatever it does to the primary.
    guardrails: tuple[GuardrailMetric, ...] = ()


@dataclass(frozen=True, slots=True)
class BanditSettings:
    """How `allocation: "bandit"` moves weights (see service/domain/bandit.py): never below
    `floor` per variant, not before every variant has `min_visitors` exposed visitors and
    `min_conversions` converting ones, and at most once per `cadence_minutes`."""

    floor: float = 0.1
    min_visitors: int = 100
    min_conversions: int = 20
    cadence_minutes: int = 60


@dataclass(frozen=True, slots=True)
class Alerts:
    """Who is told when a verdict changes (docs/ALERTS.md): e-mail addresses and signed
    webhooks. With neither, changes are still recorded, and nobody is told."""

    emails: tuple[str, ...] = ()
    webhooks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Shipped:
    """A shipped winner: `variant` shows to every eligible reader except a long-term
    `holdout` share, who see no banner (reason holdout), a baseline of no ask."""

    variant: str
    holdout: float = 0.0
    # The status `unship` returns to: running, paused or stopped.
    previous_status: Status = Status.running


@dataclass(frozen=True, slots=True)
class Experiment:
    key: str
    name: str
    placement: Placement
    priority: int
    status: Status
    start_at: datetime | None
    end_at: datetime | None
    traffic: float
    holdout: float
    targeting: Targeting
    caps: Caps
    snooze_hours: SnoozeHours
    attribution_days: int
    allocation: Allocation
    bandit: BanditSettings
    analysis: Analysis
    variants: tuple[Variant, ...]
    seed: str
    trust_client_conversions: bool
    alerts: Alerts = field(default_factory=Alerts)
    reminder_message: ReminderMessage = field(default_factory=ReminderMessage)
    shipped: Shipped | None = None  # set (with status shipped) by the ship action only

    @property
    def control(self) -> Variant:
        """The first variant is the baseline every other variant is compared with."""
        return self.variants[0]

    def variant(self, key: str) -> Variant | None:
        return next((v for v in self.variants if v.key == key), None)

    def with_status(self, status: Status) -> Experiment:
        return dataclasses.replace(self, status=status)

    def to_document(self) -> dict[str, Any]:
        """The canonical document: every field present, so it parses back to an equal value.
        `shipped` is the exception: only a shipped experiment has it, so the documents (and
        revision diffs) of every other experiment read as they always did."""
        document = {f.name: _to_json(getattr(self, f.name)) for f in dataclasses.fields(self)}
        if self.shipped is None:
            del document["shipped"]
        return document


def _to_json(value: object) -> Any:
    # Field names are the document's names, so the model converts field by field; fields not
    # given to the constructor are derived (Targeting.page_rules), not the document's.
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init
        }
    if isinstance(value, tuple):
        return [_to_json(item) for item in value]
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, datetime):
        return iso_utc(value)
    return value
