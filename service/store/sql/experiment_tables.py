"""The experiments' tables: each experiment's document, its revision history, and the history
of a bandit's allocation weights. Part of tables.metadata (tables.py imports this module).
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from service.store.sql.schema import KEY, metadata
from service.store.sql.types import Document, UtcDateTime

experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", KEY, nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("placement", String(32), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("priority", Integer, nullable=False),
    # The canonical document (Experiment.to_document()); the columns above are copies for
    # filtering and ordering without parsing JSON.
    Column("document", Document, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime),
    Column("stopped_at", UtcDateTime),
)

experiment_revisions = Table(
    "experiment_revisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("action", String(16), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("document", Document, nullable=False),
    Column("changes", Document, nullable=False),
    UniqueConstraint("experiment_id", "revision"),
)


# Weights a bandit experiment's allocation used from `effective_at` on (issue on bandits): the
# decision path reads the live weights from the experiment document; this is their history,
# which the report needs to stratify by period so that lifts stay unbiased.
bandit_weights = Table(
    "bandit_weights",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("experiment_key", KEY, nullable=False),
    Column("effective_at", UtcDateTime, nullable=False),
    Column("weights", Document, nullable=False),  # {variant key: weight}
    Column("reason", Text, nullable=False),
    Column("details", Document, nullable=False),  # per-arm n, conversions, P(best)
    UniqueConstraint("experiment_key", "effective_at"),
)
