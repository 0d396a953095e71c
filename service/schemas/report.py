"""The report's JSON Schema (GET /v1/admin/experiments/{key}/report) for the OpenAPI document.

The report is declared once, as the domain's frozen dataclasses (service/domain/report_model.py);
its schema is generated from them and tests validate real serialized reports against it."""

from __future__ import annotations

from typing import Any

from service.domain.report_model import report_json_schema

# Its parts are named "Report…", apart from the request models (BanditSettings is both).
_REF = "#/components/schemas/Report{model}"


def report_components() -> dict[str, Any]:
    """ "Report" and every part it refers to, as OpenAPI components."""
    schema = report_json_schema(ref_template=_REF)
    parts = schema.pop("$defs", {})
    return {"Report": schema, **{f"Report{name}": part for name, part in parts.items()}}
