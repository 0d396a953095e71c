"""Every SQL table, as SQLAlchemy Core metadata: importing this module fills `metadata` with
all of them, which is what the migrations and the tests' schema need.

The tables themselves live in one module per area; import a table from its own module:

- experiment_tables: experiments, their revisions, a bandit's weight history
- access_tables: users, dashboard sessions, API tokens, set-password links, the admin audit
- event_tables: the event log, payments, visitor outcomes, daily rollups, the report's kept
  sums, the decision log
- delivery_tables: export schedules and runs, verdict alerts and their deliveries, reminders
- payment_tables: the payment model's facts, money, ids and credits

The Alembic migrations create exactly this schema; a test compares the two so they never
drift. Core (not the ORM) because the hot writers (flusher, reports) work in set-based batches.
"""

from __future__ import annotations

# Importing each area's module adds its tables to `metadata`.
from service.store.sql import (  # noqa: F401
    access_tables,
    delivery_tables,
    event_tables,
    experiment_tables,
    payment_tables,
)
from service.store.sql.schema import KEY, VISITOR, metadata

__all__ = ["KEY", "VISITOR", "metadata"]
