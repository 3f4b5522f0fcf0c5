"""The Green Button resources over HTTP, as a third party uses them (espi/routes.py; DIGEST §5,
§6, §10, §15): tokens from the real authorization flow, every document checked against the ESPI
schemas, the feed read back by greenbutton-objects (an independent parser) to exactly the stored
readings, wrong token classes refused, query parameters, asynchronous batches and Bulk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from greenbutton_objects import parse as gbo  # type: ignore[import-untyped]
from lxml import etree
from sqlalchemy import select

from gridshare.grants.secrets import digest
from gridshare.store.db import session_factory, utcnow
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.grants import Token
from gridshare.store.tables.outbox import OutboxItem
from tests.demo.conftest import SmallDemo
from tests.espi.setup import RETAIL_SCOPE, EspiWorld, espi_world
from tests.espi.usage_setup import stored_readings
from tests.espi.xml_checks import assert_schematron, assert_valid, entries, link, links, parse

ESPI = "http://testserver/espi/1_1/resource"
JANUARY = {"published-min": "2025-01-06T08:00:00Z", "published-max": "2025-01-13T08:00:00Z"}
"""A week of blocks: small enough for the Schematron checks."""


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> EspiWorld:
    return espi_world(demo)


@pytest.fixture(scope="module")
def home(world: EspiWorld) -> dict[str, Any]:
    return world.customer_token("home")


def _get(world: EspiWorld, url: str, token: str | dict[str, Any], **params: str) -> bytes:
    answer = world.get(url, token, **params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/atom+xml")
    return answer.content


@pytest.mark.req("ESPI-FB-1", "ESPI-FB-3", "ESPI-FB-4", "ESPI-FB-5", "ESPI-FB-10")
def test_batch_subscription_validates_and_reads_back_to_the_stored_readings(
    world: EspiWorld, home: dict[str, Any], tmp_path: Path
) -> None:
    document = _get(world, home["resourceURI"], home)
    assert_valid(document)
    path = tmp_path / "home.xml"
    path.write_bytes(document)
    read: dict[tuple[str, str], set[tuple[datetime, Decimal]]] = {}
    for point in gbo.parse_feed(str(path)):
        for reading in point.meterReadings:
            multiplier = reading.readingType.powerOfTenMultiplier
            read[(_id(point.link_self), _id(reading.link_self))] = {
                (r.timePeriod.start, Decimal(r._value).scaleb(multiplier))
                for r in reading.intervalReadings
            }
    with session_factory(world.demo.engine)() as session:
        customer_id = session.scalars(select(Customer.id).where(Customer.username == "home")).one()
    assert read == stored_readings(world.demo, customer_id)
    assert sum(len(v) for v in read.values()) > 10_000


@pytest.mark.req("ESPI-FB-4", "ESPI-FB-5", "ESPI-FB-15", "ESPI-FB-16")
def test_a_week_passes_the_function_block_checks(world: EspiWorld, home: dict[str, Any]) -> None:
    document = _get(world, home["resourceURI"], home, **JANUARY)
    assert_valid(document)
    assert_schematron(document, "01", "04", "05")
    blocks = entries(parse(document), "IntervalBlock")
    assert 0 < len(blocks) <= 7 * 3
    whole = _get(world, home["resourceURI"], home)  # the summaries' checks need whole bills
    assert_schematron(whole, "15", "16")


@pytest.mark.req("ESPI-FB-32")
def test_the_resource_tree_is_reachable_by_its_links(
    world: EspiWorld, home: dict[str, Any]
) -> None:
    """From the UsagePoint collection, every `related` and `self` link a third party follows
    answers a valid document (FB 32)."""
    sid = home["resourceURI"].rsplit("/", 1)[1]
    points = parse(_get(world, f"{ESPI}/Subscription/{sid}/UsagePoint", home))
    [point, *_] = entries(points, "UsagePoint")
    assert_valid(_get(world, link(point, "self"), home))
    followed = 0
    for related in links(point, "related"):
        document = _get(world, related, home, **JANUARY)
        assert_valid(document)
        followed += 1
        for child in entries(parse(document)) if b"<feed" in document[:200] else []:
            assert_valid(_get(world, link(child, "self"), home))
            for grandchild in links(child, "related"):
                assert_valid(_get(world, grandchild, home, **JANUARY))
    assert followed >= 2  # MeterReadings and LocalTimeParameters at least


@pytest.mark.req("ESPI-OAD009", "ESPI-OAD013")
def test_wrong_token_classes_and_other_subscriptions(
    world: EspiWorld, home: dict[str, Any]
) -> None:
    """OAD009: a client_access_token on Batch/Subscription is 403, as is a registration token or
    another Subscription's id; no token, an unknown one or a superseded one is 401."""
    url = home["resourceURI"]
    assert world.get(url, world.client_token()).status_code == 403
    assert world.get(url, world.registration_token).status_code == 403
    other = world.customer_token("solar")
    assert world.get(url, other).status_code == 403
    assert world.http.get(url).status_code == 401
    assert world.get(url, "nope").status_code == 401
    refreshed = world.token_call(
        {"grant_type": "refresh_token", "refresh_token": other["refresh_token"]}
    )
    assert refreshed.status_code == 200
    assert world.get(other["resourceURI"], other).status_code == 401
    assert world.get(other["resourceURI"], refreshed.json()).status_code == 200


