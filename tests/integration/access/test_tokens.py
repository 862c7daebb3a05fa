"""API token lifecycle in the database, on both backends: create, use, revoke, expire."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from caldicott.access.core import Role
from caldicott.access.core.tokens import hash_token
from caldicott.access.models import ApiTokenRow
from caldicott.access.service import (
    TokenRejected,
    authenticate,
    create_token,
    list_tokens,
    record_use,
    revoke_token,
)
from caldicott.db import utcnow
from caldicott.errors import InvalidInput, NotFound

from .factories import make_user


def test_new_token_authenticates_as_its_user(session: Session) -> None:
    user = make_user(session, "tracer")
    issued = create_token(session, user.email)
    principal = authenticate(session, issued.token)
    assert (principal.user_id, principal.email) == (user.id, user.email)
    assert principal.roles == frozenset({Role.TRACER})
    assert principal.organisation_code == user.organisation.code
    assert principal.token_id == issued.id


def test_database_holds_the_hash_and_never_the_token(session: Session) -> None:
    issued = create_token(session, make_user(session, "tracer").email)
    row = session.execute(text("SELECT * FROM api_token WHERE id = :id"), {"id": issued.id})
    stored = [str(value) for value in row.one()]
    assert hash_token(issued.token) in stored
    assert not [value for value in stored if issued.token in value]
    assert not [value for value in stored if issued.token[5:20] in value]


def test_revoked_token_is_refused(session: Session) -> None:
    issued = create_token(session, make_user(session, "reviewer").email)
    revoke_token(session, str(issued.id))
    with pytest.raises(TokenRejected, match="revoked"):
        authenticate(session, issued.token)


def test_a_leaked_token_can_be_revoked_by_its_own_text(session: Session) -> None:
    issued = create_token(session, make_user(session, "reviewer").email)
    row, already = revoke_token(session, issued.token)
    assert (row.id, already) == (issued.id, False)
    assert revoke_token(session, str(issued.id))[1] is True


def test_expired_token_is_refused(session: Session) -> None:
    issued = create_token(session, make_user(session, "auditor").email, days=1,
                          now=utcnow() - dt.timedelta(days=2))
    with pytest.raises(TokenRejected, match="expired on"):
        authenticate(session, issued.token)


def test_token_expires_after_the_default_90_days(session: Session) -> None:
    now = utcnow()
    issued = create_token(session, make_user(session, "auditor").email, now=now)
    assert issued.expires_at == now + dt.timedelta(days=90)
    authenticate(session, issued.token, now=now + dt.timedelta(days=89))
    with pytest.raises(TokenRejected):
        authenticate(session, issued.token, now=now + dt.timedelta(days=90))


@pytest.mark.parametrize("days", [0, -1, 367])
def test_refuses_an_expiry_out_of_range(session: Session, days: int) -> None:
    with pytest.raises(InvalidInput, match="--days must be between 1 and 366"):
        create_token(session, make_user(session, "auditor").email, days=days)


@pytest.mark.parametrize("token", [None, "", "cald_nonsense", "Bearer cald_x"])
def test_missing_or_malformed_token_is_refused(session: Session, token: str | None) -> None:
    with pytest.raises(TokenRejected):
        authenticate(session, token)


def test_well_formed_but_unknown_token_is_refused(session: Session) -> None:
    from caldicott.access.core.tokens import generate_token

    with pytest.raises(TokenRejected, match="no such API token"):
        authenticate(session, generate_token())


def test_records_last_use_at_most_once_a_minute(session: Session) -> None:
    issued = create_token(session, make_user(session, "tracer").email)
    first = utcnow()
    record_use(session, issued.id, now=first)
    record_use(session, issued.id, now=first + dt.timedelta(seconds=30))
    stored = session.scalars(select(ApiTokenRow.last_used_at)
                             .where(ApiTokenRow.id == issued.id)).one()
    assert stored == first
    record_use(session, issued.id, now=first + dt.timedelta(minutes=2))
    stored = session.scalars(select(ApiTokenRow.last_used_at)
                             .where(ApiTokenRow.id == issued.id)).one()
    assert stored == first + dt.timedelta(minutes=2)


def test_token_for_unknown_user_is_refused(session: Session) -> None:
    with pytest.raises(NotFound, match=r"unknown user 'ghost@example\.org'"):
        create_token(session, "ghost@example.org")


def test_lists_tokens_of_one_user(session: Session) -> None:
    user = make_user(session, "tracer")
    create_token(session, user.email)
    create_token(session, make_user(session, "tracer").email)
    assert [t.user_id for t in list_tokens(session, user.email)] == [user.id]


def test_authentication_writes_nothing(session: Session) -> None:
    issued = create_token(session, make_user(session, "tracer").email)
    session.flush()
    session.expire_all()
    authenticate(session, issued.token)
    assert not session.dirty and not session.new
    stored = session.scalars(select(ApiTokenRow.last_used_at)
                             .where(ApiTokenRow.id == issued.id)).one()
    assert stored is None  # the last use is recorded after the response, by the web edge
