"""The ledger's keys: made on first use, kept in the data folder, never in the database.

Two keys live in ``data_dir/keys`` (a 0700 folder), each a file of mode 0600:

* ``ledger-ed25519``, the checkpoint signing key (PKCS#8 PEM);
* ``pseudonym-hmac``, 32 random bytes keying the HMAC that stands in for a
  patient's identifier (:func:`pseudonym_key`). Not ``CALDICOTT_SECRET_KEY``: a
  placeholder or guessable secret would let anyone holding a pseudonym try the
  whole NHS number space (a billion numbers) in seconds.

Each is written to a temporary file and linked into place, so two processes
starting at once end up sharing one key instead of each using its own. A key
file that others can read is refused, as ssh refuses one.
"""

from __future__ import annotations

import os
import stat
import threading
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from caldicott.errors import Conflict

KEY_NAME = "ledger-ed25519"
PSEUDONYM_KEY_NAME = "pseudonym-hmac"
PSEUDONYM_KEY_BYTES = 32


def key_path(data_dir: Path) -> Path:
    return data_dir / "keys" / KEY_NAME


def has_key(data_dir: Path) -> bool:
    """Whether the log's signing key exists yet."""
    return key_path(data_dir.absolute()).exists()


def load_or_create_key(data_dir: Path) -> Ed25519PrivateKey:
    """The log's signing key, generated on first use.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> k = load_or_create_key(d)
        >>> oct(key_path(d).stat().st_mode & 0o777)
        '0o600'
    """
    return _cached_key(key_path(data_dir.absolute()))


@lru_cache(maxsize=8)
def _cached_key(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        _create(path)
    _refuse_if_shared(path, "ledger signing key")
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise Conflict(f"{path} is not an Ed25519 private key")
    return key


def pseudonym_key(data_dir: Path) -> bytes:
    """The key of patients' pseudonyms: 32 random bytes, generated on first use.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> len(pseudonym_key(d)), pseudonym_key(d) == pseudonym_key(d)
        (32, True)
    """
    return _cached_pseudonym_key(data_dir.absolute() / "keys" / PSEUDONYM_KEY_NAME)


@lru_cache(maxsize=8)
def _cached_pseudonym_key(path: Path) -> bytes:
    if not path.exists():
        _write_once(path, os.urandom(PSEUDONYM_KEY_BYTES))
    _refuse_if_shared(path, "pseudonym key")
    key = path.read_bytes()
    if len(key) != PSEUDONYM_KEY_BYTES:
        raise Conflict(f"pseudonym key {path} is not {PSEUDONYM_KEY_BYTES} bytes; "
                       "restore it from backup")
    return key


def _refuse_if_shared(path: Path, what: str) -> None:
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise Conflict(f"{what} {path} is readable by others; chmod 600 it")


def _create(path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                     NoEncryption())
    _write_once(path, pem)


def _write_once(path: Path, content: bytes) -> None:
    """Write ``content`` at ``path`` unless another process got there first (then keep
    theirs): a private temporary file, fsynced, hard-linked into place."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)  # fails if another process got there first: use theirs
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