@pytest.mark.req("ESPI-QRY002", "ESPI-FB-37")
@pytest.mark.parametrize(
    "params",
    [
        {"published-min": "yesterday"},
        {"published-max": "2025-13-01T00:00:00Z"},
        {"updated-min": "2025-01-01"},
        {"updated-max": "x"},
        {"max-results": "ten"},
        {"start-index": "-1"},
        {"depth": "1.5"},
    ],
)
def test_malformed_query_parameters_are_400(
    world: EspiWorld, home: dict[str, Any], params: dict[str, str]
) -> None:
    answer = world.get(home["resourceURI"], home, **params)
    assert answer.status_code == 400
    assert next(iter(params)) in answer.json()["error_description"]


@pytest.mark.req("ESPI-QRY001", "ESPI-FB-37")
def test_interval_blocks_are_filtered_by_their_reading_time(
    world: EspiWorld, home: dict[str, Any]
) -> None:
    """QRY001: published-min at block 2's start and published-max at block N-1's end keep N-2."""
    sid = home["resourceURI"].rsplit("/", 1)[1]
    point = entries(parse(_get(world, f"{ESPI}/Subscription/{sid}/UsagePoint", home)))[0]
    readings = parse(_get(world, link(point, "self") + "/MeterReading", home))
    collection = link(entries(readings)[0], "self") + "/IntervalBlock"
    window = {"published-min": "2025-01-01T08:00:00Z", "published-max": "2025-01-11T08:00:00Z"}
    blocks = entries(parse(_get(world, collection, home, **window)))
    starts = [_start(b) for b in blocks]
    assert len(blocks) >= 4 and starts == sorted(starts)
    inner = {
        "published-min": _iso(starts[1]),
        "published-max": _iso(_start(blocks[-1])),  # block N-1 ends where block N starts
    }
    kept = entries(parse(_get(world, collection, home, **inner)))
    assert [_start(b) for b in kept] == starts[1:-1]


@pytest.mark.req("ESPI-FB-39", "ESPI-PSH001")
def test_an_asynchronous_batch_answers_202_and_notifies_the_uri_to_fetch(
    world: EspiWorld, home: dict[str, Any]
) -> None:
    answer = world.http.get(
        home["resourceURI"],
        params=JANUARY,
        headers={"Authorization": f"Bearer {home['access_token']}", "Prefer": "respond-async"},
    )
    assert answer.status_code == 202
    uri = _notified(world, answer.headers["location"])
    assert uri.startswith(home["resourceURI"] + "?")
    assert parse_qs(urlsplit(uri).query)["published-min"] == [JANUARY["published-min"]]
    assert_valid(_get(world, uri, home))


@pytest.mark.req("ESPI-FB-35")
def test_bulk_answers_202_then_every_authorization_of_the_third_party(
    world: EspiWorld, home: dict[str, Any]
) -> None:
    client = world.client_token()
    bulk = client["resourceURI"]
    assert world.get(bulk, home).status_code == 403
    answer = world.get(bulk, client, **JANUARY)
    assert answer.status_code == 202
    uri = _notified(world, answer.headers["location"])
    document = _get(world, uri, client)
    assert_valid(document)
    selves = {link(e, "self") for e in entries(parse(document), "UsagePoint")}
    sid = home["resourceURI"].rsplit("/", 1)[1]
    assert any(f"/Subscription/{sid}/" in s for s in selves)
    assert world.get(f"{ESPI}/Batch/Bulk/other", client).status_code == 404
    assert world.get(bulk, client, correlationID="not-a-uuid").status_code == 400


@pytest.mark.req("ESPI-FB-46", "ESPI-FB-50", "ESPI-FB-51")
def test_retail_customer_needs_its_blocks(world: EspiWorld, home: dict[str, Any]) -> None:
    rcid = home["resourceURI"].rsplit("/", 1)[1]
    assert world.get(f"{ESPI}/Batch/RetailCustomer/{rcid}", home).status_code == 403
    retail = world.customer_token("business", scope=RETAIL_SCOPE)
    rcid = retail["resourceURI"].rsplit("/", 1)[1]
    document = _get(world, f"{ESPI}/Batch/RetailCustomer/{rcid}", retail)
    assert_valid(document)
    customers = [
        e
        for e in entries(parse(document))
        if e.find("{*}content/{http://naesb.org/espi/customer}Customer") is not None
    ]
    assert len(customers) == 1
    assert_valid(_get(world, link(customers[0], "self"), retail))
    assert_valid(_get(world, f"{ESPI}/Batch/RetailDRPrgInfo/{rcid}", retail))
    assert world.get(f"{ESPI}/RetailCustomer/{rcid}/Customer/nobody", retail).status_code == 404
    itself = _get(world, f"{ESPI}/RetailCustomer/{rcid}", retail)
    assert_valid(itself)
    assert len(entries(parse(itself))) == 1


