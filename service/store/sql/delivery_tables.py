"""What the service sends out, each claimed, sent and retried (store/sql/attempts.py's
pattern): scheduled exports and their runs, verdict alerts and their deliveries, and e-mail
reminders. Part of tables.metadata (tables.py imports this module).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from service.store.sql.schema import KEY, VISITOR, metadata
from service.store.sql.types import Document, UtcDateTime

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
