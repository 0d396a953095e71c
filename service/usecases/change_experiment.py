"""Changing an experiment, the same way from the admin API and from the dashboard: validate,
check the lifecycle's rules, store an audited revision, tell the decision caches.

Callers prepare the document and turn the errors into their own answers (JSON or a form):
ValidationFailed (bad fields), EditNotAllowed, TransitionNotAllowed, StaleRevision (someone
saved in between) and ExperimentExists.
"""

from __future__ import annotations

from typing import Any

from service.domain.experiment import Experiment
from service.domain.lifecycle import SHIP, UNSHIP, Action, check_update, next_status, ship, unship
from service.domain.webhook_targets import AllowList
from service.schemas.experiment import parse_experiment
from service.store.sql.experiments_repo import StoredExperiment
from service.wiring import Services


def webhook_allow(svc: Services) -> AllowList:
    """Where an experiment's alert webhooks may point (EXPORT_WEBHOOK_ALLOW), checked on save."""
    return AllowList.parse(svc.settings.export_webhook_allow)


def create(svc: Services, experiment: Experiment, actor: str) -> StoredExperiment:
    """A new experiment, parsed by the caller, which decides what a non-draft status means."""
    stored = svc.experiments.create(experiment, actor, svc.clock())
    svc.announce_config_change()
    return stored


def update(
    svc: Services,
    current: StoredExperiment,
    document: dict[str, Any],
    *,
    actor: str,
    expected_revision: int | None,
) -> StoredExperiment:
    updated = parse_experiment(document, webhook_allow=webhook_allow(svc))
    check_update(current.experiment, updated)
    stored = svc.experiments.save(
        updated, action="update", actor=actor, now=svc.clock(), expected_revision=expected_revision
    )
    svc.announce_config_change()
    return stored


def apply_action(
    svc: Services,
    current: StoredExperiment,
    action: Action,
    *,
    actor: str,
    expected_revision: int | None,
) -> StoredExperiment:
    """start, pause, stop or archive."""
    status = next_status(current.experiment.status, action)
    stored = svc.experiments.save(
        current.experiment.with_status(status),
        action=str(action),
        actor=actor,
        now=svc.clock(),
        expected_revision=expected_revision,
    )
    svc.announce_config_change()
    return stored


def ship_variant(
    svc: Services,
    current: StoredExperiment,
    variant: str,
    holdout: float,
    *,
    actor: str,
    expected_revision: int | None,
) -> StoredExperiment:
    """End the test and show `variant` to every eligible reader but a `holdout` share."""
    return _save(svc, ship(current.experiment, variant, holdout), SHIP, actor, expected_revision)


def unship_variant(
    svc: Services, current: StoredExperiment, *, actor: str, expected_revision: int | None
) -> StoredExperiment:
    """Back to the status it was shipped from; readers get their test assignments again."""
    return _save(svc, unship(current.experiment), UNSHIP, actor, expected_revision)


def _save(
    svc: Services, experiment: Experiment, action: str, actor: str, expected_revision: int | None
) -> StoredExperiment:
    stored = svc.experiments.save(
        experiment, action=action, actor=actor, now=svc.clock(), expected_revision=expected_revision
    )
    svc.announce_config_change()
    return stored
