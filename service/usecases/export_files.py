"""The files of a finished export run, for download from the dashboard and the admin API.

Only a file its run recorded can be asked for, by its exact name, and only from a `directory`
destination: the path is the run's recorded directory and that name, and it must still resolve
inside EXPORT_DIR (a symlink or a moved EXPORT_DIR cannot lead elsewhere). Anything else is
NotFound; a recorded file deleted since is FileGone, so people learn it existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from service.domain.errors import NotFound
from service.domain.export_schedule import DestinationType
from service.store.sql.exports_repo import ExportRepo, ExportRun, RunFile
from service.wiring import Services


class FileGone(NotFound):
    """The run wrote this file, but it is no longer there (deleted or moved since)."""


@dataclass(frozen=True, slots=True)
class LocalFile:
    path: Path
    file: RunFile


def run_of(svc: Services, schedule_id: int, run_id: int) -> ExportRun:
    run = ExportRepo(svc.engine).run(run_id)
    if run is None or run.schedule_id != schedule_id:
        raise NotFound(f"no run {run_id} of export schedule {schedule_id}")
    return run


def is_local(run: ExportRun) -> bool:
    """Whether the run's files were written to this server, so they can be downloaded."""
    return run.destination_type == DestinationType.directory and run.destination is not None


def local_file(svc: Services, schedule_id: int, run_id: int, name: str) -> LocalFile:
    """The file to send; NotFound unless the run recorded it locally, FileGone if deleted."""
    run = run_of(svc, schedule_id, run_id)
    recorded = run.file(name)
    if recorded is None:
        raise NotFound(f"run {run_id} delivered no file named {name!r}")
    if not is_local(run):
        raise NotFound(f"run {run_id} sent {name} to {run.destination}; this server keeps no copy")
    assert run.destination is not None
    root = svc.settings.export_dir.resolve()
    path = (Path(run.destination) / recorded.name).resolve()
    if not path.is_relative_to(root):
        raise NotFound(f"{name} is not under this server's EXPORT_DIR")
    if not path.is_file():
        raise FileGone(
            f"the file is gone: {name} was written to {run.destination} by run {run_id}, "
            "and has been deleted or moved since"
        )
    return LocalFile(path, recorded)
