"""Whole-building consent over HTTP (CDS-WG3-01 §4.11, §10.7.7, §12.3): a client_credentials Usage
Query naming an Aggregation of too few Customers gets a `needs_sub_grants` Grant with one child
Grant per Customer; Customers approving the children (CDS-WG1-02 §8.3 `cds_grant_id`) make it
active, and the aggregated usage appears."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import select

from gridshare import urls
from gridshare.grants.clients import client_uri
from gridshare.grants.grants import grant_json
from gridshare.grants.messages import create_message
from gridshare.grants.reviews import approve
from gridshare.oauth import pkce
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.aggregations import Aggregation, AggregationMember
from gridshare.store.tables.clients import Client
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.grants import Grant
from gridshare.store.tables.messages import Message
from gridshare.store.tables.meters import MeterInstallation
from gridshare.store.tables.servicepoints import (
    Premise,
    ServicePointContract,
    ServicePointPremise,
)
from tests.cds.data_setup import PASSWORDS, REDIRECT, VERIFIER, DataWorld, data_world
from tests.demo.conftest import SmallDemo, demo
from tests.oauth.authorization_setup import hidden, ticks

__all__ = ["demo"]

SCOPES = ["cds_query_usage_1", "cds_aggregation_consent_1"]
BUILDING = "BLDG-DAVIS-0120"
PAIR = "BLDG-TEST-PAIR"
"""A test Aggregation of the `home` and `tenant` customers' accounts."""
SINCE = "2024-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def world(demo: SmallDemo) -> Iterator[DataWorld]:
    """The default threshold (15 Customers): the small demo's Aggregations are all below it."""
    found = data_world(demo, SCOPES)
    with found.session() as session:
        # The Client Object that asks Customers for Aggregation Inclusion takes authorizations.
        session.get_one(Client, found.client_id).response_types = ["code"]
        session.add(
            Aggregation(
                id="agg_test_pair",
                aggregation_number=PAIR,
                name="Pair of test customers",
                types=["building"],
                details={},
                addresses=[],
            )
        )
        session.flush()
        for username in ("home", "tenant"):
            session.add(
                AggregationMember(
                    aggregation_id="agg_test_pair", account_id=_account(session, username)
                )
            )
        session.commit()
    yield found


def _account(session: Any, username: str) -> str:
    found: str = session.scalars(
        select(Account.id)
        .join(Customer, Customer.id == Account.customer_id)
        .where(Customer.username == username)
    ).first()
    return found


def _request(world: DataWorld, number: str) -> dict[str, str]:
    entry = {"type": "cds_query_usage_1", "aggregation_numbers": [number], "segment_start": SINCE}
    return {
        "grant_type": "client_credentials",
        "scope": "cds_query_usage_1",
        "authorization_details": json.dumps([entry]),
    }


def _direct(world: DataWorld, number: str) -> dict[str, Any]:
    entry = {"type": "cds_query_usage_1", "aggregation_numbers": [number], "segment_start": SINCE}
    return world.direct_token("cds_query_usage_1", [entry])


def _building_customers(world: DataWorld) -> dict[str, set[str]]:
    """Independently: customer id -> premise numbers, for the building's member points."""
    found: dict[str, set[str]] = {}
    with world.session() as session:
        building = session.scalars(
            select(Aggregation.id).where(Aggregation.aggregation_number == BUILDING)
        ).one()
        points = session.scalars(
            select(AggregationMember.service_point_id).where(
                AggregationMember.aggregation_id == building,
                AggregationMember.service_point_id.is_not(None),
            )
        ).all()
        for customer, premise in session.execute(
            select(Account.customer_id, Premise.premise_number)
            .join(ServiceContract, ServiceContract.account_id == Account.id)
            .join(ServicePointContract, ServicePointContract.contract_id == ServiceContract.id)
            .join(
                ServicePointPremise,
                ServicePointPremise.service_point_id == ServicePointContract.service_point_id,
            )
            .join(Premise, Premise.id == ServicePointPremise.premise_id)
            .where(ServicePointContract.service_point_id.in_(points))
        ):
            found.setdefault(customer, set()).add(premise)
    return found


