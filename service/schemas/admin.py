"""The admin API's answers about experiments and export schedules, and the preview-token
request."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.domain.errors import ValidationFailed
from service.domain.export_schedule import RunStatus
from service.domain.lifecycle import MAX_SHIPPED_HOLDOUT, Action
from service.schemas.errors import error_fields, without_default
from service.schemas.experiment import Experiment
from service.schemas.exports import ExportSchedule


class ExperimentResource(Experiment):
    """An experiment document as the API returns it, with its bookkeeping."""

    revision: int
    created_at: datetime | None
    updated_at: datetime | None
    started_at: datetime | None
    stopped_at: datetime | None
    allowed_actions: list[Action]


class ExperimentList(BaseModel):
    experiments: list[ExperimentResource]


class Revision(BaseModel):
    revision: int
    action: str
    actor: str
    at: datetime
    changes: Any
    document: Experiment


class History(BaseModel):
    experiment: str
    revisions: list[Revision]


class PreviewTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variant: str = Field(
        default="", description="Default: the control variant.", json_schema_extra=without_default
    )
    ttl_hours: int = Field(default=24, ge=1, le=168)


class ShipRequest(BaseModel):
    """The body of the ship action. Strict types: "0.05" or true is not a holdout."""

    model_config = ConfigDict(extra="forbid")

    variant: str = Field(
        strict=True, description="The key of the variant every eligible reader gets."
    )
    holdout: float = Field(
        default=0.0,
        strict=True,
        ge=0,
        le=MAX_SHIPPED_HOLDOUT,
        description="The share of eligible readers who see no banner, so that the shipped "
        "variant's cumulative effect stays measurable.",
    )


_SHIP_MESSAGES = {
    "variant": "required: the key of the variant to ship",
    "holdout": f"must be a number from 0 to {MAX_SHIPPED_HOLDOUT:g}",
}


def parse_ship_request(body: Mapping[str, Any]) -> ShipRequest:
    """The ship action's body, checked; ValidationFailed names every bad field. Whether the
    variant exists is the experiment's to say (service/domain/lifecycle.py `ship`)."""
    try:
        return ShipRequest.model_validate(body)
    except ValidationError as exc:
        fields = error_fields(exc)
        # Missing, mistyped or out of range, each field's rule in words says what it takes.
        fields.update({k: why for k, why in _SHIP_MESSAGES.items() if k in fields})
        raise ValidationFailed(fields, "cannot ship") from None


class PreviewToken(BaseModel):
    experiment: str
    variant: str
    token: str
    expires_at: datetime
    decision_url: str


class Erasure(BaseModel):
    visitor: str
    removed: dict[str, int] = Field(
        description="How many keys, stream entries and rows of each kind went."
    )


class ExportRunFile(BaseModel):
    name: str = Field(description="Download it at files/<name> under the run, if kept here.")
    bytes: int
    rows: int
    media_type: str


class ExportRun(BaseModel):
    id: int
    schedule_id: int
    fire_time: datetime | None = Field(description="Null for an ad-hoc run.")
    status: RunStatus
    attempts: int
    started_at: datetime | None = None
    finished_at: datetime | None = None
    next_attempt_at: datetime | None = None
    rows: int | None = None
    bytes: int | None = None
    destination: str | None = None
    destination_type: str | None = Field(
        None, description="directory, webhook or email; only directory files can be downloaded."
    )
    files: list[ExportRunFile] = Field(
        default_factory=list, description="What a succeeded run delivered."
    )
    error: str | None = None


class ExportRunList(BaseModel):
    schedule_id: int
    runs: list[ExportRun]


class ExportScheduleResource(ExportSchedule):
    """A schedule as the API returns it: the webhook secret shown as ********."""

    id: int
    created_at: datetime
    updated_at: datetime
    next_run_at: datetime | None = Field(description="Null when disabled.")
    last_run: ExportRun | None


class ExportScheduleList(BaseModel):
    exports: list[ExportScheduleResource]
