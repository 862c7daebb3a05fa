"""The pure parts of sign-in: password hashes, TOTP windows and replays, CSRF tokens."""

from __future__ import annotations

import pyotp

from caldicott.access.core import sign_in
from caldicott.access.core.roles import Role

T0 = 1_800_000_000.0  # a fixed moment; TOTP steps are 30 s


def test_a_password_hash_is_salted_argon2id_and_checks_only_that_password() -> None:
    first, second = sign_in.hash_password("a passphrase!"), sign_in.hash_password("a passphrase!")
    assert first.startswith("$argon2id$") and first != second
    assert sign_in.password_matches(first, "a passphrase!")
    assert not sign_in.password_matches(first, "a passphrase?")
    assert not sign_in.password_matches("not a hash", "a passphrase!")
    assert not sign_in.password_matches(first, "x" * 5000)


def test_a_code_is_accepted_one_step_either_side_and_never_twice() -> None:
    secret = sign_in.new_totp_secret()
    totp = pyotp.TOTP(secret)
    now = int(T0 // 30)
    for step in (now - 1, now, now + 1):
        assert sign_in.accepted_totp_step(secret, totp.generate_otp(step), None, T0) == step
    assert sign_in.accepted_totp_step(secret, totp.generate_otp(now - 2), None, T0) is None
    assert sign_in.accepted_totp_step(secret, totp.generate_otp(now), now, T0) is None
    assert sign_in.accepted_totp_step(secret, totp.generate_otp(now + 1), now, T0) == now + 1
    assert sign_in.accepted_totp_step(secret, "12 34", None, T0) is None


def test_reviewers_auditors_and_administrators_always_need_a_second_factor() -> None:
    for role in Role:
        needed = sign_in.needs_second_factor(frozenset({role}), enrolled=False)
        assert needed == (role in {Role.REVIEWER, Role.AUDITOR, Role.ADMINISTRATOR})


def test_a_csrf_token_belongs_to_one_binding_and_one_key() -> None:
    token = sign_in.csrf_token("key", "session-a")
    assert sign_in.csrf_matches("key", "session-a", token)
    assert not sign_in.csrf_matches("key", "session-b", token)
    assert not sign_in.csrf_matches("other key", "session-a", token)
    assert not sign_in.csrf_matches("key", None, token)
    assert not sign_in.csrf_matches("key", "session-a", None)


def test_a_session_id_is_no_api_token_and_is_stored_hashed() -> None:
    from caldicott.access.core.tokens import is_well_formed

    session_id = sign_in.new_session_id()
    assert not is_well_formed(session_id)
    assert sign_in.hash_session_id(session_id) != session_id
    assert len(sign_in.hash_session_id(session_id)) == 64
