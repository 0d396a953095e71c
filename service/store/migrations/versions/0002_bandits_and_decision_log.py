"""Bandit weight history and the sampled decision log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('bandit_weights',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('experiment_key', sa.String(length=64), nullable=False),
    sa.Column('effective_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('weights', _DOCUMENT, nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('details', _DOCUMENT, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bandit_weights')),
    sa.UniqueConstraint('experiment_key', 'effective_at', name=op.f('uq_bandit_weights_experiment_key_effective_at'))
    )
    op.create_table('decision_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.String(length=40), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('placement', sa.String(length=32), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('experiment_key', sa.String(length=64), nullable=True),
    sa.Column('variant_key', sa.String(length=64), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('device', sa.String(length=16), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('section', sa.String(length=64), nullable=True),
    sa.Column('tags', _DOCUMENT, nullable=False),
    sa.Column('article_views', sa.Integer(), nullable=False),
    sa.Column('supporter', sa.Boolean(), nullable=False),
    sa.Column('sample_rate', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_log')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_decision_log_entry_id'))
    )
    with op.batch_alter_table('decision_log', schema=None) as batch_op:
        batch_op.create_index('ix_decision_log_day_outcome', ['day', 'outcome'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('decision_log', schema=None) as batch_op:
        batch_op.drop_index('ix_decision_log_day_outcome')
    op.drop_table('decision_log')
    op.drop_table('bandit_weights')
