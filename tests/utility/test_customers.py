"""Customers' passwords are stored as scrypt hashes that verify only the right password."""

from __future__ import annotations

import base64
import hashlib

import pytest

from gridshare.utility.customers import hash_password, verify_password


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_a_hash_verifies_its_password_and_no_other() -> None:
    stored = hash_password("correct horse battery staple")
    assert verify_password("correct horse battery staple", stored)
    assert not verify_password("correct horse battery stapler", stored)
    assert not verify_password("", stored)


def test_the_hash_is_plain_scrypt_of_the_documented_parameters() -> None:
    stored = hash_password("päss wörd ✓")
    scheme, log2_n, r, p, salt, key = stored.split("$")
    assert scheme == "scrypt"
    expected = hashlib.scrypt(
        "päss wörd ✓".encode(),
        salt=_b64decode(salt),
        n=2 ** int(log2_n),
        r=int(r),
        p=int(p),
        dklen=len(_b64decode(key)),
    )
    assert _b64decode(key) == expected
    assert int(log2_n) >= 14 and len(_b64decode(salt)) >= 16


def test_fresh_salts_make_every_hash_different() -> None:
    first, second = hash_password("same"), hash_password("same")
    assert first != second
    assert verify_password("same", first) and verify_password("same", second)


def test_a_given_salt_makes_the_hash_repeatable() -> None:
    salt = bytes(range(16))
    assert hash_password("demo-home", salt) == hash_password("demo-home", salt)
    assert hash_password("demo-home", salt) != hash_password("demo-home", bytes(range(1, 17)))


@pytest.mark.parametrize(
    "stored",
    ["", "!", "plain-text", "scrypt$14$8$1$AAAA", "scrypt$x$8$1$AAAA$AAAA", "bcrypt$1$2$3$4$5"],
)
def test_anything_but_our_hash_never_verifies(stored: str) -> None:
    assert not verify_password("plain-text", stored)


def test_a_tampered_hash_does_not_verify() -> None:
    stored = hash_password("secret")
    head, key = stored.rsplit("$", 1)
    flipped = bytes([_b64decode(key)[0] ^ 1]) + _b64decode(key)[1:]
    tampered = f"{head}${base64.urlsafe_b64encode(flipped).rstrip(b'=').decode()}"
    assert not verify_password("secret", tampered)


def test_empty_passwords_and_short_salts_are_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        hash_password("")
    with pytest.raises(ValueError, match="16 bytes"):
        hash_password("secret", b"short")
