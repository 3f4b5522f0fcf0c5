"""CDS-WG1-02 §6.9 review of client requests: the operator approves or rejects what Clients ask.

The requests waiting for review are the outstanding (`pending` or `open`) Messages of the types
`REVIEWED`. Reviewing one (`approve`, `reject`) answers it and changes its status (§6.2: the reply's
status supersedes the request's; `grants.messages.create_message` applies it):

- production_request (§6.9-h): approved, the sandbox Client Object in its `related_uri` gets its
  production twin and Credential (`clients.approve_for_production`), and a `request_update`
  `complete` links to the production object (`related_type` client, §6.3-d).
- grant_request (§6.9-i): approved, every entry of `grants_requested` becomes a server-created,
  `active` Grant of the Client Object in its `related_uri`, resolved now against that object's
  scope (`resolve_request`, then `for_grant`, as the Grants API stores them); the
  `request_update` `complete` links to the Grants listing filtered to them (`related_type`
  grant_list, §6.3-e). A third-party target's own registration is told in a changelog Message.
- field_changes (§6.2, §5.5 202): approved, the held `new_value`s are applied to the Client Object
  (only while each field still holds its `previous_value`), the field_changes Message itself
  becomes `complete`, and a changelog Message records the change. §6.2 lists the types a
  `request_update` answers and field_changes is not among them, so it is not answered with one.
- support_request: approved means resolved: a `request_update` `complete`. §6.3 does not let a
  support_request be `rejected`, so `reject` refuses it.

Rejecting needs a reason: a production_request or grant_request gets a `request_update`
`rejected` whose `description` is the reason (§6.3-g); a field_changes Message becomes `rejected`
with the reason added to its description. Reviewed Messages are marked unread again. The caller
commits; errors raise `ReviewError` and change nothing the caller keeps.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote, urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridshare.config import Settings
from gridshare.grants import aggregates
from gridshare.grants.authorization_details import RequestRejected, for_grant, resolve_request
from gridshare.grants.clients import ApprovalError, approve_for_production, client_uri
from gridshare.grants.grants import GRANTS_PATH, create_grant
from gridshare.grants.messages import changelog, create_message
from gridshare.grants.purposes import usable_for
from gridshare.grants.scopes import load_catalogue
from gridshare.store.db import utcnow
from gridshare.store.tables.clients import Client
from gridshare.store.tables.messages import Message

REVIEWED: Final = ("production_request", "grant_request", "field_changes", "support_request")
"""The Message types the operator reviews."""
OUTSTANDING: Final = ("pending", "open")
"""Statuses of a request that waits for review (§6.3)."""
REJECTABLE: Final = frozenset({"production_request", "grant_request", "field_changes"})
"""§6.3: `rejected` applies to these of the reviewed types (not to support_request)."""
HELD_COLUMNS: Final = {
    "scope": "scope",
    "authorization_details_types": "authorization_details_types",
    "cds_default_scope": "default_scope",
    "cds_default_authorization_details": "default_authorization_details",
}
"""The Client Object fields a field_changes Message may hold for review (§5.5), by their §5.1
name, and the column each is stored in."""


class ReviewError(ValueError):
    """The request cannot be reviewed as asked (unknown, already reviewed, wrong type, ...)."""


def pending_requests(session: Session, registration_id: str | None = None) -> list[Message]:
    """The requests waiting for review, oldest first (all registrations, or one)."""
    query = (
        select(Message)
        .where(Message.type.in_(REVIEWED), Message.status.in_(OUTSTANDING))
        .order_by(Message.created, Message.message_id)
    )
    if registration_id is not None:
        query = query.where(Message.registration_id == registration_id)
    return list(session.scalars(query))


def approve(session: Session, settings: Settings, message_id: str, note: str = "") -> Message:
    """Approve the request: do what it asks and answer it (module docstring). Returns the answer:
    the `request_update`, or for field_changes the changelog Message. `note` is added to the
    answer's description."""
    request = _outstanding(session, message_id)
    if request.type == "production_request":
        answer = _approve_production(session, settings, request)
    elif request.type == "grant_request":
        answer = _approve_grants(session, settings, request)
    elif request.type == "field_changes":
        answer = _approve_field_changes(session, settings, request)
    else:
        answer = _reply(
            session,
            request,
            status="complete",
            name="Support request resolved",
            description="We have resolved your support request.",
        )
    if note.strip():
        answer.description = f"{answer.description}\n\n{note.strip()}"
    session.flush()
    return answer


def reject(session: Session, settings: Settings, message_id: str, reason: str) -> Message:
    """Reject the request, saying why (§6.3-g). Returns the `request_update`, or for field_changes
    the field_changes Message itself, now `rejected`."""
    if not reason.strip():
        raise ReviewError("a rejection needs a reason: the client reads it in the description")
    request = _outstanding(session, message_id)
    if request.type not in REJECTABLE:
        raise ReviewError(
            f"a {request.type} cannot be rejected (§6.3); approve it once it is resolved"
        )
    if request.type == "field_changes":
        request.status = "rejected"
        request.description = f"{request.description}\n\nRejected: {reason.strip()}"
        request.read = False
        request.modified = utcnow()
        session.flush()
        return request
    kind = "Production access" if request.type == "production_request" else "Grant request"
    answer = _reply(
        session,
        request,
        status="rejected",
        name=f"{kind} rejected",
        description=reason.strip(),
    )
    session.flush()
    return answer


# --- per type -----------------------------------------------------------------------------------


