"""requests: an index for the reviewer's queue (status, then the order of receipt)

Revision ID: 0015_review_queue
Revises: 0013_request_fidelity
Create Date: 2026-11-28 05:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0015_review_queue'
down_revision: str | Sequence[str] | None = '0013_request_fidelity'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('trace_request', schema=None) as batch_op:
        batch_op.create_index('ix_trace_request_status_id', ['status', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('trace_request', schema=None) as batch_op:
        batch_op.drop_index('ix_trace_request_status_id')
