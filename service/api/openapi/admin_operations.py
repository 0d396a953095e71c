"""The OpenAPI operations of the bearer-token API for staff and their tools: experiments,
reports, export schedules and dry runs; operations.py assembles them with the others."""

from __future__ import annotations

from service.api.admin.exports import MAX_RUNS
from service.api.openapi.build import (
    STRING,
    Json,
    Op,
    Responses,
    body,
    inline_schema,
    json_answer,
    query,
    ref,
    text,
)
from service.domain.experiment import Status
from service.schemas.admin import (
    Erasure,
    ExperimentList,
    ExperimentResource,
    ExportRun,
    ExportRunList,
    ExportScheduleList,
    ExportScheduleResource,
    History,
    PreviewToken,
    PreviewTokenRequest,
    ShipRequest,
)
from service.schemas.dry_run import DryRunAnswer, DryRunBody
from service.schemas.experiment import Experiment
from service.schemas.exports import ExportSchedule

NO_EXPERIMENT = "No experiment with that key."
_NO_SCHEDULE = "No export schedule with that id."
_CREATED = {"Location": {"schema": STRING}}
CSV = text("text/csv", "The CSV file.")
# A scheduled export's file, in the schedule's format, sent as an attachment under its name.
EXPORT_FILE: Json = {
    "description": "The file, as an attachment (Content-Disposition names it).",
    "content": {
        kind: {"schema": {"type": "string", "format": "binary"}}
        for kind in ("text/csv", "application/json", "application/vnd.apache.parquet")
    },
}

_REPORT_QUERY = [
    query("from", "First day, YYYY-MM-DD.", {"type": "string", "format": "date"}),
    query("to", "Last day, YYYY-MM-DD.", {"type": "string", "format": "date"}),
    query("segment", "Break down by.", {"type": "string", "enum": ["country", "device"]}),
]
_REPORT_ERRORS: Responses = {400: "Bad from, to or segment.", 404: NO_EXPERIMENT}
_SCHEDULE_ERRORS: Responses = {
    400: "The body is not JSON.",
    404: _NO_SCHEDULE,
    409: "The name is taken.",
    415: "The body is not application/json.",
    422: "The schedule is invalid; `fields` names every bad field.",
}

