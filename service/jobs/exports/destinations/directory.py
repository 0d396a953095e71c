"""Export files written to a directory under EXPORT_DIR."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from service.domain.export_schedule import DestinationType, DirectoryDestination
from service.jobs.exports.destinations.base import Delivery, DeliveryFailed
from service.jobs.exports.files import ExportFile, write_atomically


class ToDirectory:
    kind = DestinationType.directory

    def deliver(self, config: DirectoryDestination, delivery: Delivery) -> str:
        return to_directory(delivery.settings.export_dir, config.path, delivery.files)


def to_directory(base: Path, relative: str, files: Sequence[ExportFile]) -> str:
    root = base.resolve()
    target = (root / relative).resolve()
    # Validation already refuses "..", but a symlink inside EXPORT_DIR could still lead out.
    if not target.is_relative_to(root):
        raise DeliveryFailed(f"{relative} resolves outside EXPORT_DIR ({root})")
    try:
        for file in files:
            write_atomically(target / file.name, file.content)
    except OSError as exc:
        raise DeliveryFailed(f"cannot write to {target}: {exc.strerror or exc}") from None
    return str(target)
