"""BECKN-006 signing: the document's test vector reproduced exactly, round trips, and every way a
signature is refused. PyNaCl (libsodium) and hashlib check our output independently."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import nacl.exceptions
import nacl.signing
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gridshare.beckn import signing

# BECKN-006 "Step 1: BAP signs request and calls BG".
BODY = (
    b'{"context":{"domain":"nic2004:60212","country":"IND","city":"Kochi","action":"search",'
    b'"core_version":"0.9.1","bap_id":"bap.stayhalo.in","bap_uri":'
    b'"https://8f9f-49-207-209-131.ngrok.io/protocol/","transaction_id":'
    b'"e6d9f908-1d26-4ff3-a6d1-3af3d3721054","message_id":"a2fe6d52-9fe4-4d1a-9d0b-dccb8b48522d",'
    b'"timestamp":"2022-01-04T09:17:55.971Z","ttl":"P1M"},"message":{"intent":{"fulfillment":'
    b'{"start":{"location":{"gps":"10.108768, 76.347517"}},"end":{"location":'
    b'{"gps":"10.102997, 76.353480"}}}}}}'
)
PUBLIC = "awGPjRK6i/Vg/lWr+0xObclVxlwZXvTjWYtlu6NeOHk="
PRIVATE = "lP3sHA+9gileOkXYJXh4Jg8tK0gEEMbf9yCPnFpbldhrAY+NErqL9WD+Vav7TE5tyVXGXBle9ONZi2W7o144eQ=="
DIGEST = "b6lf6lRgOweajukcvcLsagQ2T60+85kRh/Rd2bdS+TG/5ALebOEgDJfyCrre/1+BMu5nA94o4DT3pTFXuUg7sw=="
CREATED, EXPIRES = 1641287875, 1641291475
SIGNING_STRING = "(created): 1641287875\n(expires): 1641291475\ndigest: BLAKE-512=" + DIGEST
SIGNATURE = (
    "cjbhP0PFyrlSCNszJM1F/YmHDVAWsZqJUPzojnE/7TJU3fJ/rmIlgaUHEr5E0/2PIyf0tpSnWtT6cyNNlpmoAQ=="
)
KEY_ID = "example-bap.com|ae3ea24b-cfec-495e-81f8-044aaef164ac|ed25519"
HEADER = (
    f'Signature keyId="{KEY_ID}",algorithm="ed25519",created="1641287875",'
    f'expires="1641291475",headers="(created) (expires) digest",signature="{SIGNATURE}"'
)
DURING = datetime.fromtimestamp(CREATED + 60, UTC)


def at(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


def lookup_for(public_key: Ed25519PublicKey) -> signing.KeyLookup:
    def lookup(subscriber_id: str, unique_key_id: str | None) -> Ed25519PublicKey | None:
        if (subscriber_id, unique_key_id) == ("example-bap.com", KEY_ID.split("|")[1]):
            return public_key
        return None

    return lookup


VECTOR_KEYS = lookup_for(signing.public_key_from_b64(PUBLIC))


def test_the_blake_512_example_of_the_document() -> None:
    expected = (
        "qK3Uvd39k+SHfSdG5igXsRY2Sh+nvBSNlQkLxzM7NnP4JAHPeqLkyx7NkCluPxTLVBP47Xe+cwRbE5FM3NapGA=="
    )
    assert signing.digest(b"The quick brown fox jumps over the lazy dog") == expected


@pytest.mark.req("BECKN-006-VECTOR")
def test_the_test_vector_digest_signing_string_and_signature() -> None:
    assert signing.digest(BODY) == DIGEST
    assert signing.signing_string(CREATED, EXPIRES, signing.digest(BODY)) == SIGNING_STRING
    key = signing.private_key_from_b64(PRIVATE)
    assert signing.public_key_b64(key.public_key()) == PUBLIC
    header = signing.sign(
        BODY,
        key,
        "example-bap.com",
        "ae3ea24b-cfec-495e-81f8-044aaef164ac",
        created=at(CREATED),
        expires=at(EXPIRES),
    )
    assert header == HEADER


def test_the_test_vector_header_verifies() -> None:
    verified = signing.authenticate({"Authorization": HEADER}, BODY, VECTOR_KEYS, DURING)
    assert verified.subscriber.key_id == KEY_ID
    assert verified.subscriber.created == CREATED and verified.subscriber.expires == EXPIRES
    assert verified.gateway is None


def test_independent_libraries_agree_with_the_vector_and_with_us() -> None:
    assert base64.b64encode(hashlib.blake2b(BODY, digest_size=64).digest()).decode() == DIGEST
    # libsodium's 64-byte secret key is seed || public key; PyNaCl takes the seed.
    nacl_key = nacl.signing.SigningKey(base64.b64decode(PRIVATE)[:32])
    assert base64.b64encode(bytes(nacl_key.verify_key)).decode() == PUBLIC
    nacl_signature = nacl_key.sign(SIGNING_STRING.encode()).signature
    assert base64.b64encode(nacl_signature).decode() == SIGNATURE
    ours = Ed25519PrivateKey.generate()
    header = signing.sign(b"{}", ours, "bpp.example", "k1", created=DURING, expires=DURING)
    parsed = signing.parse(header)
    verify_key = nacl.signing.VerifyKey(base64.b64decode(signing.public_key_b64(ours.public_key())))
    text = signing.signing_string(parsed.created, parsed.expires, signing.digest(b"{}"))
    verify_key.verify(text.encode(), parsed.signature)
    with pytest.raises(nacl.exceptions.BadSignatureError):
        verify_key.verify(text.replace("(expires)", "(expire)").encode(), parsed.signature)


def test_round_trip_with_a_fresh_key_and_a_32_byte_seed() -> None:
    key = Ed25519PrivateKey.generate()
    again = signing.private_key_from_b64(signing.private_key_b64(key))
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    header = signing.sign(
        b'{"a":1}', again, "bpp.example", "k1", created=now, expires=now + timedelta(minutes=10)
    )
    verified = signing.authenticate(
        {"authorization": header},
        b'{"a":1}',
        lambda s, k: key.public_key() if (s, k) == ("bpp.example", "k1") else None,
        now + timedelta(minutes=5),
    )
    assert verified.subscriber.subscriber_id == "bpp.example"


@pytest.mark.parametrize("gateway_header", signing.GATEWAY_HEADERS)
def test_a_gateway_signature_is_read_from_either_header(gateway_header: str) -> None:
    gateway = Ed25519PrivateKey.generate()
    gateway_value = signing.sign(
        BODY, gateway, "bg.example", "g1", created=at(CREATED + 10), expires=at(EXPIRES)
    )

    def lookup(subscriber_id: str, unique_key_id: str | None) -> Ed25519PublicKey | None:
        if subscriber_id == "bg.example":
            return gateway.public_key()
        return VECTOR_KEYS(subscriber_id, unique_key_id)

    headers = {"Authorization": HEADER, gateway_header: gateway_value}
    verified = signing.authenticate(headers, BODY, lookup, DURING)
    assert verified.gateway is not None
    assert verified.gateway.header == gateway_header
    assert verified.gateway.subscriber_id == "bg.example"
    with pytest.raises(signing.UnknownKey) as refused:
        signing.authenticate(headers, BODY, VECTOR_KEYS, DURING)
    assert refused.value.header == gateway_header
    assert refused.value.challenge("bpp.example") == {
        "Proxy-Authenticate": 'Signature realm="bpp.example",headers="(created) (expires) digest"'
    }


@pytest.mark.req("BECKN-006-VERIFY")
def test_a_tampered_body_fails() -> None:
    tampered = BODY.replace(b"Kochi", b"Kochj")
    with pytest.raises(signing.BadSignature) as refused:
        signing.authenticate({"Authorization": HEADER}, tampered, VECTOR_KEYS, DURING)
    assert KEY_ID in refused.value.message
    assert refused.value.error() == {"code": "30000", "message": refused.value.message}
    assert refused.value.challenge("bpp.example") == {
        "WWW-Authenticate": 'Signature realm="bpp.example",headers="(created) (expires) digest"'
    }


def test_another_key_fails() -> None:
    other = lookup_for(Ed25519PrivateKey.generate().public_key())
    with pytest.raises(signing.BadSignature):
        signing.authenticate({"Authorization": HEADER}, BODY, other, DURING)


def test_a_digest_header_that_does_not_match_the_body() -> None:
    headers = {"Authorization": HEADER, "Digest": f"BLAKE-512={DIGEST}"}
    signing.authenticate(headers, BODY, VECTOR_KEYS, DURING)
    with pytest.raises(signing.DigestMismatch, match="body changed after signing"):
        signing.authenticate(headers, BODY + b" ", VECTOR_KEYS, DURING)


def test_time_window() -> None:
    signing.authenticate({"Authorization": HEADER}, BODY, VECTOR_KEYS, at(EXPIRES))
    signing.authenticate(
        {"Authorization": HEADER}, BODY, VECTOR_KEYS, at(CREATED - signing.CLOCK_SKEW)
    )
    with pytest.raises(signing.SignatureExpired, match="expired at 1641291475"):
        signing.authenticate({"Authorization": HEADER}, BODY, VECTOR_KEYS, at(EXPIRES + 1))
    with pytest.raises(signing.SignatureNotYetValid, match="in the future"):
        signing.authenticate(
            {"Authorization": HEADER}, BODY, VECTOR_KEYS, at(CREATED - signing.CLOCK_SKEW - 1)
        )


def test_no_authorization_header() -> None:
    with pytest.raises(signing.MissingSignature, match="no Authorization header"):
        signing.authenticate({"Content-Type": "application/json"}, BODY, VECTOR_KEYS, DURING)


def test_an_unknown_key() -> None:
    with pytest.raises(signing.UnknownKey, match="no valid public key"):
        signing.authenticate({"Authorization": HEADER}, BODY, lambda s, k: None, DURING)


@pytest.mark.parametrize(
    "parameter", ["keyId", "algorithm", "created", "expires", "headers", "signature"]
)
def test_each_missing_parameter_is_named(parameter: str) -> None:
    parts = [part for part in HEADER.removeprefix("Signature ").split(",")]
    value = "Signature " + ",".join(p for p in parts if not p.startswith(f"{parameter}="))
    with pytest.raises(signing.MissingSignature, match=f"no {parameter} parameter"):
        signing.parse(value)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("Signature ", "Bearer "), '"Signature" scheme'),
        (('keyId="example-bap.com|', 'keyId="|'), "is not"),
        (("|ed25519", "|ed25519|x"), "is not"),
        (('algorithm="ed25519"', 'algorithm="rsa-sha256"'), "only"),
        (("|ed25519", "|rsa"), 'names algorithm "rsa"'),
        (("(created) (expires) digest", "(created) digest"), "headers must be"),
        (('created="1641287875"', 'created="1641287875.5"'), "not a Unix timestamp"),
        (('expires="1641291475"', 'expires="-1"'), "not a Unix timestamp"),
        (('expires="1641291475"', 'expires="1641287874"'), "is before created"),
        (('signature="cjbh', 'signature="!jbh'), "not base64"),
        (('signature="cjbh', 'signature="AAAA'), None),
        (('signature="cjbhP0PF', 'signature="'), "is 58 bytes"),
        (('created="1641287875"', 'created="1641287875",created="1"'), "created twice"),
        ((",algorithm=", ",algorithm"), "cannot be read"),
    ],
)
def test_malformed_headers_are_named(change: tuple[str, str], problem: str | None) -> None:
    value = HEADER.replace(*change, 1)
    assert value != HEADER
    if problem is None:  # well-formed, but not the signer's signature
        with pytest.raises(signing.BadSignature):
            signing.authenticate({"Authorization": value}, BODY, VECTOR_KEYS, DURING)
        return
    with pytest.raises(signing.MalformedSignature, match=problem):
        signing.parse(value)


def test_lenient_spacing_and_bare_numbers_as_gateways_send_them() -> None:
    spaced = HEADER.replace('",', '", ').replace('created="1641287875"', "created=1641287875")
    assert signing.parse(spaced) == signing.parse(HEADER)


def test_a_key_id_without_unique_key_id() -> None:
    key = Ed25519PrivateKey.generate()
    header = signing.sign(b"x", key, "one-key.example", None, created=DURING, expires=DURING)
    parsed = signing.parse(header)
    assert parsed.key_id == "one-key.example|ed25519" and parsed.unique_key_id is None


def test_key_encodings() -> None:
    with pytest.raises(ValueError, match="second half is not its public key"):
        signing.private_key_from_b64(
            base64.b64encode(base64.b64decode(PRIVATE)[:32] + bytes(32)).decode()
        )
    with pytest.raises(ValueError, match="32 or 64 bytes"):
        signing.private_key_from_b64(base64.b64encode(bytes(16)).decode())
    with pytest.raises(ValueError, match="32 bytes"):
        signing.public_key_from_b64(base64.b64encode(bytes(31)).decode())
    with pytest.raises(ValueError, match="not base64"):
        signing.public_key_from_b64("not base64!")
    with pytest.raises(ValueError, match="expire before"):
        signing.sign(
            b"", Ed25519PrivateKey.generate(), "s", "k", created=DURING, expires=at(CREATED)
        )
