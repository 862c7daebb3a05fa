"""signatories: the register of authorised signatories of each requesting organisation

Revision ID: 0012
Revises: 0007_ledger_queue
Create Date: 2026-11-28 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caldicott.db

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0007_ledger_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signatory",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("role_title", sa.String(length=200), nullable=False),
        sa.Column("rank", sa.String(length=64), nullable=False),
        sa.Column("staff_number", sa.String(length=32), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("may_countersign", sa.Boolean(), nullable=False),
        sa.Column("created_at", caldicott.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from",
                           name=op.f("ck_signatory_validity")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"],
                                name=op.f("fk_signatory_organisation_id_organisation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signatory")),
        sa.UniqueConstraint("organisation_id", "staff_number",
                            name=op.f("uq_signatory_organisation_id")),
    )
    with op.batch_alter_table("signatory", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signatory_organisation_id"), ["organisation_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signatory", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signatory_organisation_id"))
    op.drop_table("signatory")
