"""BECKN-006 signatures made and checked with PyNaCl (libsodium) and hashlib only, so the tests of
the BAP client do not check `gridshare.beckn.signing` with itself (a test helper).

BECKN-006: digest = base64(BLAKE2b-512(body)); the signing string is
`(created): <c>\\n(expires): <e>\\ndigest: BLAKE-512=<digest>`; the header is
`Signature keyId="{subscriber}|{key id}|ed25519",algorithm="ed25519",created="<c>",
expires="<e>",headers="(created) (expires) digest",signature="<base64>"`.
"""

from __future__ import annotations

import base64
import hashlib
import re

import nacl.signing

_PARAM = re.compile(r'(\w+)="([^"]*)"')


def public_b64(key: nacl.signing.SigningKey) -> str:
    return base64.b64encode(bytes(key.verify_key)).decode()


def _signing_string(body: bytes, created: int, expires: int) -> bytes:
    digest = base64.b64encode(hashlib.blake2b(body, digest_size=64).digest()).decode()
    return f"(created): {created}\n(expires): {expires}\ndigest: BLAKE-512={digest}".encode()


def sign(body: bytes, key: nacl.signing.SigningKey, key_id: str, created: int, expires: int) -> str:
    """An `Authorization` header value for `body`, keyId `{subscriber}|{key id}|ed25519`."""
    signature = key.sign(_signing_string(body, created, expires)).signature
    return (
        f'Signature keyId="{key_id}",algorithm="ed25519",created="{created}",'
        f'expires="{expires}",headers="(created) (expires) digest",'
        f'signature="{base64.b64encode(signature).decode()}"'
    )


def verify(header: str, body: bytes, public_key: str) -> dict[str, str]:
    """The header's parameters, once its signature over `body` verifies with `public_key`
    (base64); nacl.exceptions.BadSignatureError otherwise."""
    assert header.startswith("Signature "), header
    params = dict(_PARAM.findall(header))
    assert params["algorithm"] == "ed25519" and params["headers"] == "(created) (expires) digest"
    text = _signing_string(body, int(params["created"]), int(params["expires"]))
    verify_key = nacl.signing.VerifyKey(base64.b64decode(public_key))
    verify_key.verify(text, base64.b64decode(params["signature"]))
    return params