def _approve_production(session: Session, settings: Settings, request: Message) -> Message:
    sandbox = _related_client(session, settings, request)
    try:
        approve_for_production(session, settings, sandbox.client_id, request=request)
    except ApprovalError as error:
        raise ReviewError(str(error)) from error
    session.flush()
    answer = session.scalars(
        select(Message)
        .where(Message.previous_id == request.message_id, Message.type == "request_update")
        .order_by(Message.created.desc(), Message.message_id.desc())
    ).first()
    assert answer is not None  # approve_for_production answers the request it is given
    return answer


def _approve_grants(session: Session, settings: Settings, request: Message) -> Message:
    target = _related_client(session, settings, request)
    catalogue = load_catalogue(settings)
    now = utcnow()
    grant_ids: list[str] = []
    for item in request.grants_requested or []:
        try:
            requested = resolve_request(
                catalogue,
                scope=item["scope"],
                details=item["authorization_details"],
                allowed_scopes=set(target.scope.split()),
                settings=settings,
                now=now,
                purposes=usable_for(settings, catalogue, target),
            )
        except (RequestRejected, KeyError, TypeError) as error:
            raise ReviewError(
                f"grant_request {request.message_id} cannot be granted to Client Object "
                f"{target.client_id} as asked ({error}); reject it with the reason"
            ) from error
        kept = for_grant(catalogue, requested)
        numbers = aggregates.usage_query_numbers(catalogue, kept.authorization_details)
        if numbers:
            try:
                grant = aggregates.usage_query_grant(
                    session,
                    settings,
                    catalogue,
                    target,
                    kept.scope,
                    kept.authorization_details,
                    numbers,
                )
            except aggregates.NoInclusionClient as error:
                raise ReviewError(f"grant_request {request.message_id}: {error}") from error
        else:
            grant = create_grant(
                session,
                client_id=target.client_id,
                scope=kept.scope,
                authorization_details=kept.authorization_details,
            )
        grant_ids.append(grant.grant_id)
    if not grant_ids:
        raise ReviewError(f"grant_request {request.message_id} asks for no Grants")
    listing = grants_listing(settings, grant_ids)
    description = (
        f"Grants {', '.join(grant_ids)} give Client Object {target.client_id} what you asked for."
    )
    if target.registration_id != request.registration_id:
        changelog(
            session,
            target.registration_id,
            "Grants created",
            f"At another registration's request, {description}",
            related_uri=listing,
            related_type="grant_list",
        )
    return _reply(
        session,
        request,
        status="complete",
        name="Grant request approved",
        description=description,
        related_uri=listing,
        related_type="grant_list",
    )


def _approve_field_changes(session: Session, settings: Settings, request: Message) -> Message:
    client = _related_client(session, settings, request, lock=True)
    values: dict[str, Any] = {}
    for item in request.updates_requested or []:
        field = item.get("field") if isinstance(item, dict) else None
        column = HELD_COLUMNS.get(field) if isinstance(field, str) else None
        if column is None or "new_value" not in item:
            raise ReviewError(f"field_changes {request.message_id}: cannot apply {item!r}")
        if getattr(client, column) != item.get("previous_value"):
            raise ReviewError(
                f"{field} of Client Object {client.client_id} changed since the field_changes "
                f"{request.message_id} were asked for; reject them so the client asks again"
            )
        values[column] = item["new_value"]
    if not values:
        raise ReviewError(f"field_changes {request.message_id} hold no changes")
    for column, value in values.items():
        setattr(client, column, value)
    now = utcnow()
    client.modified = now
    request.status = "complete"
    request.read = False
    request.modified = now
    fields = ", ".join(item["field"] for item in request.updates_requested or [])
    return changelog(
        session,
        client.registration_id,
        "Client Object updated",
        f"Client Object {client.client_id} changed: {fields} (the changes held for review in "
        f"Message {request.message_id} were approved).",
        related_uri=client_uri(settings, client.client_id),
        related_type="client",
    )


# --- helpers -------------------------------------------------------------------------------------


def grants_listing(settings: Settings, grant_ids: list[str]) -> str:
    """The Grants API listing filtered to `grant_ids` (§8.4 `grant_ids`, space-separated)."""
    query = urlencode({"grant_ids": " ".join(grant_ids)}, quote_via=quote)
    return f"{settings.url(GRANTS_PATH)}?{query}"


def _outstanding(session: Session, message_id: str) -> Message:
    message = session.scalars(
        select(Message).where(Message.message_id == message_id).with_for_update()
    ).first()
    if message is None:
        raise ReviewError(f"there is no Message {message_id!r}")
    if message.type not in REVIEWED:
        raise ReviewError(
            f"Message {message_id} is a {message.type}; only {', '.join(REVIEWED)} are reviewed"
        )
    if message.status not in OUTSTANDING:
        raise ReviewError(f"Message {message_id} was already reviewed: it is {message.status}")
    return message


def _related_client(
    session: Session, settings: Settings, request: Message, lock: bool = False
) -> Client:
    prefix = client_uri(settings, "")
    uri = request.related_uri or ""
    client = None
    if uri.startswith(prefix):
        query = select(Client).where(Client.client_id == uri.removeprefix(prefix))
        client = session.scalars(query.with_for_update() if lock else query).first()
    if client is None:
        raise ReviewError(
            f"{request.type} {request.message_id} does not name a Client Object of this server "
            f"(related_uri {uri!r}; is GRIDSHARE_BASE_URL the one the server runs with?)"
        )
    return client


def _reply(
    session: Session,
    request: Message,
    *,
    status: str,
    name: str,
    description: str,
    related_uri: str | None = None,
    related_type: str | None = None,
) -> Message:
    return create_message(
        session,
        registration_id=request.registration_id,
        type="request_update",
        name=name,
        description=description,
        status=status,
        previous_id=request.message_id,
        related_uri=related_uri,
        related_type=related_type,
    )
