"""Customers' login passwords, hashed with scrypt (RFC 7914) from the standard library.

A stored hash reads `scrypt$<log2 n>$<r>$<p>$<salt>$<hash>` (salt and hash in unpadded URL-safe
base64), so the cost can be raised later and old hashes still verify. Any other stored value,
such as `!` for an account without a password, never verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCHEME = "scrypt"
LOG2_N = 14
"""scrypt cost: n = 2**14 with r = 8 and p = 1 takes ~16 MiB and tens of milliseconds."""
BLOCK_SIZE = 8
PARALLELISM = 1
SALT_BYTES = 16
KEY_BYTES = 32
_MAXMEM = 64 * 1024 * 1024


def hash_password(password: str, salt: bytes | None = None) -> str:
    """The storable hash of `password`; a fresh random salt unless one is given.

    Give `salt` only where the same hash must come out twice (the demo utility derives it from its
    seed); a real sign-up leaves it to `secrets`.
    """
    if not password:
        raise ValueError("a password must not be empty")
    if salt is None:
        salt = secrets.token_bytes(SALT_BYTES)
    if len(salt) < SALT_BYTES:
        raise ValueError(f"a salt needs at least {SALT_BYTES} bytes, got {len(salt)}")
    key = _derive(password, salt, LOG2_N, BLOCK_SIZE, PARALLELISM)
    return "$".join((SCHEME, str(LOG2_N), str(BLOCK_SIZE), str(PARALLELISM), _b64(salt), _b64(key)))


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches `stored` (compared in constant time); False for any stored
    value that is not one of our hashes."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        return False
    try:
        log2_n, block_size, parallelism = (int(p) for p in parts[1:4])
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return False
    if not (1 <= log2_n <= 20 and 1 <= block_size <= 32 and 1 <= parallelism <= 16):
        return False
    try:
        key = _derive(password, salt, log2_n, block_size, parallelism, len(expected))
    except ValueError:  # parameters beyond the memory limit
        return False
    return hmac.compare_digest(key, expected)


def _derive(
    password: str,
    salt: bytes,
    log2_n: int,
    block_size: int,
    parallelism: int,
    length: int = KEY_BYTES,
) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=2**log2_n,
        r=block_size,
        p=parallelism,
        maxmem=_MAXMEM,
        dklen=length,
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as error:
        raise ValueError("not base64") from error
