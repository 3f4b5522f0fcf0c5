"""CDS-WG1-02 §8.4-§8.6 Grants API: list, retrieve and modify the Grants of a registration.

Every call needs a `cds_client_admin` token (§8); it sees the Grants of every Client Object in its
own registration and nothing else (another registration's Grant is 404, as if it did not exist).

Listing (§8.4): newest `modified` first, paged with `api.pagination`; the filters `grant_ids`,
`parents`, `statuses`, `client_ids`, `scopes` (a scope-string token or an `authorization_details`
type), `receipt_confirmations` (space-separated lists) and `after`/`before` (RFC 3339 datetimes
bounding `created`, inclusive) intersect. A blank filter is 400.

Modifying (§8.6), PATCH with a JSON object; other fields are ignored:
- `status`: only "closed" (the current value is accepted as no change). Closing ends the Grant's
  access at once (`grants.set_status`): `enabled_scope` "" and `enabled_authorization_details` [],
  and its tokens are revoked. A Grant that already ended (closed, revoked, expired, disabled)
  stays as it is.
- `scope`, `authorization_details`: validated like an authorization request for the Grant's Client
  Object (`resolve_request`, then `for_grant`); a change of `scope` alone drops the entries of
  removed scope ids. A request within what was granted or is enabled is a reduction and applies at
  once (an entry is within another when each field is equal, a subset of a list, or a date no
  further out; anything else counts as more). More puts a customer-authorized Grant in
  `needs_authorization` (§8.3) and is refused (400) for a Grant no customer authorized. Either way
  `enabled_*` become what the Client may use now: per requested type, the requested entries within
  what was enabled, or else (while the wider ones await authorization) the entries enabled before.
Every change is recorded as a changelog Message (§6). We never review asynchronously, so no 202.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import ColumnElement, Select, String, Text, cast, literal, or_, select
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.api.bearer import ClientAdminDep
from gridshare.api.errors import OAuthError, invalid_request
from gridshare.api.pagination import (
    CursorQuery,
    Order,
    created_between,
    paginate,
    space_list,
    where_listed,
)
from gridshare.config import Settings
from gridshare.grants import durations
from gridshare.grants.authorization_details import (
    RequestRejected,
    for_grant,
    resolve_request,
)
from gridshare.grants.grants import ENDED, grant_json, grant_uri, grants_json, set_status
from gridshare.grants.messages import changelog
from gridshare.grants.purposes import usable_for
from gridshare.grants.scopes import DATE_KINDS, Catalogue, load_catalogue
from gridshare.http import SessionDep, SettingsDep
from gridshare.oauth.bodies import json_object
from gridshare.oauth.responses import find_or_404, json_response, listing
from gridshare.store.db import utcnow
from gridshare.store.tables.clients import Client
from gridshare.store.tables.grants import Grant

router = APIRouter(tags=["CDS-WG1-02 Grants API"])

PATCH_LIMIT: Final = 64 * 1024
"""The largest PATCH body (bytes): a Grant's scope and authorization details fit easily."""
AWAITING: Final = frozenset({"partial", "needs_authorization"})
"""Statuses that become `active` once everything asked for is enabled."""
ORDER: Final = Order(Grant.modified, Grant.grant_id)

PatchBody = Annotated[dict[str, Any], Depends(json_object(PATCH_LIMIT))]
ListQuery = Annotated[str | None, Query(description="A space-separated list (§8.4).")]
TimeQuery = Annotated[str | None, Query(description="An RFC 3339 datetime (§8.4).")]


@router.get(urls.GRANTS, summary="List Grants (CDS-WG1-02 §8.4)")
def list_grants(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    admin: ClientAdminDep,
    grant_ids: ListQuery = None,
    parents: ListQuery = None,
    statuses: ListQuery = None,
    client_ids: ListQuery = None,
    scopes: ListQuery = None,
    receipt_confirmations: ListQuery = None,
    after: TimeQuery = None,
    before: TimeQuery = None,
    cursor: CursorQuery = None,
) -> Response:
    query = where_listed(
        _visible(admin.registration_id),
        (
            ("grant_ids", grant_ids, Grant.grant_id),
            ("parents", parents, Grant.parent_id),
            ("statuses", statuses, Grant.status),
            ("client_ids", client_ids, Grant.client_id),
        ),
    )
    wanted_scopes = space_list("scopes", scopes)
    if wanted_scopes is not None:
        query = query.where(or_(*(_has_scope(s) for s in wanted_scopes)))
    receipts = space_list("receipt_confirmations", receipt_confirmations)
    if receipts is not None:
        query = query.where(or_(*(_has_receipt(r) for r in receipts)))
    query = created_between(query, Grant.created, after, before)
    page = paginate(session, settings, request, query, ORDER, cursor=cursor)
    return _json(listing("grants", grants_json(settings, session, page.items), page))


