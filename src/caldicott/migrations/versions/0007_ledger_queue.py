"""ledger: the queue of committed entries waiting for the next integration round

Revision ID: 0007_ledger_queue
Revises: 0006_requests
Create Date: 2026-11-23 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# INTEGER PRIMARY KEY on SQLite is the rowid; BIGINT (with a sequence) elsewhere.
QUEUE_SEQ = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

revision: str = '0007_ledger_queue'
down_revision: str | Sequence[str] | None = '0006_requests'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ledger_queue',
    sa.Column('seq', QUEUE_SEQ, autoincrement=True, nullable=False),
    sa.Column('entry', sa.LargeBinary(), nullable=False),
    sa.Column('leaf_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('detail', sa.LargeBinary(), nullable=True),
    sa.Column('seal', sa.LargeBinary(length=32), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_ledger_queue'))
    )


def downgrade() -> None:
    op.drop_table('ledger_queue')
