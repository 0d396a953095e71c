"""The per-process object graph: connections and repositories, built once, passed explicitly."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine

from service.clock import Clock, utc_now
from service.domain.tokens import CLOCK_SKEW_SECONDS, TokenSigner
from service.settings import Settings
from service.store.experiment_cache import ExperimentCache
from service.store.redis import config_version
from service.store.redis.client import REDIS_ERRORS, RedisClient, connect
from service.store.redis.event_ingest import EventIngest
from service.store.redis.flusher_leases import partitions_in_use
from service.store.redis.keys import Keys
from service.store.redis.ledger import LedgerStore
from service.store.sql.engine import build_engine
from service.store.sql.event_writer import EventWriter
from service.store.sql.experiments_repo import ExperimentRepo
from service.store.sql.tokens_repo import TokenRepo
from service.store.sql.users_repo import UserRepo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: Engine
    redis: RedisClient
    keys: Keys
    experiments: ExperimentRepo
    tokens: TokenRepo
    users: UserRepo
    ledger: LedgerStore
    experiment_cache: ExperimentCache
    signer: TokenSigner
    event_ingest: EventIngest
    event_writer: EventWriter
    clock: Clock

    @classmethod
    def build(cls, settings: Settings, clock: Clock = utc_now) -> Services:
        engine = build_engine(settings.database_url)
        client = connect(settings)
        keys = Keys(settings.redis_prefix, settings.event_partitions)
        _record_partition_count(client, keys)
        experiments = ExperimentRepo(engine)
        return cls(
            settings=settings,
            engine=engine,
            redis=client,
            keys=keys,
            experiments=experiments,
            tokens=TokenRepo(engine),
            users=UserRepo(engine),
            ledger=LedgerStore(client, keys, settings.ledger_ttl_days * 86_400),
            experiment_cache=ExperimentCache(
                lambda: [stored.experiment for stored in experiments.find()],
                lambda: config_version.current(client, keys),
                check_every=settings.config_check_ms / 1000,
            ),
            signer=TokenSigner(settings.secret_key),
            event_ingest=EventIngest(
                client,
                keys,
                dedupe_window=settings.token_max_age_hours * 3600 + CLOCK_SKEW_SECONDS,
                ledger_ttl=settings.ledger_ttl_days * 86_400,
                rate_limit_per_minute=settings.rate_limit_per_minute,
            ),
            event_writer=EventWriter(engine),
            clock=clock,
        )

    def announce_config_change(self) -> bool:
        """Tell every decision cache to reload. Best effort: SQL already holds the change, and
        caches also reload on a maximum age, so a Redis outage delays it rather than losing it."""
        try:
            config_version.bump(self.redis, self.keys)
            return True
        except REDIS_ERRORS as exc:
            log.warning("config version not bumped, caches will catch up by age: %s", exc)
            return False

    def close(self) -> None:
        self.engine.dispose()
        self.redis.close()


def _record_partition_count(client: RedisClient, keys: Keys) -> None:
    """Let the flushers know how many partitions this process writes to (they drain the
    largest count any process has used). Best effort: the flushers record their own too."""
    try:
        partitions_in_use(client, keys)
    except REDIS_ERRORS as exc:
        log.warning("partition count not recorded: %s", exc)
