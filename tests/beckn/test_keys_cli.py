"""`gridshare beckn keys show|rotate` on the test database."""

from __future__ import annotations

import json

from sqlalchemy import Engine, select
from typer.testing import CliRunner, Result

from gridshare.cli import app
from gridshare.config import Settings
from gridshare.store.db import session_factory
from gridshare.store.tables.beckn import BecknKey


def gridshare(settings: Settings, *args: str) -> Result:
    env = {
        "GRIDSHARE_DATABASE_URL": str(settings.database_url),
        "GRIDSHARE_DATA_DIR": str(settings.data_dir),
        "GRIDSHARE_BASE_URL": "https://bpp.example.org",
    }
    return CliRunner().invoke(app, ["beckn", "keys", *args], env=env)


def test_show_then_rotate(engine: Engine, settings: Settings) -> None:
    shown = gridshare(settings, "show")
    assert shown.exit_code == 0, shown.output
    payloads = json.loads(shown.stdout)
    assert [p["domain"] for p in payloads] == ["service", "deg:service"]
    assert payloads[0]["subscriber_id"] == "bpp.example.org"
    assert payloads[0]["url"] == "https://bpp.example.org/beckn"
    first = payloads[0]["unique_key_id"]
    again = json.loads(gridshare(settings, "show").stdout)
    assert again[0]["unique_key_id"] == first and again[0]["nonce"] != payloads[0]["nonce"]

    rotated = gridshare(settings, "rotate")
    assert rotated.exit_code == 0, rotated.output
    new = json.loads(rotated.stdout)[0]["unique_key_id"]
    assert new != first
    assert f"{first} retired" in rotated.stderr and new in rotated.stderr
    with session_factory(engine)() as session:
        statuses = dict(session.execute(select(BecknKey.unique_key_id, BecknKey.status)).all())
    assert statuses == {first: "retired", new: "active"}
    assert json.loads(gridshare(settings, "show").stdout)[0]["unique_key_id"] == new
