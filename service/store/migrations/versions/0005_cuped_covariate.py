"""CUPED: each impression's article_views, and each visitor's at their first exposure.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('events', sa.Column('article_views', sa.Integer(), nullable=True))
    op.add_column('visitor_outcomes', sa.Column('pre_article_views', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('visitor_outcomes') as batch:
        batch.drop_column('pre_article_views')
    with op.batch_alter_table('events') as batch:
        batch.drop_column('article_views')