@pytest.mark.req("ESPI-FB-32")
def test_reading_types_and_local_time_parameters(world: EspiWorld, home: dict[str, Any]) -> None:
    types = _get(world, f"{ESPI}/ReadingType", home)
    assert_valid(types)
    for entry in entries(parse(types), "ReadingType"):
        assert_valid(_get(world, link(entry, "self"), home))
    times = _get(world, f"{ESPI}/LocalTimeParameters", home)
    assert_valid(times)
    [ltp] = entries(parse(times), "LocalTimeParameters")
    assert_valid(_get(world, link(ltp, "self"), home))
    assert world.get(f"{ESPI}/ReadingType/unknown", home).status_code == 404


def _notified(world: EspiWorld, location: str) -> str:
    """The URI of the BatchList queued for the third party, which the 202's Location repeats."""
    with session_factory(world.demo.engine)() as session:
        items = session.scalars(select(OutboxItem).order_by(OutboxItem.id.desc())).all()
    for item in items:
        text = item.payload.get("text")
        if text is None:
            continue
        named = [e.text for e in etree.fromstring(text.encode())]
        if location in named:
            assert named == [location]
            return location
    raise AssertionError(f"no BatchList names {location}")


def _id(href: str) -> str:
    return href.rstrip("/").rsplit("/", 1)[1]


def _start(block: Any) -> int:
    content = block.find("{http://www.w3.org/2005/Atom}content")
    start = content.find(".//{http://naesb.org/espi}interval/{http://naesb.org/espi}start")
    return int(start.text)


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_interval_duration_limits_the_published_interval_lengths(demo: SmallDemo) -> None:
    """The scope's IntervalDuration is enforced: a third party that asked for hourly data gets no
    15-minute MeterReading (read periods are not interval data and stay)."""
    lengths = {}
    for durations in ("900", "3600"):
        scope = f"FB=1_3_4_5_10_13_14_32;IntervalDuration={durations};HistoryLength=94608000"
        hourly = espi_world(demo, scopes=(scope,))
        token = hourly.customer_token("home", scope=scope)
        document = _get(hourly, token["resourceURI"], token, **JANUARY)
        assert_valid(document)
        lengths[durations] = {
            int(e.findtext(".//{http://naesb.org/espi}intervalLength") or 0)
            for e in entries(parse(document), "ReadingType")
        }
    assert 900 in lengths["900"] and 3600 not in lengths["900"]
    assert 900 not in lengths["3600"]


@pytest.mark.req("ESPI-OAD016")
def test_an_expired_access_token_is_401(world: EspiWorld) -> None:
    token = world.customer_token("tenant")
    assert world.get(token["resourceURI"], token, **JANUARY).status_code == 200
    with session_factory(world.demo.engine)() as session:
        stored = session.get_one(Token, digest(token["access_token"]))
        stored.expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    answer = world.get(token["resourceURI"], token)
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]


@pytest.mark.req("ESPI-FB-35")
def test_bulk_retail_customer_info_and_dr_enrollment(world: EspiWorld) -> None:
    """PG&E's bulk retail customer and DR enrollment feeds: 202, then every authorization whose
    scope has the retail customer blocks."""
    retail = world.customer_token("business", scope=RETAIL_SCOPE)
    client = world.client_token()
    bulk_id = client["resourceURI"].rsplit("/", 1)[1]
    rcid = retail["resourceURI"].rsplit("/", 1)[1]
    for name in ("BulkRetailCustomerInfo", "BulkRetailDRPrgInfo"):
        answer = world.get(f"{ESPI}/Batch/{name}/{bulk_id}", client)
        assert answer.status_code == 202
        document = _get(world, _notified(world, answer.headers["location"]), client)
        assert_valid(document)
        assert f"/RetailCustomer/{rcid}/".encode() in document


def test_the_sample_data_needs_a_client_access_token(
    world: EspiWorld, home: dict[str, Any]
) -> None:
    answer = world.get(f"{ESPI}/DownloadSampleData", world.client_token())
    assert answer.status_code == 200
    assert entries(parse(answer.content), "IntervalBlock")
    assert world.get(f"{ESPI}/DownloadSampleData", home).status_code == 403
