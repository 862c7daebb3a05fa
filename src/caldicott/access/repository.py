"""Every query on users, roles, API tokens and page sessions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session, selectinload

from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Role, TokenScope
from caldicott.access.models import ApiTokenRow, UserRoleRow, UserRow, WebSessionRow
from caldicott.orgs.models import OrganisationRow

# Users always come with their roles and organisation: relationships refuse lazy loads.
_USERS = select(UserRow).options(selectinload(UserRow.roles), selectinload(UserRow.organisation))


def get_user_by_email(session: Session, email: str) -> UserRow | None:
    return session.scalars(_USERS.where(UserRow.email == email)).first()


def get_user(session: Session, user_id: int) -> UserRow | None:
    return session.scalars(_USERS.where(UserRow.id == user_id)).first()


def list_users(session: Session) -> Sequence[UserRow]:
    return session.scalars(_USERS.order_by(UserRow.email)).all()


def add_user(session: Session, email: str, name: str, organisation_id: int,
             roles: Sequence[str]) -> UserRow:
    row = UserRow(email=email, name=name, organisation_id=organisation_id,
                  roles=[UserRoleRow(role=role) for role in roles])
    session.add(row)
    session.flush()
    return row


def add_token(session: Session, user_id: int, token_hash: str, display_prefix: str,
              label: str, expires_at: dt.datetime,
              scope: TokenScope = TokenScope.FULL) -> ApiTokenRow:
    row = ApiTokenRow(user_id=user_id, token_hash=token_hash, display_prefix=display_prefix,
                      label=label, expires_at=expires_at, scope=scope.value)
    session.add(row)
    session.flush()
    return row


def get_token(session: Session, token_id: int) -> ApiTokenRow | None:
    return session.scalars(select(ApiTokenRow).options(selectinload(ApiTokenRow.user))
                           .where(ApiTokenRow.id == token_id)).first()


def get_token_by_hash(session: Session, token_hash: str) -> ApiTokenRow | None:
    return session.scalars(select(ApiTokenRow).options(selectinload(ApiTokenRow.user))
                           .where(ApiTokenRow.token_hash == token_hash)).first()


@dataclass(frozen=True)
class Credentials:
    """What authenticating a token needs: the token's state and who it speaks for."""

    token_id: int
    revoked_at: dt.datetime | None
    expires_at: dt.datetime
    last_used_at: dt.datetime | None
    disabled_at: dt.datetime | None  # the user's account
    principal: Principal


# Every authenticated request runs this: built once, one indexed join (a row per role),
# plain columns rather than three ORM objects.
_CREDENTIALS = (
    select(ApiTokenRow.id, ApiTokenRow.revoked_at, ApiTokenRow.expires_at,
           ApiTokenRow.last_used_at, UserRow.id, UserRow.email, UserRow.name,
           OrganisationRow.id, OrganisationRow.code, OrganisationRow.kind,
           OrganisationRow.name, UserRoleRow.role, ApiTokenRow.scope, UserRow.disabled_at)
    .join(UserRow, UserRow.id == ApiTokenRow.user_id)
    .join(OrganisationRow, OrganisationRow.id == UserRow.organisation_id)
    .outerjoin(UserRoleRow, UserRoleRow.user_id == UserRow.id)
    .where(ApiTokenRow.token_hash == bindparam("token_hash"))
)


def find_credentials(session: Session, token_hash: str) -> Credentials | None:
    """The token with ``token_hash``, its user, their organisation and roles, in one query."""
    rows = session.connection().execute(_CREDENTIALS, {"token_hash": token_hash}).all()
    if not rows:
        return None
    (token_id, revoked_at, expires_at, last_used_at, user_id, email, name, organisation_id,
     code, kind, organisation_name, _, scope, disabled_at) = rows[0]
    principal = Principal(
        user_id=user_id, email=email, name=name, organisation_id=organisation_id,
        organisation_code=code, organisation_kind=kind, token_id=token_id,
        roles=frozenset(Role(r[11]) for r in rows if r[11]), organisation_name=organisation_name,
        token_scope=TokenScope(scope))
    return Credentials(token_id, revoked_at, expires_at, last_used_at, disabled_at, principal)


def list_tokens(session: Session, user_id: int | None = None) -> Sequence[ApiTokenRow]:
    query = select(ApiTokenRow).options(selectinload(ApiTokenRow.user)).order_by(ApiTokenRow.id)
    if user_id is not None:
        query = query.where(ApiTokenRow.user_id == user_id)
    return session.scalars(query).all()


def touch_token(session: Session, token_id: int, now: dt.datetime,
                not_since: dt.datetime) -> None:
    """Set ``last_used_at`` unless it was set after ``not_since`` (one write a minute at most).

    The guard is in the ``WHERE`` so concurrent requests do not queue to write the same minute.
    """
    session.execute(
        update(ApiTokenRow)
        .where(ApiTokenRow.id == token_id)
        .where((ApiTokenRow.last_used_at.is_(None)) | (ApiTokenRow.last_used_at < not_since))
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


def revoke_tokens_of(session: Session, user_id: int, now: dt.datetime) -> int:
    """Revoke every token of ``user_id`` not already revoked; how many were."""
    result = session.execute(
        update(ApiTokenRow)
        .where(ApiTokenRow.user_id == user_id, ApiTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def add_role(session: Session, user_id: int, role: str) -> None:
    session.add(UserRoleRow(user_id=user_id, role=role))
    session.flush()


def remove_role(session: Session, user_id: int, role: str) -> None:
    session.execute(delete(UserRoleRow).where(UserRoleRow.user_id == user_id,
                                              UserRoleRow.role == role))


# --- page sessions ------------------------------------------------------------------------


def add_web_session(session: Session, user_id: int, session_hash: str, verified: bool,
                    now: dt.datetime) -> WebSessionRow:
    row = WebSessionRow(user_id=user_id, session_hash=session_hash, verified=verified,
                        created_at=now, last_seen_at=now)
    session.add(row)
    session.flush()
    return row


def get_web_session(session: Session, session_hash: str) -> WebSessionRow | None:
    return session.scalars(select(WebSessionRow)
                           .where(WebSessionRow.session_hash == session_hash)).first()


def delete_web_session(session: Session, session_hash: str) -> None:
    session.execute(delete(WebSessionRow).where(WebSessionRow.session_hash == session_hash))


def delete_web_sessions_of(session: Session, user_id: int) -> int:
    """End every page session of ``user_id``; how many there were."""
    result = session.execute(delete(WebSessionRow).where(WebSessionRow.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


def delete_idle_web_sessions(session: Session, idle_since: dt.datetime) -> None:
    """Forget page sessions last seen before ``idle_since`` (expired: no use to anyone)."""
    session.execute(delete(WebSessionRow).where(WebSessionRow.last_seen_at < idle_since))
