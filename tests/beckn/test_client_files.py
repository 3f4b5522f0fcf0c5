"""The BAP's JSON files (gridshare.beckn.client_files): written whole with the permissions asked
for, and read with errors that name the file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gridshare.beckn.client_errors import ClientError
from gridshare.beckn.client_files import read_json, write_json


def test_a_file_is_replaced_whole_with_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "bap.json"
    write_json(path, {"a": 1}, mode=0o600)
    write_json(path, {"a": 2}, mode=0o600)
    assert read_json(path, "the key file") == {"a": 2}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["bap.json"]


def test_a_missing_or_damaged_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    with pytest.raises(ClientError, match=r"^the registry file does not exist$"):
        read_json(path, "the registry file")
    path.write_text("[")
    with pytest.raises(ClientError, match=r"^the registry file cannot be read: "):
        read_json(path, "the registry file")
