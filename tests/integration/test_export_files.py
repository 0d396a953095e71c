"""Export files: columns and figures, CSV = JSON = Parquet, atomic writes, and the CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest
from sqlalchemy import Engine

from service.domain.cells import cell
from service.domain.export_schedule import ExportFormat, RunStatus
from service.jobs.exports.files import encode, write_atomically
from service.jobs.exports.rows import COLUMN_NAMES, Row
from service.jobs.exports.runner import ExportRunner
from service.settings import Settings
from service.store.sql.experiments_repo import ExperimentRepo
from service.store.sql.exports_repo import ExportRepo
from tests.integration.export_support import at, save_schedule, seed_figures, start_experiment

_NUMBER = re.compile(r"-?\d+(\.\d+)?(e[-+]?\d+)?")


@pytest.fixture
def rows(clean_db: Engine, settings: Settings) -> list[Row]:
    start_experiment(clean_db)
    seed_figures(clean_db)
    stored = ExperimentRepo(clean_db).get("monthly-ask")
    assert stored is not None
    table = ExportRunner(clean_db, settings).table(
        stored, run_id=7, period_to=at(28).date(), now=at(28, 6)
    )
    return table.rows


def read_csv(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def test_summary_rows_carry_the_report_and_day_rows_each_day(rows: list[Row]) -> None:
    summary = [r for r in rows if r["row_type"] == "summary"]
    days = [r for r in rows if r["row_type"] == "day"]
    assert [r["variant"] for r in summary] == ["control", "five-dollars"]
    control, treatment = summary
    assert control["visitors"] == 40 and control["conversions"] == 4
    assert treatment["conversions"] == 8 and treatment["revenue"] == 40.0
    assert control["conversion_rate"] == pytest.approx(0.1)
    assert control["conversion_rate_relative_lift"] is None  # control has no comparison
    assert treatment["conversion_rate_relative_lift"] == pytest.approx(1.0)
    assert treatment["conversion_rate_ci_low"] < 1.0 < treatment["conversion_rate_ci_high"]
    # A frequentist experiment: its figures filled, the Bayesian columns empty.
    assert treatment["analysis"] == "fixed"
    assert 0 < treatment["conversion_rate_p_value"] <= treatment["conversion_rate_p_value_adjusted"]
    assert treatment["conversion_rate_chance_to_beat_control"] is None
    assert treatment["conversion_rate_risk"] is None
    # 4 donors in control, short of MIN_DONORS_PER_ARM (30): the verdict the page shows too.
    assert treatment["verdict"] == "not_enough_data"
    assert treatment["verdict_text"] == "not enough data yet: 4 of 30 donors"
    assert control["run_id"] == 7 and str(control["period_from"]) == "2026-11-26"
    assert [(str(r["date"]), r["variant"]) for r in days] == [
        ("2026-11-26", "control"),
        ("2026-11-26", "five-dollars"),
        ("2026-11-27", "control"),
        ("2026-11-27", "five-dollars"),
    ]
    first, _, second, _ = days
    assert first["visitors"] == 20 and first["cumulative_visitors"] == 20
    assert second["cumulative_visitors"] == 40 and second["payments"] == 2
    assert second["click_through_rate"] == pytest.approx(2 / 40)
    # The daily lift is held back with the verdict (the page's lift chart has none either).
    assert days[3]["revenue_per_visitor_relative_lift"] is None
    assert all(set(row) == set(COLUMN_NAMES) for row in rows)


def test_a_bayesian_experiment_fills_only_the_bayesian_columns(
    clean_db: Engine, settings: Settings
) -> None:
    start_experiment(clean_db, analysis={"engine": "bayesian"})
    seed_figures(clean_db)
    stored = ExperimentRepo(clean_db).get("monthly-ask")
    assert stored is not None
    table = ExportRunner(clean_db, settings).table(
        stored, run_id=7, period_to=at(28).date(), now=at(28, 6)
    )
    treatment = [r for r in table.rows if r["row_type"] == "summary"][1]
    assert treatment["analysis"] == "bayesian"
    assert 0.5 < treatment["conversion_rate_chance_to_beat_control"] < 1
    assert treatment["conversion_rate_risk"] > 0
    assert treatment["conversion_rate_ci_low"] < 1.0 < treatment["conversion_rate_ci_high"]
    for frequentist in ("p_value", "p_value_adjusted", "absolute_difference"):
        assert treatment[f"conversion_rate_{frequentist}"] is None, frequentist
    # The columns stay the same whatever the engine: consumers key on them.
    assert all(set(row) == set(COLUMN_NAMES) for row in table.rows)


def test_csv_is_utf8_with_stable_columns_and_unlocalised_numbers(rows: list[Row]) -> None:
    content = encode(rows, ExportFormat.csv)
    header = content.decode("utf-8").split("\r\n", 1)[0]
    assert header.split(",") == list(COLUMN_NAMES)
    table = read_csv(content)
    assert len(table) == len(rows)
    for name in ("revenue", "conversion_rate", "weight", "srm_p_value", "visitors"):
        for value in (r[name] for r in table if r[name]):
            assert _NUMBER.fullmatch(value), (name, value)
    assert table[0]["srm_mismatch"] == "false" and table[0]["generated_at"].endswith("Z")


def test_parquet_read_back_equals_the_csv(rows: list[Row], tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_bytes(encode(rows, ExportFormat.parquet))
    table = pq.read_table(path)
    assert table.column_names == list(COLUMN_NAMES)
    assert str(table.schema.field("visitors").type) == "int64"
    assert str(table.schema.field("revenue").type) == "double"
    from_parquet = [{k: cell(v) for k, v in row.items()} for row in table.to_pylist()]
    assert from_parquet == read_csv(encode(rows, ExportFormat.csv))


def test_json_holds_the_same_values(rows: list[Row]) -> None:
    document = json.loads(encode(rows, ExportFormat.json).decode("utf-8"))
    assert list(document[0]) == list(COLUMN_NAMES)
    assert isinstance(document[0]["visitors"], int) and document[0]["date"] is None
    as_text = [{k: cell(v) for k, v in row.items()} for row in document]
    assert as_text == read_csv(encode(rows, ExportFormat.csv))


def test_writes_are_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out" / "file.csv"
    write_atomically(target, b"old")
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"

    def crash(*_: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        write_atomically(target, b"half")
    assert target.read_bytes() == b"new"  # readers never see a part
    assert [p.name for p in target.parent.iterdir()] == ["file.csv"]  # no temporary left


def smallfavor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_exports_one_experiment_to_a_file(
    clean_db: Engine, env: dict[str, str], tmp_path: Path
) -> None:
    start_experiment(clean_db)
    seed_figures(clean_db)
    out = tmp_path / "monthly.parquet"
    result = smallfavor(
        env, "export", "--experiment", "monthly-ask", "--format", "parquet", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert pq.read_table(out).num_rows == 6
    missing = smallfavor(env, "export", "--experiment", "nope", "--format", "csv", "--out", "x")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "smallfavor: error: no experiment with key 'nope'"
    both = smallfavor(env, "export", "--experiment", "monthly-ask", "--schedule", "x")
    assert both.returncode == 1 and both.stderr.count("\n") == 1


def test_cli_runs_a_schedule_now_and_records_it(
    clean_db: Engine, env: dict[str, str], settings: Settings
) -> None:
    start_experiment(clean_db)
    stored = save_schedule(clean_db, at(27), format="json")
    result = smallfavor(env, "export", "--schedule", "weekly board report")
    assert result.returncode == 0, result.stderr
    (run,) = ExportRepo(clean_db).runs(stored.id)
    assert run.status == RunStatus.succeeded and run.fire_time is None and run.rows == 2
    assert len(list((settings.export_dir / "board").glob(f"monthly-ask_*_run{run.id}.json"))) == 1
    unknown = smallfavor(env, "export", "--schedule", "nightly")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "smallfavor: error: no export schedule named 'nightly'"


def test_schedule_once_reports_what_it_ran(clean_db: Engine, env: dict[str, str]) -> None:
    result = smallfavor(env, "schedule", "--once")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0 export runs, 0 succeeded"


def test_the_scheduler_process_stops_cleanly_on_sigterm(
    clean_db: Engine, env: dict[str, str]
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "schedule"],
        env={"PATH": "/usr/bin:/bin", **env, "EXPORT_POLL_SECONDS": "1"},
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    try:
        line = process.stderr.readline()  # logging goes to stderr; the first line: started
        assert "export scheduler" in line and "started" in line, line
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
    assert "stopped" in process.stderr.read()
