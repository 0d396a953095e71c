"""The admin API's answers about experiments and export schedules, and the preview-token
request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from service.domain.export_schedule import RunStatus
from service.domain.lifecycle import Action
from service.schemas.errors import without_default
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
    model_config = ConfigDict(extra="forbid")

    variant: str = Field(description="The key of the variant every eligible reader gets.")
    holdout: float = Field(
        default=0.0,
        ge=0,
        le=0.5,
        description="The share of eligible readers who see no banner, so that the shipped "
        "variant's cumulative effect stays measurable.",
    )


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
