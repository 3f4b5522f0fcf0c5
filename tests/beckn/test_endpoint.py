"""`POST /beckn/{action}`: signatures, context, repeats, the audit trail, and the callback each
request leaves in the outbox (core 1.1.0; BECKN-005, BECKN-006; Beckn-ONIX "Requirements for BPP
Mode"). The callbacks' delivery is tested in test_callbacks.py."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from gridshare.app import create_app
from gridshare.beckn import catalog as catalogs
from gridshare.beckn.endpoint import BODY_MAX
from gridshare.config import Settings
from gridshare.store.db import session_factory, transaction
from gridshare.store.tables.beckn import BecknMessage
from gridshare.store.tables.orders import ConnectionOrder
from gridshare.store.tables.outbox import OutboxItem
from gridshare.utility.coverage import save_entry
from tests.beckn import schema
from tests.beckn.bap import Bap

EXAMPLES = Path(__file__).parent / "specs" / "connections_examples"


@pytest.fixture
def bap() -> Bap:
    return Bap(callback_url="http://127.0.0.1:9/bap")


@pytest.fixture
def beckn_settings(settings: Settings, bap: Bap, tmp_path: Path) -> Settings:
    registry = bap.write_registry(tmp_path / "registry.json")
    return settings.model_copy(update={"beckn_registry_file": registry})


@pytest.fixture
def http(beckn_settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(beckn_settings, engine)) as client:
        yield client


def post(http: TestClient, bap: Bap, action: str, message: dict[str, Any], **context: Any) -> Any:
    body, headers = bap.signed({"context": bap.context(action, **context), "message": message})
    return http.post(f"/beckn/{action}", content=body, headers=headers)


def callbacks(engine: Engine) -> list[dict[str, Any]]:
    with session_factory(engine)() as session:
        items = session.scalars(select(OutboxItem).order_by(OutboxItem.id))
        return [item.payload for item in items]


def count(engine: Engine, table: Any) -> int:
    with session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def product_id(settings: Settings) -> str:
    return catalogs.load(settings).products[0].id


def order_message(settings: Settings, **billing: str) -> dict[str, Any]:
    catalog = catalogs.load(settings)
    return {
        "order": {
            "provider": {"id": catalog.provider_id},
            "items": [{"id": catalog.products[0].id}],
            "billing": {
                "name": "Jonathan Park",
                "email": "jonathan.park@example.com",
                "phone": "+14155553333",
                "address": "910 Pinecrest Blvd",
                **billing,
            },
            "fulfillments": [
                {
                    "id": catalog.fulfillment_id,
                    "stops": [{"type": "end", "location": {"address": "910 Pinecrest Blvd"}}],
                }
            ],
        }
    }


@pytest.mark.req("ONIX-BPP-3", "CORE-SCHEMA")
def test_a_signed_search_is_acknowledged_and_answered_in_the_outbox(
    http: TestClient, bap: Bap, engine: Engine
) -> None:
    answer = post(
        http,
        bap,
        "search",
        {"intent": {"category": {"descriptor": {"code": "ELECTRICITY_CONNECTION"}}}},
    )
    assert answer.status_code == 200
    assert answer.json() == {"message": {"ack": {"status": "ACK"}}}
    schema.assert_valid_response(answer.json())
    [callback] = callbacks(engine)
    assert callback["url"] == "http://127.0.0.1:9/bap/on_search"
    schema.assert_valid_message("on_search", callback["body"])
    assert callback["body"]["context"]["action"] == "on_search"
    assert callback["body"]["message"]["catalog"]["providers"][0]["items"]


SAN_FRANCISCO = {
    "type": "Polygon",
    "coordinates": [
        [[-122.52, 37.70], [-122.35, 37.70], [-122.35, 37.84], [-122.52, 37.84], [-122.52, 37.70]]
    ],
}


def save_san_francisco(session: Session) -> None:
    """An electric service territory: San Francisco, where the guide's examples are."""
    save_entry(
        session,
        entry_id="sf",
        entity_name="San Francisco Electric Authority",
        entity_abbreviation="SFEA",
        country="US",
        name="San Francisco",
        type="geographic",
        role="authoritative",
        infrastructure_types=["distribution_utility"],
        commodity_types=["electricity"],
        capabilities=[],
        geojson=SAN_FRANCISCO,
    )


