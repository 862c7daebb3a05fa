"""Signed-note checkpoints: round trip, tampering refused, C2SP key id."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caldicott.errors import Conflict
from caldicott.ledger.core.checkpoint import (
    Checkpoint,
    CheckpointError,
    open_checkpoint,
    origin_for,
    verifier_key,
)
from caldicott.ledger.keys import key_path, load_or_create_key

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
ORIGIN = origin_for(KEY.public_key())
ROOT = hashlib.sha256(b"root").digest()


def test_a_signed_checkpoint_opens_with_its_key() -> None:
    note = Checkpoint(ORIGIN, 42, ROOT).sign(KEY)
    lines = note.split("\n")
    assert lines[:3] == [ORIGIN, "42", base64.b64encode(ROOT).decode()]
    assert lines[3] == "" and lines[4].startswith(f"\u2014 {ORIGIN} ")
    assert open_checkpoint(note, KEY.public_key()) == Checkpoint(ORIGIN, 42, ROOT)


def test_signature_line_starts_with_the_c2sp_key_id() -> None:
    note = Checkpoint(ORIGIN, 1, ROOT).sign(KEY)
    blob = base64.b64decode(note.split("\n")[4].split(" ")[2])
    raw = base64.b64decode(verifier_key(ORIGIN, KEY.public_key()).split("+", 2)[2])
    assert raw[0] == 1 and len(raw) == 33
    assert blob[:4] == hashlib.sha256(ORIGIN.encode() + b"\n" + raw).digest()[:4]
    assert len(blob) == 68


@pytest.mark.parametrize("edit", [
    lambda n: n.replace("\n42\n", "\n43\n"),
    lambda n: n.replace(base64.b64encode(ROOT).decode(), base64.b64encode(bytes(32)).decode()),
    lambda n: n.split("\n\n")[0] + "\n",
    lambda n: n.replace("caldicott.ledger/", "someone.else/"),
])
def test_an_altered_checkpoint_is_refused(edit) -> None:
    note = Checkpoint(ORIGIN, 42, ROOT).sign(KEY)
    with pytest.raises(CheckpointError):
        open_checkpoint(edit(note), KEY.public_key())


def test_a_checkpoint_from_another_key_is_refused() -> None:
    other = Ed25519PrivateKey.generate()
    note = Checkpoint(ORIGIN, 42, ROOT).sign(other)
    with pytest.raises(CheckpointError):
        open_checkpoint(note, KEY.public_key())


def test_key_is_made_once_with_owner_only_permissions(tmp_path: Path) -> None:
    first = load_or_create_key(tmp_path)
    path = key_path(tmp_path.absolute())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_or_create_key(tmp_path) is first


def test_a_key_others_can_read_is_refused(tmp_path: Path) -> None:
    path = key_path(tmp_path.absolute() / "shared")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not used")
    os.chmod(path, 0o644)
    with pytest.raises(Conflict):
        load_or_create_key(tmp_path / "shared")
