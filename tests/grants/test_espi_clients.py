"""Green Button third parties as Client Objects (grants/espi_clients.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from gridshare.config import Settings
from gridshare.grants import espi_clients, tokens
from gridshare.grants.scopes import load_catalogue
from gridshare.store.db import session_factory

GOOD = dict(
    name="Meter Pal",
    redirect_uris=["https://pal.example/cb"],
    notify_uri="https://pal.example/notify",
    scopes=["FB=1_3_4_5_14;IntervalDuration=900"],
    software_id="pal",
    software_version="2",
)


def test_registration_makes_a_client_with_secret_and_registration_token(
    settings: Settings, engine: Engine
) -> None:
    with session_factory(engine)() as session:
        made = espi_clients.register(session, settings, load_catalogue(settings), **GOOD)  # type: ignore[arg-type]
        session.commit()
        client = made.client
        assert client.scope == "cds_usage_1 cds_service_contracts_1"
        assert client.status == "production"
        assert client.grant_types == espi_clients.GRANT_TYPES
        party = espi_clients.third_party(client)
        assert party is not None and party.scopes == tuple(GOOD["scopes"])
        assert party.bulk_id(client.client_id) == client.client_id
        found = tokens.find(session, made.registration_access_token)
        assert found is not None and found.kind == espi_clients.REGISTRATION_ACCESS


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"name": " "}, "name"),
        ({"redirect_uris": []}, "redirect URI"),
        ({"redirect_uris": ["http://pal.example/cb"]}, "https"),
        ({"notify_uri": "ftp://pal.example/n"}, "https"),
        ({"scopes": []}, "scope string"),
        ({"scopes": ["FB=1_3_77"]}, "not offered"),
    ],
)
def test_a_bad_registration_says_what_to_change(
    settings: Settings, engine: Engine, change: dict[str, object], says: str
) -> None:
    with (
        session_factory(engine)() as session,
        pytest.raises(espi_clients.ThirdPartyError, match=says),
    ):
        espi_clients.register(session, settings, load_catalogue(settings), **{**GOOD, **change})  # type: ignore[arg-type]
