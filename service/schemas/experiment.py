"""The experiment document (parsed JSON or YAML), declared once: the admin API, the dashboard
editor and the store read it with parse_experiment, and the document's Experiment schema is
generated from it. Every way a document is wrong is reported at once, keyed by field path
(`variants[1].weight`), so an editor fixes all in one go; rules across fields (duplicates,
end after start, bandit floors) are checked once every field is valid on its own. The value
types its fields are declared with (keys, countries, instants, webhook URLs) are in
experiment_fields.py.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, ValidationError

from service.domain import experiment as domain
from service.domain.errors import ValidationFailed
from service.domain.experiment import (
    Allocation,
    Audience,
    Device,
    Engine,
    GuardrailMetric,
    Placement,
    PrimaryMetric,
    Status,
)
from service.domain.lifecycle import MAX_SHIPPED_HOLDOUT
from service.domain.webhook_targets import AllowList
from service.schemas import checks
from service.schemas.banner import Banner, duplicates
from service.schemas.errors import error_fields, without_default
from service.schemas.experiment_fields import (
    Country,
    Key,
    Language,
    Moment,
    Slug,
    Snooze,
    VariantKey,
    WebhookUrl,
)
from service.schemas.fields import (
    Boolean,
    Currency,
    Document,
    checked,
    choice,
    number,
    text,
    whole,
)

_LIST = checks.MAX_LIST_ITEMS


_T = domain.Targeting()


class Targeting(Document):
    domain_type = domain.Targeting

    countries: list[Country] = Field(default_factory=list, max_length=_LIST)
    devices: list[Annotated[Device, *choice(Device)]] = Field(
        default_factory=list, max_length=_LIST
    )
    languages: list[Language] = Field(default_factory=list, max_length=_LIST)
    sections: list[Slug] = Field(default_factory=list, max_length=_LIST)
    exclude_sections: list[Slug] = Field(default_factory=list, max_length=_LIST)
    tags: list[Slug] = Field(default_factory=list, max_length=_LIST)
    min_article_views: Annotated[int, *whole(0)] = _T.min_article_views
    audience: Annotated[Audience, *choice(Audience)] = _T.audience

    def rule_errors(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        for name in ("countries", "devices", "languages", "sections", "exclude_sections", "tags"):
            errors.update(duplicates(getattr(self, name), f"targeting.{name}"))
        for i, section in enumerate(self.exclude_sections):
            if section in self.sections:
                errors.setdefault(
                    f"targeting.exclude_sections[{i}]", f"{section} is also in sections"
                )
        return errors


_C = domain.Caps()


class Caps(Document):
    domain_type = domain.Caps

    max_impressions: Annotated[int | None, *whole(1, nullable=True)] = _C.max_impressions
    per_days: Annotated[int, *whole(1, 365)] = _C.per_days
    min_hours_between: Annotated[float, *number(0)] = _C.min_hours_between


_S = domain.SnoozeHours()


class SnoozeHours(Document):
    domain_type = domain.SnoozeHours

    remind_later: Snooze = _S.remind_later
    close: Snooze = _S.close
    already_donated: Snooze = _S.already_donated


_A = domain.Analysis()


class Analysis(Document):
    domain_type = domain.Analysis

    primary_metric: Annotated[PrimaryMetric, *choice(PrimaryMetric)] = _A.primary_metric
    alpha: Annotated[float, *number(0, 0.5, above=True)] = _A.alpha
    sequential: Boolean = Field(
        default=_A.sequential,
        description="Always-valid confidence intervals, safe to look at any time; only with "
        "the frequentist engine.",
    )
    revenue_cap: Annotated[float | None, *number(0, above=True, nullable=True)] = _A.revenue_cap
    currency: Currency = _A.currency
    engine: Annotated[Engine, *choice(Engine)] = Field(
        default=_A.engine,
        description="The statistics the report shows: `frequentist` (p-values and confidence "
        "intervals) or `bayesian` (chance to beat control, risk and credible intervals).",
    )
    cuped: Boolean = Field(
        default=_A.cuped,
        description="CUPED: adjust per-visitor metrics by how many articles the reader had "
        "read before the banner, which narrows the intervals without moving the lift.",
    )
    guardrails: list[Annotated[GuardrailMetric, *choice(GuardrailMetric)]] = Field(
        default_factory=list,
        max_length=len(GuardrailMetric),
        title="Guardrails",
        description="Rates that must not get worse: a variant significantly worse on one is "
        "flagged for review even when it wins on the primary metric.",
    )

    def rule_errors(self) -> dict[str, str]:
        if self.sequential and self.engine != Engine.frequentist:
            return {"analysis.sequential": "applies only to the frequentist engine"}
        return {}


_B = domain.BanditSettings()


class BanditSettings(Document):
    """How `allocation: "bandit"` moves weights: Thompson sampling on the primary metric, once
    per cadence, never below the floor, and only after every variant has the minimum exposed
    visitors and conversions. Only new visitors follow new weights."""

    domain_type = domain.BanditSettings

    floor: Annotated[float, *number(0, 0.5, above=True)] = Field(
        default=_B.floor,
        description="Least share of new traffic per variant; times the variants ≤ 1.",
    )
    # Two visitors at least: the Gaussian posterior of a revenue mean needs a variance.
    min_visitors: Annotated[int, *whole(2, 10_000_000)] = _B.min_visitors
    min_conversions: Annotated[int, *whole(0, 1_000_000)] = _B.min_conversions
    cadence_minutes: Annotated[int, *whole(5, 10_080)] = _B.cadence_minutes


MAX_ALERT_EMAILS = 20
MAX_ALERT_WEBHOOKS = 5


_M = domain.ReminderMessage()


class ReminderMessage(Document):
    """The reminder e-mail of the variants whose banner offers one (banner.reminder)."""

    domain_type = domain.ReminderMessage

    subject: Annotated[str, *text(150, non_empty=True)] = _M.subject
    body: Annotated[str, *text(2000, non_empty=True)] = Field(
        default=_M.body,
        description="Plain text; the service adds the variant's amount line, the signed link "
        "to give and the unsubscribe link.",
    )


class Alerts(Document):
    """Who is told when a verdict changes (a variant ahead or behind, a sample ratio
    mismatch): one plain-text e-mail per change through the server's SMTP relay, and one
    signed, Slack-compatible JSON POST per change to each webhook (docs/ALERTS.md)."""

    domain_type = domain.Alerts

    emails: list[
        Annotated[str, *checked(checks.email_address, {"type": "string", "format": "email"})]
    ] = Field(
        default_factory=list,
        max_length=MAX_ALERT_EMAILS,
        title="Alert e-mails",
        description="Addresses told when a verdict changes, separated by commas.",
    )
    webhooks: list[WebhookUrl] = Field(
        default_factory=list,
        max_length=MAX_ALERT_WEBHOOKS,
        title="Alert webhooks",
        description="https URLs POSTed a signed JSON message (Slack-compatible `text`) when "
        "a verdict changes, signed with the server's ALERT_WEBHOOK_SECRET.",
    )

    def rule_errors(self) -> dict[str, str]:
        return {
            **duplicates([e.lower() for e in self.emails], "alerts.emails"),
            **duplicates(self.webhooks, "alerts.webhooks"),
        }


class Shipped(Document):
    """Set by the ship action (POST /v1/admin/experiments/<key>/ship), not by editing."""

    domain_type = domain.Shipped

    variant: VariantKey
    holdout: Annotated[float, *number(0, MAX_SHIPPED_HOLDOUT)] = 0.0
    previous_status: Annotated[Status, *choice(Status)] = Status.running


class Variant(Document):
    domain_type = domain.Variant

    key: VariantKey
    # Weights are relative shares, so leaving every weight out splits traffic evenly.
    weight: Annotated[float, *number(0, 1_000_000, above=True)] = 1.0
    banner: Banner


class Experiment(Document):
    """An experiment document; the service fills in every default."""

    domain_type = domain.Experiment

    key: Key
    name: Annotated[str, *text(200, non_empty=True)]
    placement: Annotated[Placement, *choice(Placement)]
    priority: Annotated[int, *whole(0, 1000)] = 0
    status: Annotated[Status, *choice(Status)] = Status.draft
    start_at: Moment = None
    end_at: Moment = None
    traffic: Annotated[float, *number(0, 1, above=True)] = 1.0
    holdout: Annotated[float, *number(0, 1, below=True)] = 0.0
    targeting: Targeting = Field(default_factory=Targeting)
    caps: Caps = Field(default_factory=Caps)
    snooze_hours: SnoozeHours = Field(default_factory=SnoozeHours)
    attribution_days: Annotated[int, *whole(1, 90)] = 7
    allocation: Annotated[Allocation, *choice(Allocation)] = Allocation.fixed
    bandit: BanditSettings = Field(default_factory=BanditSettings)
    analysis: Analysis = Field(default_factory=Analysis)
    variants: list[Variant] = Field(min_length=1, max_length=10)
    seed: Annotated[str, *text(64, non_empty=True)] = Field(
        default="",
        description="Default: the key, so bucketing is stable without any setup.",
        json_schema_extra=without_default,
    )
    trust_client_conversions: Boolean = False
    alerts: Alerts = Field(default_factory=Alerts)
    reminder_message: ReminderMessage = Field(default_factory=ReminderMessage)
    shipped: Shipped | None = None

    def rule_errors(self) -> dict[str, str]:
        """The rules across fields, by path."""
        errors = {
            **self.targeting.rule_errors(),
            **self.analysis.rule_errors(),
            **self.alerts.rule_errors(),
        }
        errors.update(duplicates(self.analysis.guardrails, "analysis.guardrails"))
        if self.start_at is not None and self.end_at is not None and self.end_at <= self.start_at:
            errors["end_at"] = "must be after start_at"
        seen: set[str] = set()
        for i, variant in enumerate(self.variants):
            if variant.key in seen:
                errors[f"variants[{i}].key"] = "is a duplicate of an earlier variant's key"
            seen.add(variant.key)
            errors.update(variant.banner.rule_errors(f"variants[{i}].banner"))
        if self.shipped is not None and self.shipped.variant not in seen:
            errors["shipped.variant"] = "must be one of the variants' keys"
        if (self.status == Status.shipped) != (self.shipped is not None):
            errors["shipped"] = "is set with status shipped, and only then"
        count = len(self.variants)
        if self.bandit.floor * count > 1 + 1e-9:
            errors["bandit.floor"] = (
                f"times the {count} variants must be at most 1 (at most {_share(1 / count)} each)"
            )
        if self.allocation == Allocation.bandit and count < 2:
            errors["allocation"] = "a bandit needs at least two variants to choose between"
        return errors

    def to_domain(self, **given: Any) -> Any:
        # The seed defaults to the key, so bucketing is stable without any setup.
        seed = self.seed if "seed" in self.model_fields_set else self.key
        return super().to_domain(seed=seed, **given)


def _share(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


_MESSAGES = {"variants": "must be a list of 1 to 10 items"}


def parse_experiment(doc: object, *, webhook_allow: AllowList | None = None) -> domain.Experiment:
    """The typed experiment with every default filled in; raises ValidationFailed listing every
    broken field. Any status is accepted: which statuses a request may set is the API's call.
    `webhook_allow` (the server's EXPORT_WEBHOOK_ALLOW) is given when a document is saved:
    alert webhooks must then pass the SSRF rule (service/domain/webhook_targets.py)."""
    context = {"webhook_allow": webhook_allow} if webhook_allow is not None else None
    try:
        experiment = Experiment.model_validate(doc, context=context)
    except ValidationError as exc:
        raise ValidationFailed(error_fields(exc, _MESSAGES)) from None
    errors = experiment.rule_errors()
    if errors:
        raise ValidationFailed(errors)
    parsed: domain.Experiment = experiment.to_domain()
    return parsed
