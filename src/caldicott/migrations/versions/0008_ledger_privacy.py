"""ledger: private subject openings (the keyed index), queued openings, the quarantine

Revision ID: 0008_ledger_privacy
Revises: 0007_ledger_queue (and needs 0002_ledger)
Create Date: 2026-11-28 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caldicott.db

LEAF_INDEX = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

revision: str = '0008_ledger_privacy'
down_revision: str | Sequence[str] | None = '0007_ledger_queue'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = '0002_ledger'  # the ledger's tables


def upgrade() -> None:
    op.create_table('ledger_subject',
    sa.Column('index', LEAF_INDEX, autoincrement=False, nullable=False),
    sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('pseudonym', sa.LargeBinary(length=32), nullable=False),
    sa.Column('nonce', sa.LargeBinary(length=16), nullable=False),
    sa.PrimaryKeyConstraint('index', 'position', name=op.f('pk_ledger_subject'))
    )
    with op.batch_alter_table('ledger_subject', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_subject_pseudonym'), ['pseudonym'], unique=False)
    op.create_table('ledger_quarantine',
    sa.Column('seq', LEAF_INDEX, autoincrement=False, nullable=False),
    sa.Column('entry', sa.LargeBinary(), nullable=False),
    sa.Column('leaf_hash', sa.LargeBinary(), nullable=False),
    sa.Column('detail', sa.LargeBinary(), nullable=True),
    sa.Column('seal', sa.LargeBinary(), nullable=False),
    sa.Column('subjects', sa.LargeBinary(), nullable=True),
    sa.Column('problem', sa.Text(), nullable=False),
    sa.Column('set_aside_at', caldicott.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_ledger_quarantine'))
    )
    with op.batch_alter_table('ledger_queue', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subjects', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ledger_queue', schema=None) as batch_op:
        batch_op.drop_column('subjects')
    op.drop_table('ledger_quarantine')
    with op.batch_alter_table('ledger_subject', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_subject_pseudonym'))
    op.drop_table('ledger_subject')
