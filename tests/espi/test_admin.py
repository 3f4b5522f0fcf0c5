"""ReadServiceStatus, ApplicationInformation and Authorization over HTTP, with each token class
(espi/admin.py; DIGEST §5, §10, API_TABLE FB 3, 41, 44). Every document is checked against the
ESPI schemas."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from gridshare.store.db import session_factory
from gridshare.store.tables.grants import Grant
from gridshare.store.tables.outbox import OutboxItem
from tests.demo.conftest import SmallDemo
from tests.espi.setup import NOTIFY, SCOPE, EspiWorld, espi_world
from tests.espi.xml_checks import assert_valid, content, entries, link, parse

ESPI = "http://testserver/espi/1_1/resource"
NS = {"espi": "http://naesb.org/espi"}


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> EspiWorld:
    return espi_world(demo)


@pytest.fixture(scope="module")
def customer(world: EspiWorld) -> dict[str, Any]:
    return world.customer_token("home")


def _text(element: Any, path: str) -> str:
    found = element.find(path, NS)
    assert found is not None, path
    return str(found.text)


@pytest.mark.req("ESPI-FB-3")
def test_read_service_status_with_client_and_customer_tokens(
    world: EspiWorld, customer: dict[str, Any]
) -> None:
    for token in (world.client_token(), customer):
        answer = world.get(f"{ESPI}/ReadServiceStatus", token)
        assert answer.status_code == 200, answer.text
        assert_valid(answer.content)
        assert _text(parse(answer.content), "espi:currentStatus") == "1"


def test_wrong_or_missing_tokens(world: EspiWorld) -> None:
    """A registration_access_token is the wrong class (403); no token or an unknown one is 401."""
    assert world.get(f"{ESPI}/ReadServiceStatus", world.registration_token).status_code == 403
    assert world.get(f"{ESPI}/ReadServiceStatus", "not-a-token").status_code == 401
    assert world.http.get(f"{ESPI}/ReadServiceStatus").status_code == 401


@pytest.mark.req("ESPI-FB-3")
def test_application_information_with_the_registration_token(world: EspiWorld) -> None:
    url = f"{ESPI}/ApplicationInformation/{world.client_id}"
    answer = world.get(url, world.registration_token)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/atom+xml")
    assert_valid(answer.content)
    info = content(parse(answer.content), "ApplicationInformation")
    assert info is not None
    assert _text(info, "espi:client_id") == world.client_id
    assert _text(info, "espi:client_secret") == world.secret
    assert _text(info, "espi:registration_access_token") == world.registration_token
    assert _text(info, "espi:thirdPartyNotifyUri") == NOTIFY
    assert _text(info, "espi:dataCustodianBulkRequestURI") == f"{ESPI}/Batch/Bulk/{world.client_id}"
    assert world.get(url, world.client_token()).status_code == 403
    assert (
        world.get(f"{ESPI}/ApplicationInformation/other", world.registration_token).status_code
        == 404
    )


@pytest.mark.req("ESPI-FB-3")
def test_authorizations_feed_lists_the_client_and_its_customers(
    world: EspiWorld, customer: dict[str, Any]
) -> None:
    answer = world.get(f"{ESPI}/Authorization", world.client_token())
    assert answer.status_code == 200, answer.text
    assert_valid(answer.content)
    found = entries(parse(answer.content), "Authorization")
    selves = [link(e, "self") for e in found]
    assert customer["authorizationURI"] in selves
    assert f"{ESPI}/Authorization/{world.client_id}" in selves
    mine = next(e for e in found if link(e, "self") == customer["authorizationURI"])
    auth = content(mine, "Authorization")
    assert auth is not None
    assert _text(auth, "espi:resourceURI") == customer["resourceURI"]
    assert _text(auth, "espi:scope") == SCOPE and _text(auth, "espi:status") == "1"
    assert world.get(f"{ESPI}/Authorization", customer).status_code == 403


def test_a_customer_reads_only_its_own_authorization(
    world: EspiWorld, customer: dict[str, Any]
) -> None:
    own = world.get(customer["authorizationURI"], customer)
    assert own.status_code == 200
    assert_valid(own.content)
    other = world.customer_token("solar")
    assert world.get(other["authorizationURI"], customer).status_code == 404


@pytest.mark.req("ESPI-FB-41")
def test_deleting_an_authorization_revokes_it_and_notifies(world: EspiWorld) -> None:
    token = world.customer_token("business")
    grant_id = token["authorizationURI"].rsplit("/", 1)[1]
    answer = world.http.delete(
        token["authorizationURI"],
        headers={"Authorization": f"Bearer {world.client_token()['access_token']}"},
    )
    assert answer.status_code == 200, answer.text
    assert world.get(f"{ESPI}/ReadServiceStatus", token).status_code == 401
    with session_factory(world.demo.engine)() as session:
        assert session.get_one(Grant, grant_id).status == "revoked"
        assert session.scalars(
            select(OutboxItem).where(OutboxItem.idempotency_key == f"espi:ended:{grant_id}")
        ).one()


@pytest.mark.req("ESPI-FB-44")
def test_put_changes_the_notification_uri_and_delete_ends_the_registration(demo: SmallDemo) -> None:
    world = espi_world(demo)
    url = f"{ESPI}/ApplicationInformation/{world.client_id}"
    headers = {"Authorization": f"Bearer {world.registration_token}"}
    entry = world.get(url, world.registration_token).content.replace(
        NOTIFY.encode(), b"https://tp.example/new-notify"
    )
    changed = world.http.put(url, content=entry, headers=headers)
    assert changed.status_code == 200, changed.text
    info = content(parse(changed.content), "ApplicationInformation")
    assert info is not None
    assert _text(info, "espi:thirdPartyNotifyUri") == "https://tp.example/new-notify"
    client_token = world.client_token()
    assert world.http.delete(url, headers=headers).status_code == 200
    assert world.get(f"{ESPI}/ReadServiceStatus", client_token).status_code == 401


@pytest.mark.req("ESPI-FB-44")
@pytest.mark.parametrize(
    ("old", "new"),
    [
        (NOTIFY.encode(), b"http://tp.example/plain"),
        (
            b"<espi:software_version>1.0</espi:software_version>",
            b"<espi:software_version>" + b"9" * 33 + b"</espi:software_version>",
        ),
    ],
)
def test_put_refuses_what_the_registration_could_not_hold(
    world: EspiWorld, old: bytes, new: bytes
) -> None:
    url = f"{ESPI}/ApplicationInformation/{world.client_id}"
    entry = world.get(url, world.registration_token).content
    assert old in entry
    answer = world.http.put(
        url,
        content=entry.replace(old, new),
        headers={"Authorization": f"Bearer {world.registration_token}"},
    )
    assert answer.status_code == 400
    assert world.get(url, world.registration_token).content == entry
