"""The OpenAPI path items of the dry run (service/api/admin/dry_run.py); the dashboard's pages
of the decision log and the dry run are with the other pages, in dashboard.py here. The schemas,
from service/schemas/dry_run.py, are inline: the answer is checked on its own in tests."""

from __future__ import annotations

from service.api.openapi.build import inline_schema
from service.api.openapi.parts import _KEY_PARAM, _NOT_FOUND, Json, _admin, _error, _json
from service.schemas.dry_run import DryRunAnswer, DryRunBody

DRY_RUN_PATHS: Json = {
    "/v1/admin/experiments/{key}/dry-run": {
        "parameters": [_KEY_PARAM],
        "post": _admin(
            "editor",
            "Estimate reach, overlap and days to detect from sampled decisions",
            {
                "200": _json(
                    inline_schema(DryRunAnswer), "The estimate, with the assumptions it rests on."
                ),
                "400": _error("The body is not valid JSON."),
                **_NOT_FOUND,
                "415": _error("A body that is not application/json."),
                "422": _error("A bad field; `fields` names every one."),
            },
            requestBody={
                "required": False,
                "content": {"application/json": {"schema": inline_schema(DryRunBody)}},
            },
        ),
    },
}
