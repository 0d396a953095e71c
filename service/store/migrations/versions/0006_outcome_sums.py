"""The report's kept sums: per variant, hour of first exposure, country and device.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

Existing experiments get no `outcome_sums_state` row here: their reports scan the outcomes, as
before, until the scheduler (`smallfavor schedule`) has rebuilt their sums.
"""

from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outcome_sums',
    sa.Column('experiment_key', sa.String(length=64), nullable=False),
    sa.Column('variant_key', sa.String(length=64), nullable=False),
    sa.Column('hour', sa.BigInteger(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('device', sa.String(length=16), nullable=False),
    sa.Column('visitors', sa.BigInteger(), nullable=False),
    sa.Column('converters', sa.BigInteger(), nullable=False),
    sa.Column('revenue', sa.Float(), nullable=False),
    sa.Column('revenue_capped', sa.Float(), nullable=False),
    sa.Column('revenue_capped_squares', sa.Float(), nullable=False),
    sa.Column('annualised', sa.Float(), nullable=False),
    sa.Column('annualised_capped', sa.Float(), nullable=False),
    sa.Column('annualised_capped_squares', sa.Float(), nullable=False),
    sa.Column('impressions', sa.BigInteger(), nullable=False),
    sa.Column('views', sa.BigInteger(), nullable=False),
    sa.Column('clicks', sa.BigInteger(), nullable=False),
    sa.Column('dismiss_remind_later', sa.BigInteger(), nullable=False),
    sa.Column('dismiss_close', sa.BigInteger(), nullable=False),
    sa.Column('dismiss_already_donated', sa.BigInteger(), nullable=False),
    sa.Column('conversions', sa.BigInteger(), nullable=False),
    sa.Column('recurring_conversions', sa.BigInteger(), nullable=False),
    sa.Column('remind_later_visitors', sa.BigInteger(), nullable=False),
    sa.Column('converted_after_remind_later', sa.BigInteger(), nullable=False),
    sa.Column('article_views', sa.Float(), nullable=False),
    sa.Column('article_views_squares', sa.Float(), nullable=False),
    sa.Column('article_views_converted', sa.Float(), nullable=False),
    sa.Column('article_views_revenue_capped', sa.Float(), nullable=False),
    sa.Column('article_views_annualised_capped', sa.Float(), nullable=False),
    sa.Column('close_visitors', sa.BigInteger(), nullable=False),
    sa.Column('already_donated_visitors', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('experiment_key', 'variant_key', 'hour', 'country', 'device', name=op.f('pk_outcome_sums'))
    )
    op.create_table('outcome_sums_state',
    sa.Column('experiment_key', sa.String(length=64), nullable=False),
    sa.Column('revenue_cap', sa.Float(), nullable=True),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('experiment_key', name=op.f('pk_outcome_sums_state'))
    )


def downgrade() -> None:
    op.drop_table('outcome_sums_state')
    op.drop_table('outcome_sums')
