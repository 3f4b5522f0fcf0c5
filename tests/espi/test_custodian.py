"""The Data Custodian's management REST over HTTP (espi/custodian.py; NAESB REQ.21 ESPI FB 33,
DIGEST §5, §10): its tokens from `gridshare greenbutton custodian-token`, every third party's
token class refused, the ApplicationInformation feed without secrets, every UsagePoint paged and
its tree, all checked against the ESPI schemas, and Green Button uploads through the hardened
importer, all or nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from httpx import Response
from sqlalchemy import Engine, select, text
from typer.testing import CliRunner

from gridshare.cli import app
from gridshare.espi import custodian
from gridshare.grants.secrets import digest
from gridshare.store.db import session_factory
from gridshare.store.tables.grants import Token
from gridshare.store.tables.meters import MeterInstallation
from gridshare.store.tables.servicepoints import ServicePoint
from gridshare.store.tables.usage import Channel, UsageBlock
from gridshare.utility.imports.greenbutton_records import numbers_for
from tests.demo.conftest import SmallDemo
from tests.espi.setup import EspiWorld, espi_world
from tests.espi.xml_checks import NS, assert_valid, content, entries, link, links, parse

ESPI = "http://testserver/espi/1_1/resource"
SAMPLE = Path(__file__).parent / "specs" / "samples" / "openespi_test_usage_data_15min_electric.xml"
SAMPLE_POINT = "urn:uuid:48c2a019-5598-4e16-b0f9-49e4ff27f5fb"
"""The sample's UsagePoint Atom id (the service point and meter numbers derive from it)."""
UPLOAD_NEW = f"{ESPI}/Batch/RetailCustomer/{custodian.NEW}/UsagePoint"
JANUARY = {"published-min": "2025-01-06T08:00:00Z", "published-max": "2025-01-13T08:00:00Z"}
TABLES = (
    "service_points",
    "meter_devices",
    "meter_installations",
    "channels",
    "usage_blocks",
    "bill_sections",
)


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> EspiWorld:
    made = espi_world(demo)
    routes = {getattr(r, "path", None) for r in made.http.app.routes}  # type: ignore[attr-defined]
    if custodian.POINTS not in routes:  # until app.py includes the router
        made.http.app.include_router(custodian.router)  # type: ignore[attr-defined]
    return made


def _cli_token(demo: SmallDemo, *options: str) -> dict[str, Any]:
    """`gridshare greenbutton custodian-token OPTIONS` on the demo's database."""
    settings = demo.settings
    assert settings.database_url is not None
    env = {
        "GRIDSHARE_DATABASE_URL": settings.database_url,
        "GRIDSHARE_DATA_DIR": str(settings.data_dir),
        "GRIDSHARE_BASE_URL": settings.base_url,
    }
    result = CliRunner().invoke(app, ["greenbutton", "custodian-token", *options], env=env)
    assert result.exit_code == 0, result.output
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


@pytest.fixture(scope="module")
def admin(world: EspiWorld) -> str:
    answer = _cli_token(world.demo, "--hours", "2")
    assert answer["token_class"] == "datacustodian_access_token"
    assert answer["expires_in"] == 7200
    return str(answer["access_token"])


@pytest.fixture(scope="module")
def uploader(world: EspiWorld) -> str:
    answer = _cli_token(world.demo, "--upload")
    assert answer["token_class"] == "upload_access_token"
    return str(answer["access_token"])


