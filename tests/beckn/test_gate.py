"""The checks every Beckn endpoint makes first (BECKN-006 "Verifying the signature"): a missing
registry or one that cannot answer is a 503 NACK, a bad signature a 401 with the challenge, a
good one names its signer and any gateway's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gridshare.beckn.gate import REGISTRY_DOWN, Refused, authenticated
from gridshare.beckn.registry import FileRegistry
from gridshare.config import Settings
from tests.beckn.bap import Bap

BODY = json.dumps({"context": {"action": "search"}, "message": {}}).encode()


@pytest.fixture
def bap() -> Bap:
    return Bap()


@pytest.fixture
def registry(tmp_path: Path, bap: Bap) -> FileRegistry:
    gateway = Bap(subscriber_id="gateway.example.org", unique_key_id="bg-1")
    path = tmp_path / "registry.json"
    path.write_text(json.dumps([bap.registry_entry(), gateway.registry_entry()]))
    return FileRegistry(path)


@pytest.mark.req("BECKN-006-VERIFY")
def test_a_good_signature_names_its_signer(
    bap: Bap, registry: FileRegistry, settings: Settings
) -> None:
    signed = authenticated({"Authorization": bap.sign(BODY)}, BODY, registry, "", settings)
    assert (signed.subscriber.subscriber_id, signed.subscriber.unique_key_id) == (
        bap.subscriber_id,
        bap.unique_key_id,
    )
    assert signed.gateway is None


def test_without_a_registry_the_refusal_says_what_is_missing(bap: Bap, settings: Settings) -> None:
    with pytest.raises(Refused) as refused:
        authenticated({"Authorization": bap.sign(BODY)}, BODY, None, "set a registry", settings)
    assert refused.value.status == 503
    assert refused.value.error.code == REGISTRY_DOWN
    assert "set a registry" in refused.value.error.message


def test_a_registry_that_cannot_be_read_is_a_503_to_retry(
    bap: Bap, tmp_path: Path, settings: Settings
) -> None:
    broken = FileRegistry(tmp_path / "missing.json")
    with pytest.raises(Refused) as refused:
        authenticated({"Authorization": bap.sign(BODY)}, BODY, broken, "", settings)
    assert refused.value.status == 503 and refused.value.headers == {"Retry-After": "30"}


@pytest.mark.req("BECKN-006-VERIFY")
def test_a_bad_signature_is_a_401_with_the_challenge(
    bap: Bap, registry: FileRegistry, settings: Settings
) -> None:
    stranger = Bap(subscriber_id=bap.subscriber_id)  # same id, another key
    with pytest.raises(Refused) as refused:
        authenticated({"Authorization": stranger.sign(BODY)}, BODY, registry, "", settings)
    assert refused.value.status == 401
    assert refused.value.headers == {
        "WWW-Authenticate": f'Signature realm="{settings.subscriber_id}",'
        'headers="(created) (expires) digest"'
    }


def test_a_bad_gateway_signature_is_challenged_with_proxy_authenticate(
    bap: Bap, registry: FileRegistry, settings: Settings
) -> None:
    impostor = Bap(subscriber_id="gateway.example.org", unique_key_id="bg-1")
    headers = {"Authorization": bap.sign(BODY), "X-Gateway-Authorization": impostor.sign(BODY)}
    with pytest.raises(Refused) as refused:
        authenticated(headers, BODY, registry, "", settings)
    assert refused.value.status == 401
    assert list(refused.value.headers) == ["Proxy-Authenticate"]