def example_world(tmp_path: Path, settings: Settings, engine: Engine, bap: Bap) -> Settings:
    """A BPP shaped like the guide's: provider `sf_electric_authority` selling
    `new-resi-connection` and `new-comm-connection` in San Francisco."""
    bundled = json.loads((Path(catalogs.__file__).parent / "catalog.json").read_text())
    bundled["provider_id"] = "sf_electric_authority"
    bundled["products"][0]["id"] = "new-resi-connection"
    bundled["products"][1]["id"] = "new-comm-connection"
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(bundled))
    with transaction(session_factory(engine)) as session:
        save_san_francisco(session)
    registry = bap.write_registry(tmp_path / "registry.json")
    return settings.model_copy(
        update={"beckn_registry_file": registry, "beckn_catalog_file": catalog}
    )


def send_example(http: TestClient, bap: Bap, sent: dict[str, Any]) -> Any:
    sent["context"]["timestamp"] = bap.context("search")["timestamp"]
    body, headers = bap.signed(sent)
    return http.post(f"/beckn/{sent['context']['action']}", content=body, headers=headers)


@pytest.mark.req("CONN-EXAMPLES", "CORE-SCHEMA")
@pytest.mark.parametrize("example", ["search", "select", "init", "confirm", "status"])
def test_the_connections_examples_are_accepted(
    example: str, tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    """The Connections v1.1 example requests, sent by their BAP `example-bap.com` (only the
    timestamp is made current, so the ttl holds), to a BPP offering the guide's products."""
    sent = json.loads((EXAMPLES / example / f"{example}.json").read_text())
    bap = Bap(subscriber_id=sent["context"]["bap_id"], callback_url=sent["context"]["bap_uri"])
    with TestClient(create_app(example_world(tmp_path, settings, engine, bap), engine)) as http:
        answer = send_example(http, bap, sent)
    assert answer.json() == {"message": {"ack": {"status": "ACK"}}}, answer.text
    [callback] = callbacks(engine)
    schema.assert_valid_message(f"on_{example}", callback["body"], formats=False)
    assert callback["body"]["context"]["message_id"] == sent["context"]["message_id"]
    assert callback["body"]["context"]["transaction_id"] == sent["context"]["transaction_id"]
    if example == "status":  # the example's order is not ours
        assert callback["body"]["error"]["code"] == "30010"
    elif example in ("init", "confirm"):  # the example's gps has its longitude's sign wrong
        assert callback["body"]["error"]["code"] == "30008"
        assert "37.774921,122.419424" in callback["body"]["error"]["message"]
    else:
        assert "error" not in callback["body"], callback["body"]
        if example == "select":
            item = callback["body"]["message"]["order"]["items"][0]
            assert item["id"] == "new-resi-connection"
            assert {"descriptor": {"code": "requested_load_kw"}, "value": "5"} in item["tags"][-1][
                "list"
            ]


def test_the_confirm_example_with_its_gps_corrected_places_an_order(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    sent = json.loads((EXAMPLES / "confirm" / "confirm.json").read_text())
    sent = json.loads((EXAMPLES / "confirm" / "confirm.json").read_text())
    stop = sent["message"]["order"]["fulfillments"][0]["stops"][0]
    stop["location"]["gps"] = "37.774921,-122.419424"
    bap = Bap(subscriber_id=sent["context"]["bap_id"], callback_url=sent["context"]["bap_uri"])
    with TestClient(create_app(example_world(tmp_path, settings, engine, bap), engine)) as http:
        answer = send_example(http, bap, sent)
    assert answer.status_code == 200
    [callback] = callbacks(engine)
    schema.assert_valid_message("on_confirm", callback["body"], formats=False)
    order = callback["body"]["message"]["order"]
    assert order["id"].startswith("CO-") and order["status"] == "ACTIVE"
    assert order["fulfillments"][0]["state"]["descriptor"]["code"] == "PENDING"
    assert order["payments"][0]["params"]["amount"] == order["quote"]["price"]["value"]
    assert order["billing"]["name"] == "Jonathan Park"
    assert count(engine, ConnectionOrder) == 1


@pytest.mark.req("BECKN-006-VERIFY", "ONIX-BPP-3")
def test_a_tampered_body_is_401_with_a_nack_and_a_challenge(
    http: TestClient, bap: Bap, engine: Engine, beckn_settings: Settings
) -> None:
    """BECKN-006 §"Verifying the signature": 401, a NACK, and WWW-Authenticate."""
    body, headers = bap.signed({"context": bap.context("search"), "message": {"intent": {}}})
    tampered = body.replace(b'"intent"', b'"Intent"')
    answer = http.post("/beckn/search", content=tampered, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["message"] == {"ack": {"status": "NACK"}}
    schema.assert_valid_response(answer.json())
    assert answer.headers["WWW-Authenticate"] == (
        f'Signature realm="{beckn_settings.subscriber_id}",headers="(created) (expires) digest"'
    )
    assert callbacks(engine) == []
    with session_factory(engine)() as session:
        [kept] = session.scalars(select(BecknMessage))
    assert kept.body == tampered and kept.http_status == 401 and kept.direction == "in"
    assert kept.authorization == headers["Authorization"]


@pytest.mark.req("BECKN-006-VERIFY")
def test_a_request_signed_by_another_subscriber_than_its_bap_id_is_refused(
    http: TestClient, bap: Bap
) -> None:
    context = bap.context("search", bap_id="someone-else.example.org")
    body, headers = bap.signed({"context": context, "message": {"intent": {}}})
    answer = http.post("/beckn/search", content=body, headers=headers)
    assert answer.status_code == 401
    assert "someone-else.example.org" in answer.json()["error"]["message"]


def test_a_bap_uri_outside_the_registered_url_is_refused(http: TestClient, bap: Bap) -> None:
    answer = post(http, bap, "search", {"intent": {}}, bap_uri="http://127.0.0.1:9/elsewhere")
    assert answer.status_code == 401
    assert answer.json()["error"]["paths"] == "context.bap_uri"


@pytest.mark.req("ONIX-BPP-6")
def test_a_repeated_message_id_gets_the_same_ack_and_makes_one_order(
    http: TestClient, bap: Bap, engine: Engine, beckn_settings: Settings
) -> None:
    context = bap.context("confirm")
    body, headers = bap.signed({"context": context, "message": order_message(beckn_settings)})
    first = http.post("/beckn/confirm", content=body, headers=headers)
    again = http.post("/beckn/confirm", content=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert count(engine, ConnectionOrder) == 1
    assert len(callbacks(engine)) == 1
    assert count(engine, BecknMessage) == 2  # both kept in the audit trail


def test_a_second_confirm_in_the_transaction_answers_with_the_same_order(
    http: TestClient, bap: Bap, engine: Engine, beckn_settings: Settings
) -> None:
    transaction = bap.context("confirm")["transaction_id"]
    for _ in range(2):
        answer = post(
            http, bap, "confirm", order_message(beckn_settings), transaction_id=transaction
        )
        assert answer.status_code == 200
    first, second = (c["body"]["message"]["order"]["id"] for c in callbacks(engine))
    assert first == second and count(engine, ConnectionOrder) == 1


@pytest.mark.req("ONIX-BPP-6")
def test_a_stale_message_is_refused(http: TestClient, bap: Bap) -> None:
    answer = post(http, bap, "search", {"intent": {}}, timestamp="2025-05-07T13:59:00Z")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "30000"
    assert "expired" in answer.json()["error"]["message"]


@pytest.mark.req("ONIX-BPP-2", "BECKN-005")
def test_an_action_we_do_not_serve(http: TestClient, bap: Bap) -> None:
    answer = post(http, bap, "get_offer_categories", {})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "40001"


@pytest.mark.req("ONIX-BPP-META", "CORE-SCHEMA")
@pytest.mark.parametrize(
    ("action", "answer", "listed"),
    [
        ("get_cancellation_reasons", "cancellation_reasons", "cancellation_reasons"),
        ("get_rating_categories", "rating_categories", "rating_categories"),
        ("get_return_reasons", "return_reasons", "return_reasons"),
    ],
)
def test_the_meta_api(
    action: str,
    answer: str,
    listed: str,
    http: TestClient,
    bap: Bap,
    engine: Engine,
    beckn_settings: Settings,
) -> None:
    """core 1.1.0 meta.yaml; the Beckn-ONIX specification: a BPP must implement the meta API."""
    body, headers = bap.signed({"context": bap.context(action)})
    schema.assert_valid_message(action, json.loads(body))
    assert http.post(f"/beckn/{action}", content=body, headers=headers).status_code == 200
    [callback] = callbacks(engine)
    assert callback["url"] == f"{bap.callback_url}/{answer}"
    schema.assert_valid_message(answer, callback["body"])
    assert callback["body"]["context"]["action"] == answer
    given = callback["body"]["message"][listed]
    if action == "get_cancellation_reasons":
        reasons = catalogs.load(beckn_settings).cancellation_reasons
        assert [r["id"] for r in given] == [r.id for r in reasons]
    elif action == "get_rating_categories":
        assert "Order" in given
    else:
        assert given == []


def test_malformed_bodies(http: TestClient, bap: Bap) -> None:
    body = b"{not json"
    answer = http.post("/beckn/search", content=body, headers={"Authorization": bap.sign(body)})
    assert answer.status_code == 400 and answer.json()["message"]["ack"]["status"] == "NACK"
    large = b" " * (BODY_MAX + 1)
    answer = http.post("/beckn/search", content=large, headers={"Authorization": bap.sign(large)})
    assert answer.status_code == 413


def test_a_malformed_order_is_nacked_and_nothing_is_kept_but_the_record(
    http: TestClient, bap: Bap, engine: Engine, beckn_settings: Settings
) -> None:
    message = order_message(beckn_settings)
    del message["order"]["billing"]["name"]
    answer = post(http, bap, "confirm", message)
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "code": "30000",
        "message": "message.order.billing.name is required",
        "paths": "message.order.billing.name",
    }
    assert count(engine, ConnectionOrder) == 0 and callbacks(engine) == []
    assert count(engine, BecknMessage) == 1


def test_without_a_registry_the_bpp_says_what_to_configure(
    settings: Settings, engine: Engine, bap: Bap
) -> None:
    with TestClient(create_app(settings, engine)) as http:
        answer = post(http, bap, "search", {"intent": {}})
    assert answer.status_code == 503
    assert "GRIDSHARE_BECKN_REGISTRY_FILE" in answer.json()["error"]["message"]


@pytest.mark.req("BECKN-005", "ONIX-BPP-4")
def test_unknown_item_is_acknowledged_and_the_callback_carries_the_error(
    http: TestClient, bap: Bap, engine: Engine, beckn_settings: Settings
) -> None:
    """BECKN-005 30004: a request we understood but cannot fulfil is answered in its callback."""
    message = order_message(beckn_settings)
    message["order"]["items"][0]["id"] = "no-such-item"
    answer = post(http, bap, "select", message)
    assert answer.status_code == 200
    [callback] = callbacks(engine)
    assert callback["body"]["error"]["code"] == "30004"
    schema.assert_valid_message("on_select", callback["body"])


def lifecycle_order(http: TestClient, bap: Bap, engine: Engine, settings: Settings) -> str:
    post(http, bap, "confirm", order_message(settings))
    order: str = callbacks(engine)[-1]["body"]["message"]["order"]["id"]
    return order


@pytest.mark.req("ONIX-BPP-2", "BECKN-005", "CORE-SCHEMA")
def test_status_update_track_support_and_rating(
    http: TestClient, bap: Bap, engine: Engine, beckn_settings: Settings
) -> None:
    transaction = bap.context("confirm")["transaction_id"]
    post(http, bap, "confirm", order_message(beckn_settings), transaction_id=transaction)
    order_id = callbacks(engine)[-1]["body"]["message"]["order"]["id"]
    post(http, bap, "status", {"order_id": order_id})
    status = callbacks(engine)[-1]["body"]
    schema.assert_valid_message("on_status", status)
    assert status["message"]["order"]["fulfillments"][0]["state"]["descriptor"]["code"] == "PENDING"
    assert status["message"]["order"]["status"] == "ACTIVE"

    changed = order_message(beckn_settings, name="Maria Park", phone="+14155550000")
    changed["order"]["id"] = order_id
    post(http, bap, "update", {"update_target": "billing", **changed})
    updated = callbacks(engine)[-1]["body"]
    schema.assert_valid_message("on_update", updated)
    assert updated["message"]["order"]["billing"]["name"] == "Maria Park"
    with session_factory(engine)() as session:
        assert session.get(ConnectionOrder, order_id).customer_name == "Maria Park"  # type: ignore[union-attr]

    post(http, bap, "update", {"update_target": "items", **changed})
    assert callbacks(engine)[-1]["body"]["error"]["code"] == "30012"

    partial = {"id": order_id, "billing": {"phone": "+14155550001"}}
    post(http, bap, "update", {"update_target": "billing", "order": partial})
    billing = callbacks(engine)[-1]["body"]["message"]["order"]["billing"]
    assert billing["phone"] == "+14155550001" and billing["name"] == "Maria Park"

    site = {"type": "end", "location": {"address": "12 New Rd"}}
    moved = {"id": order_id, "fulfillments": [{"stops": [site]}]}
    post(http, bap, "update", {"update_target": "fulfillment", "order": moved})
    stops = callbacks(engine)[-1]["body"]["message"]["order"]["fulfillments"][0]["stops"]
    assert stops == [site]
    with session_factory(engine)() as session:
        assert session.get(ConnectionOrder, order_id).address == "12 New Rd"  # type: ignore[union-attr]

    post(http, bap, "track", {"order_id": order_id})
    track = callbacks(engine)[-1]["body"]
    schema.assert_valid_message("on_track", track)
    assert track["message"]["tracking"] == {"id": order_id, "status": "inactive"}

    post(http, bap, "support", {"support": {"ref_id": order_id}})
    support = callbacks(engine)[-1]["body"]
    schema.assert_valid_message("on_support", support)
    assert support["message"]["support"]["ref_id"] == order_id

    rating = {"ratings": [{"rating_category": "Order", "id": order_id, "value": "5"}]}
    post(http, bap, "rating", rating, transaction_id=transaction)
    rated = callbacks(engine)[-1]["body"]
    schema.assert_valid_message("on_rating", rated)
    assert "error" not in rated
    post(
        http,
        bap,
        "rating",
        {"ratings": [{"rating_category": "Order", "id": order_id, "value": "11"}]},
        transaction_id=transaction,
    )
    assert callbacks(engine)[-1]["body"]["error"]["code"] == "30015"


def test_another_baps_order_is_not_found(
    http: TestClient, bap: Bap, engine: Engine, beckn_settings: Settings, tmp_path: Path
) -> None:
    order_id = lifecycle_order(http, bap, engine, beckn_settings)
    other = Bap(subscriber_id="other-bap.example.org", callback_url="http://127.0.0.1:9/other")
    entries = [bap.registry_entry(), other.registry_entry()]
    assert beckn_settings.beckn_registry_file is not None
    beckn_settings.beckn_registry_file.write_text(json.dumps(entries))
    post(http, other, "status", {"order_id": order_id})
    assert callbacks(engine)[-1]["body"]["error"]["code"] == "30010"


@pytest.mark.req("ONIX-BPP-2", "BECKN-005", "CONN-LIFECYCLE")
def test_cancel_follows_the_terms(
    http: TestClient, bap: Bap, engine: Engine, beckn_settings: Settings
) -> None:
    order_id = lifecycle_order(http, bap, engine, beckn_settings)
    reason = catalogs.load(beckn_settings).cancellation_reasons[0]
    post(http, bap, "cancel", {"order_id": order_id, "cancellation_reason_id": "no-such-reason"})
    assert callbacks(engine)[-1]["body"]["error"]["code"] == "30011"
    post(http, bap, "cancel", {"order_id": order_id, "cancellation_reason_id": reason.id})
    cancelled = callbacks(engine)[-1]["body"]
    schema.assert_valid_message("on_cancel", cancelled)
    order = cancelled["message"]["order"]
    assert order["status"] == "CANCELLED"
    assert order["fulfillments"][0]["state"]["descriptor"]["code"] == "CANCELLED"
    assert order["cancellation"]["cancelled_by"] == "CONSUMER"
    assert order["cancellation"]["reason"]["id"] == reason.id
    post(http, bap, "cancel", {"order_id": order_id})
    assert callbacks(engine)[-1]["body"]["error"]["code"] == "50001"
    kinds = {item for item in callbacks(engine) if "order_id" in item}
    assert not kinds  # a cancel the BAP asked for is answered by on_cancel, not announced


@pytest.mark.req("ONIX-BPP-4")
def test_the_callback_is_a_copy_not_shared_with_the_request(
    http: TestClient, bap: Bap, engine: Engine
) -> None:
    context = bap.context("search")
    sent = {"context": copy.deepcopy(context), "message": {"intent": {}}}
    body, headers = bap.signed(sent)
    http.post("/beckn/search", content=body, headers=headers)
    callback = callbacks(engine)[0]["body"]["context"]
    assert {k: callback[k] for k in ("transaction_id", "message_id", "bap_id", "bap_uri")} == {
        k: context[k] for k in ("transaction_id", "message_id", "bap_id", "bap_uri")
    }
    assert callback["bpp_id"] == "testserver" and callback["bpp_uri"] == "http://testserver/beckn"
