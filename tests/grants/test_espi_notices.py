"""Green Button notifications through the outbox (grants/espi_notices.py; DIGEST §8)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree
from sqlalchemy import select

from gridshare.grants.espi_notices import batch_list, new_data
from gridshare.grants.grants import revoke_grant
from gridshare.grants.scopes import load_catalogue
from gridshare.store.db import session_factory, utcnow
from gridshare.store.tables.grants import Grant
from gridshare.store.tables.outbox import OutboxItem
from gridshare.timefmt import rfc3339
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


@pytest.mark.req("ESPI-FB-39")
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


@pytest.mark.req("ESPI-FB-39")
def test_new_data_names_each_subscription_with_its_window(world: EspiWorld) -> None:
    answer = world.customer_token("solar")
    settings = world.demo.settings
    now = utcnow()
    since = now - timedelta(days=1)  # the demo's blocks were all written just now
    with session_factory(world.demo.engine)() as session:
        assert new_data(session, settings, load_catalogue(settings), since, now) == 1
        session.commit()
        [item] = session.scalars(
            select(OutboxItem).where(OutboxItem.idempotency_key.like("espi:data:%"))
        ).all()
        assert new_data(session, settings, load_catalogue(settings), now, now) == 0
    resources = [e.text or "" for e in etree.fromstring(item.payload["text"].encode())]
    assert resources, "every live subscription of the third party has new data"
    assert all(
        r.startswith(f"{settings.base_url}/espi/1_1/resource/Batch/Subscription/")
        for r in resources
    )
    mine = [r for r in resources if r.startswith(answer["resourceURI"] + "?")]
    [uri] = mine
    window = parse_qs(urlsplit(uri).query)
    assert window == {"published-min": [rfc3339(since)], "published-max": [rfc3339(now)]}
