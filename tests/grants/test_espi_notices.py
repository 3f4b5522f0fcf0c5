"""Green Button notifications through the outbox (grants/espi_notices.py; DIGEST §8)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from gridshare.grants.espi_notices import batch_list
from gridshare.grants.grants import revoke_grant
from gridshare.store.db import session_factory
from gridshare.store.tables.grants import Grant
from gridshare.store.tables.outbox import OutboxItem
from tests.demo.conftest import SmallDemo
from tests.demo.conftest import demo as demo  # the module's demo utility
from tests.espi.setup import NOTIFY, EspiWorld, espi_world

SCHEMA = Path(__file__).parents[1] / "espi" / "specs" / "schema" / "espi.xsd"


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> EspiWorld:
    return espi_world(demo)


def test_a_batch_list_validates_against_espi_xsd() -> None:
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    document = etree.fromstring(
        batch_list(["https://dc.example/a", "https://dc.example/b"]).encode()
    )
    assert schema.validate(document), schema.error_log
    assert [e.text for e in document] == ["https://dc.example/a", "https://dc.example/b"]


def test_revoking_a_green_button_grant_notifies_its_authorization_uri(world: EspiWorld) -> None:
    answer = world.customer_token("home")
    with session_factory(world.demo.engine)() as session:
        grant = session.get_one(Grant, answer["authorizationURI"].rsplit("/", 1)[1])
        assert revoke_grant(session, world.demo.settings, grant)
        session.commit()
        [item] = session.scalars(
            select(OutboxItem).where(OutboxItem.idempotency_key == f"espi:ended:{grant.grant_id}")
        ).all()
    assert item.kind == "http_post" and item.payload["url"] == NOTIFY
    resources = [e.text for e in etree.fromstring(item.payload["text"].encode())]
    assert resources == [answer["authorizationURI"]]
