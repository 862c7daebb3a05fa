"""Tables of people and access: user accounts, their roles, their API tokens.

The account table is ``app_user`` (``user`` is reserved in PostgreSQL). A token
row holds only the SHA-256 of the token, never the token.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caldicott.access.core.roles import Role, TokenScope
from caldicott.db import Base, UTCDateTime, utcnow
from caldicott.orgs.models import OrganisationRow

_ROLE_CHECK = "role IN (" + ", ".join(f"'{r.value}'" for r in Role) + ")"
_SCOPE_CHECK = "scope IN (" + ", ".join(f"'{s.value}'" for s in TokenScope) + ")"


class UserRow(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A disabled account's tokens stop working at once; enabling it again restores them.
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[OrganisationRow] = relationship(lazy="raise")
    roles: Mapped[list[UserRoleRow]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="UserRoleRow.role"
    )


class UserRoleRow(Base):
    __tablename__ = "app_user_role"
    __table_args__ = (CheckConstraint(_ROLE_CHECK, name="role"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class ApiTokenRow(Base):
    """One API token. ``token_hash`` is SHA-256 of the token; the token itself is
    shown once at creation and never stored."""

    __tablename__ = "api_token"
    __table_args__ = (CheckConstraint(_SCOPE_CHECK, name="scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    display_prefix: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    scope: Mapped[str] = mapped_column(String(16), default=TokenScope.FULL.value,
                                       server_default=TokenScope.FULL.value)

    user: Mapped[UserRow] = relationship(lazy="raise")

    def status(self, now: dt.datetime, user_disabled: bool = False) -> str:
        """``active``, ``expired``, ``revoked`` or ``disabled`` (its user's account) at
        ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "disabled" if user_disabled else "active"
