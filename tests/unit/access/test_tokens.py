"""The API token format: recognisable, high-entropy, self-checking, stored as a hash."""

from __future__ import annotations

import hashlib

from caldicott.access.core.tokens import (
    TOKEN_PREFIX,
    display_prefix,
    generate_token,
    hash_token,
    is_well_formed,
)


def test_token_carries_a_recognisable_prefix() -> None:
    assert generate_token().startswith(TOKEN_PREFIX)


def test_tokens_do_not_repeat() -> None:
    assert len({generate_token() for _ in range(1000)}) == 1000


def test_generated_tokens_are_well_formed() -> None:
    assert all(is_well_formed(generate_token()) for _ in range(200))


def test_checksum_catches_a_single_mistyped_character() -> None:
    token = generate_token()
    position = len(TOKEN_PREFIX) + 10
    replacement = "a" if token[position] != "a" else "b"
    assert not is_well_formed(token[:position] + replacement + token[position + 1:])


def test_rejects_strings_that_are_not_tokens() -> None:
    for text in ["", "cald_", "Bearer x", "ghp_" + "a" * 46, generate_token() + "x"]:
        assert not is_well_formed(text)


def test_stored_form_is_the_sha256_of_the_token_and_reveals_nothing_of_it() -> None:
    token = generate_token()
    stored = hash_token(token)
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token[len(TOKEN_PREFIX):][:8] not in stored


def test_display_prefix_shows_only_a_few_characters() -> None:
    token = generate_token()
    assert display_prefix(token) == token[:11]
