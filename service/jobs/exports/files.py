"""Export files: encoding a table as CSV, JSON or Parquet, naming it, writing it atomically.

Every format holds the same values: CSV cells are the unlocalised text of each value (a float
as Python's repr, which round-trips exactly and never has a decimal comma), JSON keeps numbers
as numbers, Parquet has a typed column per column. All text is UTF-8.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from service.domain.cells import cell
from service.domain.export_schedule import ExportFormat
from service.jobs.exports.rows import COLUMN_NAMES, COLUMNS, ColumnType, Row

MEDIA_TYPES = {
    ExportFormat.csv: "text/csv; charset=utf-8",
    ExportFormat.json: "application/json",
    ExportFormat.parquet: "application/vnd.apache.parquet",
}
_ARROW: dict[ColumnType, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}
SCHEMA = pa.schema([pa.field(name, _ARROW[kind], nullable=True) for name, kind in COLUMNS])


@dataclass(frozen=True, slots=True)
class ExportFile:
    name: str
    experiment: str
    content: bytes
    media_type: str
    rows: int


def file_name(
    experiment: str, period_from: date, period_to: date, run_id: int, fmt: ExportFormat
) -> str:
    """`<experiment>_<from>_<to>_run<id>.<format>`: unique per run, sortable by period."""
    return f"{experiment}_{period_from.isoformat()}_{period_to.isoformat()}_run{run_id}.{fmt}"


def encode(rows: Sequence[Row], fmt: ExportFormat) -> bytes:
    if fmt == ExportFormat.csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
        writer.writerow(COLUMN_NAMES)
        writer.writerows([cell(row[name]) for name in COLUMN_NAMES] for row in rows)
        return out.getvalue().encode("utf-8")
    if fmt == ExportFormat.json:
        # One row per line inside the array: valid JSON that still diffs and greps well.
        lines = [json.dumps(_json_row(row), ensure_ascii=False, allow_nan=False) for row in rows]
        return ("[\n" + ",\n".join(lines) + "\n]\n").encode("utf-8")
    table = pa.Table.from_pylist(list(rows), schema=SCHEMA)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


def _json_row(row: Row) -> Row:
    return {
        name: cell(value) if isinstance(value, date) else value  # datetime is a date too
        for name, value in ((name, row[name]) for name in COLUMN_NAMES)
    }


def write_atomically(path: Path, content: bytes) -> None:
    """Readers see the old file or the whole new one, never a part: the bytes go to a
    temporary file in the same directory (same file system), are synced, then renamed over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; exports are meant to be read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
