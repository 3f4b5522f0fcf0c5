"""CDS-WG3-01 §7.4.6 Additional JWK Encryption: Customer Data API response bodies encrypted to the
`jwk` a Grant's authorization details carry.

The section leaves the envelope open; ours (docs/spec-decisions.md) is a JWE (RFC 7516) in Compact
Serialization, sent as `Content-Type: application/jose` (RFC 7515 §9.2.1) over HTTPS as usual.
The protected header names the plaintext `"cty": "json"` and the key's `kid` when it has one;
content is encrypted with `A256GCM`; the content key with `ECDH-ES+A256KW` for EC and OKP keys and
`RSA-OAEP-256` for RSA keys, unless the key's own `alg` names another algorithm we allow
(`scopes.JWK_ENCRYPTION_ALGORITHMS`). Keys are checked again here with the rule that admitted them
at request time (`scopes.encryption_jwk_problem`), so a key we cannot encrypt to never lets a body
leave unencrypted: it raises `EncryptionKeyError`.

A token carries one Grant and §7.4.6 admits one `jwk` per request, so an Access has at most one
key; several distinct keys mean the Grant broke that rule, and we refuse to answer rather than
guess whose device may read the data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from joserfc import jwe
from joserfc.jwk import JWKRegistry

from gridshare.grants.scopes import JWK_ENCRYPTION_ALGORITHMS, encryption_jwk_problem

JSON_MEDIA_TYPE: Final = "application/json"
JWE_MEDIA_TYPE: Final = "application/jose"
"""RFC 7515 §9.2.1 / RFC 7516 §9: a JWS or JWE in Compact Serialization."""
CONTENT_ENCRYPTION: Final = "A256GCM"

_ALGORITHMS: Final = sorted({a for row in JWK_ENCRYPTION_ALGORITHMS.values() for a in row})
_REGISTRY: Final = jwe.JWERegistry(algorithms=[*_ALGORITHMS, CONTENT_ENCRYPTION])


class EncryptionKeyError(ValueError):
    """The `jwk` values that apply to a response cannot be used to encrypt it."""


def encrypt_for(jwks: Sequence[Mapping[str, Any]], body: bytes) -> tuple[bytes, str]:
    """The response body and its media type: `body` as JSON when `jwks` is empty, else a compact
    JWE of `body` encrypted to the one key (raises `EncryptionKeyError` for several keys or a key
    we cannot encrypt to)."""
    if not jwks:
        return body, JSON_MEDIA_TYPE
    if len(jwks) > 1:
        raise EncryptionKeyError(
            f"{len(jwks)} different jwk values apply; CDS-WG3-01 §7.4.6 admits one per Grant"
        )
    return _encrypt(jwks[0], body), JWE_MEDIA_TYPE


def _encrypt(jwk: Mapping[str, Any], body: bytes) -> bytes:
    """`body` as a compact JWE encrypted to the public encryption key `jwk`."""
    value = dict(jwk)
    problem = encryption_jwk_problem(value)
    if problem is not None:
        raise EncryptionKeyError(f"jwk: {problem}")
    header = {
        "alg": value.get("alg", JWK_ENCRYPTION_ALGORITHMS[value["kty"]][0]),
        "enc": CONTENT_ENCRYPTION,
        "cty": "json",
    }
    if isinstance(value.get("kid"), str):
        header["kid"] = value["kid"]
    # key_ops was checked above; joserfc would demand its own operation name for each alg.
    key = JWKRegistry.import_key({k: v for k, v in value.items() if k != "key_ops"})
    return jwe.encrypt_compact(header, body, key, registry=_REGISTRY).encode("ascii")