def _get(world: EspiWorld, url: str, token: str, **params: str) -> bytes:
    answer = world.get(url, token, **params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/atom+xml")
    return answer.content


def _post(world: EspiWorld, url: str, token: str | None, body: bytes) -> Response:
    headers = {"Content-Type": "application/atom+xml"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    answer: Response = world.http.post(url, content=body, headers=headers)
    return answer


def _snapshot(engine: Engine) -> list[Any]:
    """Every row an upload may touch, timestamps included."""
    with engine.connect() as connection:
        return [
            connection.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2")).all()
            for table in TABLES
        ]


def _points_with_usage(engine: Engine) -> set[str]:
    """Service points where some installed meter has stored blocks (independently of espi/)."""
    with session_factory(engine)() as session:
        return set(
            session.scalars(
                select(MeterInstallation.service_point_id)
                .join(Channel, Channel.meter_id == MeterInstallation.meter_id)
                .join(UsageBlock, UsageBlock.channel_id == Channel.id)
                .distinct()
            )
        )


def _ids(document: bytes, resource: str) -> list[str]:
    return [link(e, "self").rsplit("/", 1)[1] for e in entries(parse(document), resource)]


# --- token classes ------------------------------------------------------------------------------


@pytest.mark.req("ESPI-FB-33")
def test_only_the_data_custodian_token_is_accepted(
    world: EspiWorld, admin: str, uploader: str
) -> None:
    """No token or an unknown one is 401; a Customer's access_token, a client_access_token and a
    registration_access_token are 403; the upload_access_token uploads only."""
    customer = world.customer_token("home")["access_token"]
    others = (customer, world.client_token()["access_token"], world.registration_token)
    point = sorted(_points_with_usage(world.demo.engine))[0]
    for url in (
        f"{ESPI}/ApplicationInformation",
        f"{ESPI}/UsagePoint",
        f"{ESPI}/UsagePoint/{point}",
        f"{ESPI}/UsagePoint/{point}/MeterReading",
    ):
        assert world.http.get(url).status_code == 401
        assert world.get(url, "not-a-token").status_code == 401
        for token in (*others, uploader):
            answer = world.get(url, token)
            assert answer.status_code == 403, (url, answer.text)
            assert answer.json()["error"] == "insufficient_scope"
        assert world.get(url, admin).status_code == 200
    for token in others:
        assert _post(world, UPLOAD_NEW, token, b"<feed/>").status_code == 403
    assert _post(world, UPLOAD_NEW, None, b"<feed/>").status_code == 401
    # and the Data Custodian's token is no third party's: 401 on their resources
    sid = world.customer_token("home")["resourceURI"]
    assert world.get(sid, admin).status_code == 401


def test_an_expired_custodian_token_is_401(world: EspiWorld) -> None:
    token = _cli_token(world.demo, "--hours", "1")["access_token"]
    assert world.get(f"{ESPI}/UsagePoint", token, **{"max-results": "1"}).status_code == 200
    with session_factory(world.demo.engine)() as session:
        record = session.get_one(Token, digest(token))
        record.expires_at = record.created
        session.commit()
    assert world.get(f"{ESPI}/UsagePoint", token).status_code == 401


# --- ApplicationInformation ---------------------------------------------------------------------


@pytest.mark.req("ESPI-FB-33")
def test_application_information_lists_every_third_party_without_its_secrets(
    world: EspiWorld, admin: str
) -> None:
    document = _get(world, f"{ESPI}/ApplicationInformation", admin)
    assert_valid(document)
    found = entries(parse(document), "ApplicationInformation")
    assert [e.findtext("atom:content/espi:ApplicationInformation/espi:client_id", namespaces=NS)
            for e in found] == [world.client_id]  # fmt: skip
    [application] = found
    assert link(application, "self") == f"{ESPI}/ApplicationInformation/{world.client_id}"
    element = content(application, "ApplicationInformation")
    assert element is not None
    for withheld in ("client_secret", "registration_access_token"):
        assert element.findtext(f"espi:{withheld}", namespaces=NS) == ""
    assert world.secret.encode() not in document
    assert world.registration_token.encode() not in document
    paged = _get(world, f"{ESPI}/ApplicationInformation", admin, **{"start-index": "2"})
    assert entries(parse(paged)) == []


# --- UsagePoints ---------------------------------------------------------------------------------


@pytest.mark.req("ESPI-FB-33")
def test_every_usage_point_validates_and_pages(
    world: EspiWorld, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = _get(world, f"{ESPI}/UsagePoint", admin)
    assert_valid(document)
    ids = _ids(document, "UsagePoint")
    assert set(ids) == _points_with_usage(world.demo.engine)
    assert ids == sorted(ids) and len(ids) >= 8
    first = entries(parse(document))[0]
    assert link(first, "up") == f"{ESPI}/UsagePoint"
    assert f"{ESPI}/UsagePoint/{ids[0]}/MeterReading" in links(first, "related")

    pages = [
        _ids(_get(world, f"{ESPI}/UsagePoint", admin, **{"start-index": s, "max-results": "3"}),
             "UsagePoint")
        for s in ("1", "4", "7")
    ]  # fmt: skip
    assert [i for page in pages for i in page] == ids[:9]
    monkeypatch.setattr(custodian, "CHUNK", 2)  # service points worked out two at a time
    assert _ids(_get(world, f"{ESPI}/UsagePoint", admin), "UsagePoint") == ids
    paged = _get(world, f"{ESPI}/UsagePoint", admin, **{"start-index": "4", "max-results": "3"})
    assert _ids(paged, "UsagePoint") == ids[3:6]
    assert world.get(f"{ESPI}/UsagePoint", admin, **{"max-results": "x"}).status_code == 400


@pytest.mark.req("ESPI-FB-33")
def test_a_usage_point_tree_reads_what_the_customer_reads(world: EspiWorld, admin: str) -> None:
    """The Customer's own UsagePoint, read by the Data Custodian at the resource root: the same
    Atom ids and the same readings as through the Customer's Subscription; every link answers."""
    home = world.customer_token("home")
    sid = home["resourceURI"].rsplit("/", 1)[1]
    mine = parse(_get(world, f"{ESPI}/Subscription/{sid}/UsagePoint", home["access_token"]))
    [theirs, *_] = entries(mine, "UsagePoint")
    point = link(theirs, "self").rsplit("/", 1)[1]

    member = _get(world, f"{ESPI}/UsagePoint/{point}", admin)
    assert_valid(member)
    ours = parse(member)
    assert ours.findtext("atom:id", namespaces=NS) == theirs.findtext("atom:id", namespaces=NS)
    readings = _get(world, f"{ESPI}/UsagePoint/{point}/MeterReading", admin)
    assert_valid(readings)
    reading = entries(parse(readings), "MeterReading")[0]
    assert_valid(_get(world, link(reading, "self"), admin))
    [blocks_href] = [h for h in links(reading, "related") if h.endswith("/IntervalBlock")]
    blocks = _get(world, blocks_href, admin, **JANUARY)
    assert_valid(blocks)
    mrid = link(reading, "self").rsplit("/", 1)[1]
    customer_blocks = _get(
        world,
        f"{ESPI}/Subscription/{sid}/UsagePoint/{point}/MeterReading/{mrid}/IntervalBlock",
        home["access_token"],
        **JANUARY,
    )
    assert _values(blocks) == _values(customer_blocks) != []
    first = entries(parse(blocks))[0]
    assert_valid(_get(world, link(first, "self"), admin))
    summaries = [h for h in links(ours, "related") if h.endswith("/UsageSummary")]
    for href in summaries:
        document = _get(world, href, admin)
        assert_valid(document)
        assert_valid(_get(world, link(entries(parse(document))[0], "self"), admin))
    assert summaries, "the demo's customers have bills"
    assert world.get(f"{ESPI}/UsagePoint/nope", admin).status_code == 404
    assert world.get(f"{ESPI}/UsagePoint/{point}/MeterReading/nope", admin).status_code == 404


def _values(document: bytes) -> list[tuple[str | None, str | None]]:
    return [
        (
            r.findtext("espi:timePeriod/espi:start", namespaces=NS),
            r.findtext("espi:value", None, NS),
        )
        for r in parse(document).iterfind(".//espi:IntervalReading", NS)
    ]


# --- uploads -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def uploaded(world: EspiWorld, admin: str) -> Iterator[dict[str, Any]]:
    answer = _post(world, UPLOAD_NEW, admin, SAMPLE.read_bytes())
    assert answer.status_code == 201, answer.text
    yield answer.json()


@pytest.mark.req("ESPI-FB-33")
def test_an_upload_creates_the_service_point_and_its_readings(
    world: EspiWorld, admin: str, uploaded: dict[str, Any]
) -> None:
    number, meter = numbers_for(SAMPLE_POINT)
    assert (uploaded["readings"], uploaded["missing"], uploaded["new_channels"]) == (1340, 0, 1)
    assert (uploaded["service_points_created"], uploaded["meters_created"]) == (1, 1)
    [plan] = uploaded["usage_points"]
    assert (plan["servicepoint_number"], plan["meter_number"], plan["existing"]) == (
        number,
        meter,
        False,
    )
    with session_factory(world.demo.engine)() as session:
        point_id = session.scalars(
            select(ServicePoint.id).where(ServicePoint.servicepoint_number == number)
        ).one()
    # the Data Custodian reads it back at once; no Customer holds it
    blocks = f"{ESPI}/UsagePoint/{point_id}/MeterReading"
    [reading] = entries(parse(_get(world, blocks, admin)), "MeterReading")
    document = _get(world, link(reading, "self") + "/IntervalBlock", admin)
    assert_valid(document)
    assert len(_values(document)) == 1340


@pytest.mark.req("ESPI-FB-33")
def test_an_upload_again_changes_nothing(
    world: EspiWorld, uploader: str, uploaded: dict[str, Any]
) -> None:
    before = _snapshot(world.demo.engine)
    again = _post(world, UPLOAD_NEW, uploader, SAMPLE.read_bytes())
    assert again.status_code == 201, again.text
    answer = again.json()
    assert (answer["blocks_written"], answer["service_points_created"]) == (0, 0)
    assert answer["blocks_unchanged"] == uploaded["blocks_written"]
    assert _snapshot(world.demo.engine) == before


@pytest.mark.req("ESPI-FB-33")
def test_a_bad_upload_is_400_with_the_problems_and_writes_nothing(
    world: EspiWorld, admin: str
) -> None:
    body = SAMPLE.read_bytes()
    cut = body[: len(body) // 2]  # a truncated feed
    broken = body.replace(b"<powerOfTenMultiplier>0<", b"<powerOfTenMultiplier>x<", 1)
    assert broken != body
    before = _snapshot(world.demo.engine)
    for bad in (cut, broken, b""):
        answer = _post(world, UPLOAD_NEW, admin, bad)
        assert answer.status_code == 400, answer.text
        problems = answer.json()["problems"]
        assert problems and all(p["fatal"] is not None for p in problems)
        assert {"line", "element", "problem", "expected"} <= set(problems[0])
    answer = _post(world, UPLOAD_NEW, admin, broken)
    [problem] = [p for p in answer.json()["problems"] if p["fatal"]]
    assert problem["element"].endswith("powerOfTenMultiplier") and problem["line"] > 1
    unknown = f"{ESPI}/Batch/RetailCustomer/no-such-point/UsagePoint"
    assert _post(world, unknown, admin, body).status_code == 400
    assert _snapshot(world.demo.engine) == before


def test_an_upload_beyond_the_limit_is_413_and_writes_nothing(
    world: EspiWorld, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _snapshot(world.demo.engine)
    monkeypatch.setattr(custodian, "MAX_UPLOAD", 1000)
    answer = _post(world, UPLOAD_NEW, admin, SAMPLE.read_bytes())
    assert answer.status_code == 413
    assert "MB" in answer.json()["error_description"]
    streamed = world.http.post(
        UPLOAD_NEW,
        content=iter([SAMPLE.read_bytes()[:800], SAMPLE.read_bytes()[800:1600]]),
        headers={"Authorization": f"Bearer {admin}"},
    )  # no Content-Length: counted as it arrives
    assert streamed.status_code == 413
    assert _snapshot(world.demo.engine) == before
