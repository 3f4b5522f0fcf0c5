"""Green Button third parties as Client Objects (NAESB REQ.21 ESPI ApplicationInformation, FB 3/36).

A third party registered for Green Button Connect My Data is an ordinary Client Object of its own
Registration, so its authorizations are Grants beside the CDS ones (one consent store): its
`scope` is the Customer Consent scopes its Green Button scopes become
(`grants.espi_scope.consent_request`), it uses `authorization_code`, `client_credentials` and
`refresh_token` with `client_secret_basic`, and `extra["espi"]` keeps what only ESPI has: the
registered scope strings, the notification URI and the software id/version.

Staff register a third party with `gridshare greenbutton register`; a third party registers itself
(FB 36 "Dynamic registration") with an RFC 7591 request to `POST /oauth/register`
(`oauth/registration.py`), which makes it here in `sandbox`. Either way its values must fit the
ApplicationInformation it is published as (espi.xsd: client_name, software_id and each scope
String256, software_version String32), and its ApplicationInformation is `application_uri`.

Token classes (DIGEST §5), by `Token.kind`: a Customer's `access_token` has kind `espi` and is
bound to the Grant; the `client_access_token` (`client_credentials`) has kind `client` and no
Grant; the `registration_access_token` has kind `register` and reaches only the
ApplicationInformation. The CDS APIs accept none of them (they look up `access` tokens only): the
Grant is shared, the tokens are per protocol.

The Data Custodian's own tokens (FB 33 management REST; `gridshare greenbutton custodian-token`):
the `datacustodian_access_token` has kind `custodia`, the `upload_access_token` kind `upload`.
A Token belongs to a Client Object, so both belong to one internal Client Object,
`data-custodian` (`custodian_client`): no secret, no redirect URI, no grant type, no scope, so
nobody can obtain a token for it at the token endpoint, and it is no third party.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Final
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.config import Settings
from gridshare.grants import tokens
from gridshare.grants.clients import PRODUCTION, SANDBOX, new_credential
from gridshare.grants.espi_scope import EspiScope, ScopeError, parse
from gridshare.grants.scopes import Catalogue
from gridshare.grants.secrets import new_id
from gridshare.store.db import utcnow
from gridshare.store.tables.clients import Client, Registration

KEY: Final = "espi"
CUSTOMER_ACCESS: Final = "espi"
"""Token kind of a Customer's Green Button access_token (not accepted by the CDS APIs)."""
CLIENT_ACCESS: Final = "client"
"""Token kind of a client_access_token."""
REGISTRATION_ACCESS: Final = "register"
"""Token kind of a registration_access_token."""
DATA_CUSTODIAN_ACCESS: Final = "custodia"
"""Token kind of a datacustodian_access_token (the Data Custodian's own, FB 33)."""
UPLOAD_ACCESS: Final = "upload"
"""Token kind of an upload_access_token (the Data Custodian's uploads only, FB 33)."""
CUSTODIAN_CLIENT_ID: Final = "data-custodian"
"""The internal Client Object the Data Custodian's tokens belong to (never a generated id: those
are hex)."""
GRANT_TYPES: Final = ["authorization_code", "client_credentials", "refresh_token"]
UNSPECIFIED: Final = "unspecified"
"""The software_id or software_version of a third party that did not give one."""
MAX_TEXT: Final = 256
"""The longest client_name, software_id and scope string (espi.xsd String256)."""
MAX_VERSION: Final = 32
"""The longest software_version (espi.xsd String32)."""


class ThirdPartyError(ValueError):
    """A registration that cannot be made as asked (the message says what to change)."""


@dataclass(frozen=True)
class ThirdParty:
    """What a Green Button third party registered (`Client.extra["espi"]`)."""

    scopes: tuple[str, ...]
    notify_uri: str
    software_id: str
    software_version: str

    def parsed(self) -> list[EspiScope]:
        return [parse(s) for s in self.scopes]

    def bulk_id(self, client_id: str) -> str:
        """The id of its Batch/Bulk feed: the `BR=` of its scope, else its client id."""
        for scope in self.parsed():
            if scope.bulk_id is not None:
                return scope.bulk_id
        return client_id


@dataclass(frozen=True)
class Registered:
    client: Client
    client_secret: str
    registration_access_token: str


def third_party(client: Client) -> ThirdParty | None:
    """The Green Button registration of `client`, None for a CDS-only Client Object."""
    data = client.extra.get(KEY) if client.extra else None
    if not isinstance(data, dict):
        return None
    return ThirdParty(
        scopes=tuple(data["scopes"]),
        notify_uri=data["notify_uri"],
        software_id=data["software_id"],
        software_version=data["software_version"],
    )


def consent_scope_ids(catalogue: Catalogue) -> tuple[str, str]:
    """The catalogue's Customer Consent scopes ESPI authorizations become: its usage scope and its
    service contracts scope (`grants.espi_scope.consent_request`)."""
    return _customer_scope(catalogue, "cds_usage"), _customer_scope(
        catalogue, "cds_service_contracts"
    )


def _customer_scope(catalogue: Catalogue, scope_type: str) -> str:
    for scope_id, described in catalogue.scopes.items():
        if described.type == scope_type and "code" in described.response_types_supported:
            return scope_id
    raise ThirdPartyError(f"the scope catalogue has no {scope_type} scope a Customer can authorize")


