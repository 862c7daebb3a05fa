"""ledger: the explorer's filters (type, time recorded, agreement) beside each entry

Each is a copy of what the entry itself says (the entry stays the record the tree
binds); existing entries are filled from their own JSON, in batches.

Revision ID: 0014_ledger_explorer
Revises: 0008_ledger_privacy
Create Date: 2026-11-28 05:40:00
"""

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '0014_ledger_explorer'
down_revision: str | Sequence[str] | None = '0008_ledger_privacy'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
BATCH = 10_000


def _facets(entry: bytes) -> tuple[Any, Any, Any]:
    """Spelled out, not imported: a revision must not change when the code does."""
    try:
        value = json.loads(bytes(entry))
        recorded = dt.datetime.fromisoformat(value["recorded"])
        return (str(value["type"]), int(recorded.timestamp()),
                (value.get("agreement") or {}).get("id"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, None, None


def _backfill() -> None:
    connection = op.get_bind()
    entries = sa.table('ledger_entry', sa.column('index', sa.BigInteger()),
                       sa.column('entry', sa.LargeBinary()), sa.column('type', sa.String()),
                       sa.column('recorded', sa.BigInteger()),
                       sa.column('agreement', sa.String()))
    update = (sa.update(entries).where(entries.c.index == sa.bindparam('at'))
              .values(type=sa.bindparam('t'), recorded=sa.bindparam('r'),
                      agreement=sa.bindparam('a')))
    after = -1
    while True:
        rows = connection.execute(sa.select(entries.c.index, entries.c.entry)
                                  .where(entries.c.index > after)
                                  .order_by(entries.c.index).limit(BATCH)).all()
        if not rows:
            return
        values = []
        for index, entry in rows:
            kind, recorded, agreement = _facets(entry)
            values.append({'at': index, 't': kind, 'r': recorded, 'a': agreement})
        connection.execute(update, values)
        after = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('type', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('recorded', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('agreement', sa.String(length=64), nullable=True))
    _backfill()
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entry_type_index', ['type', 'index'], unique=False)
        batch_op.create_index('ix_ledger_entry_agreement_index', ['agreement', 'index'],
                              unique=False)
        batch_op.create_index('ix_ledger_entry_recorded_index', ['recorded', 'index'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entry_recorded_index')
        batch_op.drop_index('ix_ledger_entry_agreement_index')
        batch_op.drop_index('ix_ledger_entry_type_index')
        batch_op.drop_column('agreement')
        batch_op.drop_column('recorded')
        batch_op.drop_column('type')
