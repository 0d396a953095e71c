"""Every destination kind has its config, its stored form and its delivery, found by kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.domain.export_schedule import (
    DESTINATION_KINDS,
    DestinationType,
    DirectoryDestination,
    EmailDestination,
    WebhookDestination,
    stored_destination,
)
from service.jobs.exports.destinations import DESTINATIONS, DeliveryFailed, deliver
from service.jobs.exports.files import ExportFile
from service.settings import Settings


def test_every_kind_has_a_config_and_a_delivery() -> None:
    assert set(DESTINATION_KINDS) == set(DESTINATIONS) == set(DestinationType)
    for kind, config in DESTINATION_KINDS.items():
        assert DESTINATIONS[kind].kind == kind
        assert config.__dataclass_fields__["type"].default == kind


@pytest.mark.parametrize(
    "destination",
    [
        DirectoryDestination("weekly/board"),
        WebhookDestination("https://hooks.example/x", "s" * 16),
        EmailDestination(("a@b.org", "c@d.org"), None),
        EmailDestination(("a@b.org",), "Board figures"),
    ],
)
def test_stored_documents_read_back_to_the_same_destination(
    destination: DirectoryDestination | WebhookDestination | EmailDestination,
) -> None:
    assert stored_destination(destination.to_document()) == destination


def test_a_stored_document_without_a_type_is_a_directory() -> None:
    assert stored_destination({"path": "old"}) == DirectoryDestination("old")


def test_deliver_goes_to_the_destination_of_the_configs_kind(tmp_path: Path) -> None:
    settings = Settings.from_env({"EXPORT_DIR": str(tmp_path), "SMTP_HOST": ""})
    file = ExportFile("a_run1.csv", "a", b"x,y\r\n", "text/csv; charset=utf-8", 1)
    where = deliver(
        DirectoryDestination("out"), [file], run_id=1, subject="s", digest="d", settings=settings
    )
    assert where == str(tmp_path.resolve() / "out")
    assert (tmp_path / "out" / "a_run1.csv").read_bytes() == b"x,y\r\n"
    with pytest.raises(DeliveryFailed, match="SMTP_HOST"):
        deliver(
            EmailDestination(("a@b.org",)), [file], run_id=1, subject="s", digest="d",
            settings=settings,
        )  # fmt: skip
