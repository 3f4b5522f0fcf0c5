"""Green Button dynamic registration (NAESB REQ.21 ESPI FB 36) on the RFC 7591 endpoint
(oauth/registration.py, grants/espi_clients.py), over HTTP: a third party registers itself, then
uses the answer as it would: its registration_access_token reads, changes and deletes the
ApplicationInformation at `registration_client_uri` (checked against the ESPI schemas), its
client secret obtains a client_access_token, a sandbox test customer authorizes it."""

from __future__ import annotations

from typing import Any, Final

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.grants import espi_clients
from gridshare.store.db import session_factory
from gridshare.store.tables.clients import Client, Credential, Registration
from gridshare.store.tables.grants import Token
from tests.demo.conftest import SmallDemo, demo
from tests.espi.setup import NOTIFY, REDIRECT, RETAIL_SCOPE, SCOPE, EspiWorld
from tests.espi.xml_checks import assert_valid, content, link, parse

__all__ = ["demo"]

REGISTER: Final = "/oauth/register"
TOKEN: Final = "/oauth/token"
ESPI: Final = "http://testserver/espi/1_1/resource"
NS: Final = {"espi": "http://naesb.org/espi"}
BODY: Final = {
    "scope": f"{SCOPE} {RETAIL_SCOPE}",
    "redirect_uris": [REDIRECT],
    "client_name": "Green Meter App",
    "third_party_notify_uri": NOTIFY,
    "software_id": "green-meter",
    "software_version": "1.0",
}
ANSWER_KEYS: Final = {
    "client_id",
    "client_secret",
    "client_id_issued_at",
    "client_secret_expires_at",
    "registration_access_token",
    "registration_client_uri",
    "redirect_uris",
    "client_name",
    "scope",
    "grant_types",
    "response_types",
    "token_endpoint_auth_method",
    "third_party_notify_uri",
    "software_id",
    "software_version",
}


@pytest.fixture(scope="module")
def http(demo: SmallDemo) -> TestClient:
    return TestClient(create_app(demo.settings, demo.engine))


@pytest.fixture(scope="module")
def answer(http: TestClient) -> dict[str, Any]:
    return _registered(http)


@pytest.fixture
def fresh(settings: Settings, engine: Engine) -> TestClient:
    """An app on an empty database, to show that a refused registration writes nothing."""
    return TestClient(create_app(settings, engine))


