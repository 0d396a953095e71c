"""The report's kept sums (store/sql/outcome_sums.py) against a scan of the outcomes: after
batches in any order, replays, erasures and a change of revenue cap, a report reads the same
figures from the kept sums as from every visitor's row."""

from __future__ import annotations

import dataclasses
import random
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from service.domain.arm_totals import SUM_FIELDS, ArmTotals
from service.domain.events import EventRecord
from service.jobs.outcome_sums import SumsKeeper
from service.schemas.experiment import parse_experiment
from service.store.sql import outcome_sums
from service.store.sql.event_tables import outcome_sums as kept_table
from service.store.sql.event_writer import EventWriter
from service.store.sql.experiments_repo import ExperimentRepo
from service.store.sql.report_queries import arm_totals, day_totals
from service.store.sql.visitors_repo import erase_visitor
from tests.integration.flush_support import DAY, event
from tests.support import experiment_doc

KEY = "monthly-ask"
CAP = 7.5
H = timedelta(hours=1)


def _keep(engine: Engine, cap: float | None = CAP) -> None:
    with engine.begin() as conn:
        outcome_sums.start(conn, KEY, cap, DAY)


def _buckets(engine: Engine) -> dict[tuple[Any, ...], dict[str, float]]:
    """The kept rows, without those that hold nothing (a bucket everyone left)."""
    with engine.connect() as conn:
        rows = conn.execute(select(kept_table).where(kept_table.c.experiment_key == KEY))
        out = {}
        for row in rows.mappings():
            sums = {name: float(row[name]) for name, _ in SUM_FIELDS}
            if any(abs(v) > 1e-9 for v in sums.values()):
                out[(row["variant_key"], row["hour"], row["country"], row["device"])] = sums
    return out


def _assert_same_buckets(kept: dict[Any, Any], scanned: dict[Any, Any]) -> None:
    assert kept.keys() == scanned.keys()
    for bucket, sums in scanned.items():
        assert kept[bucket] == pytest.approx(sums, rel=1e-12, abs=1e-9), bucket


def _assert_kept_equals_rebuilt(engine: Engine, cap: float | None = CAP) -> None:
    kept = _buckets(engine)
    outcome_sums.rebuild(engine, KEY, cap, DAY)  # recomputed from every visitor's row
    _assert_same_buckets(kept, _buckets(engine))


def _random_batches(rng: random.Random, rounds: int) -> list[list[EventRecord]]:
    """Readers over three days: impressions arriving late (an earlier first exposure moves a
    reader to another hour), views without exposure, remind-later then a donation in a later
    batch, donations in cents above and below the cap, countries and devices first seen late."""
    readers = [f"reader-{i:04d}" for i in range(80)]
    variant = {r: rng.choice(["control", "five-dollars"]) for r in readers}
    batches = []
    n = 0
    for _ in range(rounds):
        batch = []
        for _ in range(rng.randint(20, 60)):
            reader = rng.choice(readers)
            n += 1
            kind = rng.choices(
                ["impression", "view", "click", "dismiss", "conversion"], [5, 3, 1, 2, 2]
            )[0]
            extra: dict[str, Any] = {}
            if kind == "dismiss":
                extra["reason"] = rng.choice(["remind_later", "close", "already_donated"])
            if kind == "conversion":
                extra["amount_minor"] = rng.choice([199, 500, 750, 1000, 2599])
                extra["frequency"] = rng.choice(["one_off", "monthly", "annual"])
            if rng.random() < 0.5:
                extra["country"] = rng.choice(["US", "GB", "DE"])
            if rng.random() < 0.5:
                extra["device"] = rng.choice(["mobile", "desktop"])
            at = timedelta(minutes=rng.randint(0, 3 * 24 * 60))
            batch.append(
                event(f"e-{n}", kind, at=at, visitor=reader, variant=variant[reader], **extra)
            )
        batches.append(batch)
    return batches


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kept_sums_follow_every_batch_exactly(clean_db: Engine, seed: int) -> None:
    _keep(clean_db)
    writer = EventWriter(clean_db)
    rng = random.Random(seed)
    batches = _random_batches(rng, 12)
    for i, batch in enumerate(batches):
        writer.write(batch)
        if i % 4 == 3:
            writer.write(batches[i - 1])  # a replay: nothing new, nothing counted twice
            erase_visitor(clean_db, rng.choice(batch).visitor)
            _assert_kept_equals_rebuilt(clean_db)
    _assert_kept_equals_rebuilt(clean_db)


