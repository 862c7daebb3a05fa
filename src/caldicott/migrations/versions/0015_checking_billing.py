"""checking and billing: memoranda, status checks, on-site officer encounters, usage events
and credit notes

Revision ID: 0015_checking_billing
Revises: 0007_ledger_queue
Create Date: 2026-11-29 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caldicott.db

revision: str = "0015_checking_billing"
down_revision: str | Sequence[str] | None = "0007_ledger_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checking_memorandum",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("created_at", caldicott.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_checking_memorandum_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checking_memorandum")),
        sa.UniqueConstraint("organisation_id", name=op.f("uq_checking_memorandum_organisation_id")),
    )
    op.create_table(
        "officer_encounter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("officer_reference", sa.String(length=32), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("agreement", sa.String(length=64), nullable=False),
        sa.Column("agreement_version", sa.String(length=16), nullable=False),
        sa.Column("started_at", caldicott.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", caldicott.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", caldicott.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ended_at >= started_at", name=op.f("ck_officer_encounter_times")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_officer_encounter_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_officer_encounter")),
        sa.UniqueConstraint("uid", name=op.f("uq_officer_encounter_uid")),
    )
    with op.batch_alter_table("officer_encounter", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_officer_encounter_organisation_id"), ["organisation_id"], unique=False
        )
    op.create_table(
        "status_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=True),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("agreement", sa.String(length=64), nullable=False),
        sa.Column("agreement_version", sa.String(length=16), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("fields_sent", sa.JSON(), nullable=False),
        sa.Column("nhs_number", sa.String(length=10), nullable=True),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("nationality", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("immigration_status", sa.String(length=48), nullable=True),
        sa.Column("evidence", sa.String(length=300), nullable=True),
        sa.Column("consequence", sa.String(length=16), nullable=True),
        sa.Column("ground", sa.String(length=300), nullable=True),
        sa.Column("failure", sa.String(length=300), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("call_started", caldicott.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("call_ended", caldicott.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("disclosed_at", caldicott.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", caldicott.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'answered', 'timed_out', 'not_sent', 'failed')",
            name=op.f("ck_status_check_state"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_status_check_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_check")),
        sa.UniqueConstraint("organisation_id", "client_key", name="uq_status_check_client_key"),
        sa.UniqueConstraint("uid", name=op.f("uq_status_check_uid")),
    )
    with op.batch_alter_table("status_check", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_status_check_organisation_id"), ["organisation_id"], unique=False
        )
    op.create_table(
        "usage_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=80), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("started_at", caldicott.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", caldicott.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("price_version", sa.String(length=16), nullable=False),
        sa.Column("amount_pence", sa.Integer(), nullable=False),
        sa.Column("financial_year", sa.String(length=7), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("recorded_at", caldicott.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('call', 'officer')", name=op.f("ck_usage_event_kind")),
        sa.CheckConstraint(
            "duration_seconds >= 0 AND amount_pence >= 0", name=op.f("ck_usage_event_amounts")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_usage_event_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_event")),
        sa.UniqueConstraint("event_id", name=op.f("uq_usage_event_event_id")),
    )
    with op.batch_alter_table("usage_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_usage_event_bill", ["financial_year", "organisation_id", "month"], unique=False
        )
    op.create_table(
        "credit_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("usage_event_id", sa.Integer(), nullable=False),
        sa.Column("amount_pence", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("issued_by", sa.String(length=80), nullable=False),
        sa.Column("issued_at", caldicott.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_pence >= 0", name=op.f("ck_credit_note_amount")),
        sa.ForeignKeyConstraint(
            ["usage_event_id"],
            ["usage_event.id"],
            name=op.f("fk_credit_note_usage_event_id_usage_event"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_note")),
        sa.UniqueConstraint("usage_event_id", name=op.f("uq_credit_note_usage_event_id")),
    )
    op.create_table(
        "officer_encounter_patient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("encounter_id", sa.Integer(), nullable=False),
        sa.Column("nhs_number", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["officer_encounter.id"],
            name=op.f("fk_officer_encounter_patient_encounter_id_officer_encounter"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_officer_encounter_patient")),
        sa.UniqueConstraint("encounter_id", "nhs_number", name="uq_officer_encounter_patient"),
    )


def downgrade() -> None:
    op.drop_table("officer_encounter_patient")
    op.drop_table("credit_note")
    with op.batch_alter_table("usage_event", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_event_bill")
    op.drop_table("usage_event")
    with op.batch_alter_table("status_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_check_organisation_id"))
    op.drop_table("status_check")
    with op.batch_alter_table("officer_encounter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_officer_encounter_organisation_id"))
    op.drop_table("officer_encounter")
    op.drop_table("checking_memorandum")
