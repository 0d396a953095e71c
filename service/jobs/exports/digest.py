"""The plain-language digest of a run: the e-mail body, one paragraph per experiment saying
what the verdicts are, so a reader who never opens the attachment still gets the news."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from service.jobs.exports.files import ExportFile
from service.jobs.exports.rows import ExportTable


def subject(schedule_name: str, as_of: datetime) -> str:
    return f"Small Favor export: {schedule_name} ({as_of.date().isoformat()})"


def digest(
    *,
    schedule_name: str,
    timezone: str,
    run_id: int,
    as_of: datetime,
    tables: Sequence[tuple[str, ExportTable]],
    files: Sequence[ExportFile],
) -> str:
    """`tables`: (experiment name, table) pairs in file order."""
    local = as_of.astimezone(ZoneInfo(timezone))
    lines = [
        f'Small Favor export "{schedule_name}", run {run_id}, '
        f"{local.strftime('%Y-%m-%d %H:%M')} {timezone}.",
        "",
    ]
    if not tables:
        lines.append("No experiments to report: none is running.")
    for (name, table), file in zip(tables, files, strict=True):
        lines.append(
            f"{name} ({table.experiment}), "
            f"{table.period_from.isoformat()} to {table.period_to.isoformat()}:"
        )
        visitors = ", ".join(
            f"{row['variant']} {row['visitors']}"
            for row in table.rows
            if row["row_type"] == "summary"
        )
        lines.append(f"  Visitors shown a banner: {visitors or 'none yet'}.")
        if table.srm_mismatch:
            lines.append(
                "  Warning: the visitors are not split as the weights say (sample ratio "
                "mismatch); do not act on these numbers before that is explained."
            )
        for verdict in table.verdicts:
            lines.append(f"  {verdict.variant}: {verdict.text}.")
        if not table.verdicts:
            lines.append("  A single variant: a campaign, nothing to compare.")
        lines.append(f"  File: {file.name} ({file.rows} rows, {_size(len(file.content))}).")
        lines.append("")
    lines.append("Column meanings: docs/EXPORTS.md in the Small Favor repository.")
    return "\n".join(lines) + "\n"


def _size(n: int) -> str:
    return f"{n} bytes" if n < 1024 else f"{n / 1024:.1f} KiB"
