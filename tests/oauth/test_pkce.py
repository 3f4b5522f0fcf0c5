"""PKCE S256 (RFC 7636)."""

from __future__ import annotations

import pytest

from gridshare.oauth import pkce

APPENDIX_B_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
APPENDIX_B_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.mark.req("WG1-02-3.4-e")
def test_s256_matches_rfc_7636_appendix_b() -> None:
    assert pkce.s256(APPENDIX_B_VERIFIER) == APPENDIX_B_CHALLENGE
    assert pkce.verify(APPENDIX_B_VERIFIER, APPENDIX_B_CHALLENGE)
    assert pkce.METHODS == ("S256",)


def test_a_plain_verifier_equal_to_the_challenge_does_not_pass() -> None:
    """`plain` is not offered: a verifier equal to the challenge is not accepted."""
    assert not pkce.verify(APPENDIX_B_CHALLENGE, APPENDIX_B_CHALLENGE)
    assert not pkce.verify(None, APPENDIX_B_CHALLENGE)


@pytest.mark.parametrize(
    ("verifier", "valid"),
    [
        ("a" * 42, False),
        ("a" * 43, True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("A-._~z9" * 7, True),
        ("a" * 42 + "+", False),
        ("a" * 42 + "=", False),
        ("3ab4c71f218f4d9a", False),  # CDS-WG3-01 example 13.3.3: 16 characters
    ],
)
def test_verifiers_are_43_to_128_unreserved_characters(verifier: str, valid: bool) -> None:
    assert pkce.is_verifier(verifier) is valid
    assert pkce.verify(verifier, pkce.s256(verifier)) is valid


def test_s256_challenges_are_43_base64url_characters() -> None:
    assert pkce.is_s256_challenge(APPENDIX_B_CHALLENGE)
    assert not pkce.is_s256_challenge(APPENDIX_B_CHALLENGE + "=")
    assert not pkce.is_s256_challenge(APPENDIX_B_CHALLENGE[:-1] + "+")
    assert not pkce.is_s256_challenge(APPENDIX_B_CHALLENGE[:42])
