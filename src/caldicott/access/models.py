"""Tables of people and access: user accounts, their roles, their API tokens, and the
page sessions of people signed in with a password.

The account table is ``app_user`` (``user`` is reserved in PostgreSQL). A token
row holds only the SHA-256 of the token, never the token; a page session row holds
only the SHA-256 of its session id; a password is held only as its argon2id hash.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
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
    # Sign-in for people (pages): an argon2id hash, and a TOTP secret (base32) with the
    # last time step accepted, so one code cannot be used twice.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

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


class WebSessionRow(Base):
    """A person's page session. ``session_hash`` is SHA-256 of the cookie's session id;
    ``verified`` is False while a second factor is still owed (password given, TOTP not)."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), index=True
    )
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
