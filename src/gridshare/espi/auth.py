"""Who calls a Green Button resource: the token classes of NAESB REQ.21 ESPI (DIGEST §5, §10).

- `access_token`: a Customer's token, bound to one Grant made from a Green Button scope; reads
  that Subscription (and its RetailCustomer), through the Grant's `Access` (DESIGN rule 2).
- `client_access_token` (`client_credentials`): the third party's own token; reads its
  Authorizations, its Bulk feed and ReadServiceStatus.
- `registration_access_token`: reads and manages the third party's ApplicationInformation.
- `datacustodian_access_token` and `upload_access_token`: the Data Custodian's own (FB 33
  management REST, `espi/custodian.py`), issued to staff by `gridshare greenbutton
  custodian-token`; `CustodianCaller` accepts only the first, `UploadCaller` both. Third parties'
  classes are 403 there, and these two are 401 everywhere else (no third party holds them).

A missing, unknown, expired or revoked token is 401, and so is a CDS token (it is no Green Button
token at all); a Green Button token of the wrong class is 403 (certification OAD009: a
client_access_token on Batch/Subscription must be 403).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import Depends, Header
from sqlalchemy.orm import Session

from gridshare.api.bearer import bearer_value
from gridshare.api.errors import OAuthError, invalid_token
from gridshare.config import Settings
from gridshare.grants import tokens
from gridshare.grants.access import Access, access_for
from gridshare.grants.espi_clients import (
    CLIENT_ACCESS,
    CUSTOMER_ACCESS,
    DATA_CUSTODIAN_ACCESS,
    REGISTRATION_ACCESS,
    UPLOAD_ACCESS,
    ThirdParty,
    third_party,
)
from gridshare.grants.espi_scope import EspiScope, parse
from gridshare.grants.scopes import load_catalogue
from gridshare.grants.secrets import digest
from gridshare.http import SessionDep
from gridshare.store.tables.clients import Client
from gridshare.store.tables.grants import Grant, Token

ACCESS_TOKEN: Final = "access_token"
CLIENT_ACCESS_TOKEN: Final = "client_access_token"
REGISTRATION_ACCESS_TOKEN: Final = "registration_access_token"
_CLASS_OF_KIND: Final = {
    CUSTOMER_ACCESS: ACCESS_TOKEN,
    CLIENT_ACCESS: CLIENT_ACCESS_TOKEN,
    REGISTRATION_ACCESS: REGISTRATION_ACCESS_TOKEN,
}
DATACUSTODIAN_ACCESS_TOKEN: Final = "datacustodian_access_token"
UPLOAD_ACCESS_TOKEN: Final = "upload_access_token"
_CUSTODIAN_CLASS_OF_KIND: Final = {
    DATA_CUSTODIAN_ACCESS: DATACUSTODIAN_ACCESS_TOKEN,
    UPLOAD_ACCESS: UPLOAD_ACCESS_TOKEN,
}


@dataclass(frozen=True)
class Caller:
    token_class: str
    token: Token
    token_value: str
    client: Client
    party: ThirdParty
    grant: Grant | None
    """The Subscription's Grant (access_token only)."""

    @property
    def scope(self) -> EspiScope:
        """The Green Button scope this token carries."""
        if self.grant is not None and self.grant.espi_scope is not None:
            return parse(self.grant.espi_scope)
        return parse(self.token.scope or self.party.scopes[0])

    @property
    def subscription_id(self) -> str:
        assert self.grant is not None
        return self.grant.grant_id


def caller(session: SessionDep, authorization: Annotated[str | None, Header()] = None) -> Caller:
    """The request's token and its class (401 for no usable token, 403 for a CDS token)."""
    value = bearer_value(authorization)
    token = session.get(Token, digest(value))
    if token is None or token.kind not in _CLASS_OF_KIND or not tokens.is_active(session, token):
        raise invalid_token()
    client = session.get_one(Client, token.client_id)
    party = third_party(client)
    grant = None
    if token.kind == CUSTOMER_ACCESS:
        grant = next(
            (g for g in (session.get(Grant, i) for i in token.grant_ids) if g is not None), None
        )
    if party is None or (token.kind == CUSTOMER_ACCESS and grant is None):
        raise wrong_class("this is not a Green Button token")
    return Caller(_CLASS_OF_KIND[token.kind], token, value, client, party, grant)


def wrong_class(description: str) -> OAuthError:
    return OAuthError(
        "insufficient_scope",
        description,
        403,
        {"WWW-Authenticate": 'Bearer realm="gridshare", error="insufficient_scope"'},
    )


def requiring(*classes: str) -> Callable[[Caller], Caller]:
    """A dependency accepting only tokens of `classes` (403 for the others)."""

    def check(who: Annotated[Caller, Depends(caller)]) -> Caller:
        if who.token_class not in classes:
            raise wrong_class(
                f"this resource needs a {' or '.join(classes)}, not a {who.token_class}"
            )
        return who

    return check


def subscription_access(session: Session, settings: Settings, who: Caller) -> Access:
    """The Access of a Customer's access_token (what its Subscription may read)."""
    return access_for(session, load_catalogue(settings), who.token, settings.tz)


def grant_access(session: Session, settings: Settings, grant: Grant) -> Access:
    """The Access a Grant gives now, for a client_access_token reading it in bulk."""
    probe = Token(client_id=grant.client_id, scope=grant.enabled_scope, grant_ids=[grant.grant_id])
    return access_for(session, load_catalogue(settings), probe, settings.tz)


CustomerCaller = Annotated[Caller, Depends(requiring(ACCESS_TOKEN))]
ClientCaller = Annotated[Caller, Depends(requiring(CLIENT_ACCESS_TOKEN))]
RegistrationCaller = Annotated[Caller, Depends(requiring(REGISTRATION_ACCESS_TOKEN))]


@dataclass(frozen=True)
class Custodian:
    """The Data Custodian calling with one of its own tokens (FB 33)."""

    token_class: str
    token: Token


def custodian_requiring(*classes: str) -> Callable[..., Custodian]:
    """A dependency accepting only the Data Custodian's token `classes`: 401 for no usable
    token (a CDS token included), 403 for any other Green Button class."""

    def check(
        session: SessionDep, authorization: Annotated[str | None, Header()] = None
    ) -> Custodian:
        token = session.get(Token, digest(bearer_value(authorization)))
        if token is None or not tokens.is_active(session, token):
            raise invalid_token()
        token_class = _CUSTODIAN_CLASS_OF_KIND.get(token.kind) or _CLASS_OF_KIND.get(token.kind)
        if token_class is None:
            raise invalid_token()
        if token_class not in classes:
            raise wrong_class(f"this resource needs a {' or '.join(classes)}, not a {token_class}")
        return Custodian(token_class, token)

    return check


CustodianCaller = Annotated[Custodian, Depends(custodian_requiring(DATACUSTODIAN_ACCESS_TOKEN))]
UploadCaller = Annotated[
    Custodian, Depends(custodian_requiring(UPLOAD_ACCESS_TOKEN, DATACUSTODIAN_ACCESS_TOKEN))
]