def _registered(http: TestClient, body: dict[str, Any] = BODY) -> dict[str, Any]:
    response = http.post(REGISTER, json=body)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _application(http: TestClient, answer: dict[str, Any]) -> etree._Element:
    """The ApplicationInformation at the answer's registration_client_uri, schema-checked."""
    response = http.get(
        answer["registration_client_uri"], headers=_bearer(answer["registration_access_token"])
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/atom+xml")
    assert_valid(response.content)
    info = content(parse(response.content), "ApplicationInformation")
    assert info is not None
    return info


def _texts(info: etree._Element, name: str) -> list[str]:
    return [str(e.text) for e in info.iterfind(f"espi:{name}", NS)]


def _text(info: etree._Element, name: str) -> str:
    (value,) = _texts(info, name)
    return value


@pytest.mark.req("ESPI-FB-36")
def test_a_third_party_registers_itself_in_sandbox(
    http: TestClient, demo: SmallDemo, answer: dict[str, Any]
) -> None:
    response = http.post(REGISTER, json=BODY)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == ANSWER_KEYS
    assert body["client_id"] != answer["client_id"]
    client_id = body["client_id"]
    assert body["registration_client_uri"] == f"{ESPI}/ApplicationInformation/{client_id}"
    assert body["client_secret_expires_at"] == 0
    assert len(body["client_secret"]) >= 43 and len(body["registration_access_token"]) >= 43
    assert body["scope"] == f"{SCOPE} {RETAIL_SCOPE}"
    assert body["redirect_uris"] == [REDIRECT]
    assert body["grant_types"] == ["authorization_code", "client_credentials", "refresh_token"]
    assert body["response_types"] == ["code"]
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert (body["client_name"], body["third_party_notify_uri"]) == ("Green Meter App", NOTIFY)
    assert (body["software_id"], body["software_version"]) == ("green-meter", "1.0")
    with session_factory(demo.engine)() as session:
        client = session.get_one(Client, client_id)
        assert (client.status, client.status_options) == ("sandbox", ["sandbox"])
        party = espi_clients.third_party(client)
        assert party is not None and party.scopes == (SCOPE, RETAIL_SCOPE)
        assert int(client.issued_at.timestamp()) == body["client_id_issued_at"]


@pytest.mark.req("ESPI-FB-36", "ESPI-FB-3")
def test_the_registration_access_token_reads_the_application_information(
    http: TestClient, answer: dict[str, Any]
) -> None:
    info = _application(http, answer)
    assert _text(info, "client_id") == answer["client_id"]
    assert _text(info, "client_secret") == answer["client_secret"]
    assert _text(info, "registration_access_token") == answer["registration_access_token"]
    assert _text(info, "registration_client_uri") == answer["registration_client_uri"]
    assert _text(info, "client_id_issued_at") == str(answer["client_id_issued_at"])
    assert _text(info, "client_secret_expires_at") == "0"
    assert _text(info, "thirdPartyNotifyUri") == NOTIFY
    assert _texts(info, "redirect_uri") == [REDIRECT]
    assert _texts(info, "scope") == [SCOPE, RETAIL_SCOPE]
    assert _text(info, "client_name") == "Green Meter App"
    assert (_text(info, "software_id"), _text(info, "software_version")) == ("green-meter", "1.0")
    assert _text(info, "dataCustodianApplicationStatus") == "1"  # review: sandbox until approved
    assert _text(info, "authorizationServerTokenEndpoint") == "http://testserver/oauth/token"


@pytest.mark.req("ESPI-FB-36")
def test_the_client_secret_obtains_a_client_access_token(
    http: TestClient, answer: dict[str, Any]
) -> None:
    response = http.post(
        TOKEN,
        data={"grant_type": "client_credentials"},
        auth=(answer["client_id"], answer["client_secret"]),
    )
    assert response.status_code == 200, response.text
    token = response.json()
    assert "refresh_token" not in token
    assert token["scope"] == SCOPE
    assert token["resourceURI"] == f"{ESPI}/Batch/Bulk/{answer['client_id']}"
    assert token["authorizationURI"] == f"{ESPI}/Authorization/{answer['client_id']}"
    for url in (f"{ESPI}/ReadServiceStatus", token["authorizationURI"]):
        read = http.get(url, headers=_bearer(token["access_token"]))
        assert read.status_code == 200, read.text
        assert_valid(read.content)
    wrong = http.get(answer["registration_client_uri"], headers=_bearer(token["access_token"]))
    assert wrong.status_code == 403


@pytest.mark.req("ESPI-FB-36")
def test_a_sandbox_test_customer_authorizes_it_and_its_token_reads_the_subscription(
    http: TestClient, demo: SmallDemo, answer: dict[str, Any]
) -> None:
    world = EspiWorld(
        demo,
        http,
        answer["client_id"],
        answer["client_secret"],
        answer["registration_access_token"],
    )
    token = world.customer_token("home")
    assert token["scope"] == SCOPE
    batch = world.get(token["resourceURI"], token)
    assert batch.status_code == 200, batch.text
    assert_valid(batch.content)
    usage_points = parse(batch.content).findall(".//espi:UsagePoint", NS)
    assert usage_points
    feed = world.get(f"{ESPI}/Authorization", world.client_token())
    assert token["authorizationURI"] in {
        link(e, "self") for e in parse(feed.content).iterfind("{http://www.w3.org/2005/Atom}entry")
    }


@pytest.mark.req("ESPI-FB-36", "ESPI-FB-44")
def test_put_changes_the_registration_and_delete_ends_it(http: TestClient) -> None:
    answer = _registered(http)
    uri = answer["registration_client_uri"]
    headers = _bearer(answer["registration_access_token"])
    entry = http.get(uri, headers=headers).content
    changed_entry = entry.replace(NOTIFY.encode(), b"https://tp.example/notify-2").replace(
        b">1.0<", b">1.1<"
    )
    changed = http.put(uri, content=changed_entry, headers=headers)
    assert changed.status_code == 200, changed.text
    info = _application(http, answer)
    assert _text(info, "thirdPartyNotifyUri") == "https://tp.example/notify-2"
    assert _text(info, "software_version") == "1.1"
    client_token = http.post(
        TOKEN,
        data={"grant_type": "client_credentials"},
        auth=(answer["client_id"], answer["client_secret"]),
    ).json()["access_token"]

    assert http.delete(uri, headers=headers).status_code == 200
    assert http.get(uri, headers=headers).status_code == 401
    assert http.get(f"{ESPI}/ReadServiceStatus", headers=_bearer(client_token)).status_code == 401
    again = http.post(
        TOKEN,
        data={"grant_type": "client_credentials"},
        auth=(answer["client_id"], answer["client_secret"]),
    )
    assert again.status_code == 401


def test_optional_software_fields_default_and_other_metadata_is_ignored(http: TestClient) -> None:
    body = {k: v for k, v in BODY.items() if not k.startswith("software")} | {
        "scope": f"{SCOPE} {SCOPE}",
        "redirect_uris": [REDIRECT, REDIRECT],
        "grant_types": ["implicit"],
        "token_endpoint_auth_method": "none",
        "logo_uri": "https://tp.example/logo.png",
    }
    answer = _registered(http, body)
    assert (answer["software_id"], answer["software_version"]) == ("unspecified", "unspecified")
    assert (answer["scope"], answer["redirect_uris"]) == (SCOPE, [REDIRECT])
    assert answer["grant_types"] == espi_clients.GRANT_TYPES
    assert answer["token_endpoint_auth_method"] == "client_secret_basic"
    _application(http, answer)


# --- refusals --------------------------------------------------------------------------------


def _count(engine: Engine, table: type[Any]) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


@pytest.mark.req("ESPI-FB-36")
@pytest.mark.parametrize(
    ("changes", "error", "says"),
    [
        (
            {"scope": f"cds_client_admin {SCOPE}"},
            "invalid_client_metadata",
            "mixes Green Button scope strings with cds_client_admin",
        ),
        (
            {"scope": f"{SCOPE} cds_usage_1 openid"},
            "invalid_client_metadata",
            "with cds_usage_1, openid",
        ),
        ({"scope": "FB=1_3_4_5_77;"}, "invalid_client_metadata", "function blocks 77"),
        (
            {"scope": "FB=1_3_4_5;Colour=blue"},
            "invalid_client_metadata",
            "'FB=1_3_4_5;Colour=blue': unknown term Colour",
        ),
        (
            {"scope": "FB=1_3_4_5;BlockDuration=yearly"},
            "invalid_client_metadata",
            "BlockDuration 'yearly'",
        ),
        (
            {"scope": "IntervalDuration=900;FB=1_3_4_5"},
            "invalid_client_metadata",
            "starts with FB=",
        ),
        (
            {"scope": "FB=1_3_4_5;IntervalDuration=" + "_".join(["900"] * 70)},
            "invalid_client_metadata",
            "256",
        ),
        ({"third_party_notify_uri": None}, "invalid_client_metadata", "third_party_notify_uri"),
        ({"third_party_notify_uri": ""}, "invalid_client_metadata", "third_party_notify_uri"),
        (
            {"third_party_notify_uri": "http://tp.example/notify"},
            "invalid_client_metadata",
            "third_party_notify_uri: 'http://tp.example/notify' must be an absolute https://",
        ),
        ({"third_party_notify_uri": ["x"]}, "invalid_client_metadata", "third_party_notify_uri"),
        ({"redirect_uris": None}, "invalid_client_metadata", "redirect_uris"),
        ({"redirect_uris": []}, "invalid_client_metadata", "redirect_uris"),
        ({"redirect_uris": ["http://tp.example/cb"]}, "invalid_redirect_uri", "https://"),
        ({"redirect_uris": ["https://tp.example/cb#x"]}, "invalid_redirect_uri", "fragment"),
        ({"redirect_uris": [7]}, "invalid_redirect_uri", "string"),
        ({"client_name": None}, "invalid_client_metadata", "client_name is required"),
        ({"client_name": " "}, "invalid_client_metadata", "client_name is required"),
        ({"client_name": "x" * 257}, "invalid_client_metadata", "client_name"),
        ({"software_id": 3}, "invalid_client_metadata", "software_id must be a string"),
        ({"software_version": "1" * 33}, "invalid_client_metadata", "software_version"),
    ],
)
def test_a_refused_registration_says_why_and_writes_nothing(
    fresh: TestClient, engine: Engine, changes: dict[str, Any], error: str, says: str
) -> None:
    body = {k: v for k, v in (BODY | changes).items() if v is not None}
    response = fresh.post(REGISTER, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error
    assert says in response.json()["error_description"]
    for table in (Registration, Client, Credential, Token):
        assert _count(engine, table) == 0, table.__name__
