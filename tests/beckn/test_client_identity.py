"""The BAP's identity (gridshare.beckn.client_identity): its key file, readable by its owner
only, and its registry `Subscription` (core registry API), read back by `registry.FileRegistry`
as a BPP would; the key pair checked with PyNaCl, not with our signing module."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import nacl.signing
import pytest

from gridshare.beckn.client_errors import ClientError
from gridshare.beckn.client_identity import (
    init_identity,
    load_identity,
    new_identity,
    save_identity,
)
from gridshare.beckn.registry import FileRegistry
from tests.beckn import independent
from tests.beckn.client_examples import CALLBACK_URL

OTHER_ENTRY = {
    "subscriber_id": "other.test",
    "url": "https://other.test/beckn",
    "type": "BPP",
    "key_id": "k1",
    "signing_public_key": "b3RoZXI=",
    "status": "SUBSCRIBED",
}


def test_init_writes_a_private_key_file_and_a_registry_entry_the_bpp_reads(tmp_path: Path) -> None:
    key_file, registry_file = tmp_path / "bap.json", tmp_path / "registry.json"
    registry_file.write_text(json.dumps([OTHER_ENTRY]))

    made = init_identity(key_file, "bap.test", CALLBACK_URL, registry_file=registry_file)

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    loaded = load_identity(key_file)
    assert (loaded.subscriber_id, loaded.unique_key_id, loaded.callback_url, loaded.domain) == (
        "bap.test",
        made.unique_key_id,
        CALLBACK_URL,
        "service",
    )
    assert loaded.public_key == made.public_key
    entry = FileRegistry(registry_file).lookup("bap.test", made.unique_key_id)
    assert entry is not None
    assert (entry.type, entry.domain, entry.subscriber_url) == ("BAP", "service", CALLBACK_URL)
    seed = base64.b64decode(json.loads(key_file.read_text())["signing_private_key"])
    assert independent.public_b64(nacl.signing.SigningKey(seed)) == entry.signing_public_key
    assert FileRegistry(registry_file).lookup("other.test", "k1") is not None


def test_init_again_keeps_the_key_unless_asked_and_replaces_only_its_own_entry(
    tmp_path: Path,
) -> None:
    key_file, registry_file = tmp_path / "bap.json", tmp_path / "registry.json"
    registry_file.write_text(json.dumps([OTHER_ENTRY]))
    made = init_identity(key_file, "bap.test", CALLBACK_URL, registry_file=registry_file)

    moved = init_identity(
        key_file, "bap.test", "http://127.0.0.1:9000/bap2/", registry_file=registry_file
    )
    assert (moved.unique_key_id, moved.public_key) == (made.unique_key_id, made.public_key)
    assert moved.callback_url == "http://127.0.0.1:9000/bap2"
    entries = json.loads(registry_file.read_text())
    assert [(e["subscriber_id"], e["url"]) for e in entries] == [
        ("other.test", "https://other.test/beckn"),
        ("bap.test", "http://127.0.0.1:9000/bap2"),
    ]

    rotated = init_identity(
        key_file, "bap.test", CALLBACK_URL, registry_file=registry_file, new_key=True
    )
    assert rotated.unique_key_id != made.unique_key_id
    assert rotated.public_key != made.public_key
    assert FileRegistry(registry_file).lookup("bap.test", made.unique_key_id) is None
    assert FileRegistry(registry_file).lookup("bap.test", rotated.unique_key_id) is not None

    with pytest.raises(ClientError, match=r"belongs to 'bap\.test'"):
        init_identity(key_file, "someone.else", CALLBACK_URL)


def test_init_again_keeps_the_domain_unless_given(tmp_path: Path) -> None:
    key_file = tmp_path / "bap.json"
    init_identity(key_file, "bap.test", CALLBACK_URL, domain="deg:service")
    assert init_identity(key_file, "bap.test", CALLBACK_URL).domain == "deg:service"
    changed = init_identity(key_file, "bap.test", CALLBACK_URL, domain="service")
    assert load_identity(key_file).domain == changed.domain == "service"


@pytest.mark.parametrize(
    ("subscriber_id", "callback_url", "problem"),
    [
        ("https://bap.test", CALLBACK_URL, "not a URL"),
        ("bap|test", CALLBACK_URL, "has no '|'"),
        ("bap.test", "ftp://127.0.0.1/bap", "must be an http"),
        ("bap.test", "/bap", "must be an http"),
    ],
)
def test_a_bad_identity_is_refused_with_what_to_fix(
    subscriber_id: str, callback_url: str, problem: str
) -> None:
    with pytest.raises(ClientError, match=problem):
        new_identity(subscriber_id, callback_url)


def test_a_missing_or_damaged_key_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ClientError, match="does not exist"):
        load_identity(tmp_path / "missing.json")
    key_file = tmp_path / "bap.json"
    save_identity(new_identity("bap.test", CALLBACK_URL), key_file)
    document = json.loads(key_file.read_text())
    document["signing_public_key"] = independent.public_b64(nacl.signing.SigningKey.generate())
    key_file.write_text(json.dumps(document))
    with pytest.raises(ClientError, match="not the private key's"):
        load_identity(key_file)
    del document["signing_private_key"]
    key_file.write_text(json.dumps(document))
    with pytest.raises(ClientError, match="has no signing_private_key"):
        load_identity(key_file)
