"""The checkpoint signing key: made on first use, kept in the data folder, never in the database.

Stored as a PKCS#8 PEM at ``data_dir/keys/ledger-ed25519`` with mode 0600 in a 0700
folder. It is written to a temporary file and linked into place, so two processes
starting at once end up sharing one key instead of each signing with its own. A key
file that others can read is refused, as ssh refuses one.
"""

from __future__ import annotations

import os
import stat
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
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise Conflict(f"ledger signing key {path} is readable by others; chmod 600 it")
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise Conflict(f"{path} is not an Ed25519 private key")
    return key


def _create(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                     NoEncryption())
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)  # fails if another process got there first: use theirs
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
