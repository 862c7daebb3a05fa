"""agreements: activations of draft packs; a decision's request and purpose

Revision ID: 0011
Revises: 0007_ledger_queue
Create Date: 2026-11-28 03:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caldicott.db

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0007_ledger_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agreement_activation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activated_at", caldicott.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("activated_by", sa.Integer(), nullable=False),
        sa.Column("agreement", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["activated_by"],
            ["app_user.id"],
            name=op.f("fk_agreement_activation_activated_by_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_activation")),
        sa.UniqueConstraint(
            "agreement",
            "version",
            "content_hash",
            "file_sha256",
            name=op.f("uq_agreement_activation_agreement"),
        ),
    )
    with op.batch_alter_table("agreement_decision", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_ref", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("purpose", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_agreement_decision_request_ref"), ["request_ref"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("agreement_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_decision_request_ref"))
        batch_op.drop_column("purpose")
        batch_op.drop_column("request_ref")
    op.drop_table("agreement_activation")