@router.get(urls.GRANTS + "/{grant_id}", summary="Retrieve a Grant (CDS-WG1-02 §8.5)")
def get_grant(
    settings: SettingsDep, session: SessionDep, admin: ClientAdminDep, grant_id: str
) -> Response:
    return _json(grant_json(settings, _find(session, admin.registration_id, grant_id)))


@router.patch(urls.GRANTS + "/{grant_id}", summary="Modify a Grant (CDS-WG1-02 §8.6)")
def modify_grant(
    settings: SettingsDep,
    session: SessionDep,
    admin: ClientAdminDep,
    grant_id: str,
    body: PatchBody,
) -> Response:
    grant = _find(session, admin.registration_id, grant_id, lock=True)
    close = _wants_close(grant, body.get("status", grant.status))
    changes: list[str] = []
    if "scope" in body or "authorization_details" in body:
        catalogue = load_catalogue(settings)
        scope, details = _requested(settings, session, catalogue, grant, body)
        if (scope, details) != (grant.scope, grant.authorization_details):
            changes.append(_change_access(session, settings, catalogue, grant, scope, details))
    if close and grant.status not in ENDED:
        set_status(session, grant, "closed")
        changes.append("closed it")
    if changes:
        session.flush()
        changelog(
            session,
            admin.registration_id,
            f"Grant {grant.grant_id} {'closed' if close else 'modified'}",
            f"Client Object {admin.client.client_id} {' and '.join(changes)}; "
            f"its status is now {grant.status}.",
            related_uri=grant_uri(settings, grant.grant_id),
            related_type="grant",
        )
    session.commit()
    return _json(grant_json(settings, grant))


# --- modification -------------------------------------------------------------------------------


def _wants_close(grant: Grant, status: Any) -> bool:
    if status == "closed":
        return True
    if status == grant.status:
        return False
    raise invalid_request('status can only be set to "closed" (CDS-WG1-02 §8.6)')


def _requested(
    settings: Settings, session: Session, catalogue: Catalogue, grant: Grant, body: dict[str, Any]
) -> tuple[str, list[dict[str, Any]]]:
    """The Grant's new scope and authorization details, validated and normalised."""
    if grant.status in ENDED:
        raise invalid_request(f"grant {grant.grant_id} is {grant.status}; it cannot be changed")
    scope = body.get("scope", grant.scope)
    if not isinstance(scope, str) or not scope.split():
        raise invalid_request("scope must be a non-empty space-separated string")
    if "authorization_details" in body:
        details = body["authorization_details"]
        if not isinstance(details, list) or not all(isinstance(d, dict) for d in details):
            raise OAuthError(
                "invalid_authorization_details", "authorization_details must be a list of objects"
            )
    else:
        removed = set(grant.scope.split()) - set(scope.split())
        details = [d for d in grant.authorization_details if _owner(catalogue, d) not in removed]
    client = session.get(Client, grant.client_id)
    assert client is not None  # a Grant's Client Object exists (foreign key)
    try:
        requested = resolve_request(
            catalogue,
            scope=scope,
            details=details,
            allowed_scopes=set(client.scope.split()),
            settings=settings,
            now=utcnow(),
            purposes=usable_for(settings, catalogue, client),
        )
    except RequestRejected as error:
        raise OAuthError(error.error, error.description) from error
    kept = for_grant(catalogue, requested)
    return kept.scope, kept.authorization_details


def _owner(catalogue: Catalogue, entry: dict[str, Any]) -> str | None:
    """The id of the scope an authorization details entry belongs to."""
    details_type = entry.get("type")
    owner = catalogue.scope_for_type(details_type) if isinstance(details_type, str) else None
    return owner.id if owner is not None else None


def _change_access(
    session: Session,
    settings: Settings,
    catalogue: Catalogue,
    grant: Grant,
    scope: str,
    details: list[dict[str, Any]],
) -> str:
    """Give `grant` the new scope and details; what changed, in words."""
    compare = _Comparison(catalogue, settings.tz, utcnow())
    reduction = compare.within(scope, details, grant.scope, grant.authorization_details) or (
        compare.within(scope, details, grant.enabled_scope, grant.enabled_authorization_details)
    )
    if not reduction and grant.customer_id is None:
        raise invalid_request(
            f"grant {grant.grant_id} was not authorized by a customer, so it can only be "
            "narrowed; ask for more with a grant_request Message (CDS-WG1-02 §6.9)"
        )
    enabled_scope, enabled_details = compare.allowed_now(grant, scope, details)
    grant.scope, grant.authorization_details = scope, details
    if not reduction:
        status = "needs_authorization"
    elif grant.status in AWAITING and (enabled_scope, enabled_details) == (scope, details):
        status = "active"
    else:
        status = grant.status
    set_status(
        session,
        grant,
        status,
        enabled_scope=enabled_scope,
        enabled_authorization_details=enabled_details,
        eta=grant.eta,
    )
    if not reduction:
        return "asked for access that needs the customer's authorization (CDS-WG1-02 §8.3)"
    return "narrowed its scope"


