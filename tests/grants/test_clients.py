"""CDS-WG1-02 §4.2 registration outcome and §5.1-§5.2 Client Objects, against the database."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from gridshare.config import Settings
from gridshare.grants.clients import (
    ApprovalError,
    InvalidClientMetadata,
    Registered,
    approve_for_production,
    client_json,
    register,
)
from gridshare.grants.messages import create_message
from gridshare.grants.scopes import Catalogue, load_catalogue, parse_catalogue
from gridshare.grants.secrets import Sealer, digest
from gridshare.oauth.client_auth import authenticate
from gridshare.store.tables.clients import Client, Credential, Registration
from gridshare.store.tables.messages import Message
from tests.grants.catalogue_samples import SAMPLE, sample_scope, with_sample

ALL = "cds_client_admin cds_grant_admin_1 cds_server_provided_files_1 cds_accounts_1"
REQUIRED_KEYS = {
    "client_id",
    "client_id_issued_at",
    "scope",
    "redirect_uris",
    "token_endpoint_auth_method",
    "grant_types",
    "response_types",
    "client_name",
    "contacts",
    "authorization_details_types",
    "cds_created",
    "cds_modified",
    "cds_client_uri",
    "cds_status",
    "cds_status_options",
    "cds_server_metadata",
}


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def _register(
    session: Session, settings: Settings, catalogue: Catalogue | None = None, **body: Any
) -> Registered:
    body = {"scope": ALL, "client_name": "Energy App", "cds_company_name": "Energy Co"} | body
    registered = register(session, settings, catalogue or load_catalogue(settings), body)
    session.commit()
    return registered


def _by_scope(registered: Registered) -> dict[str, Client]:
    return {client.scope: client for client in registered.clients}


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.mark.req("WG1-02-4.2-b", "WG1-02-4.2-c", "WG1-02-4.2-d", "WG1-02-4.2-e", "WG1-02-4.2-f")
def test_registration_creates_every_client_object_with_a_credential(
    session: Session, settings: Settings
) -> None:
    registered = _register(session, settings)
    objects = _by_scope(registered)
    assert set(objects) == {
        "cds_client_admin",
        "cds_grant_admin_1",
        "cds_server_provided_files_1",
        "cds_accounts_1",
    }
    admin = registered.admin_client
    assert objects["cds_client_admin"] is admin and registered.clients[0] is admin
    assert (admin.grant_types, admin.response_types, admin.redirect_uris) == (
        ["client_credentials"],
        [],
        [],
    )
    assert admin.token_endpoint_auth_method == "client_secret_basic"
    # The returned secret is the admin Credential's: hashed for lookups, sealed for the API.
    credential = session.scalars(
        select(Credential).where(Credential.client_id == admin.client_id)
    ).one()
    assert credential.secret_hash == digest(registered.admin_secret)
    assert Sealer.from_settings(settings).open(credential.secret_sealed) == registered.admin_secret
    assert authenticate(session, _basic(admin.client_id, registered.admin_secret)).client is admin
    for client in registered.clients:
        count = session.scalar(select(func.count()).where(Credential.client_id == client.client_id))
        assert count == (0 if client.token_endpoint_auth_method is None else 1), client.scope
    assert objects["cds_server_provided_files_1"].token_endpoint_auth_method is None
    assert len({c.client_id for c in registered.clients}) == 4
    assert {c.registration_id for c in registered.clients} == {registered.registration.id}


@pytest.mark.req("WG1-02-4.2-e")
def test_one_grant_admin_object_however_many_scopes_name_it(
    session: Session, settings: Settings
) -> None:
    registered = _register(session, settings, scope="cds_client_admin cds_accounts_1")
    assert sorted(_by_scope(registered)) == [
        "cds_accounts_1",
        "cds_client_admin",
        "cds_grant_admin_1",
    ]
    alone = _register(session, settings, scope="cds_client_admin")
    assert [c.scope for c in alone.clients] == ["cds_client_admin"]


@pytest.mark.req("WG1-02-4.2-d")
def test_scopes_share_an_object_only_when_their_flows_agree(
    session: Session, settings: Settings
) -> None:
    data = with_sample()
    twin = sample_scope(id="gridshare_sample_2", authorization_details_types_supported=["s2"])
    for f in twin["authorization_details_fields_supported"]:
        f["for_types"] = ["s2"]
    data["cds_scope_descriptions"]["gridshare_sample_2"] = twin
    catalogue = parse_catalogue(data)
    registered = _register(
        session,
        settings,
        catalogue,
        scope=f"cds_client_admin {SAMPLE} gridshare_sample_2 cds_accounts_1",
    )
    objects = _by_scope(registered)
    shared = objects[f"{SAMPLE} gridshare_sample_2"]
    assert shared.authorization_details_types == [SAMPLE, "s2"]
    assert shared.grant_types == ["client_credentials"] and shared.response_types == []
    # The grant-admin scope has the same flows but keeps its own object; so does the consent scope.
    assert set(objects) == {
        "cds_client_admin",
        f"{SAMPLE} gridshare_sample_2",
        "cds_accounts_1",
        "cds_grant_admin_1",
    }


@pytest.mark.req(
    "WG1-02-4.2-g", "WG1-02-4.2-h", "WG1-02-4.2-j", "WG1-02-5.1-d", "WG1-02-5.1-g", "WG1-02-5.2-a"
)
def test_customer_authorization_objects_start_in_sandbox_with_the_default_redirect(
    session: Session, settings: Settings
) -> None:
    registered = _register(session, settings)
    consent = _by_scope(registered)["cds_accounts_1"]
    body = client_json(settings, consent)
    default = f"http://testserver/oauth/outcome/{consent.client_id}"
    assert body["redirect_uris"] == [default]
    assert body["cds_default_redirect_uri"] == default
    assert body["cds_default_scope"] == "cds_accounts_1"
    assert body["cds_default_authorization_details"] == []
    assert (body["cds_status"], body["cds_status_options"]) == ("sandbox", ["sandbox", "disabled"])
    assert body["response_types"] == ["code"]
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    for client in registered.clients:
        body = client_json(settings, client)
        assert body["cds_status"] in ("production", "sandbox", "disabled")
        assert body["cds_status"] in body["cds_status_options"]
        assert not {"production", "sandbox"} <= set(body["cds_status_options"])
        if client.scope == "cds_client_admin":
            assert body["cds_status_options"] == ["production"]
        else:
            assert "disabled" in body["cds_status_options"]
        if not client.response_types:
            assert "cds_default_scope" not in body and body["redirect_uris"] == []


@pytest.mark.req("WG1-02-5.1-a", "WG1-02-5.1-b", "WG1-02-5.1-c", "WG1-02-5.1-e", "WG1-02-4.1-c")
def test_client_objects_carry_the_required_fields_and_never_a_secret(
    session: Session, settings: Settings
) -> None:
    registered = _register(
        session,
        settings,
        client_uri="https://app.example.com",
        contacts=["dev@app.example.com"],
    )
    uris = set()
    for client in registered.clients:
        body = client_json(settings, client)
        assert set(body) >= REQUIRED_KEYS, client.scope
        assert "client_secret" not in body and "client_secret_expires_at" not in body
        assert body["client_name"] == "Energy App"
        assert body["contacts"] == ["dev@app.example.com"]
        assert body["client_uri"] == "https://app.example.com"
        assert body["cds_client_uri"] == f"http://testserver/cds-api/v1/clients/{client.client_id}"
        assert body["cds_server_metadata"] == (
            "http://testserver/.well-known/cds-server-metadata.json"
        )
        assert body["cds_created"].endswith("Z") and body["client_id_issued_at"] > 0
        uris.add(body["cds_client_uri"])
        # The registration field value appears on the objects of the scopes that asked for it.
        assert ("cds_company_name" in body) == (client.scope == "cds_accounts_1")
    assert len(uris) == len(registered.clients)
    assert registered.registration.fields == {"cds_company_name": "Energy Co"}


@pytest.mark.req("WG1-02-5.1-a")
def test_client_name_defaults_to_the_client_id(session: Session, settings: Settings) -> None:
    registered = _register(session, settings, client_name=None)
    body = client_json(settings, registered.admin_client)
    assert body["client_name"] == registered.admin_client.client_id


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"scope": "cds_accounts_1"}, "must include cds_client_admin"),
        ({"scope": None}, "must include cds_client_admin"),
        ({"scope": ["cds_client_admin"]}, "space-separated string"),
        ({"scope": "cds_client_admin openid"}, "openid, not in cds_scope_descriptions"),
        ({"cds_company_name": None}, "cds_company_name must not be null"),
        ({"cds_company_name": "x" * 1025}, "longer than 1024"),
        ({"client_name": ""}, "client_name"),
        ({"client_name": 5}, "client_name"),
        ({"logo_uri": "javascript:alert(1)"}, "logo_uri"),
        ({"contacts": "dev@example.com"}, "contacts"),
    ],
)
@pytest.mark.req("WG1-02-4.1-a", "WG1-02-4.1-b", "WG1-02-4.1-c")
def test_refused_registrations_write_nothing(
    session: Session, settings: Settings, body: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InvalidClientMetadata, match=problem) as caught:
        _register(session, settings, **body)
    assert caught.value.error == "invalid_client_metadata"
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Registration)) == 0
    assert session.scalar(select(func.count()).select_from(Client)) == 0


@pytest.mark.req("WG1-02-4.1-c")
def test_a_required_registration_field_must_be_given(session: Session, settings: Settings) -> None:
    body = {"scope": "cds_client_admin cds_accounts_1"}
    with pytest.raises(InvalidClientMetadata, match="cds_accounts_1 needs cds_company_name"):
        register(session, settings, load_catalogue(settings), body)
    # Not asked for by the registered scopes: not required, and not kept.
    registered = _register(session, settings, scope="cds_client_admin", cds_company_name=None)
    assert registered.registration.fields == {}


@pytest.mark.req("WG1-02-4.1-c")
def test_optional_registration_fields_take_their_default(
    session: Session, settings: Settings
) -> None:
    data = with_sample(registration_optional=["website"])
    data["cds_registration_fields"]["website"] = {
        "id": "website",
        "type": "registration_field",
        "field_name": "cds_website",
        "description": "Your website.",
        "documentation": "/developers/oauth#registration-website",
        "format": "url_or_null",
        "max_length": 200,
        "default": None,
    }
    catalogue = parse_catalogue(data)
    plain = _register(session, settings, catalogue, scope=f"cds_client_admin {SAMPLE}")
    assert client_json(settings, _by_scope(plain)[SAMPLE])["cds_website"] is None
    given = _register(
        session, settings, catalogue, scope=f"cds_client_admin {SAMPLE}", cds_website="https://a.b"
    )
    assert client_json(settings, _by_scope(given)[SAMPLE])["cds_website"] == "https://a.b"


@pytest.mark.req("WG1-02-3.6-c")
def test_internal_review_keeps_objects_in_sandbox_and_says_so(
    session: Session, settings: Settings
) -> None:
    data = with_sample(registration_requirements=["review"])
    data["cds_registration_fields"]["review"] = {
        "id": "review",
        "type": "internal_review",
        "description": "We review every direct-access client.",
        "documentation": "/developers/oauth#registration-review",
    }
    registered = _register(
        session, settings, parse_catalogue(data), scope=f"cds_client_admin {SAMPLE}"
    )
    sample = _by_scope(registered)[SAMPLE]
    assert (sample.status, sample.status_options) == ("sandbox", ["sandbox", "disabled"])
    [message] = session.scalars(select(Message)).all()
    assert message.type == "notification" and SAMPLE in message.description


@pytest.mark.req("WG1-02-4.2-i", "WG1-02-4.2-j", "WG1-02-5.3-e")
def test_approval_creates_a_production_twin_with_its_own_credential(
    session: Session, settings: Settings
) -> None:
    registered = _register(session, settings)
    sandbox = _by_scope(registered)["cds_accounts_1"]
    sandbox.redirect_uris = [*sandbox.redirect_uris, "https://app.example.com/cb"]
    session.commit()
    production = approve_for_production(session, settings, sandbox.client_id)
    session.commit()
    body = client_json(settings, production)
    assert production.client_id != sandbox.client_id
    assert (body["cds_status"], body["cds_status_options"]) == (
        "production",
        ["production", "disabled"],
    )
    assert body["scope"] == sandbox.scope and body["cds_company_name"] == "Energy Co"
    own_default = f"http://testserver/oauth/outcome/{production.client_id}"
    assert body["redirect_uris"] == [own_default, "https://app.example.com/cb"]
    assert body["cds_default_redirect_uri"] == own_default
    assert (
        session.scalar(select(func.count()).where(Credential.client_id == production.client_id))
        == 1
    )
    [notice] = session.scalars(select(Message)).all()
    assert (notice.type, notice.related_type, notice.read) == ("notification", "client", False)
    assert notice.related_uri == body["cds_client_uri"]
    with pytest.raises(ApprovalError, match="already has a production twin"):
        approve_for_production(session, settings, sandbox.client_id)
    with pytest.raises(ApprovalError, match="not a sandbox"):
        approve_for_production(session, settings, registered.admin_client.client_id)
    with pytest.raises(ApprovalError, match="no Client Object"):
        approve_for_production(session, settings, "nope")


@pytest.mark.req("WG1-02-4.2-i")
def test_approval_answers_a_pending_production_request(
    session: Session, settings: Settings
) -> None:
    registered = _register(session, settings)
    sandbox = _by_scope(registered)["cds_accounts_1"]
    request = create_message(
        session,
        registration_id=registered.registration.id,
        type="production_request",
        name="Production please",
        description="We are ready.",
        status="pending",
        creator=registered.admin_client.client_id,
        related_uri=client_json(settings, sandbox)["cds_client_uri"],
        related_type="client",
    )
    session.commit()
    production = approve_for_production(session, settings, sandbox.client_id)
    session.commit()
    reply = session.scalars(select(Message).where(Message.type == "request_update")).one()
    assert (reply.previous_id, reply.status, reply.related_type) == (
        request.message_id,
        "complete",
        "client",
    )
    assert reply.related_uri == client_json(settings, production)["cds_client_uri"]
