"""Checkpoints: the tree size and root, signed with Ed25519 as a C2SP signed note.

Format (c2sp.org/tlog-checkpoint and c2sp.org/signed-note)::

    <origin>\\n
    <tree size, decimal>\\n
    <root hash, base64>\\n
    \\n
    \\u2014 <key name> base64(<4-byte key id> || <64-byte Ed25519 signature>)\\n

The signature covers the body (the first three lines, each with its newline).
The key id is the first four bytes of SHA-256(key name || "\\n" || 0x01 || public
key), 0x01 being the signed-note algorithm byte for Ed25519. The key name is the
log's origin, so one line names both the log and the key that vouches for it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from caldicott.ledger.core.merkle import HASH_SIZE

ED25519_ALGORITHM = b"\x01"
SIGNATURE_PREFIX = "\u2014 "


class CheckpointError(ValueError):
    """A checkpoint that does not parse or whose signature does not verify."""


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def origin_for(key: Ed25519PublicKey) -> str:
    """The log's origin (and key name), derived from its public key so every log differs.

    Example:
        >>> origin_for(Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key())
        'caldicott.ledger/139e3940e64b5491'
    """
    return f"caldicott.ledger/{hashlib.sha256(raw_public_key(key)).hexdigest()[:16]}"


def key_id(name: str, key: Ed25519PublicKey) -> bytes:
    message = name.encode() + b"\n" + ED25519_ALGORITHM + raw_public_key(key)
    return hashlib.sha256(message).digest()[:4]


def verifier_key(name: str, key: Ed25519PublicKey) -> str:
    """The signed-note verifier key string: ``name+hex(key id)+base64(0x01 || key)``."""
    encoded = base64.b64encode(ED25519_ALGORITHM + raw_public_key(key)).decode()
    return f"{name}+{key_id(name, key).hex()}+{encoded}"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement: the log called ``origin`` had ``size`` leaves and this root."""

    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    def sign(self, key: Ed25519PrivateKey) -> str:
        """The whole signed note, ready to hand to an auditor.

        Example:
            >>> k = Ed25519PrivateKey.from_private_bytes(bytes(32))
            >>> note = Checkpoint(origin_for(k.public_key()), 0, bytes(32)).sign(k)
            >>> open_checkpoint(note, k.public_key()).size
            0
        """
        body = self.body()
        signature = key.sign(body.encode())
        line = base64.b64encode(key_id(self.origin, key.public_key()) + signature).decode()
        return f"{body}\n{SIGNATURE_PREFIX}{self.origin} {line}\n"


def parse_body(body: str) -> Checkpoint:
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise CheckpointError("a checkpoint body is origin, size and root, each on its own line")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not origin or not size_text.isascii() or not size_text.isdigit() or (
            len(size_text) > 1 and size_text[0] == "0"):
        raise CheckpointError("checkpoint origin or size is malformed")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error as error:
        raise CheckpointError("checkpoint root is not base64") from error
    if len(root) != HASH_SIZE:
        raise CheckpointError("checkpoint root is not a SHA-256 hash")
    return Checkpoint(origin, int(size_text), root)


def open_checkpoint(note: str, key: Ed25519PublicKey) -> Checkpoint:
    """Parse a signed note and check it carries a valid signature by ``key``.

    Raises:
        CheckpointError: malformed, or no valid signature from this log's key.
    """
    body, separator, signatures = note.partition("\n\n")
    if not separator:
        raise CheckpointError("not a signed note: no blank line before the signatures")
    checkpoint = parse_body(body + "\n")
    wanted = key_id(checkpoint.origin, key)
    for line in signatures.split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            continue
        name, _, encoded = line[len(SIGNATURE_PREFIX):].partition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            continue
        if name != checkpoint.origin or blob[:4] != wanted or len(blob) != 68:
            continue
        try:
            key.verify(blob[4:], (body + "\n").encode())
        except InvalidSignature as error:
            raise CheckpointError("checkpoint signature does not verify") from error
        return checkpoint
    raise CheckpointError(f"no signature by this log's key ({checkpoint.origin}) on the checkpoint")
