"""BECKN-006 Signing Beckn APIs in HTTP: Ed25519 over the BLAKE2b-512 digest of the body.

The signing string is exactly `(created): <c>\\n(expires): <e>\\ndigest: BLAKE-512=<digest>`, the
digest is base64(BLAKE2b-512(raw body)) and the signature base64(Ed25519(signing string)). It
travels as `Signature keyId="{subscriber_id}|{unique_key_id}|ed25519",algorithm="ed25519",
created="…",expires="…",headers="(created) (expires) digest",signature="…"` in `Authorization`
(a BAP or BPP) and in `X-Gateway-Authorization` or `Proxy-Authorization` (a gateway).

Every failure raises a `SignatureError` naming the part at fault; BECKN-005 has no code for
authentication, so it carries the generic 30000 "Invalid request error", and the route answers
HTTP 401, a NACK and the `challenge` header. `created` may be up to `CLOCK_SKEW` seconds ahead of
our clock (as Beckn-ONIX allows); `expires` gets no leeway. Pure functions: no database, no
clock (`now` is passed in).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gridshare.beckn.errors import BecknError

ALGORITHM: Final = "ed25519"
SIGNED_HEADERS: Final = "(created) (expires) digest"
DIGEST_PREFIX: Final = "BLAKE-512="
AUTHORIZATION: Final = "Authorization"
GATEWAY_HEADERS: Final = ("X-Gateway-Authorization", "Proxy-Authorization")
"""Where a gateway signs: BECKN-006 names the first; some gateways send the second (PR #152)."""
CLOCK_SKEW: Final = 5
"""Seconds a `created` may lie in our future (the signer's clock runs ahead of ours)."""
ERROR_CODE: Final = "30000"
"""BECKN-005 "Invalid request error": the generic code, as no code covers authentication."""

_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^",\s]+))\s*(?:,|$)')
_UNIX_TIME = re.compile(r"0|[1-9][0-9]{0,11}")
_REQUIRED = ("keyId", "algorithm", "created", "expires", "headers", "signature")


class SignatureError(BecknError):
    """A signature that cannot be accepted: answer 401 with a NACK and `challenge(realm)`."""

    def __init__(self, message: str, header: str = AUTHORIZATION) -> None:
        super().__init__(ERROR_CODE, message)
        self.header = header

    def challenge(self, realm: str) -> dict[str, str]:
        """The 401 response's challenge header: `Proxy-Authenticate` for a gateway's
        signature, `WWW-Authenticate` otherwise (BECKN-006 steps 2, 4, 5)."""
        name = "Proxy-Authenticate" if self.header in GATEWAY_HEADERS else "WWW-Authenticate"
        return {name: f'Signature realm="{realm}",headers="{SIGNED_HEADERS}"'}


class MissingSignature(SignatureError):
    """No signature header, or one without a required parameter."""


class MalformedSignature(SignatureError):
    """A signature header or parameter that does not follow BECKN-006."""


class SignatureExpired(SignatureError):
    """`expires` is in the past."""


class SignatureNotYetValid(SignatureError):
    """`created` is in the future."""


class DigestMismatch(SignatureError):
    """A `Digest` header that does not match the body."""


class UnknownKey(SignatureError):
    """No valid public key for the keyId's subscriber and key id (BECKN-006 step 2.6)."""


class BadSignature(SignatureError):
    """The signature does not verify over the body with the subscriber's key."""


@dataclass(frozen=True)
class Signature:
    """One parsed signature header."""

    header: str
    subscriber_id: str
    unique_key_id: str | None
    created: int
    expires: int
    signature: bytes

    @property
    def key_id(self) -> str:
        """The keyId as sent: `{subscriber_id}|{unique_key_id}|ed25519`."""
        return key_id(self.subscriber_id, self.unique_key_id)


@dataclass(frozen=True)
class Authenticated:
    """The verified signatures of a request: the sender's, and a gateway's if one signed."""

    subscriber: Signature
    gateway: Signature | None


KeyLookup = Callable[[str, str | None], Ed25519PublicKey | None]
"""(subscriber_id, unique_key_id) -> the registered public key valid now, or None."""


def digest(body: bytes) -> str:
    """base64 of the BLAKE2b-512 hash of the raw body."""
    return base64.b64encode(hashlib.blake2b(body, digest_size=64).digest()).decode()


def signing_string(created: int, expires: int, body_digest: str) -> str:
    """The string that is signed (BECKN-006 step 1.4)."""
    return f"(created): {created}\n(expires): {expires}\ndigest: {DIGEST_PREFIX}{body_digest}"


def key_id(subscriber_id: str, unique_key_id: str | None) -> str:
    """`{subscriber_id}|{unique_key_id}|ed25519`, or `{subscriber_id}|ed25519` for a network
    that allows one key per subscriber."""
    parts = [subscriber_id, unique_key_id] if unique_key_id else [subscriber_id]
    return "|".join([*parts, ALGORITHM])


def sign(
    body: bytes,
    private_key: Ed25519PrivateKey,
    subscriber_id: str,
    unique_key_id: str | None,
    *,
    created: datetime,
    expires: datetime,
) -> str:
    """The value of an `Authorization` header signing `body` from `created` until `expires`."""
    start, end = int(created.timestamp()), int(expires.timestamp())
    if end < start:
        raise ValueError("a signature cannot expire before it is created")
    signature = private_key.sign(signing_string(start, end, digest(body)).encode())
    return (
        f'Signature keyId="{key_id(subscriber_id, unique_key_id)}",algorithm="{ALGORITHM}",'
        f'created="{start}",expires="{end}",headers="{SIGNED_HEADERS}",'
        f'signature="{base64.b64encode(signature).decode()}"'
    )


def parse(value: str, header: str = AUTHORIZATION) -> Signature:
    """The signature in a header's value; raises a `SignatureError` naming what is wrong."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "signature":
        raise MalformedSignature(
            f'{header} must use the "Signature" scheme (BECKN-006), not "{scheme}"', header
        )
    params = _params(rest, header)
    for name in _REQUIRED:
        if name not in params:
            raise MissingSignature(f"{header} has no {name} parameter", header)
    subscriber_id, unique_key_id, key_algorithm = _split_key_id(params["keyId"], header)
    if params["algorithm"] != ALGORITHM:
        raise MalformedSignature(
            f'{header} algorithm is "{params["algorithm"]}"; only "{ALGORITHM}" is accepted',
            header,
        )
    if key_algorithm != params["algorithm"]:
        raise MalformedSignature(
            f'{header} keyId names algorithm "{key_algorithm}" but the algorithm parameter '
            f'is "{params["algorithm"]}"',
            header,
        )
    if " ".join(params["headers"].split()) != SIGNED_HEADERS:
        raise MalformedSignature(
            f'{header} headers must be "{SIGNED_HEADERS}", not "{params["headers"]}"', header
        )
    created = _unix_time(params["created"], "created", header)
    expires = _unix_time(params["expires"], "expires", header)
    if expires < created:
        raise MalformedSignature(
            f"{header} expires ({expires}) is before created ({created})", header
        )
    return Signature(
        header, subscriber_id, unique_key_id, created, expires, _signature(params, header)
    )


def verify(signature: Signature, body: bytes, public_key: Ed25519PublicKey, now: datetime) -> None:
    """Check the signature's time window at `now` and the signature over `body`."""
    moment = now.timestamp()
    if signature.created > moment + CLOCK_SKEW:
        raise SignatureNotYetValid(
            f"{signature.header} created ({signature.created}) is in the future "
            f"(now {int(moment)}): check the signer's clock",
            signature.header,
        )
    if signature.expires < moment:
        raise SignatureExpired(
            f"{signature.header} expired at {signature.expires} (now {int(moment)}): "
            "sign the request again",
            signature.header,
        )
    text = signing_string(signature.created, signature.expires, digest(body))
    try:
        public_key.verify(signature.signature, text.encode())
    except InvalidSignature:
        raise BadSignature(
            f"{signature.header} signature does not verify with key {signature.key_id}: the "
            "body changed after signing, or another key signed it",
            signature.header,
        ) from None


def authenticate(
    headers: Mapping[str, str], body: bytes, lookup: KeyLookup, now: datetime
) -> Authenticated:
    """Verify the sender's `Authorization` (required) and a gateway's signature (if present)
    over `body`, with keys from `lookup`; a `Digest` header, if sent, must match the body."""
    by_name = {name.lower(): value for name, value in headers.items()}
    sent_digest = by_name.get("digest")
    if sent_digest is not None and sent_digest.strip() != DIGEST_PREFIX + digest(body):
        raise DigestMismatch(
            f"the Digest header ({sent_digest.strip()}) is not the body's "
            f"{DIGEST_PREFIX}{digest(body)}: the body changed after signing"
        )
    value = by_name.get(AUTHORIZATION.lower())
    if value is None:
        raise MissingSignature(f"the request has no {AUTHORIZATION} header (BECKN-006)")
    subscriber = _checked(parse(value), body, lookup, now)
    gateway = next(
        (
            _checked(parse(by_name[name.lower()], name), body, lookup, now)
            for name in GATEWAY_HEADERS
            if name.lower() in by_name
        ),
        None,
    )
    return Authenticated(subscriber, gateway)


def private_key_from_b64(text: str) -> Ed25519PrivateKey:
    """A private key from base64: a 32-byte seed, or libsodium's 64 bytes (seed ‖ public key,
    the form of the BECKN-006 example and protocol-server)."""
    raw = _b64(text, "private key")
    if len(raw) not in (32, 64):
        raise ValueError(f"an Ed25519 private key is 32 or 64 bytes, not {len(raw)}")
    key = Ed25519PrivateKey.from_private_bytes(raw[:32])
    if len(raw) == 64 and public_key_b64(key.public_key()) != base64.b64encode(raw[32:]).decode():
        raise ValueError("the 64-byte private key's second half is not its public key")
    return key


def private_key_b64(key: Ed25519PrivateKey) -> str:
    """The private key's 32-byte seed in base64."""
    raw = key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return base64.b64encode(raw).decode()


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    """A public key from the base64 of its 32 raw bytes (the registry's `signing_public_key`)."""
    raw = _b64(text, "public key")
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_b64(key: Ed25519PublicKey) -> str:
    """The base64 of the public key's 32 raw bytes."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def _checked(signature: Signature, body: bytes, lookup: KeyLookup, now: datetime) -> Signature:
    public_key = lookup(signature.subscriber_id, signature.unique_key_id)
    if public_key is None:
        raise UnknownKey(
            f"{signature.header} keyId {signature.key_id}: no valid public key is registered "
            "for this subscriber and key id",
            signature.header,
        )
    verify(signature, body, public_key, now)
    return signature


def _params(text: str, header: str) -> dict[str, str]:
    params: dict[str, str] = {}
    position = 0
    text = text.strip()
    while position < len(text):
        match = _PARAM.match(text, position)
        if match is None or match.end() == position:
            raise MalformedSignature(
                f"{header} cannot be read from character {position + 1}: expected "
                'name="value" pairs separated by commas',
                header,
            )
        name, quoted, bare = match.groups()
        if name in params:
            raise MalformedSignature(f"{header} has {name} twice", header)
        params[name] = quoted if quoted is not None else bare
        position = match.end()
    return params


def _split_key_id(value: str, header: str) -> tuple[str, str | None, str]:
    parts = value.split("|")
    if len(parts) not in (2, 3) or not all(parts):
        raise MalformedSignature(
            f'{header} keyId "{value}" is not "{{subscriber_id}}|{{unique_key_id}}|{{algorithm}}"',
            header,
        )
    if len(parts) == 2:
        return parts[0], None, parts[1]
    return parts[0], parts[1], parts[2]


def _unix_time(value: str, name: str, header: str) -> int:
    if not _UNIX_TIME.fullmatch(value):
        raise MalformedSignature(
            f'{header} {name} "{value}" is not a Unix timestamp (whole seconds)', header
        )
    return int(value)


def _signature(params: Mapping[str, str], header: str) -> bytes:
    try:
        raw = base64.b64decode(params["signature"], validate=True)
    except binascii.Error:
        raise MalformedSignature(f"{header} signature is not base64", header) from None
    if len(raw) != 64:
        raise MalformedSignature(
            f"{header} signature is {len(raw)} bytes; an Ed25519 signature is 64", header
        )
    return raw


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        raise ValueError(f"the {what} is not base64") from None
