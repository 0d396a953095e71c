"""The export scheduler on a real database: due runs, exactly once across racing schedulers,
catch-up after downtime, and a dead scheduler's run taken over."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from service.domain.export_schedule import RunStatus
from service.settings import Settings
from service.store.sql.delivery_tables import export_runs
from service.store.sql.exports_repo import ExportRepo, ExportRun
from tests.integration.export_support import (
    at,
    save_schedule,
    schedule,
    scheduler,
    seed_figures,
    start_experiment,
)
from tests.support import FakeClock


@pytest.fixture
def seeded(clean_db: Engine) -> Engine:
    start_experiment(clean_db)
    seed_figures(clean_db)
    return clean_db


def test_a_due_run_happens_once_and_lands_in_its_directory(
    seeded: Engine, settings: Settings
) -> None:
    stored = save_schedule(seeded, at(27, 12))
    clock = FakeClock(at(28, 5, 59))
    worker = scheduler(seeded, settings, clock)
    assert worker.run_pending() == []  # 06:00 has not come yet

    clock.now = at(28, 6)
    (run,) = worker.run_pending()
    assert run.status == RunStatus.succeeded and run.error is None
    assert run.fire_time == at(28, 6) and run.attempts == 1
    path = settings.export_dir / "board" / f"monthly-ask_2026-11-26_2026-11-28_run{run.id}.csv"
    assert run.destination == str(path.parent)
    assert path.stat().st_size == run.bytes
    assert run.rows == 2 + 2 * 2  # a summary row per variant, a day row per variant and day
    clock.advance(minutes=30)
    assert worker.run_pending() == []  # claimed: never again
    assert [r.id for r in ExportRepo(seeded).runs(stored.id)] == [run.id]


def test_two_schedulers_racing_run_each_fire_time_once(seeded: Engine, settings: Settings) -> None:
    save_schedule(seeded, at(24, 12))  # 25, 26, 27 and 28 at 06:00 are due
    clock = FakeClock(at(28, 7))
    replicas = [scheduler(seeded, settings, clock) for _ in range(2)]
    start = threading.Barrier(2)
    done: list[list[ExportRun]] = [[], []]

    def poll(index: int) -> None:
        start.wait()
        done[index] = replicas[index].run_pending()

    threads = [threading.Thread(target=poll, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    runs = done[0] + done[1]
    assert sorted(r.fire_time for r in runs if r.fire_time) == [at(d, 6) for d in (25, 26, 27, 28)]
    assert all(r.status == RunStatus.succeeded for r in runs)
    with seeded.connect() as conn:
        assert conn.execute(select(func.count()).select_from(export_runs)).scalar() == 4
    files = sorted(p.name for p in (settings.export_dir / "board").iterdir())
    assert len(files) == 4 and not [f for f in files if f.startswith(".")]


def test_the_claim_itself_has_one_winner(seeded: Engine) -> None:
    stored = save_schedule(seeded, at(24))
    start = threading.Barrier(8)
    wins: list[ExportRun | None] = []

    def claim(n: int) -> None:
        start.wait()
        wins.append(ExportRepo(seeded).claim_fire(stored.id, at(28, 6), f"w{n}", at(28, 6)))

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(wins) == 8 and len([w for w in wins if w is not None]) == 1


def test_missed_runs_are_caught_up_after_downtime(seeded: Engine, settings: Settings) -> None:
    save_schedule(seeded, at(20, 12))
    runs = scheduler(seeded, settings, FakeClock(at(28, 12))).run_pending()
    assert [r.fire_time for r in runs] == [at(d, 6) for d in range(21, 29)]  # oldest first
    # A catch-up run covers the data up to its own day.
    names = {p.name for p in (settings.export_dir / "board").iterdir()}
    assert f"monthly-ask_2026-11-26_2026-11-27_run{runs[-2].id}.csv" in names


def test_without_catch_up_only_the_latest_missed_run_happens(
    seeded: Engine, settings: Settings
) -> None:
    save_schedule(seeded, at(20, 12), catch_up=False)
    runs = scheduler(seeded, settings, FakeClock(at(28, 12))).run_pending()
    assert [r.fire_time for r in runs] == [at(28, 6)]


def test_an_edit_or_a_re_enable_does_not_fire_for_times_before_it(
    seeded: Engine, settings: Settings
) -> None:
    stored = save_schedule(seeded, at(20, 12), enabled=False)
    clock = FakeClock(at(27, 12))
    worker = scheduler(seeded, settings, clock)
    assert worker.run_pending() == []  # disabled
    ExportRepo(seeded).update(stored.id, schedule(enabled=True), at(27, 12))
    clock.now = at(28, 12)
    assert [r.fire_time for r in worker.run_pending()] == [at(28, 6)]


def test_a_run_left_by_a_dead_scheduler_is_taken_over(seeded: Engine, settings: Settings) -> None:
    stored = save_schedule(seeded, at(27, 12))
    repo = ExportRepo(seeded)
    ghost = repo.claim_fire(stored.id, at(28, 6), "ghost", at(28, 6))  # then the process died
    assert ghost is not None
    clock = FakeClock(at(28, 6, 30))
    worker = scheduler(seeded, settings, clock, lease=timedelta(hours=1))
    assert worker.run_pending() == []  # within the lease: maybe still working
    clock.now = at(28, 7, 1)
    (run,) = worker.run_pending()
    assert run.id == ghost.id and run.status == RunStatus.succeeded and run.attempts == 2
    # The dead scheduler's late word cannot overwrite the record.
    assert not repo.finish(ghost, status=RunStatus.failed, now=clock(), error="late")
    assert repo.run(ghost.id) == run


def test_run_forever_survives_errors_and_stops_on_the_event(
    seeded: Engine, settings: Settings, tmp_path: Path
) -> None:
    save_schedule(seeded, at(27, 12))
    worker = scheduler(seeded, settings, FakeClock(at(28, 6)))
    calls: list[int] = []
    real = worker.run_pending
    stop = threading.Event()

    def flaky() -> list[ExportRun]:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("database is away")
        if len(calls) == 3:
            stop.set()
        return real()

    worker.run_pending = flaky  # type: ignore[method-assign]
    thread = threading.Thread(target=worker.run_forever, args=(stop, 0.01))
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(calls) == 3
    assert len(worker.repo.runs(worker.repo.find()[0].id)) == 1