def _approve(world: DataWorld, username: str, grant_id: str) -> None:
    """`username` approves the Grant through the real authorize -> login -> form flow."""
    params = {
        "response_type": "code",
        "client_id": world.client_id,
        "redirect_uri": REDIRECT,
        "state": "s",
        "code_challenge": pkce.s256(VERIFIER),
        "code_challenge_method": "S256",
        "cds_grant_id": grant_id,
    }
    world.http.cookies.clear()
    sent = world.http.get(f"{urls.AUTHORIZE}?{urlencode(params)}", follow_redirects=False)
    assert sent.status_code == 303, sent.text
    consent = sent.headers["location"]
    form = world.http.get(urls.LOGIN, params={"next": consent})
    logged = world.http.post(
        urls.LOGIN,
        data={
            "username": username,
            "password": PASSWORDS[username],
            "csrf_token": hidden(form.text, "csrf_token"),
            "next": consent,
        },
        follow_redirects=False,
    )
    assert logged.status_code == 303, logged.text
    page = world.http.get(consent)
    assert page.status_code == 200, page.text
    fields = [("decision", "approve"), ("csrf_token", hidden(page.text, "csrf_token"))]
    fields += ticks(page.text)
    done = world.http.post(
        consent,
        content=urlencode(fields),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert done.status_code in (302, 303), done.text
    assert "code" in parse_qs(urlsplit(done.headers["location"]).query), done.headers


def _grant(world: DataWorld, grant_id: str) -> dict[str, Any]:
    with world.session() as session:
        return grant_json(world.demo.settings, session.get_one(Grant, grant_id))


def _children(world: DataWorld, grant_id: str) -> dict[str, dict[str, Any]]:
    """customer id -> child Grant object."""
    with world.session() as session:
        rows = session.scalars(select(Grant).where(Grant.parent_id == grant_id)).all()
        return {str(g.customer_id): grant_json(world.demo.settings, g) for g in rows}


@pytest.mark.req("WG3-4.11-g", "WG3-4.11-h", "WG3-4.11-i", "WG3-12.3-a")
def test_too_few_customers_need_child_grants(world: DataWorld) -> None:
    token = _direct(world, BUILDING)
    grant_id = token["cds_grant_ids"][0]
    parent = _grant(world, grant_id)
    assert parent["status"] == "needs_sub_grants"
    assert parent["enabled_scope"] == ""
    assert parent["enabled_authorization_details"] == []
    assert parent["scope"] == "cds_query_usage_1"
    children = _children(world, grant_id)
    customers = _building_customers(world)
    assert len(customers) >= 2
    assert sorted(parent["children"]) == sorted(c["grant_id"] for c in children.values())
    assert set(children) == set(customers)
    for customer, child in children.items():
        assert child["parent"] == grant_id
        assert child["status"] == "needs_authorization"
        assert child["client_id"] == world.client_id != world.direct_id
        assert child["scope"] == "cds_aggregation_consent_1"
        assert child["enabled_scope"] == ""
        assert child["authorization_details"] == [
            {
                "type": "cds_aggregation_consent_1",
                "aggregation_numbers": [BUILDING],
                "premise_numbers": sorted(customers[customer]),
            }
        ]
    # The token reaches nothing yet; asking again gives a token bound to the same Grant.
    assert token["scope"] == ""
    assert world.get(urls.USAGE_SEGMENTS, token).status_code in (401, 403)
    again = _direct(world, BUILDING)
    assert again["cds_grant_ids"] == [grant_id]
    assert len(_children(world, grant_id)) == len(children)


@pytest.mark.req("WG3-4.11-h")
def test_refused_without_an_aggregation_inclusion_client(demo: SmallDemo) -> None:
    lone = data_world(demo, ["cds_query_usage_1"])
    answer = lone.http.post(
        urls.TOKEN,
        content=urlencode(_request(lone, BUILDING)),
        headers={
            **_basic(lone.direct_id, lone.direct_secret),
            "content-type": "application/x-www-form-urlencoded",
        },
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_scope"
    assert "Aggregation Inclusion" in answer.json()["error_description"]


@pytest.mark.req("WG3-4.11-j", "WG3-4.11-k", "WG3-10.8.8-a", "WG1-02-8.2-c")
def test_customers_consenting_make_the_parent_active(world: DataWorld) -> None:
    token = _direct(world, PAIR)
    grant_id = token["cds_grant_ids"][0]
    children = _children(world, grant_id)
    with world.session() as session:
        usernames = {
            c.id: c.username
            for c in session.scalars(select(Customer).where(Customer.id.in_(list(children))))
        }
    assert sorted(usernames.values()) == ["home", "tenant"]
    by_name = {usernames[c]: child["grant_id"] for c, child in children.items()}
    # Another customer may not answer a child Grant (CDS-WG1-02 §8.3-e).
    with pytest.raises(AssertionError):
        _approve(world, "home", by_name["tenant"])
    assert _grant(world, by_name["tenant"])["status"] == "needs_authorization"
    _approve(world, "tenant", by_name["tenant"])
    assert _grant(world, by_name["tenant"])["status"] == "active"
    assert _grant(world, grant_id)["status"] == "needs_sub_grants"
    _approve(world, "home", by_name["home"])
    parent = _grant(world, grant_id)
    assert parent["status"] == "active"
    assert parent["enabled_scope"] == parent["scope"] == "cds_query_usage_1"
    assert parent["enabled_authorization_details"] == parent["authorization_details"]
    with world.session() as session:
        notes = session.scalars(select(Message).where(Message.related_uri == parent["uri"])).all()
    assert [m.type for m in notes] == ["notification"]
    # Now the aggregated usage is there, and only it.
    fresh = _direct(world, PAIR)
    assert fresh["cds_grant_ids"] == [grant_id]
    segments = world.every_page(urls.USAGE_SEGMENTS, fresh, "usage_segments")
    assert segments
    assert {s["cds_usagesegment_id"].split("-")[1] for s in segments} == {"agg_test_pair"}
    assert all(s["related_aggregations"] == ["agg_test_pair"] for s in segments)
    with world.session() as session:
        meters = session.scalars(select(MeterInstallation.meter_id)).all()
    body = json.dumps(segments)
    assert not any(m in body for m in meters)


def _basic(client_id: str, secret: str) -> dict[str, str]:
    pair = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


@pytest.mark.req("WG3-4.11-i", "WG3-12.3-a")
def test_a_staff_approved_grant_request_meets_the_same_threshold(world: DataWorld) -> None:
    """A grant_request for a Usage Query over a small building, approved by staff, makes the same
    `needs_sub_grants` Grant as the token endpoint: approving it never skips the Customers."""
    with world.session() as session:
        target = session.get_one(Client, world.direct_id)
        request = create_message(
            session,
            registration_id=target.registration_id,
            type="grant_request",
            name="Whole-building usage",
            description="Benchmarking report for the building",
            status="pending",
            creator=target.client_id,
            related_uri=client_uri(world.demo.settings, target.client_id),
            related_type="client",
            grants_requested=[
                {
                    "scope": "cds_query_usage_1",
                    "authorization_details": [
                        {"type": "cds_query_usage_1", "aggregation_numbers": [BUILDING]}
                    ],
                }
            ],
        )
        session.commit()
        message_id = request.message_id
    with world.session() as session:
        reply = approve(session, world.demo.settings, message_id)
        session.commit()
        listed = parse_qs(urlsplit(reply.related_uri or "").query)["grant_ids"][0].split()
    [grant_id] = listed
    assert _grant(world, grant_id)["status"] == "needs_sub_grants"
    children = _children(world, grant_id)
    assert set(children) == set(_building_customers(world))
    assert all(c["status"] == "needs_authorization" for c in children.values())
