"""The payment model: facts applied or held, money per payment and renewal, its names and
credits; per-visitor, daily and summed figures for renewals, refunds and cancellations.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

from sqlalchemy.dialects import postgresql

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_FIGURES = (
    ('renewals', sa.Integer()),
    ('renewal_revenue', sa.Float()),
    ('refunds', sa.Integer()),
    ('refunded', sa.Float()),
    ('cancellations', sa.Integer()),
)
_SUMS = (
    ('renewals', sa.BigInteger()),
    ('renewal_revenue', sa.Float()),
    ('refunds', sa.BigInteger()),
    ('refunded', sa.Float()),
    ('cancellations', sa.BigInteger()),
    ('active_recurring_donors', sa.BigInteger()),
    ('churned_donors', sa.BigInteger()),
)


def upgrade() -> None:
    op.create_table('payment_facts',
    sa.Column('fact_id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('body', sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
    sa.Column('visitor', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('fact_id', name=op.f('pk_payment_facts'))
    )
    op.create_index('ix_payment_facts_status_ts', 'payment_facts', ['status', 'ts'], unique=False)
    op.create_index(op.f('ix_payment_facts_visitor'), 'payment_facts', ['visitor'], unique=False)
    op.create_table('payment_waits',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('fact_id', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('name', 'fact_id', name=op.f('pk_payment_waits'))
    )
    op.create_table('payment_money',
    sa.Column('money_id', sa.String(length=128), nullable=False),
    sa.Column('series_id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('visitor', sa.String(length=64), nullable=True),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('frequency', sa.String(length=16), nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('subscription', sa.String(length=128), nullable=True),
    sa.Column('reversed_minor', sa.BigInteger(), nullable=False),
    sa.Column('reported_refunded_minor', sa.BigInteger(), nullable=False),
    sa.Column('payments_received', sa.Integer(), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('money_id', name=op.f('pk_payment_money'))
    )
    op.create_index(op.f('ix_payment_money_series_id'), 'payment_money', ['series_id'], unique=False)
    op.create_index(op.f('ix_payment_money_visitor'), 'payment_money', ['visitor'], unique=False)
    op.create_table('payment_names',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('money_id', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_payment_names'))
    )
    op.create_index(op.f('ix_payment_names_money_id'), 'payment_names', ['money_id'], unique=False)
    op.create_table('payment_credits',
    sa.Column('series_id', sa.String(length=128), nullable=False),
    sa.Column('experiment_key', sa.String(length=64), nullable=False),
    sa.Column('variant_key', sa.String(length=64), nullable=False),
    sa.Column('visitor', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('series_id', 'experiment_key', name=op.f('pk_payment_credits'))
    )
    op.create_index(op.f('ix_payment_credits_visitor'), 'payment_credits', ['visitor'], unique=False)
    for table in ('visitor_outcomes', 'daily_rollups'):
        with op.batch_alter_table(table) as batch:
            for name, kind in _FIGURES:
                batch.add_column(sa.Column(name, kind, nullable=False, server_default='0'))
    with op.batch_alter_table('outcome_sums') as batch:
        for name, kind in _SUMS:
            batch.add_column(sa.Column(name, kind, nullable=False, server_default='0'))
    # Payments recorded before facts existed become known payments, credited where their
    # conversions were, so their refunds, renewals and cancellations find them (and a replay
    # of one stays a duplicate).
    op.execute(
        "INSERT INTO payment_facts (fact_id, kind, status, ts, received_at, applied_at, visitor) "
        "SELECT payment_id, 'payment', 'applied', ts, received_at, received_at, visitor "
        "FROM payments"
    )
    op.execute(
        "INSERT INTO payment_money (money_id, series_id, kind, visitor, amount_minor, currency, "
        "frequency, ts, reversed_minor, reported_refunded_minor, payments_received) "
        "SELECT payment_id, payment_id, 'payment', visitor, amount_minor, currency, frequency, "
        "ts, 0, 0, 1 FROM payments"
    )
    op.execute("INSERT INTO payment_names (name, money_id) SELECT payment_id, payment_id FROM payments")
    op.execute(
        "INSERT INTO payment_credits (series_id, experiment_key, variant_key, visitor) "
        "SELECT payment_id, experiment_key, MIN(variant_key), MIN(visitor) FROM events "
        "WHERE type = 'conversion' AND source = 'webhook' AND payment_id IS NOT NULL "
        "AND payment_id IN (SELECT payment_id FROM payments) "
        "GROUP BY payment_id, experiment_key"
    )
    # Active recurring donors were never counted in the kept sums: rebuild them (reports scan
    # the outcomes until the scheduler has).
    op.execute('DELETE FROM outcome_sums')
    op.execute('DELETE FROM outcome_sums_state')


def downgrade() -> None:
    with op.batch_alter_table('outcome_sums') as batch:
        for name, _ in reversed(_SUMS):
            batch.drop_column(name)
    for table in ('daily_rollups', 'visitor_outcomes'):
        with op.batch_alter_table(table) as batch:
            for name, _ in reversed(_FIGURES):
                batch.drop_column(name)
    op.drop_index(op.f('ix_payment_credits_visitor'), table_name='payment_credits')
    op.drop_table('payment_credits')
    op.drop_index(op.f('ix_payment_names_money_id'), table_name='payment_names')
    op.drop_table('payment_names')
    op.drop_index(op.f('ix_payment_money_visitor'), table_name='payment_money')
    op.drop_index(op.f('ix_payment_money_series_id'), table_name='payment_money')
    op.drop_table('payment_money')
    op.drop_table('payment_waits')
    op.drop_index(op.f('ix_payment_facts_visitor'), table_name='payment_facts')
    op.drop_index('ix_payment_facts_status_ts', table_name='payment_facts')
    op.drop_table('payment_facts')
