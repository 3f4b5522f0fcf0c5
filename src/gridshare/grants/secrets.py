"""Random values, their hashes, and sealed (encrypted) client secrets.

Codes, tokens, PAR request URIs and session ids carry 256 random bits and are stored only as
SHA-256 hashes; lookups compare hashes, so a stolen database yields no usable token. Client secrets
are verified the same way, but CDS-WG1-02 §7.1 also requires the Credentials API to show a
secret, so a copy is kept sealed with AES-256-GCM under the server's key
(`GRIDSHARE_SECRET_KEY`, or a key file created in the data dir on first use).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gridshare.config import Settings

RANDOM_BYTES = 32
"""256 random bits per token, code or secret (RFC 6749 §10.10 asks for at least 128)."""


def new_secret() -> str:
    """A random URL-safe value with 256 bits of entropy."""
    return secrets.token_urlsafe(RANDOM_BYTES)


def new_id(prefix: str = "", nbytes: int = 8) -> str:
    """A short random identifier (hex), e.g. for client and grant ids."""
    return f"{prefix}{secrets.token_hex(nbytes)}"


def digest(value: str) -> str:
    """The SHA-256 hex digest under which a random value is stored."""
    return hashlib.sha256(value.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two strings."""
    return hmac.compare_digest(a.encode(), b.encode())


CREDENTIAL = b"gridshare-credential"
"""The purpose (AEAD associated data) client secrets are sealed for."""


class Sealer:
    """Seals and opens client secrets (and other stored secrets, each for its own `purpose`) with
    the server's AES-256-GCM key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the secret key must be 32 bytes (64 hex characters or 43 base64)")
        self._aead = AESGCM(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> Sealer:
        return cls(server_key(settings))

    def seal(self, plaintext: str, purpose: bytes = CREDENTIAL) -> bytes:
        """`plaintext` sealed for `purpose` (a sealed value opens only for the same purpose)."""
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), purpose)

    def open(self, sealed: bytes, purpose: bytes = CREDENTIAL) -> str:
        return self._aead.decrypt(sealed[:12], sealed[12:], purpose).decode()


def server_key(settings: Settings) -> bytes:
    """The configured key, or the data dir's key file (created with a random key if missing)."""
    if settings.secret_key:
        return _decode_key(settings.secret_key)
    path: Path = settings.data_dir / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        path.chmod(0o600)
    return _decode_key(path.read_text().strip())


def _decode_key(text: str) -> bytes:
    try:
        key = bytes.fromhex(text) if len(text) == 64 else base64.urlsafe_b64decode(text + "==")
    except ValueError as error:
        raise ValueError("GRIDSHARE_SECRET_KEY must be 32 bytes as hex or base64") from error
    if len(key) != 32:
        raise ValueError("GRIDSHARE_SECRET_KEY must be 32 bytes as hex or base64")
    return key
