"""The dashboard's form posts, as browsers send them: every value a string (a checkbox group
the field repeated), each post with the session's CSRF token. The editor's fields are the
experiment document's own paths (service/dashboard/experiment_form.py reads them); a test
checks the two lists match. Declared here so the document describes every post."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from service.schemas.errors import without_default

# The experiment editor's fields. Variants are numbered from 0; documented for the first two.
EDITOR_FIELDS = (
    "key", "name", "placement", "priority", "start_at", "end_at", "traffic", "holdout",
    "targeting.countries", "targeting.languages", "targeting.sections",
    "targeting.exclude_sections", "targeting.tags", "targeting.min_article_views",
    "targeting.audience", "caps.max_impressions", "caps.per_days", "caps.min_hours_between",
    "snooze_hours.remind_later", "snooze_hours.close", "snooze_hours.already_donated",
    "attribution_days", "allocation", "bandit.floor", "bandit.min_visitors",
    "bandit.min_conversions", "bandit.cadence_minutes", "seed", "analysis.primary_metric",
    "analysis.alpha", "analysis.engine", "analysis.revenue_cap", "analysis.currency",
    "analysis.sequential", "analysis.cuped",
    "trust_client_conversions", "alerts.emails", "alerts.webhooks",
    "reminder_message.subject", "reminder_message.body",
)  # fmt: skip
EDITOR_TICKED = ("targeting.devices", "analysis.guardrails")
VARIANT_FIELDS = (
    "key", "weight", "banner.template", "banner.heading", "banner.paragraphs",
    "banner.highlight", "banner.cta.label", "banner.cta.url", "banner.amounts.currency",
    "banner.amounts.one_off", "banner.amounts.monthly", "banner.amounts.annual",
    "banner.amounts.default_frequency", "banner.amounts.default_amount",
    "banner.remind_later_label", "banner.reminder",
    *(
        f"banner.reminder.choices[{j}].{name}"
        for j in range(3)
        for name in ("kind", "label", "in_days", "on")
    ),
    "banner.reminder.consent", "banner.reminder.privacy_url", "banner.reminder.email_label",
    "banner.reminder.submit_label", "banner.reminder.thanks",
)  # fmt: skip
VARIANT_TICKED = ("banner.payment_methods",)
DRY_RUN_FIELDS = ("minimum_effect", "baseline", "baseline_sd", "days")
EXPORT_FIELDS = (
    "name", "cron", "timezone", "scope", "format", "destination.type", "destination.path",
    "destination.url", "destination.secret", "destination.to", "destination.subject",
    "enabled", "catch_up",
)  # fmt: skip


_OMITTED = without_default  # a field left out of the post is not sent as anything


class Form(BaseModel):
    """A form post: unknown fields are the browser's business and are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=False)

    csrf_token: str


def _fields(
    texts: tuple[str, ...] | list[str], ticked: tuple[str, ...] = (), **described: str
) -> dict[str, Any]:
    """Field definitions for names that are not identifiers ("variants[0].key")."""
    fields: dict[str, Any] = {}
    for i, name in enumerate((*texts, *ticked)):
        kind = list[str] if name in ticked else str
        fields[f"f{i}"] = (kind, Field(default=None, alias=name, json_schema_extra=_OMITTED))
    for j, (name, description) in enumerate(described.items()):
        fields[f"d{j}"] = (
            str,
            Field(default=None, alias=name, description=description, json_schema_extra=_OMITTED),
        )
    return fields


def _form(name: str, fields: dict[str, Any], base: type[BaseModel] = Form) -> type[BaseModel]:
    model: type[BaseModel] = create_model(name, __base__=base, **fields)
    return model


_VARIANTS = [f"variants[{i}].{name}" for i in (0, 1) for name in VARIANT_FIELDS]
_VARIANTS_TICKED = tuple(f"variants[{i}].{name}" for i in (0, 1) for name in VARIANT_TICKED)

EditorForm = _form(
    "EditorForm",
    _fields(
        [*EDITOR_FIELDS, *_VARIANTS],
        (*EDITOR_TICKED, *_VARIANTS_TICKED),
        op="save (the default), add-variant, copy-variant:<i> or remove-variant:<i>.",
        revision="The revision the edit started from.",
    ),
)
DryRunForm = _form(
    "DryRunForm", _fields([f"dry_run.{name}" for name in DRY_RUN_FIELDS]), EditorForm
)
ExportForm = _form("ExportForm", _fields(EXPORT_FIELDS, ("experiments",)))
LoginForm = _form("LoginForm", _fields(("email", "password", "next")))
PasswordForm = _form(
    "PasswordForm", _fields(("current_password", "new_password", "new_password_again"))
)
TokenForm = _form("TokenForm", _fields(("name", "role")))
InviteForm = _form("InviteForm", _fields(("email", "role")))
RoleForm = _form("RoleForm", _fields(("role",)))
SetPasswordForm = _form("SetPasswordForm", _fields(("new_password", "new_password_again")))
LifecycleForm = _form("LifecycleForm", _fields(("revision",)))
ShipForm = _form(
    "ShipForm",
    _fields(
        ("revision", "variant"),
        holdout_percent="The long-term holdout, 0 to 50 (per cent of eligible readers).",
    ),
)
PreviewLinkForm = _form("PreviewLinkForm", _fields(("variant",), hours="1, 24, 72 or 168."))
VariantFields = _form("VariantFields", _fields(VARIANT_FIELDS, VARIANT_TICKED), BaseModel)


class BannerPreviewRequest(BaseModel):
    fields: VariantFields = Field(  # type: ignore[valid-type]
        description="The variant's editor fields, by name."
    )
