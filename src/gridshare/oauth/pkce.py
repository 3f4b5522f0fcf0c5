"""RFC 7636 Proof Key for Code Exchange, `S256` only (CDS-WG1-02 §3.4: S256 is offered, plain is
not).

A code verifier is 43 to 128 unreserved characters (§4.1); an S256 challenge is the unpadded
base64url SHA-256 of the verifier, always 43 characters (§4.2). The token endpoint recomputes the
challenge and compares it in constant time (§4.6).
"""

from __future__ import annotations

import re
from typing import Final

from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]

from gridshare.grants.secrets import same

METHODS: Final = ("S256",)
"""The code challenge methods this server accepts."""

_VERIFIER: Final = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_S256_CHALLENGE: Final = re.compile(r"[A-Za-z0-9\-_]{43}")


def is_verifier(value: str) -> bool:
    """Whether `value` has the form of a code verifier (§4.1)."""
    return _VERIFIER.fullmatch(value) is not None


def is_s256_challenge(value: str) -> bool:
    """Whether `value` has the form of an S256 code challenge (§4.2)."""
    return _S256_CHALLENGE.fullmatch(value) is not None


def s256(verifier: str) -> str:
    """The S256 challenge of `verifier`."""
    challenge: str = create_s256_code_challenge(verifier)
    return challenge


def verify(verifier: str | None, challenge: str) -> bool:
    """Whether `verifier` is well formed and its S256 challenge is `challenge` (§4.6)."""
    return verifier is not None and is_verifier(verifier) and same(s256(verifier), challenge)
