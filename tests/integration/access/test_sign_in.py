"""Sign-in for people on the real database, both backends: argon2id passwords, TOTP,
page sessions (only a hash stored, idle timeout, sign-out, reset), and the account
changes' ledger entries."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from caldicott.access import sign_in
from caldicott.access.core.sign_in import hash_session_id
from caldicott.access.models import WebSessionRow
from caldicott.db import utcnow
from caldicott.errors import InvalidInput
from caldicott.settings import Settings

from .factories import make_org, make_user

PASSWORD = "a synthetic passphrase"


def _with_password(session: Session, settings: Settings, *roles: str) -> str:
    kind = "home_office" if "requesting_officer" in roles else "nhs_digital"
    user = make_user(session, *roles, org=make_org(session, kind))
    sign_in.set_password(session, settings, user.email, PASSWORD)
    return user.email


def test_the_password_is_stored_only_as_an_argon2id_hash(session: Session,
                                                        settings: Settings) -> None:
    email = _with_password(session, settings, "requesting_officer")
    user = sign_in.get_user(session, email)
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_a_short_password_is_refused(session: Session, settings: Settings) -> None:
    user = make_user(session, "tracer")
    with pytest.raises(InvalidInput, match="at least 12 characters"):
        sign_in.set_password(session, settings, user.email, "short")


def test_the_right_password_starts_a_session_stored_as_a_hash(session: Session,
                                                             settings: Settings) -> None:
    email = _with_password(session, settings, "requesting_officer")
    started = sign_in.sign_in_with_password(session, email.upper(), PASSWORD)
    assert not started.needs_code
    stored = session.scalars(select(WebSessionRow.session_hash)).all()
    assert hash_session_id(started.session_id) in stored
    assert started.session_id not in stored
    person = sign_in.signed_in(session, settings, started.session_id)
    assert person is not None and person.email == email


@pytest.mark.parametrize("email_of", ["wrong password", "unknown account", "no password"])
def test_every_wrong_sign_in_reads_the_same(session: Session, settings: Settings,
                                            email_of: str) -> None:
    email = _with_password(session, settings, "requesting_officer")
    attempt = {"wrong password": (email, "not the passphrase"),
               "unknown account": ("nobody@example.org", PASSWORD),
               "no password": (make_user(session, "tracer").email, PASSWORD)}[email_of]
    with pytest.raises(sign_in.SignInRefused) as refused:
        sign_in.sign_in_with_password(session, *attempt)
    assert refused.value.diagnostics == sign_in.WRONG_PASSWORD


def test_a_disabled_account_cannot_sign_in(session: Session, settings: Settings) -> None:
    from caldicott.access.service import set_disabled

    email = _with_password(session, settings, "requesting_officer")
    started = sign_in.sign_in_with_password(session, email, PASSWORD)
    set_disabled(session, settings, email, True)
    assert sign_in.signed_in(session, settings, started.session_id) is None
    with pytest.raises(sign_in.SignInRefused, match="not right"):
        sign_in.sign_in_with_password(session, email, PASSWORD)


def test_a_reviewer_without_a_totp_cannot_sign_in(session: Session, settings: Settings) -> None:
    email = _with_password(session, settings, "reviewer")
    with pytest.raises(sign_in.SignInRefused, match="security code app"):
        sign_in.sign_in_with_password(session, email, PASSWORD)


def test_a_reviewer_gives_a_totp_code_once(session: Session, settings: Settings) -> None:
    email = _with_password(session, settings, "reviewer")
    _, secret = sign_in.enrol_totp(session, settings, email)
    started = sign_in.sign_in_with_password(session, email, PASSWORD)
    assert started.needs_code
    assert sign_in.signed_in(session, settings, started.session_id) is None  # code owed
    code = pyotp.TOTP(secret).now()
    with pytest.raises(sign_in.SignInRefused, match="not right"):
        sign_in.give_code(session, settings, started.session_id,
                          "000000" if code != "000000" else "111111")
    full = sign_in.give_code(session, settings, started.session_id, code)
    assert full != started.session_id  # a new id once the second factor is given
    person = sign_in.signed_in(session, settings, full)
    assert person is not None and person.email == email
    again = sign_in.sign_in_with_password(session, email, PASSWORD)
    with pytest.raises(sign_in.SignInRefused, match="used already"):
        sign_in.give_code(session, settings, again.session_id, code)  # no replay


def test_an_officer_who_enrolled_a_totp_must_give_it(session: Session,
                                                    settings: Settings) -> None:
    email = _with_password(session, settings, "requesting_officer")
    sign_in.enrol_totp(session, settings, email)
    assert sign_in.sign_in_with_password(session, email, PASSWORD).needs_code


def test_an_idle_session_ends(session: Session, settings: Settings) -> None:
    email = _with_password(session, settings, "tracer")
    started = sign_in.sign_in_with_password(session, email, PASSWORD)
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    seen = utcnow() + idle - dt.timedelta(seconds=5)  # just within: the clock restarts
    assert sign_in.signed_in(session, settings, started.session_id, now=seen) is not None
    assert sign_in.signed_in(session, settings, started.session_id,
                             now=seen + idle + dt.timedelta(seconds=1)) is None
    assert session.scalars(select(WebSessionRow).where(
        WebSessionRow.session_hash == hash_session_id(started.session_id))).first() is None


def test_sign_out_and_reset_end_sessions(session: Session, settings: Settings) -> None:
    email = _with_password(session, settings, "tracer")
    first = sign_in.sign_in_with_password(session, email, PASSWORD).session_id
    second = sign_in.sign_in_with_password(session, email, PASSWORD).session_id
    sign_in.sign_out(session, first)
    assert sign_in.signed_in(session, settings, first) is None
    assert sign_in.signed_in(session, settings, second) is not None
    user, ended = sign_in.reset_sign_in(session, settings, email)
    assert ended == 1 and user.password_hash is None and user.totp_secret is None
    assert sign_in.signed_in(session, settings, second) is None
    with pytest.raises(sign_in.SignInRefused):
        sign_in.sign_in_with_password(session, email, PASSWORD)
