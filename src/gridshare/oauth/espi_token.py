"""Green Button token responses and the client_access_token (NAESB REQ.21 ESPI; DIGEST §5, §7).

Every Green Button token response carries `resourceURI` (what the token reads) and
`authorizationURI` (its Authorization resource). A Customer's access token reads its Subscription
(`Batch/Subscription/{grant id}`; the Subscription, Authorization and RetailCustomer ids are the
Grant's id, as at PG&E); the `client_access_token` of `client_credentials` reads the third party's
Bulk feed and Authorizations, has no refresh token, and is answered with the registered scope.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.api.errors import OAuthError
from gridshare.config import Settings
from gridshare.grants import tokens
from gridshare.grants.espi_clients import CLIENT_ACCESS, ThirdParty
from gridshare.store.tables.clients import Client, Credential
from gridshare.store.tables.grants import Grant


def subscription_fields(settings: Settings, grant: Grant) -> dict[str, Any]:
    """What a Customer's Green Button token response adds: its scope string and URIs."""
    assert grant.espi_scope is not None
    return {
        "scope": grant.espi_scope,
        "resourceURI": settings.url(f"{urls.ESPI}/Batch/Subscription/{grant.grant_id}"),
        "authorizationURI": settings.url(f"{urls.ESPI}/Authorization/{grant.grant_id}"),
    }


def client_access(
    session: Session,
    settings: Settings,
    client: Client,
    party: ThirdParty,
    credential: Credential,
    form: dict[str, str],
    now: datetime,
) -> dict[str, Any]:
    """`client_credentials` for a third party: a client_access_token (no refresh token)."""
    scope = form.get("scope", party.scopes[0])
    if scope not in party.scopes:
        raise OAuthError(
            "invalid_scope",
            f"scope must be one of the registered scope strings: {' | '.join(party.scopes)}",
        )
    if "authorization_details" in form:
        raise OAuthError("invalid_request", "authorization_details is a CDS parameter")
    lifetime = timedelta(seconds=settings.access_token_seconds)
    issued = tokens.issue(
        session,
        kind=CLIENT_ACCESS,
        client_id=client.client_id,
        scope=scope,
        lifetime=lifetime,
        credential_id=credential.credential_id,
    )
    assert issued.record.expires_at is not None and issued.record.expires_at > now
    return {
        "access_token": issued.value,
        "token_type": "Bearer",
        "expires_in": int(lifetime.total_seconds()),
        "scope": scope,
        "resourceURI": settings.url(f"{urls.ESPI}/Batch/Bulk/{party.bulk_id(client.client_id)}"),
        "authorizationURI": settings.url(f"{urls.ESPI}/Authorization/{client.client_id}"),
    }
