"""Every SQL table, as SQLAlchemy Core metadata.

The Alembic migrations create exactly this schema; a test compares the two so they never
drift. Core (not the ORM) because the hot writers (flusher, reports) work in set-based batches.

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
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from service.domain.arm_totals import SUM_FIELDS

# The payment model's tables live in their own module; importing it adds them to `metadata`.
from service.store.sql import payment_tables  # noqa: F401
from service.store.sql.schema import KEY, VISITOR, metadata
from service.store.sql.types import Document, UtcDateTime

__all__ = ["KEY", "VISITOR", "metadata"]

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

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_login_at", UtcDateTime),
)

# Dashboard sign-ins. The cookie carries a random session id; only its SHA-256 is kept, so a
# copy of this table opens nothing. Ending a session deletes its row: logout, "sign out
# everywhere", and any change to the user's password, role or disabled flag.
dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column(
        "user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("user_agent", String(200), nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("role", String(16), nullable=False),
    # SHA-256 of the token: the token itself is shown once and never stored.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(12), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
)

# One-time set-password links, from an invitation or a password reset: only the SHA-256 of the
# link's token is kept; a link works once, before it expires.
password_links = Table(
    "password_links",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column(
        "user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
)

# Who changed users or API tokens, and when: one row per change, from the dashboard or the CLI.
# Kept apart from experiment_revisions, which audits experiments with their whole document.
admin_audit = Table(
    "admin_audit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(300), nullable=False),  # "user:<e-mail>" or "cli"
    Column("action", String(32), nullable=False),  # e.g. "token.create", "token.revoke"
    Column("subject", String(300), nullable=False),  # what it was done to, e.g. "token 3 'ci'"
    Index("ix_admin_audit_at", "at"),
)

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

export_schedules = Table(
    "export_schedules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("cron", String(100), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("experiments", Document, nullable=False),
    Column("format", String(16), nullable=False),
    Column("destination", Document, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("catch_up", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# One row per (schedule, fire time): the unique pair is the claim that makes a scheduled run
# happen once even with several scheduler replicas racing. Ad-hoc runs have no fire time.
export_runs = Table(
    "export_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("schedule_id", Integer, ForeignKey("export_schedules.id", ondelete="CASCADE")),
    Column("fire_time", UtcDateTime),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_by", String(100)),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("next_attempt_at", UtcDateTime),
    Column("rows", Integer),
    Column("bytes", BigInteger),
    Column("destination", Text),
    Column("error", Text),
    # What a succeeded run delivered, so the dashboard can offer a `directory` run's files for
    # download (only these names, under `destination`) and say where the others went.
    Column("destination_type", String(16)),  # export_schedule.DestinationType's values
    Column("files", Document),  # [{"name", "bytes", "rows", "media_type"}]
    UniqueConstraint("schedule_id", "fire_time"),
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

# Verdict alerts (docs/ALERTS.md): each experiment's verdict states, one row per change. The
# unique (experiment, revision) pair makes exactly one scheduler record each change; revision 1
# is the first evaluation, recorded without a message.
verdict_alerts = Table(
    "verdict_alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("experiment_key", KEY, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("state", Document, nullable=False),  # {variant key: verdict status}
    Column("changes", Document, nullable=False),  # [{variant, before, after, verdict}]
    Column("message", Document),  # {subject, text, payload}; None for the first evaluation
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(100), nullable=False),
    UniqueConstraint("experiment_key", "revision"),
)

# One row per watcher of a change, created with it: claimed, sent and retried like export runs.
alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "alert_id",
        Integer,
        ForeignKey("verdict_alerts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("channel", String(16), nullable=False),  # "email" or "webhook"
    Column("target", Text, nullable=False),  # the address or the URL
    Column("status", String(16), nullable=False),  # export_schedule.RunStatus's values
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_by", String(100)),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("next_attempt_at", UtcDateTime),
    Column("error", Text),
    UniqueConstraint("alert_id", "channel", "target"),
    Index("ix_alert_deliveries_status", "status"),
)

# E-mail reminders ("remind me later" with an address, docs/PRIVACY.md). One row per sign-up;
# `signup_key` (a keyed hash of the decision token and the normalised address) makes a repeated
# sign-up the same row. The address is kept only encrypted, and only while the reminder may
# still be sent: `email_cipher` and `email_hash` are cleared once it is sent, unsubscribed,
# expired or given up. The other columns stay (without the address) for the report's counts.
# Sending is claimed and retried as export runs are (store/sql/attempts.py's pattern).
reminders = Table(
    "reminders",
    metadata,
    Column("id", String(32), primary_key=True),  # random, URL-safe; named by signed links
    Column("signup_key", String(64), nullable=False, unique=True),
    Column("experiment_key", KEY, nullable=False),
    Column("variant_key", KEY, nullable=False),
    Column("visitor", VISITOR, nullable=False, index=True),
    Column("placement", String(32), nullable=False),
    Column("qa", Boolean, nullable=False, default=False),  # from a QA token: never counted
    # pending (unconfirmed) | confirmed | sent | unsubscribed | expired | failed
    Column("status", String(16), nullable=False),
    Column("email_cipher", Text),
    Column("email_hash", String(64), index=True),  # for the per-address rate limit
    Column("created_at", UtcDateTime, nullable=False),
    Column("remind_at", UtcDateTime, nullable=False),
    Column("confirm_by", UtcDateTime, nullable=False),  # an unconfirmed sign-up expires then
    Column("confirmed_at", UtcDateTime),
    Column("sent_at", UtcDateTime),
    Column("clicked_at", UtcDateTime),  # the reminder's link, first click
    Column("unsubscribed_at", UtcDateTime),
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_by", String(100)),
    Column("started_at", UtcDateTime),
    Column("next_attempt_at", UtcDateTime),
    Column("error", Text),
    Index("ix_reminders_status_next_attempt_at", "status", "next_attempt_at"),
    Index("ix_reminders_experiment_key_variant_key", "experiment_key", "variant_key"),
)
