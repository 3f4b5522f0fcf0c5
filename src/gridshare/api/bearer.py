"""Bearer tokens on the CDS-WG1-02 APIs (RFC 6750 §2.1, CDS-WG1-02 §11.2).

`ClientAdminDep` answers 401 for a missing, expired or revoked token and 403 for a token without
`cds_client_admin`; it gives the handler the registration whose objects that token may manage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header

from gridshare.api.errors import insufficient_scope, invalid_token
from gridshare.grants import tokens
from gridshare.http import SessionDep
from gridshare.store.tables.clients import Client
from gridshare.store.tables.grants import Token

CLIENT_ADMIN = "cds_client_admin"


@dataclass(frozen=True)
class BearerContext:
    token: Token
    client: Client

    @property
    def registration_id(self) -> str:
        return self.client.registration_id

    @property
    def scopes(self) -> set[str]:
        return set(self.token.scope.split())


def bearer_value(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise invalid_token("send the access token as `Authorization: Bearer <token>`")
    return authorization[7:].strip()


def current_token(
    session: SessionDep, authorization: Annotated[str | None, Header()] = None
) -> BearerContext:
    token = tokens.find(session, bearer_value(authorization), kind="access")
    if token is None:
        raise invalid_token()
    client = session.get(Client, token.client_id)
    assert client is not None  # an active token's client exists
    return BearerContext(token, client)


def client_admin(context: Annotated[BearerContext, Depends(current_token)]) -> BearerContext:
    if CLIENT_ADMIN not in context.scopes:
        raise insufficient_scope(CLIENT_ADMIN)
    return context


BearerDep = Annotated[BearerContext, Depends(current_token)]
ClientAdminDep = Annotated[BearerContext, Depends(client_admin)]
