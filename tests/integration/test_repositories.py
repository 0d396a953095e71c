"""The SQL repositories on the configured backend."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from service.domain.experiment import Status
from service.domain.roles import Role
from service.schemas.experiment import parse_experiment
from service.store.sql.experiments_repo import ExperimentExists, ExperimentRepo, StaleRevision
from service.store.sql.tokens_repo import TokenRepo
from service.store.sql.users_repo import InvalidUser, UserExists, UserRepo
from tests.support import FakeClock, experiment_doc


def test_experiment_create_save_and_history(clean_db: Engine) -> None:
    clock = FakeClock()
    repo = ExperimentRepo(clean_db)
    stored = repo.create(parse_experiment(experiment_doc()), "alice", clock())
    assert stored.revision == 1
    assert stored.created_at == clock()
    clock.advance(minutes=5)
    started = repo.save(
        stored.experiment.with_status(Status.running),
        action="start",
        actor="bob",
        now=clock(),
        expected_revision=1,
    )
    assert started.revision == 2
    assert started.started_at == clock()
    assert repo.running() == [started.experiment]
    history = repo.history("monthly-ask")
    assert history is not None
    assert [(r.revision, r.actor, r.action) for r in history] == [
        (2, "bob", "start"),
        (1, "alice", "create"),
    ]
    assert history[1].changes[0]["op"] == "added"


def test_experiment_keys_are_unique(clean_db: Engine) -> None:
    repo = ExperimentRepo(clean_db)
    repo.create(parse_experiment(experiment_doc()), "alice", FakeClock()())
    with pytest.raises(ExperimentExists):
        repo.create(parse_experiment(experiment_doc()), "alice", FakeClock()())


def test_concurrent_edits_cannot_both_win(clean_db: Engine) -> None:
    repo = ExperimentRepo(clean_db)
    now = FakeClock()()
    stored = repo.create(parse_experiment(experiment_doc()), "alice", now)
    repo.save(
        parse_experiment(experiment_doc(name="A")),
        action="update",
        actor="a",
        now=now,
        expected_revision=stored.revision,
    )
    with pytest.raises(StaleRevision):
        repo.save(
            parse_experiment(experiment_doc(name="B")),
            action="update",
            actor="b",
            now=now,
            expected_revision=stored.revision,
        )
    current = repo.get("monthly-ask")
    assert current is not None and current.experiment.name == "A"


def test_tokens_authenticate_by_hash(clean_db: Engine) -> None:
    repo = TokenRepo(clean_db)
    clock = FakeClock()
    _, plain = repo.create("ci", Role.editor, clock())
    assert plain.startswith("sf_") and len(plain) > 40
    found = repo.authenticate(plain, clock())
    assert found is not None and found.role == Role.editor and found.name == "ci"
    assert repo.authenticate(plain + "x", clock()) is None


def test_users_verify_passwords(clean_db: Engine) -> None:
    repo = UserRepo(clean_db)
    clock = FakeClock()
    repo.create("Editor@Newsroom.example", "correct horse battery", Role.editor, clock())
    assert repo.verify("editor@newsroom.example", "correct horse battery", clock()) is not None
    assert repo.verify("editor@newsroom.example", "wrong password!", clock()) is None
    assert repo.verify("nobody@newsroom.example", "correct horse battery", clock()) is None
    with pytest.raises(UserExists):
        repo.create("editor@newsroom.example", "another password", Role.viewer, clock())
    with pytest.raises(InvalidUser) as short:
        repo.create("x@newsroom.example", "short", Role.viewer, clock())
    assert short.value.field == "password"