# By endpoint, in the document's order; an endpoint with several methods declares each.
OPERATIONS: dict[str, Op | dict[str, Op]] = {
    "admin.list_experiments": Op(
        "List experiments",
        {
            200: json_answer(ExperimentList, "The experiments."),
            400: "Unknown status filter.",
        },
        parameters=[
            query("status", f"Comma-separated statuses to keep: {', '.join(Status)}."),
        ],
    ),
    "admin.create_experiment": Op(
        "Create an experiment (as draft)",
        {
            201: {**json_answer(ExperimentResource, "Created."), "headers": _CREATED},
            400: "The body is not a JSON object.",
            409: "The key is taken.",
            422: "The document is invalid.",
        },
        body=body(Experiment, "application/json"),
    ),
    "admin.get_experiment": Op(
        "Read an experiment",
        {
            200: {
                **json_answer(ExperimentResource, "The experiment."),
                "headers": {"ETag": {"schema": STRING}},
            },
            404: NO_EXPERIMENT,
        },
    ),
    "admin.update_experiment": Op(
        "Replace an experiment's document",
        {
            200: json_answer(ExperimentResource, "Saved."),
            400: "Bad body or If-Match.",
            404: NO_EXPERIMENT,
            409: "The edit is not allowed in this status.",
            412: "The experiment changed since the If-Match revision.",
            422: "The document is invalid.",
        },
        parameters=[
            {
                "name": "If-Match",
                "in": "header",
                "description": 'An ETag from a GET, such as "r3", or *.',
                "schema": {"type": "string", "pattern": r'^\s*(\*|(W/)?"r\d+")\s*$'},
            }
        ],
        body=body(Experiment, "application/json"),
    ),
    "admin.change_status": Op(
        "Change an experiment's status: start, pause, stop or archive",
        {
            200: json_answer(ExperimentResource, "The experiment in its new status."),
            404: NO_EXPERIMENT,
            409: "The action is not allowed from the current status.",
        },
    ),
    "admin.ship": Op(
        "Ship a winner: end the test and show one variant to every eligible reader",
        {
            200: json_answer(ExperimentResource, "The experiment, now shipped."),
            404: NO_EXPERIMENT,
            409: "Only a running, paused or stopped experiment can be shipped.",
            422: "Unknown variant, or holdout outside 0 to 0.5.",
        },
        body=body(ShipRequest, "application/json"),
    ),
    "admin.unship": Op(
        "Undo a ship: back to the status it was shipped from",
        {
            200: json_answer(ExperimentResource, "The experiment in its previous status."),
            404: NO_EXPERIMENT,
            409: "The experiment is not shipped.",
        },
    ),
    "admin.history": Op(
        "Every audited revision",
        {200: json_answer(History, "The revisions."), 404: NO_EXPERIMENT},
    ),
    "admin.preview_token": Op(
        "A signed QA link showing one variant",
        {
            200: json_answer(PreviewToken, "The token and a decision URL."),
            404: NO_EXPERIMENT,
            422: "Unknown variant or bad ttl_hours.",
        },
        body=body(PreviewTokenRequest, "application/json", required=False),
    ),
    "reports.report": Op(
        "The experiment report",
        {200: json_answer(ref("Report"), "The report."), **_REPORT_ERRORS},
        parameters=_REPORT_QUERY,
    ),
    "reports.report_csv": Op(
        "The experiment report as CSV, one row per variant (and segment value)",
        {200: CSV, **_REPORT_ERRORS},
        parameters=_REPORT_QUERY,
    ),
    "admin.erase_visitor": Op(
        "Erase a visitor everywhere",
        {200: json_answer(Erasure, "What was removed."), 400: "Malformed visitor id."},
    ),
    "exports.list_exports": Op(
        "List export schedules",
        {200: json_answer(ExportScheduleList, "The schedules, by name.")},
    ),
    "exports.create_export": Op(
        "Create an export schedule",
        {
            201: {**json_answer(ExportScheduleResource, "Created."), "headers": _CREATED},
            **{s: r for s, r in _SCHEDULE_ERRORS.items() if s != 404},
        },
        body=body(ExportSchedule, "application/json"),
    ),
    "exports.get_export": Op(
        "Read an export schedule",
        {200: json_answer(ExportScheduleResource, "The schedule."), 404: _NO_SCHEDULE},
    ),
    "exports.update_export": Op(
        "Replace an export schedule",
        {200: json_answer(ExportScheduleResource, "Saved."), **_SCHEDULE_ERRORS},
        body=body(ExportSchedule, "application/json"),
    ),
    "exports.delete_export": Op(
        "Delete an export schedule and its run records",
        {204: {"description": "Deleted."}, 404: _NO_SCHEDULE},
    ),
    "exports.run_export": Op(
        "Run a schedule now (queued for the next scheduler poll)",
        {
            202: {**json_answer(ExportRun, "The queued run."), "headers": _CREATED},
            404: _NO_SCHEDULE,
        },
    ),
    "exports.export_runs": Op(
        "The schedule's runs, newest first",
        {200: json_answer(ExportRunList, "The runs."), 400: "Bad limit.", 404: _NO_SCHEDULE},
        parameters=[
            query(
                "limit",
                f"How many runs, 1 to {MAX_RUNS} (default 50).",
                {"type": "integer", "minimum": 1, "maximum": MAX_RUNS},
            )
        ],
    ),
    "exports.export_run_file": Op(
        "Download a file a run wrote to a directory destination",
        {
            200: EXPORT_FILE,
            404: "No such schedule or run, a name the run did not record, a file sent"
            " elsewhere (webhook, e-mail), or the file is gone from disk.",
        },
        "Only names listed in the run's `files`, and only for `destination_type` directory.",
    ),
    "dry_run.dry_run_endpoint": Op(
        "Estimate reach, overlap and days to detect from sampled decisions",
        {
            200: json_answer(
                inline_schema(DryRunAnswer), "The estimate, with the assumptions it rests on."
            ),
            400: "The body is not valid JSON.",
            404: NO_EXPERIMENT,
            415: "A body that is not application/json.",
            422: "A bad field; `fields` names every one.",
        },
        body=body(inline_schema(DryRunBody), "application/json", required=False),
    ),
}
