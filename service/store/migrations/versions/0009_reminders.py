"""E-mail reminders: one row per sign-up.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reminders',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('signup_key', sa.String(length=64), nullable=False),
    sa.Column('experiment_key', sa.String(length=64), nullable=False),
    sa.Column('variant_key', sa.String(length=64), nullable=False),
    sa.Column('visitor', sa.String(length=64), nullable=False),
    sa.Column('placement', sa.String(length=32), nullable=False),
    sa.Column('qa', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('email_cipher', sa.Text(), nullable=True),
    sa.Column('email_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('remind_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirm_by', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('clicked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders')),
    sa.UniqueConstraint('signup_key', name=op.f('uq_reminders_signup_key'))
    )
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.create_index('ix_reminders_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_reminders_experiment_key_variant_key', ['experiment_key', 'variant_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminders_visitor'), ['visitor'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminders_email_hash'), ['email_hash'], unique=False)


def downgrade() -> None:
    op.drop_table('reminders')
