"""Ed25519 signing keys for inspection records: generate, load, fingerprint.

A lab keeps ``PREFIX.pem`` (PKCS#8 private key, file mode 0600) on the PC that certifies and
publishes ``PREFIX.pub.pem`` (SubjectPublicKeyInfo) to whoever verifies its records.

Example:
    >>> import tempfile, pathlib
    >>> private, public = generate_keypair(pathlib.Path(tempfile.mkdtemp()) / "lab")
    >>> oct(private.stat().st_mode & 0o777), public.name
    ('0o600', 'lab.pub.pem')
    >>> len(key_id(load_public_key(public)))
    16
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from craftvision.atomic import atomic_write_bytes
from craftvision.errors import CraftvisionError

PRIVATE_SUFFIX = ".pem"
PUBLIC_SUFFIX = ".pub.pem"


class KeyFileError(CraftvisionError):
    """A key file is missing, unreadable, or not an Ed25519 key of the expected kind."""


def key_paths(prefix: str | os.PathLike) -> tuple[Path, Path]:
    """``(PREFIX.pem, PREFIX.pub.pem)``.

    Example:
        >>> [p.name for p in key_paths("keys/lab")]
        ['lab.pem', 'lab.pub.pem']
    """
    base = os.fspath(prefix)
    return Path(base + PRIVATE_SUFFIX), Path(base + PUBLIC_SUFFIX)


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """A short fingerprint of a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_key_bytes(key)).hexdigest()[:16]


def generate_keypair(prefix: str | os.PathLike, *, overwrite: bool = False) -> tuple[Path, Path]:
    """Write a new key pair to ``PREFIX.pem`` (mode 0600) and ``PREFIX.pub.pem``.

    Refuses to replace existing files unless ``overwrite``: losing a lab's private key
    silently would orphan every record it signed.
    """
    private_path, public_path = key_paths(prefix)
    if not overwrite:
        for path in (private_path, public_path):
            if path.exists():
                raise KeyFileError(
                    f"{path}: already exists; choose another prefix, or replace it (--force)"
                )
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    atomic_write_bytes(private_path, private_pem, mode=0o600)
    atomic_write_bytes(public_path, public_pem)
    return private_path, public_path


def _read(path: str | os.PathLike, kind: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as err:
        raise KeyFileError(f"{path}: no such {kind} key file") from err
    except OSError as err:
        raise KeyFileError(f"{path}: cannot read the {kind} key ({err.strerror or err})") from err
    if b"-----BEGIN" not in data:
        raise KeyFileError(f"{path}: not a PEM key file")
    return data


def load_private_key(path: str | os.PathLike) -> Ed25519PrivateKey:
    """Load an unencrypted PEM Ed25519 private key; errors name the file and the reason."""
    data = _read(path, "private")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as err:
        raise KeyFileError(
            f"{path}: the private key is encrypted; craftvision reads unencrypted keys "
            "(protect the file with mode 0600 instead)"
        ) from err
    except (ValueError, UnsupportedAlgorithm) as err:
        hint = " (this looks like a public key)" if b"PUBLIC KEY" in data else ""
        raise KeyFileError(f"{path}: not a readable private key{hint}") from err
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: an {type(key).__name__}, not an Ed25519 private key")
    return key


def load_public_key(path: str | os.PathLike) -> Ed25519PublicKey:
    """Load a PEM Ed25519 public key; errors name the file and the reason."""
    data = _read(path, "public")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as err:
        hint = " (this looks like a private key)" if b"PRIVATE KEY" in data else ""
        raise KeyFileError(f"{path}: not a readable public key{hint}") from err
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path}: an {type(key).__name__}, not an Ed25519 public key")
    return key


__all__ = [
    "KeyFileError",
    "generate_keypair",
    "key_id",
    "key_paths",
    "load_private_key",
    "load_public_key",
    "public_key_bytes",
]
