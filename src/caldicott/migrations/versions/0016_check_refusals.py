"""checking: a check the agreement refuses is kept (state refused, with its clauses)

Revision ID: 0016_check_refusals
Revises: 0015_checking_billing
Create Date: 2026-11-28 06:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_check_refusals"
down_revision: str | Sequence[str] | None = "0015_checking_billing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "state IN ('pending', 'answered', 'timed_out', 'not_sent', 'failed')"
_NEW = "state IN ('pending', 'answered', 'timed_out', 'not_sent', 'failed', 'refused')"


def upgrade() -> None:
    with op.batch_alter_table("status_check", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refusal", sa.JSON(), nullable=True))
        batch_op.drop_constraint(op.f("ck_status_check_state"), type_="check")
        batch_op.create_check_constraint(op.f("ck_status_check_state"), _NEW)


def downgrade() -> None:
    # A refused check cannot live in a schema without the state: the older schema kept none.
    op.execute("DELETE FROM status_check WHERE state = 'refused'")
    with op.batch_alter_table("status_check", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_status_check_state"), type_="check")
        batch_op.create_check_constraint(op.f("ck_status_check_state"), _OLD)
        batch_op.drop_column("refusal")