def _report_figures(engine: Engine, cap: float | None) -> list[Any]:
    figures: list[Any] = []
    for start, end in [(None, None), (date(2026, 11, 28), None), (None, date(2026, 11, 28))]:
        for segment in (None, "country", "device"):
            rows = arm_totals(engine, KEY, start=start, end=end, segment=segment, revenue_cap=cap)
            figures.append(sorted(rows, key=lambda r: (r.variant, r.segment or "")))
        # A shipped experiment's "since shipping" part: first exposed from a whole hour on.
        for since in (DAY + 30 * H, DAY + 61 * H):
            rows = arm_totals(
                engine, KEY, start=start, end=end, segment=None, revenue_cap=cap, since=since
            )
            figures.append(sorted(rows, key=lambda r: r.variant))
        days = day_totals(engine, KEY, start=start, end=end, revenue_cap=cap)
        # Hourly points first (the experiment's first 48 hours), each at its hour of the day.
        points = [((d.day, -1 if d.hour is None else d.hour), d.totals) for d in days]
        figures.append(sorted(points, key=lambda p: (p[0], p[1].variant)))
    return figures


def _assert_same_figures(kept: list[Any], scanned: list[Any]) -> None:
    assert len(kept) == len(scanned)
    for a, b in zip(kept, scanned, strict=True):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            x_totals = x[1] if isinstance(x, tuple) else x
            y_totals = y[1] if isinstance(y, tuple) else y
            if isinstance(x, tuple):
                assert x[0] == y[0]
            assert isinstance(x_totals, ArmTotals)
            assert dataclasses.astuple(x_totals)[:2] == dataclasses.astuple(y_totals)[:2]
            assert dataclasses.asdict(x_totals) == pytest.approx(
                dataclasses.asdict(y_totals), rel=1e-12, abs=1e-9
            )


def test_the_report_reads_the_same_figures_kept_or_scanned(clean_db: Engine) -> None:
    _keep(clean_db)
    writer = EventWriter(clean_db)
    for batch in _random_batches(random.Random(7), 10):
        writer.write(batch)
    kept = _report_figures(clean_db, CAP)
    assert any(rows for rows in kept), "the workload exposed nobody"
    with clean_db.begin() as conn:
        outcome_sums.drop(conn, KEY)  # no kept sums: the report scans
    _assert_same_figures(kept, _report_figures(clean_db, CAP))


def test_a_new_cap_drops_the_sums_and_the_scheduler_rebuilds_them(clean_db: Engine) -> None:
    repo = ExperimentRepo(clean_db)
    doc = experiment_doc(key=KEY)
    doc["analysis"] = {**doc.get("analysis", {}), "revenue_cap": CAP}
    stored = repo.create(parse_experiment(doc), "test", DAY)
    with clean_db.connect() as conn:
        assert outcome_sums.kept_caps(conn, [KEY]) == {KEY: CAP}  # kept from creation
    writer = EventWriter(clean_db)
    for batch in _random_batches(random.Random(11), 6):
        writer.write(batch)
    at_old_cap = _report_figures(clean_db, CAP)

    doc["analysis"]["revenue_cap"] = 3.0
    repo.save(parse_experiment(doc), action="edit", actor="test", now=DAY)
    with clean_db.connect() as conn:
        assert outcome_sums.kept_caps(conn, [KEY]) == {}
    scanned = _report_figures(clean_db, 3.0)  # the scan, at the new cap
    assert scanned != at_old_cap  # the cap bites on this workload

    assert SumsKeeper(clean_db).run(DAY + H) == [KEY]
    assert SumsKeeper(clean_db).run(DAY + 2 * H) == []  # nothing stale any more
    with clean_db.connect() as conn:
        assert outcome_sums.kept_caps(conn, [KEY]) == {KEY: 3.0}
    _assert_same_figures(_report_figures(clean_db, 3.0), scanned)
    del stored


def test_a_reader_created_by_another_flusher_meanwhile_is_written_again(
    clean_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two flushers bring the first events of the same reader at once: the one that looked
    for the reader before the other created them retries its batch, and nothing is lost or
    counted twice."""
    if clean_db.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: two flushers cannot interleave there")
    _keep(clean_db)
    first, second = EventWriter(clean_db), EventWriter(clean_db)
    original = outcome_sums.RunningSums.before
    calls = {"n": 0}

    def before(self: outcome_sums.RunningSums, conn: Any, keys: Any) -> Any:
        pending = original(self, conn, keys)
        calls["n"] += 1
        if calls["n"] == 1:  # the other flusher commits the same new reader right now
            monkeypatch.setattr(outcome_sums.RunningSums, "before", original)
            second.write([event("b-imp", "impression", at=9 * H, country="GB")])
        return pending

    monkeypatch.setattr(outcome_sums.RunningSums, "before", before)
    first.write([event("a-imp", "impression", at=10 * H), event("a-view", "view", at=11 * H)])
    rows = arm_totals(clean_db, KEY, start=None, end=None, segment=None, revenue_cap=CAP)
    assert [(r.variant, r.visitors, r.impressions, r.views) for r in rows] == [("control", 1, 2, 1)]
    _assert_kept_equals_rebuilt(clean_db)
