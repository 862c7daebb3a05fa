"""requests: a request may lack its family name; the trace keeps the release bar it cleared

Revision ID: 0015_partial_requests
Revises: 0013_request_fidelity
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015_partial_requests'
down_revision: str | Sequence[str] | None = '0013_request_fidelity'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('trace_request', schema=None) as batch_op:
        batch_op.alter_column('family_name', existing_type=sa.String(length=100),
                              nullable=True)
        batch_op.add_column(sa.Column('release_bar', sa.JSON(), nullable=True))


def downgrade() -> None:
    # A request without a family name cannot go back to a schema that requires one.
    op.execute("UPDATE trace_request SET family_name = '' WHERE family_name IS NULL")
    with op.batch_alter_table('trace_request', schema=None) as batch_op:
        batch_op.drop_column('release_bar')
        batch_op.alter_column('family_name', existing_type=sa.String(length=100),
                              nullable=False)
