"""Export runs record the files they delivered and the kind of destination.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

Runs finished before this migration keep both columns null: the dashboard lists no files for
them, as it cannot know which files they wrote.
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('export_runs') as batch_op:
        batch_op.add_column(sa.Column('destination_type', sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column(
                'files',
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table('export_runs') as batch_op:
        batch_op.drop_column('files')
        batch_op.drop_column('destination_type')
