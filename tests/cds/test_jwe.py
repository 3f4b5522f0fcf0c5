"""CDS-WG3-01 §7.4.6 Additional JWK Encryption: our JWEs, opened by an independent JOSE library."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from jwcrypto import jwe as jc_jwe
from jwcrypto import jwk as jc_jwk

from gridshare.cds.jwe import EncryptionKeyError, encrypt_for

BODY = orjson.dumps({"accounts": [{"account_number": "1234", "cds_balance": "12.30"}]})


def _pair(kind: str, **params: Any) -> tuple[jc_jwk.JWK, dict[str, Any]]:
    """A jwcrypto key pair for encryption and the public JWK a client would submit."""
    private = jc_jwk.JWK.generate(kty=kind, use="enc", **params)
    public: dict[str, Any] = private.export_public(as_dict=True)
    return private, public


def _open(token: bytes, private: jc_jwk.JWK) -> tuple[bytes, dict[str, Any]]:
    message = jc_jwe.JWE()
    message.deserialize(token.decode("ascii"), key=private)
    header: dict[str, Any] = json.loads(message.objects["protected"])
    return bytes(message.payload), header


KEYS: list[tuple[str, dict[str, Any], str]] = [
    ("EC", {"crv": "P-256"}, "ECDH-ES+A256KW"),
    ("EC", {"crv": "P-384"}, "ECDH-ES+A256KW"),
    ("EC", {"crv": "P-521"}, "ECDH-ES+A256KW"),
    ("OKP", {"crv": "X25519"}, "ECDH-ES+A256KW"),
    ("RSA", {"size": 2048}, "RSA-OAEP-256"),
]


@pytest.mark.req("WG3-7.4.6-c", "WG3-7.4.6-d")
@pytest.mark.parametrize(("kind", "params", "alg"), KEYS)
def test_a_body_is_encrypted_to_the_grant_key(kind: str, params: dict[str, Any], alg: str) -> None:
    private, public = _pair(kind, **params)
    token, media_type = encrypt_for((public,), BODY)
    assert media_type == "application/jose"
    assert token.count(b".") == 4 and BODY not in token
    plaintext, header = _open(token, private)
    assert plaintext == BODY
    assert header["alg"] == alg and header["enc"] == "A256GCM" and header["cty"] == "json"
    assert "kid" not in header
    other, _ = _pair(kind, **params)
    with pytest.raises(jc_jwe.InvalidJWEData):
        _open(token, other)


@pytest.mark.req("WG3-7.4.6-c")
def test_without_a_key_the_body_is_plain_json() -> None:
    assert encrypt_for((), BODY) == (BODY, "application/json")


@pytest.mark.req("WG3-7.4.6-d")
def test_each_response_is_freshly_encrypted_and_names_the_kid() -> None:
    private, public = _pair("EC", crv="P-256", kid="device-7")
    first, _ = encrypt_for([public], BODY)
    second, _ = encrypt_for([public], BODY)
    assert first != second
    for token in (first, second):
        plaintext, header = _open(token, private)
        assert plaintext == BODY and header["kid"] == "device-7"


@pytest.mark.req("WG3-7.4.6-c", "WG3-7.4.6-d")
@pytest.mark.parametrize(
    ("kind", "params", "alg"),
    [
        ("EC", {"crv": "P-256"}, "ECDH-ES"),
        ("EC", {"crv": "P-256"}, "ECDH-ES+A128KW"),
        ("RSA", {"size": 2048}, "RSA-OAEP"),
    ],
)
def test_the_key_alg_is_honoured(kind: str, params: dict[str, Any], alg: str) -> None:
    private, public = _pair(kind, alg=alg, **params)
    token, _ = encrypt_for([public], BODY)
    plaintext, header = _open(token, private)
    assert plaintext == BODY and header["alg"] == alg


@pytest.mark.req("WG3-7.4.6-c")
def test_key_ops_that_allow_encryption_are_accepted() -> None:
    private, public = _pair("RSA", size=2048)
    token, _ = encrypt_for([public | {"key_ops": ["wrapKey"]}], BODY)
    assert _open(token, private)[0] == BODY


def _refused() -> list[tuple[str, dict[str, Any]]]:
    ec_private, ec = _pair("EC", crv="P-256")
    rsa_private, rsa = _pair("RSA", size=2048)
    rsa_private_members = rsa_private.export_private(as_dict=True)
    return [
        ("use", ec | {"use": "sig"}),
        ("use", {k: v for k, v in ec.items() if k != "use"}),
        ("private", ec_private.export_private(as_dict=True)),
        ("private", rsa | {m: rsa_private_members[m] for m in ("p", "q")}),
        ("private", jc_jwk.JWK.generate(kty="oct", size=256, use="enc").export(as_dict=True)),
        ("supported", _pair("OKP", crv="Ed25519")[1]),
        ("supported", ec | {"crv": "secp256k1"}),
        ("alg", rsa | {"alg": "RSA1_5"}),
        ("alg", ec | {"alg": "RSA-OAEP-256"}),
        ("key_ops", ec | {"key_ops": ["decrypt"]}),
        ("bits", _pair("RSA", size=1024)[1]),
        ("valid JWK", ec | {"x": "AAAA"}),
    ]


@pytest.mark.filterwarnings("ignore:Key size should be")  # the 1024-bit RSA key
@pytest.mark.req("WG3-2-b", "WG3-7.4.6-c")
def test_keys_we_cannot_encrypt_to_are_refused() -> None:
    for problem, key in _refused():
        with pytest.raises(EncryptionKeyError, match=problem):
            encrypt_for([key], BODY)


@pytest.mark.req("WG3-7.4.6-b")
def test_several_keys_are_refused_rather_than_guessed() -> None:
    _, first = _pair("EC", crv="P-256")
    _, second = _pair("EC", crv="P-256")
    with pytest.raises(EncryptionKeyError, match="2 different jwk values"):
        encrypt_for([first, second], BODY)
