"""access hardening: the real requesters' organisation kinds, disabled accounts, token scopes

Revision ID: 0010
Revises: 0007_ledger_queue
Create Date: 2026-11-28 03:30:00

Organisation kinds gain police, nca, court, coroner, ccrc and regulator (the
CHECK constraint is rebuilt: batch mode, so SQLite copies the table). A user
can be disabled (``app_user.disabled_at``); a token has a scope (``read``,
``submit``, ``review`` or ``full``; tokens made before scopes are ``full``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caldicott.db

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0007_ledger_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_KINDS = ("nhs_trust", "nhs_digital", "home_office", "dhsc", "local_authority",
              "housing_association")
_NEW_KINDS = (*_OLD_KINDS, "police", "nca", "court", "coroner", "ccrc", "regulator")
_SCOPES = ("read", "submit", "review", "full")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _kinds(kinds: Sequence[str]) -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_organisation_kind"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_organisation_kind"), _in("kind", kinds))


def upgrade() -> None:
    _kinds(_NEW_KINDS)
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", caldicott.db.UTCDateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope", sa.String(length=16), nullable=False,
                                      server_default="full"))
        batch_op.create_check_constraint(batch_op.f("ck_api_token_scope"), _in("scope", _SCOPES))


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_api_token_scope"), type_="check")
        batch_op.drop_column("scope")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("disabled_at")
    _kinds(_OLD_KINDS)