def register(
    session: Session,
    settings: Settings,
    catalogue: Catalogue,
    *,
    name: str,
    redirect_uris: Sequence[str],
    notify_uri: str,
    scopes: Sequence[str],
    software_id: str,
    software_version: str,
    sandbox: bool = False,
) -> Registered:
    """Register a third party; the caller commits. Registered by staff it is `production`; a
    `sandbox` one (a dynamic registration is one) is authorized only by the sandbox test
    customers (docs/demo.md)."""
    if not name.strip():
        raise ThirdPartyError("the third party needs a name")
    check_length("the name (client_name)", name.strip(), MAX_TEXT)
    check_length("software_id", software_id, MAX_TEXT)
    check_length("software_version", software_version, MAX_VERSION)
    if not redirect_uris:
        raise ThirdPartyError("give at least one redirect URI")
    for uri in (*redirect_uris, notify_uri):
        check_https(uri, settings)
    if not scopes:
        raise ThirdPartyError("give at least one scope string, e.g. FB=1_3_4_5_13_14_15_39")
    for text in scopes:
        try:
            parse(text)
        except ScopeError as error:
            raise ThirdPartyError(f"scope {text!r}: {error}") from error
        check_length(f"scope {text[:40]!r}...", text, MAX_TEXT)
    registration = Registration(id=new_id("r"), created=utcnow(), fields={})
    session.add(registration)
    session.flush()
    now = utcnow()
    client = Client(
        client_id=new_id(),
        registration_id=registration.id,
        issued_at=now,
        created=now,
        modified=now,
        scope=" ".join(consent_scope_ids(catalogue)),
        redirect_uris=list(redirect_uris),
        token_endpoint_auth_method="client_secret_basic",
        grant_types=list(GRANT_TYPES),
        response_types=["code"],
        client_name=name.strip(),
        contacts=[],
        authorization_details_types=[],
        status=SANDBOX if sandbox else PRODUCTION,
        status_options=[SANDBOX if sandbox else PRODUCTION],
        purposes={},
        extra={
            KEY: {
                "scopes": list(scopes),
                "notify_uri": notify_uri,
                "software_id": software_id,
                "software_version": software_version,
            }
        },
    )
    session.add(client)
    session.flush()
    _, secret = new_credential(session, settings, client)
    token = tokens.issue(
        session,
        kind=REGISTRATION_ACCESS,
        client_id=client.client_id,
        scope="",
        lifetime=None,
    )
    return Registered(client, secret, token.value)


def approve(client: Client) -> None:
    """Staff approve a sandbox third party for production, in place (its client_id, secret and
    registration_access_token stay; its ApplicationInformation status becomes production)."""
    if third_party(client) is None or client.status != SANDBOX:
        raise ThirdPartyError(f"{client.client_id} is not a sandbox Green Button third party")
    client.status = PRODUCTION
    client.status_options = [PRODUCTION]
    client.modified = utcnow()


def application_uri(settings: Settings, client_id: str) -> str:
    """The third party's ApplicationInformation (its RFC 7591 `registration_client_uri`, which its
    registration_access_token reads, changes and deletes)."""
    return settings.url(f"{urls.ESPI}/ApplicationInformation/{client_id}")


def check_length(what: str, value: str, limit: int) -> None:
    if not 0 < len(value) <= limit:
        raise ThirdPartyError(f"{what} must be 1 to {limit} characters (ApplicationInformation)")


def check_https(uri: str, settings: Settings) -> None:
    """Green Button URIs are https (DIGEST §8), except on a demo served over http://localhost."""
    parts = urlsplit(uri)
    local = parts.hostname in {"localhost", "127.0.0.1"} and settings.base_url.startswith("http:")
    if (parts.scheme != "https" and not (parts.scheme == "http" and local)) or not parts.netloc:
        raise ThirdPartyError(f"{uri!r} must be an absolute https:// URI")


def custodian_client(session: Session) -> Client:
    """The internal Client Object of the Data Custodian's own tokens, made on first use (module
    docstring); the caller commits."""
    found = session.get(Client, CUSTODIAN_CLIENT_ID)
    if found is not None:
        return found
    registration = Registration(id=new_id("r"), created=utcnow(), fields={})
    session.add(registration)
    session.flush()
    now = utcnow()
    client = Client(
        client_id=CUSTODIAN_CLIENT_ID,
        registration_id=registration.id,
        issued_at=now,
        created=now,
        modified=now,
        scope="",
        redirect_uris=[],
        grant_types=[],
        response_types=[],
        client_name="Data Custodian (internal: its own management tokens)",
        contacts=[],
        authorization_details_types=[],
        status=PRODUCTION,
        status_options=[PRODUCTION],
        purposes={},
        extra={},
    )
    session.add(client)
    session.flush()
    return client


def issue_custodian_token(
    session: Session, lifetime: timedelta, *, upload_only: bool = False
) -> tokens.Issued:
    """A datacustodian_access_token (or, `upload_only`, an upload_access_token) that expires after
    `lifetime`; the caller commits. No client can revoke it at `/oauth/revoke` (the internal
    Client Object has no secret): keep lifetimes short."""
    return tokens.issue(
        session,
        kind=UPLOAD_ACCESS if upload_only else DATA_CUSTODIAN_ACCESS,
        client_id=custodian_client(session).client_id,
        scope="",
        lifetime=lifetime,
    )
