"""`smallfavor schedule` and `smallfavor export` (DESIGN §5a): scheduled and ad-hoc exports.

The jobs themselves are in service/jobs/exports/; these commands parse flags, run them and
turn their errors into a one-line failure.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from service.cli.common import Failure, settings_from_env
from service.cli.registry import register
from service.clock import utc_now
from service.domain.export_schedule import ExportFormat, RunStatus
from service.log_format import configure_logging
from service.metrics import serve_metrics
from service.stop_signals import stop_on_signals

if TYPE_CHECKING:
    from sqlalchemy import Engine

FORMATS = click.Choice([f.value for f in ExportFormat])


@register
@click.command("schedule")
@click.option("--once", is_flag=True, help="Run what is due now, then exit.")
def schedule_command(once: bool) -> None:
    """Run scheduled exports, move bandit weights, send verdict alerts and e-mail reminders,
    and rebuild stale report sums, polling every EXPORT_POLL_SECONDS, until SIGTERM or with
    --once. Any number may run at once: each scheduled run (each bandit slot, each verdict
    change, each reminder) is claimed by exactly one."""
    from service.jobs.alerts import AlertJob  # pyarrow: too heavy to load early
    from service.jobs.exports.wiring import open_scheduler
    from service.jobs.outcome_sums import SumsKeeper
    from service.jobs.reminders import ReminderJob

    settings = settings_from_env()
    configure_logging(settings.log_level)

    def alerts(engine: Engine) -> Callable[[datetime], object]:
        return AlertJob(engine, settings).run

    def sums(engine: Engine) -> Callable[[datetime], object]:
        return SumsKeeper(engine).run

    def reminders(engine: Engine) -> Callable[[datetime], object]:
        return ReminderJob(engine, settings).run

    jobs = [alerts, sums, reminders]
    with open_scheduler(settings, bandits=True, jobs=jobs) as scheduler:
        if once:
            runs = scheduler.run_pending()
            failed = [r for r in runs if r.status != RunStatus.succeeded]
            click.echo(f"{len(runs)} export runs, {len(runs) - len(failed)} succeeded")
            if failed:
                first = failed[0]
                raise Failure(f"export run {first.id} {first.status}: {first.error}")
            return
        serve_metrics(settings.metrics_port)
        stop = threading.Event()  # SIGTERM/SIGINT: finish and record the attempt in hand
        stop_on_signals(stop)
        scheduler.run_forever(stop, settings.export_poll_seconds)


@register
@click.command("export")
@click.option("--schedule", "schedule_name", metavar="NAME", help="Run this schedule now.")
@click.option("--experiment", metavar="KEY", help="Export one experiment to --out.")
@click.option("--format", "fmt", type=FORMATS, help="With --experiment: csv, json or parquet.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="With --experiment.")
def export_command(
    schedule_name: str | None, experiment: str | None, fmt: str | None, out: Path | None
) -> None:
    """Export now: a schedule (recorded as one ad-hoc run, delivered to its destination) or
    one experiment to a file. For cron or a Kubernetes CronJob; exits 1 if it fails."""
    if (schedule_name is None) == (experiment is None):
        raise Failure("give either --schedule NAME or --experiment KEY")
    if experiment is not None:
        if fmt is None or out is None:
            raise Failure("--experiment needs --format csv|json|parquet and --out FILE")
        _export_experiment(experiment, ExportFormat(fmt), out)
        return
    if fmt is not None or out is not None:
        raise Failure("--format and --out go with --experiment; a schedule has its own")
    assert schedule_name is not None
    _export_schedule(schedule_name)


def _export_experiment(key: str, fmt: ExportFormat, out: Path) -> None:
    from service.jobs.exports.runner import ExportError, ExportRunner
    from service.store.sql.engine import build_engine

    settings = settings_from_env()
    engine = build_engine(settings.database_url)
    try:
        rows, size = ExportRunner(engine, settings).export_one(key, fmt, out, utc_now())
    except ExportError as exc:
        raise Failure(str(exc)) from None
    except OSError as exc:
        raise Failure(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        engine.dispose()
    click.echo(f"wrote {rows} rows ({size} bytes) of {key} to {out}")


def _export_schedule(name: str) -> None:
    from service.jobs.exports.wiring import open_scheduler

    settings = settings_from_env()
    configure_logging(settings.log_level)
    # One attempt: whoever runs the command (cron, a CronJob) retries it on a non-zero exit.
    with open_scheduler(settings, max_attempts=1) as scheduler:
        repo = scheduler.repo
        stored = repo.get_by_name(name)
        if stored is None:
            raise Failure(f"no export schedule named {name!r}")
        run = scheduler.attempt(stored, repo.start_adhoc(stored.id, scheduler.worker, utc_now()))
    if run.status != RunStatus.succeeded:
        raise Failure(f"export run {run.id} of {name!r} failed: {run.error}")
    click.echo(
        f"export run {run.id} of {name!r}: {run.rows} rows ({run.bytes} bytes) to {run.destination}"
    )
