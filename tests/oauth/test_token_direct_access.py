"""The token endpoint for CDS-WG3-01 §6.2 Direct Access scopes: a registration asks for them,
its Client Object starts in sandbox (internal review), and once the utility approves it the
production twin obtains client_credentials tokens whose Grant keeps the preselection fields."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from gridshare import urls
from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.grants.clients import PRODUCTION, SANDBOX, approve_for_production, new_credential
from gridshare.grants.clients import register as register_client
from gridshare.grants.scopes import load_catalogue
from gridshare.store.db import session_factory
from gridshare.store.tables.clients import Client
from gridshare.store.tables.grants import Grant
from gridshare.store.tables.messages import Message
from tests.oauth.token_setup import Party

QUERY = "cds_query_accounts_1 cds_query_usage_1"


def _register(settings: Settings, engine: Engine) -> tuple[Client, Party]:
    """A registration for two direct access scopes: their sandbox Client Object and its secret."""
    with session_factory(engine)() as session:
        done = register_client(
            session,
            settings,
            load_catalogue(settings),
            {"scope": f"cds_client_admin {QUERY}", "cds_company_name": "Vendor Inc."},
        )
        [sandbox] = [c for c in done.clients if c.scope == QUERY]
        _, secret = new_credential(session, settings, sandbox)
        session.commit()
        return sandbox, Party(sandbox.client_id, secret)


def _approve(settings: Settings, engine: Engine, sandbox: Client) -> Party:
    with session_factory(engine)() as session:
        production = approve_for_production(session, settings, sandbox.client_id)
        _, secret = new_credential(session, settings, production)
        session.commit()
        return Party(production.client_id, secret)


def _token(http: TestClient, party: Party, **form: str) -> Any:
    return http.post(
        urls.TOKEN, data={"grant_type": "client_credentials", **form}, headers=party.basic
    )


@pytest.mark.req("WG3-6.2-a", "WG3-4.11-a", "WG3-4.12-a")
def test_direct_access_waits_for_the_utilitys_review(settings: Settings, engine: Engine) -> None:
    sandbox, party = _register(settings, engine)
    assert sandbox.status == SANDBOX
    assert sandbox.grant_types == ["client_credentials"] and sandbox.response_types == []
    with session_factory(engine)() as session:
        notes = session.scalars(
            select(Message.description).where(Message.registration_id == sandbox.registration_id)
        ).all()
    assert any("internal review" in note for note in notes)
    http = TestClient(create_app(settings, engine))
    answer = _token(http, party, scope=QUERY)
    assert answer.status_code == 400
    assert answer.json()["error"] == "unauthorized_client"
    assert "approved it for production" in answer.json()["error_description"]


@pytest.mark.req("WG3-6.2-a", "WG3-6.2-b", "WG3-6.2.1-a", "WG3-6.2.8-a", "WG3-4.1-d", "WG3-4.1-e")
def test_an_approved_client_obtains_a_token_with_preselections(
    settings: Settings, engine: Engine
) -> None:
    sandbox, _ = _register(settings, engine)
    party = _approve(settings, engine, sandbox)
    http = TestClient(create_app(settings, engine))
    details = [
        {"type": "cds_query_accounts_1", "account_numbers": ["4100000291-9"]},
        {"type": "cds_query_usage_1", "meter_numbers": ["M-1"], "include_meter_numbers": True},
    ]
    answer = _token(http, party, authorization_details=json.dumps(details))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["scope"] == QUERY
    accounts, usage = body["authorization_details"]
    # The preselection fields stay, and every omitted field gets its default (§7).
    assert accounts["account_numbers"] == ["4100000291-9"]
    assert accounts["include_accounts"] is True and accounts["sync_until"] == "infinite"
    assert usage["meter_numbers"] == ["M-1"] and usage["include_meter_numbers"] is True
    assert usage["include_usage_segment_value_types"]  # every value type by default
    with session_factory(engine)() as session:
        [grant_id] = body["cds_grant_ids"]
        grant = session.get(Grant, grant_id)
        assert grant is not None and grant.customer_id is None
        assert grant.client_id == party.client_id
        assert grant.authorization_details[0]["account_numbers"] == ["4100000291-9"]
        assert session.get(Client, party.client_id).status == PRODUCTION  # type: ignore[union-attr]


@pytest.mark.req("WG3-6.2-a")
def test_a_preselection_of_the_wrong_format_is_refused(settings: Settings, engine: Engine) -> None:
    sandbox, _ = _register(settings, engine)
    party = _approve(settings, engine, sandbox)
    http = TestClient(create_app(settings, engine))
    details = [{"type": "cds_query_accounts_1", "account_numbers": "4100000291-9"}]
    answer = _token(http, party, authorization_details=json.dumps(details))
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_authorization_details"
    assert "account_numbers" in answer.json()["error_description"]
