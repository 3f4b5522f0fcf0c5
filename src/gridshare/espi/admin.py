"""ReadServiceStatus, ApplicationInformation and Authorization (NAESB REQ.21 ESPI FB 3, FB 41,
FB 44; DIGEST §5, API_TABLE).

- `GET ReadServiceStatus` (client_access_token, access_token, or the Data Custodian's tokens):
  the bare `espi:ServiceStatus`.
- `GET DownloadSampleData` (client_access_token): PG&E's connectivity test, a fixed sample feed.
- `GET|PUT|DELETE ApplicationInformation/{id}` (registration_access_token): the third party's
  registration; PUT changes what it may change (redirect URIs, notification URI, software
  version), DELETE ends the registration (the Client Object is disabled and every token stops).
- `GET Authorization` and `GET|DELETE Authorization/{id}` (client_access_token): the third
  party's authorizations (its Customers' Green Button Grants and its own client authorization);
  DELETE revokes a Customer's authorization as the Customer could (`grants.revoke_grant`).
  A Customer's access_token reads its own `Authorization/{id}`.

Ids that are not the caller's are 404, whether or not they exist.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request, Response
from lxml import etree
from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.api.errors import OAuthError
from gridshare.config import Settings
from gridshare.espi import atom, hrefs
from gridshare.espi.auth import (
    ACCESS_TOKEN,
    CLIENT_ACCESS_TOKEN,
    DATACUSTODIAN_ACCESS_TOKEN,
    UPLOAD_ACCESS_TOKEN,
    Caller,
    ClientCaller,
    Custodian,
    RegistrationCaller,
    custodian_requiring,
    requiring,
)
from gridshare.espi.resources.application_information import ApplicationView, application_entry
from gridshare.espi.resources.authorization import (
    ACTIVE,
    REVOKED,
    AuthorizationView,
    Period,
    authorization_entry,
)
from gridshare.espi.resources.service_status import service_status_document
from gridshare.grants import tokens
from gridshare.grants.espi_clients import (
    CLIENT_ACCESS,
    CUSTOMER_ACCESS,
    MAX_VERSION,
    ThirdParty,
    ThirdPartyError,
    check_https,
    check_length,
    third_party,
)
from gridshare.grants.grants import access_ends, gives_access, revoke_grant
from gridshare.grants.secrets import Sealer
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.db import utcnow
from gridshare.store.tables.clients import Client, Credential
from gridshare.store.tables.grants import Grant, Token

router = APIRouter(tags=["Green Button"])

XML: Final = "application/atom+xml"
SAMPLE: Final = Path(__file__).with_name("sample_data.xml")
STATUS_OF_CLIENT: Final = {"sandbox": 1, "production": 2, "disabled": 4}
"""dataCustodianApplicationStatus: review, production, revoked."""
EDITABLE: Final = ("redirect_uri", "thirdPartyNotifyUri", "software_version")


@router.get(f"{urls.ESPI}/ReadServiceStatus")
def read_service_status(
    _who: Annotated[
        Custodian,
        Depends(
            custodian_requiring(
                CLIENT_ACCESS_TOKEN,
                ACCESS_TOKEN,
                DATACUSTODIAN_ACCESS_TOKEN,
                UPLOAD_ACCESS_TOKEN,
            )
        ),
    ],
) -> Response:
    return Response(service_status_document(), media_type="application/xml")


@router.get(f"{urls.ESPI}/DownloadSampleData")
def download_sample_data(_who: ClientCaller) -> Response:
    """PG&E's connectivity test: a fixed sample feed, no customer's data (`sample_data.xml`, the
    OpenESPI test fixture, Apache-2.0, GreenButtonAlliance/OpenESPI-GreenButton-Java)."""
    return Response(SAMPLE.read_bytes(), media_type=XML)


@router.get(f"{urls.ESPI}/ApplicationInformation/{{application_id}}")
def get_application(
    application_id: str, session: SessionDep, settings: SettingsDep, who: RegistrationCaller
) -> Response:
    _own_application(who, application_id)
    entry = application_entry(settings, _own_view(session, settings, who))
    return Response(atom.entry_document(entry), media_type=XML)


@router.put(f"{urls.ESPI}/ApplicationInformation/{{application_id}}")
async def put_application(
    application_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: RegistrationCaller,
) -> Response:
    """Change the redirect URIs, notification URI or software version (other fields are the Data
    Custodian's and are refused if they differ)."""
    _own_application(who, application_id)
    changes = _application_changes(await request.body())
    try:
        for uri in (*changes.get("redirect_uri", ()), *changes.get("thirdPartyNotifyUri", ())):
            check_https(uri, settings)
        for version in changes.get("software_version", ()):
            check_length("software_version", version, MAX_VERSION)
    except ThirdPartyError as error:
        raise OAuthError("invalid_request", str(error)) from error
    extra = dict(who.client.extra)
    party = dict(extra["espi"])
    if "thirdPartyNotifyUri" in changes:
        party["notify_uri"] = changes["thirdPartyNotifyUri"][0]
    if "software_version" in changes:
        party["software_version"] = changes["software_version"][0]
    if "redirect_uri" in changes:
        who.client.redirect_uris = changes["redirect_uri"]
    who.client.extra = {**extra, "espi": party}
    who.client.modified = utcnow()
    session.commit()
    entry = application_entry(settings, _own_view(session, settings, who))
    return Response(atom.entry_document(entry), media_type=XML)


@router.delete(f"{urls.ESPI}/ApplicationInformation/{{application_id}}")
def delete_application(
    application_id: str, session: SessionDep, who: RegistrationCaller
) -> Response:
    """The third party leaves: its Client Object is disabled, so every token of it stops."""
    _own_application(who, application_id)
    who.client.status = "disabled"
    session.commit()
    return Response(status_code=200)


@router.get(f"{urls.ESPI}/Authorization")
def list_authorizations(session: SessionDep, settings: SettingsDep, who: ClientCaller) -> Response:
    views = [_client_authorization(settings, who)]
    views += [_grant_authorization(session, settings, g) for g in _grants_of(session, who.client)]
    feed = atom.Feed(
        atom_id=hrefs.atom_id(settings, f"Authorization?client={who.client.client_id}"),
        title="Authorizations",
        self_href=hrefs.resource(settings, "Authorization"),
        updated=max(v.updated for v in views),
    )
    entries = (authorization_entry(settings, v) for v in views)
    return Response(b"".join(atom.stream_feed(feed, entries)), media_type=XML)


@router.get(f"{urls.ESPI}/Authorization/{{authorization_id}}")
def get_authorization(
    authorization_id: str,
    session: SessionDep,
    settings: SettingsDep,
    who: Annotated[Caller, Depends(requiring(CLIENT_ACCESS_TOKEN, ACCESS_TOKEN))],
) -> Response:
    if who.token_class == CLIENT_ACCESS_TOKEN and authorization_id == who.client.client_id:
        view = _client_authorization(settings, who)
    else:
        grant = _authorization_grant(session, who, authorization_id)
        view = _grant_authorization(session, settings, grant)
    return Response(atom.entry_document(authorization_entry(settings, view)), media_type=XML)


@router.delete(f"{urls.ESPI}/Authorization/{{authorization_id}}")
def delete_authorization(
    authorization_id: str, session: SessionDep, settings: SettingsDep, who: ClientCaller
) -> Response:
    """The third party ends a Customer's authorization (the Customer is told by their receipt's
    status; the Grant is `revoked` and its tokens stop)."""
    grant = _authorization_grant(session, who, authorization_id)
    revoke_grant(session, settings, grant)
    session.commit()
    return Response(status_code=200)


# --- views -----------------------------------------------------------------------------------


def _own_application(who: Caller, application_id: str) -> None:
    if application_id != who.client.client_id:
        raise _not_found("ApplicationInformation", application_id)


def application_view(
    settings: Settings,
    client: Client,
    credential: Credential | None,
    registration_access_token: str | None,
) -> ApplicationView:
    """A third party's ApplicationInformation. Its own registration_access_token reads it with
    the client secret and that token; the Data Custodian's feed (`espi.custodian`) passes None
    and both are written empty (the schema requires the elements, not a value)."""
    party = third_party(client)  # as it is now (a PUT may have changed it)
    assert party is not None
    secret = ""
    if registration_access_token is not None and credential is not None:
        secret = Sealer.from_settings(settings).open(credential.secret_sealed)
    return ApplicationView(
        application_id=client.client_id,
        published=client.created,
        updated=client.modified,
        data_custodian_id=settings.utility_name[:64],
        data_custodian_application_status=STATUS_OF_CLIENT.get(client.status, 3),
        third_party_notify_uri=party.notify_uri,
        authorization_endpoint=settings.url(urls.AUTHORIZE),
        token_endpoint=settings.url(urls.TOKEN),
        bulk_request_uri=hrefs.resource(settings, "Batch", "Bulk", party.bulk_id(client.client_id)),
        resource_endpoint=settings.url(urls.ESPI),
        client_secret=secret,
        client_name=client.client_name or client.client_id,
        redirect_uris=tuple(client.redirect_uris),
        client_id=client.client_id,
        software_id=party.software_id,
        software_version=party.software_version,
        client_id_issued_at=client.issued_at,
        client_secret_expires_at=None if credential is None else credential.expires_at,
        scopes=party.scopes,
        grant_types=tuple(client.grant_types),
        registration_client_uri=hrefs.resource(
            settings, "ApplicationInformation", client.client_id
        ),
        registration_access_token=registration_access_token or "",
        registration_endpoint=settings.url(urls.REGISTER),
    )


def newest_credential(session: Session, client_id: str) -> Credential | None:
    return session.scalars(
        select(Credential)
        .where(Credential.client_id == client_id)
        .order_by(Credential.created.desc())
    ).first()


def _own_view(session: Session, settings: Settings, who: Caller) -> ApplicationView:
    credential = newest_credential(session, who.client.client_id)
    if credential is None:
        raise OAuthError("invalid_client", "this third party has no client secret", 409)
    return application_view(settings, who.client, credential, who.token_value)


def _application_changes(body: bytes) -> dict[str, list[str]]:
    """The editable fields of a PUT ApplicationInformation entry (hardened XML parsing)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as error:
        raise OAuthError("invalid_request", f"the body is not XML: {error}") from error
    found = root.find(f".//{atom.espi('ApplicationInformation')}")
    if found is None:
        raise OAuthError("invalid_request", "the body has no espi:ApplicationInformation")
    changes: dict[str, list[str]] = {}
    for name in EDITABLE:
        values = [(e.text or "").strip() for e in found.findall(atom.espi(name))]
        if values:
            changes[name] = values
    return changes


def _grants_of(session: Session, client: Client) -> list[Grant]:
    return list(
        session.scalars(
            select(Grant)
            .where(Grant.client_id == client.client_id, Grant.espi_scope.is_not(None))
            .order_by(Grant.created, Grant.grant_id)
        )
    )


def _authorization_grant(session: Session, who: Caller, authorization_id: str) -> Grant:
    grant = session.get(Grant, authorization_id)
    if (
        grant is None
        or grant.client_id != who.client.client_id
        or grant.espi_scope is None
        or (who.token_class == ACCESS_TOKEN and who.subscription_id != grant.grant_id)
    ):
        raise _not_found("Authorization", authorization_id)
    return grant


def _grant_authorization(session: Session, settings: Settings, grant: Grant) -> AuthorizationView:
    active = gives_access(session, grant)
    assert grant.espi_scope is not None
    ends = access_ends(grant)
    newest = _newest_token(session, grant)
    return AuthorizationView(
        authorization_id=grant.grant_id,
        published=grant.created,
        updated=grant.modified,
        status=ACTIVE if active else REVOKED,
        expires_at=_expiry(newest, ends or grant.modified),
        scope=grant.espi_scope,
        resource_uri=hrefs.resource(settings, "Batch", "Subscription", grant.grant_id),
        authorization_uri=hrefs.resource(settings, "Authorization", grant.grant_id),
        authorized_period=Period(grant.created, ends) if ends is not None else None,
        grant_type="authorization_code",
        customer_resource_uri=hrefs.resource(settings, "Batch", "RetailCustomer", grant.grant_id),
    )


def _client_authorization(settings: Settings, who: Caller) -> AuthorizationView:
    party: ThirdParty = who.party
    client = who.client
    return AuthorizationView(
        authorization_id=client.client_id,
        published=client.created,
        updated=who.token.created,
        status=ACTIVE,
        expires_at=_expiry(who.token if who.token.kind == CLIENT_ACCESS else None, utcnow()),
        scope=who.token.scope if who.token.kind == CLIENT_ACCESS else party.scopes[0],
        resource_uri=hrefs.resource(settings, "Batch", "Bulk", party.bulk_id(client.client_id)),
        authorization_uri=hrefs.resource(settings, "Authorization", client.client_id),
        grant_type="client_credentials",
    )


def _newest_token(session: Session, grant: Grant) -> Token | None:
    """The Grant's newest live Green Button access token (its expiry is the Authorization's)."""
    candidates = session.scalars(
        select(Token)
        .where(
            Token.kind == CUSTOMER_ACCESS,
            cast(Token.grant_ids, String).contains(f'"{grant.grant_id}"', autoescape=True),
        )
        .order_by(Token.created.desc())
    ).all()
    return next(
        (t for t in candidates if grant.grant_id in t.grant_ids and tokens.is_active(session, t)),
        None,
    )


def _expiry(token: Token | None, fallback: datetime) -> datetime:
    if token is not None and token.expires_at is not None:
        return token.expires_at
    return fallback


def _not_found(kind: str, resource_id: str) -> OAuthError:
    return OAuthError("not_found", f"there is no {kind} {resource_id} for this token", 404)