@dataclass(frozen=True)
class _Comparison:
    """Compares authorization details entries by what they allow."""

    catalogue: Catalogue
    tz: ZoneInfo
    now: datetime

    def allowed_now(
        self, grant: Grant, scope: str, details: list[dict[str, Any]]
    ) -> tuple[str, list[dict[str, Any]]]:
        """What the Client may use at once, per requested type: the new entries that ask no more
        than an enabled one, or, when none does, the enabled entries (the access it has now)."""
        enabled: list[dict[str, Any]] = []
        for details_type in dict.fromkeys(entry["type"] for entry in details):
            asked = [entry for entry in details if entry["type"] == details_type]
            had = [e for e in grant.enabled_authorization_details if e.get("type") == details_type]
            allowed = [new for new in asked if any(self.covers(old, new) for old in had)]
            enabled.extend(allowed or had)
        detailed = {_owner(self.catalogue, entry) for entry in details}
        kept = {_owner(self.catalogue, entry) for entry in enabled}
        enabled_tokens = set(grant.enabled_scope.split())
        enabled_scope = " ".join(
            token
            for token in scope.split()
            if token in enabled_tokens and (token not in detailed or token in kept)
        )
        return enabled_scope, enabled

    def within(
        self, scope: str, details: list[dict[str, Any]], limit: str, limits: list[dict[str, Any]]
    ) -> bool:
        """Whether the request asks for no more than (`limit`, `limits`)."""
        return set(scope.split()) <= set(limit.split()) and all(
            any(self.covers(old, new) for old in limits) for new in details
        )

    def covers(self, old: dict[str, Any], new: dict[str, Any]) -> bool:
        """Whether the entry `new` asks for no more than `old`: the same type and fields, each
        value the same, a subset of a list, or a date no further out (§3.9)."""
        if old.get("type") != new.get("type") or old.keys() != new.keys():
            return False
        return all(
            value == old[key] or self._narrower(new["type"], key, old[key], value)
            for key, value in new.items()
        )

    def _narrower(self, details_type: Any, key: str, old: Any, new: Any) -> bool:
        if isinstance(old, list) and isinstance(new, list):
            return all(item in old for item in new)
        scope = (
            self.catalogue.scope_for_type(details_type) if isinstance(details_type, str) else None
        )
        described = scope.field(key) if scope is not None else None
        if described is None or described.format not in DATE_KINDS:
            return False
        if not (isinstance(old, str) and isinstance(new, str)):
            return False
        kind, past = DATE_KINDS[described.format], described.historical
        try:
            before = durations.resolve(old, kind, tz=self.tz, now=self.now, past=past)
            after = durations.resolve(new, kind, tz=self.tz, now=self.now, past=past)
        except durations.DurationError:
            return False
        return not durations.further(after, before, past=past)


# --- listing ------------------------------------------------------------------------------------


def _visible(registration_id: str) -> Select[Grant]:
    return (
        select(Grant)
        .join(Client, Client.client_id == Grant.client_id)
        .where(Client.registration_id == registration_id)
    )


def _find(session: Session, registration_id: str, grant_id: str, lock: bool = False) -> Grant:
    return find_or_404(
        session,
        _visible(registration_id).where(Grant.grant_id == grant_id),
        f"no grant {grant_id!r} among this registration's grants",
        lock=lock,
        of=Grant,
    )


def _has_scope(scope_id: str) -> ColumnElement[bool]:
    """The scope id is a token of the scope string or the type of an authorization details entry
    (stored JSON text, as written with or without a space after the colon)."""
    padded = literal(" ", String) + Grant.scope + literal(" ", String)
    details = cast(Grant.authorization_details, Text)
    quoted = json.dumps(scope_id)
    return or_(
        padded.contains(f" {scope_id} ", autoescape=True),
        details.contains(f'"type": {quoted}', autoescape=True),
        details.contains(f'"type":{quoted}', autoescape=True),
    )


def _has_receipt(code: str) -> ColumnElement[bool]:
    return cast(Grant.receipt_confirmations, Text).contains(json.dumps(code), autoescape=True)


def _json(body: dict[str, Any]) -> Response:
    return json_response(body)
