"""The event log and what is counted from it: events, webhook payments, one outcome row per
visitor, daily rollups, the report's kept sums, and the sampled decision log. Part of
tables.metadata (tables.py imports this module).

Money is kept in integer minor units of its own currency (`amount_minor` + `currency`) and,
once converted at ingest, as a float in the experiment's reporting currency (`revenue`).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    Index,
    Integer,
    String,
    Table,
)

from service.domain.arm_totals import SUM_FIELDS
from service.store.sql.schema import KEY, VISITOR, metadata
from service.store.sql.types import Document, UtcDateTime

# The durable event log. event_id is the client's UUID (or a derived id for webhook credits),
# unique so that a replayed flush or a retried beacon can never count twice.
events = Table(
    "events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("event_id", String(80), nullable=False, unique=True),
    Column("type", String(16), nullable=False),
    Column("experiment_key", KEY, nullable=False),
    Column("variant_key", KEY, nullable=False),
    Column("visitor", VISITOR, nullable=False, index=True),
    Column("ts", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("reason", String(32)),
    Column("amount_minor", BigInteger),
    Column("currency", String(3)),
    Column("frequency", String(16)),
    Column("revenue", Float),
    Column("country", String(2)),
    Column("device", String(16)),
    Column("source", String(16), nullable=False),
    # False: kept for the record, not counted in results (untrusted client conversions).
    Column("counted", Boolean, nullable=False, default=True),
    Column("payment_id", String(128)),
    # An impression's article_views as sent on its decision request (the CUPED covariate).
    Column("article_views", Integer),
    Index("ix_events_experiment_ts", "experiment_key", "ts"),
)

# Payments reported by the webhook, idempotent by the provider's payment id.
payments = Table(
    "payments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("payment_id", String(128), nullable=False, unique=True),
    Column("visitor", VISITOR, nullable=False, index=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("frequency", String(16), nullable=False),
    Column("ts", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)

# One row per (experiment, visitor): the unit of analysis. Reports sum these rows into
# sufficient statistics (n, sum, sum of squares) per variant.
visitor_outcomes = Table(
    "visitor_outcomes",
    metadata,
    Column("experiment_key", KEY, primary_key=True),
    Column("visitor", VISITOR, primary_key=True, index=True),
    Column("variant_key", KEY, nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=False),
    # The first impression; NULL until the visitor has had one (only exposed visitors count).
    Column("first_exposure_at", UtcDateTime),
    Column("last_event_at", UtcDateTime, nullable=False),
    Column("country", String(2)),
    Column("device", String(16)),
    Column("impressions", Integer, nullable=False, default=0),
    Column("views", Integer, nullable=False, default=0),
    Column("clicks", Integer, nullable=False, default=0),
    Column("dismiss_remind_later", Integer, nullable=False, default=0),
    Column("dismiss_close", Integer, nullable=False, default=0),
    Column("dismiss_already_donated", Integer, nullable=False, default=0),
    Column("first_remind_later_at", UtcDateTime),
    Column("conversions", Integer, nullable=False, default=0),
    Column("revenue", Float, nullable=False, default=0.0),
    Column("annualised_value", Float, nullable=False, default=0.0),
    Column("recurring_conversions", Integer, nullable=False, default=0),
    Column("converted_after_remind_later", Boolean, nullable=False, default=False),
    # The article_views of the first impression's decision request: read before the banner
    # showed, so the variant cannot move it, which is what lets CUPED adjust by it. NULL when
    # that impression did not say (reports count it as 0).
    Column("pre_article_views", Integer),
    # Money after the conversion (service/domain/payment_model.py); `revenue` and
    # `annualised_value` above are already net of it.
    Column("renewals", Integer, nullable=False, default=0),
    Column("renewal_revenue", Float, nullable=False, default=0.0),
    Column("refunds", Integer, nullable=False, default=0),
    Column("refunded", Float, nullable=False, default=0.0),  # refunds and disputes, positive
    Column("cancellations", Integer, nullable=False, default=0),
    Index("ix_visitor_outcomes_experiment_variant", "experiment_key", "variant_key"),
)

# Event counts per experiment, variant and UTC day, for daily charts and exports.
daily_rollups = Table(
    "daily_rollups",
    metadata,
    Column("experiment_key", KEY, primary_key=True),
    Column("variant_key", KEY, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("new_visitors", Integer, nullable=False, default=0),
    Column("impressions", Integer, nullable=False, default=0),
    Column("views", Integer, nullable=False, default=0),
    Column("clicks", Integer, nullable=False, default=0),
    Column("dismiss_remind_later", Integer, nullable=False, default=0),
    Column("dismiss_close", Integer, nullable=False, default=0),
    Column("dismiss_already_donated", Integer, nullable=False, default=0),
    Column("conversions", Integer, nullable=False, default=0),
    Column("revenue", Float, nullable=False, default=0.0),
    Column("annualised_value", Float, nullable=False, default=0.0),
    Column("renewals", Integer, nullable=False, default=0),
    Column("renewal_revenue", Float, nullable=False, default=0.0),
    Column("refunds", Integer, nullable=False, default=0),
    Column("refunded", Float, nullable=False, default=0.0),
    Column("cancellations", Integer, nullable=False, default=0),
)

# The report's sums (ArmTotals) over exposed visitors, per bucket: variant, hour of first
# exposure (whole hours since the epoch, UTC) and the country and device a visitor's outcome
# holds ('' when it holds none: key columns cannot be NULL). The flusher keeps them in the
# transaction that changes the outcomes (store/sql/outcome_sums.py), so a report sums a few
# thousand rows instead of scanning one row per visitor.
outcome_sums = Table(
    "outcome_sums",
    metadata,
    Column("experiment_key", KEY, primary_key=True),
    Column("variant_key", KEY, primary_key=True),
    Column("hour", BigInteger, primary_key=True),
    Column("country", String(2), primary_key=True),
    Column("device", String(16), primary_key=True),
    *(
        Column(name, Float if kind is float else BigInteger, nullable=False, default=kind())
        for name, kind in SUM_FIELDS
    ),
)

# Which experiments' outcome_sums are complete, and for which revenue cap (the capped sums
# depend on it). No row: not kept yet, or the cap changed; reports scan visitor_outcomes
# until `outcome_sums.rebuild` has run (the scheduler does it).
outcome_sums_state = Table(
    "outcome_sums_state",
    metadata,
    Column("experiment_key", KEY, primary_key=True),
    Column("revenue_cap", Float),
    Column("built_at", UtcDateTime, nullable=False),
)


# A sample of decisions, "no banner" ones with their reason included, written by the flusher
# from the event stream; read for the "why no banner" view and the dry run of an experiment.
decision_log = Table(
    "decision_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("entry_id", String(40), nullable=False, unique=True),  # idempotent writes
    Column("decided_at", UtcDateTime, nullable=False),
    Column("day", Date, nullable=False),
    Column("placement", String(32), nullable=False),
    Column("outcome", String(32), nullable=False),  # "shown" or the reason for no banner
    Column("experiment_key", KEY),
    Column("variant_key", KEY),
    Column("country", String(2)),
    Column("device", String(16)),
    Column("language", String(8)),
    Column("section", String(64)),
    Column("tags", Document, nullable=False),
    Column("article_views", Integer, nullable=False),
    Column("supporter", Boolean, nullable=False),
    Column("sample_rate", Float, nullable=False),
    Index("ix_decision_log_day_outcome", "day", "outcome"),
)
