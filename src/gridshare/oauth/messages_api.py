"""CDS-WG1-02 §6 Messages API: list, retrieve, create and mark read a registration's Messages.

Every call needs a `cds_client_admin` token (§6); it sees its own registration's Messages and
nothing else (another registration's Message is 404).

Listing (§6.8): three lists, each newest `modified` first and paged on its own (`api.pagination`)
with its own cursor parameter (`outstanding_cursor`, `unread_cursor`, `read_cursor`): `outstanding`
(status open or pending), `unread` and `read`. A page link fills only its own list; the other two
are empty with null links. The `message_ids` filter applies to all three.

Creating (§6.9): a Client may create private_message, production_request, support_request,
grant_request and client_submission Messages; `type`, `name` and `description` are required and
`previous_uri` may be left out for null (the spec's examples leave it out). The server sets
`uri`, `read` (true), `creator` (the token's client_id), `created`, `modified` and `status`
(complete for private_message and client_submission, pending for the requests); fields it sets
are ignored if sent. Per type:
- client_submission: `previous_uri` is a server_request (or pdf_form_request) of the registration,
  name and description are "", `updates_requested` answers fields that request asked for (each
  with a `description` or `uri`; a pdf_form_request may be answered by attachments alone); an
  `open` request becomes `pending`.
- production_request: `related_uri` is the `cds_client_uri` of a sandbox Client Object of the
  registration.
- grant_request: `related_uri` is the `cds_client_uri` of the Client Object the Grants are for (of
  any registration: a third-party Grant), and `grants_requested` lists `{scope,
  authorization_details}` that Client Object could be granted: the authorization details types are
  among its `authorization_details_types` (§6.6) and the request passes `resolve_request`.
- private_message, support_request: a subject (`name`); `related_uri` optional.
When a related_uri is given without `related_type`, the server names it (§6.1: one needs the other):
"client" for production and grant requests, else the kind of this server's API URL it is, or
"more_info". Attachments (§6.7) are Base64; together they may hold `ATTACHMENTS_LIMIT` bytes
(10 MiB, the least §6.9 allows); more is 413. Bad submissions are 400 and create nothing.

Modifying (§6.11): `PATCH` changes only `read` (true or false); other fields are ignored.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.api.bearer import ClientAdminDep
from gridshare.api.errors import OAuthError, invalid_request
from gridshare.api.pagination import Order, paginate, where_listed
from gridshare.config import Settings
from gridshare.grants.authorization_details import RequestRejected, resolve_request
from gridshare.grants.clients import SANDBOX, client_uri
from gridshare.grants.messages import create_message
from gridshare.grants.purposes import usable_for
from gridshare.grants.scopes import is_url, load_catalogue
from gridshare.http import SessionDep, SettingsDep
from gridshare.oauth.bodies import json_object
from gridshare.oauth.responses import find_or_404, json_response
from gridshare.store.db import utcnow
from gridshare.store.tables.clients import Client
from gridshare.store.tables.messages import Message, MessageAttachment
from gridshare.timefmt import rfc3339

log = logging.getLogger(__name__)

router = APIRouter(tags=["CDS-WG1-02 Messages API"])

ATTACHMENTS_LIMIT: Final = 10 * 1024 * 1024
"""The most attachment bytes (decoded, all attachments together) one Message may carry (§6.9)."""
POST_LIMIT: Final = 4 * -(-ATTACHMENTS_LIMIT // 3) + 1024 * 1024
"""The largest POST body: the attachments in Base64 plus 1 MiB for everything else."""
PATCH_LIMIT: Final = 16 * 1024
MAX_NAME: Final = 500
MAX_DESCRIPTION: Final = 50_000
MAX_URI: Final = 1000
MAX_ITEMS: Final = 50
"""The most updates_requested, grants_requested or attachments entries a Message may have."""

CREATED_STATUS: Final = {
    "private_message": "complete",
    "client_submission": "complete",
    "production_request": "pending",
    "support_request": "pending",
    "grant_request": "pending",
}
"""§6.9: the types a Client may create, and the status each starts with."""
ANSWERABLE: Final = frozenset({"server_request", "pdf_form_request"})
"""What a client_submission answers (§6.2 server_request; §3.6 pdf_form)."""
RELATED_TYPES: Final = frozenset(
    {
        "more_info",
        "documentation",
        "support",
        "online_form",
        "pdf_form",
        "payment_form",
        "payment_receipt",
        "client_list",
        "client",
        "grant_list",
        "grant",
        "message_list",
        "message",
        "credential_list",
        "credential",
    }
)
"""§6.4."""
API_RELATED_TYPES: Final = (
    (urls.CLIENTS, "client", "client_list"),
    (urls.GRANTS, "grant", "grant_list"),
    (urls.MESSAGES, "message", "message_list"),
    (urls.CREDENTIALS, "credential", "credential_list"),
)
UPDATE_KEYS: Final = frozenset({"field", "name", "description", "uri"})
"""The Client Update Request keys a client_submission uses (§6.5)."""
ATTACHMENT_KEYS: Final = frozenset({"filename", "mime_type", "data"})
_MIME_TYPE = re.compile(r"[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*")

ORDER: Final = Order(Message.modified, Message.message_id)
LISTS: Final[dict[str, ColumnElement[bool]]] = {
    "outstanding": Message.status.in_(("open", "pending")),
    "unread": Message.read.is_(False),
    "read": Message.read.is_(True),
}
"""§6.8: the three lists."""
CURSORS: Final = {name: f"{name}_cursor" for name in LISTS}

PostBody = Annotated[dict[str, Any], Depends(json_object(POST_LIMIT))]
PatchBody = Annotated[dict[str, Any], Depends(json_object(PATCH_LIMIT))]
IdsQuery = Annotated[
    str | None, Query(description="Space-separated message_id values: list only these (§6.8).")
]
CursorQuery = Annotated[
    str | None, Query(description="Page position of this list, as given in its next or previous.")
]


@router.get(urls.MESSAGES, summary="List Messages (CDS-WG1-02 §6.8)")
def list_messages(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    admin: ClientAdminDep,
    message_ids: IdsQuery = None,
    outstanding_cursor: CursorQuery = None,
    unread_cursor: CursorQuery = None,
    read_cursor: CursorQuery = None,
) -> Response:
    positions = {
        name: value
        for name, value in (
            ("outstanding", outstanding_cursor),
            ("unread", unread_cursor),
            ("read", read_cursor),
        )
        if value is not None
    }
    if len(positions) > 1:
        raise invalid_request(
            "page one list at a time: give only one of " + ", ".join(CURSORS.values())
        )
    query = where_listed(
        _visible(admin.registration_id), (("message_ids", message_ids, Message.message_id),)
    )
    pages: dict[str, tuple[list[Message], str | None, str | None]] = {}
    for name, condition in LISTS.items():
        if positions and name not in positions:
            pages[name] = ([], None, None)
            continue
        page = paginate(
            session,
            settings,
            request,
            query.where(condition),
            ORDER,
            cursor=positions.get(name),
            parameter=CURSORS[name],
            drop=CURSORS.values(),
        )
        pages[name] = (page.items, page.next, page.previous)
    attachments = _attachments_of(session, [m for items, _, _ in pages.values() for m in items])
    body: dict[str, Any] = {}
    for name, (items, next_url, previous_url) in pages.items():
        body[name] = [message_json(settings, m, attachments.get(m.message_id, [])) for m in items]
        body[f"{name}_next"] = next_url
        body[f"{name}_previous"] = previous_url
    return _json(body)


@router.get(urls.MESSAGES + "/{message_id}", summary="Retrieve a Message (CDS-WG1-02 §6.10)")
def get_message(
    message_id: str, settings: SettingsDep, session: SessionDep, admin: ClientAdminDep
) -> Response:
    message = _find(session, admin.registration_id, message_id)
    attachments = _attachments_of(session, [message]).get(message_id, [])
    return _json(message_json(settings, message, attachments))


@router.post(
    urls.MESSAGES,
    status_code=201,
    summary="Create a Message (CDS-WG1-02 §6.9)",
    response_class=Response,
)
def post_message(
    settings: SettingsDep, session: SessionDep, admin: ClientAdminDep, body: PostBody
) -> Response:
    kind = body.get("type")
    if kind not in CREATED_STATUS:
        raise invalid_request(f"type must be one of {', '.join(CREATED_STATUS)} (§6.9)")
    name = _text(body, "name", MAX_NAME)
    description = _text(body, "description", MAX_DESCRIPTION)
    previous = _previous(session, settings, admin.registration_id, body.get("previous_uri"))
    attachments = _attachments(body.get("attachments"))
    related_uri, related_type = _related(session, settings, admin.registration_id, kind, body)
    updates = _updates(kind, body.get("updates_requested"), previous, bool(attachments))
    if kind == "client_submission" and (name or description):
        raise invalid_request("a client_submission has an empty name and description (§6.9)")
    if kind in ("private_message", "support_request") and not name.strip():
        raise invalid_request(f"a {kind} needs a subject in name (§6.9)")
    grants = _grants(session, settings, kind, body.get("grants_requested"), related_uri)
    message = create_message(
        session,
        registration_id=admin.registration_id,
        type=kind,
        name=name,
        description=description,
        status=CREATED_STATUS[kind],
        creator=admin.client.client_id,
        previous_id=None if previous is None else previous.message_id,
        related_uri=related_uri,
        related_type=related_type,
        updates_requested=updates,
        grants_requested=grants,
    )
    session.flush()
    stored = [
        MessageAttachment(
            message_id=message.message_id,
            position=i,
            filename=filename,
            mime_type=mime_type,
            data=data,
        )
        for i, (filename, mime_type, data) in enumerate(attachments)
    ]
    session.add_all(stored)
    if kind == "client_submission" and previous is not None and previous.status == "open":
        previous.status = "pending"
    session.commit()
    log.info("message %s (%s) from client %s", message.message_id, kind, admin.client.client_id)
    return _json(message_json(settings, message, stored), 201)


@router.patch(urls.MESSAGES + "/{message_id}", summary="Modify a Message (CDS-WG1-02 §6.11)")
def patch_message(
    message_id: str,
    settings: SettingsDep,
    session: SessionDep,
    admin: ClientAdminDep,
    body: PatchBody,
) -> Response:
    message = _find(session, admin.registration_id, message_id, lock=True)
    if "read" in body:
        if not isinstance(body["read"], bool):
            raise invalid_request("read must be true or false (§6.11)")
        if message.read != body["read"]:
            message.read = body["read"]
            message.modified = utcnow()
    session.commit()
    attachments = _attachments_of(session, [message]).get(message_id, [])
    return _json(message_json(settings, message, attachments))


def message_json(
    settings: Settings, message: Message, attachments: Sequence[MessageAttachment] = ()
) -> dict[str, Any]:
    """The §6.1 Message object; optional fields appear when set."""
    body: dict[str, Any] = {
        "message_id": message.message_id,
        "uri": message_uri(settings, message.message_id),
        "previous_uri": None
        if message.previous_id is None
        else message_uri(settings, message.previous_id),
        "type": message.type,
        "read": message.read,
        "creator": message.creator,
        "created": rfc3339(message.created),
        "modified": rfc3339(message.modified),
        "status": message.status,
        "name": message.name,
        "description": message.description,
    }
    optional = {
        "updates_requested": message.updates_requested,
        "grants_requested": message.grants_requested,
        "related_uri": message.related_uri,
        "related_type": message.related_type,
        "amount": message.amount,
        "currency": message.currency,
    }
    body |= {key: value for key, value in optional.items() if value is not None}
    if attachments:
        body["attachments"] = [
            {
                "filename": a.filename,
                "mime_type": a.mime_type,
                "data": base64.b64encode(a.data).decode(),
            }
            for a in attachments
        ]
    return body


def message_uri(settings: Settings, message_id: str) -> str:
    """A Message's `uri` (§6.1)."""
    return settings.url(f"{urls.MESSAGES}/{message_id}")


# --- checking a new Message --------------------------------------------------------------------


def _text(body: Mapping[str, Any], name: str, longest: int) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise invalid_request(f"{name} is required and must be a string (§6.9)")
    if len(value) > longest:
        raise invalid_request(f"{name} is longer than {longest} characters")
    return value


def _previous(
    session: Session, settings: Settings, registration_id: str, value: Any
) -> Message | None:
    if value is None:
        return None
    prefix = message_uri(settings, "")
    if not isinstance(value, str) or not value.startswith(prefix):
        raise invalid_request(f"previous_uri must be null or a Message uri ({prefix}...)")
    message = session.scalars(
        _visible(registration_id).where(Message.message_id == value.removeprefix(prefix))
    ).first()
    if message is None:
        raise invalid_request("previous_uri is not a Message of this registration")
    return message


def _related(
    session: Session, settings: Settings, registration_id: str, kind: str, body: Mapping[str, Any]
) -> tuple[str | None, str | None]:
    uri, given_type = body.get("related_uri"), body.get("related_type")
    if given_type is not None and given_type not in RELATED_TYPES:
        raise invalid_request(f"related_type must be one of {', '.join(sorted(RELATED_TYPES))}")
    if kind in ("production_request", "grant_request"):
        target = _related_client(session, settings, uri, kind)
        if kind == "production_request" and (
            target.registration_id != registration_id or SANDBOX not in target.status_options
        ):
            raise invalid_request(
                "related_uri must be the cds_client_uri of one of your sandbox Client Objects"
            )
        if given_type not in (None, "client"):
            raise invalid_request(f"a {kind}'s related_type is client")
        return client_uri(settings, target.client_id), "client"
    if uri is None:
        if given_type is not None:
            raise invalid_request("related_type goes with a related_uri (§6.1)")
        return None, None
    if not isinstance(uri, str) or len(uri) > MAX_URI or not is_url(uri):
        raise invalid_request("related_uri must be an absolute http(s) URL or null")
    return uri, given_type or _related_type(settings, uri)


def _related_client(session: Session, settings: Settings, uri: Any, kind: str) -> Client:
    prefix = client_uri(settings, "")
    client = None
    if isinstance(uri, str) and uri.startswith(prefix):
        client = session.get(Client, uri.removeprefix(prefix))
    if client is None:
        raise invalid_request(f"a {kind} needs related_uri: the cds_client_uri it is about")
    return client


def _related_type(settings: Settings, uri: str) -> str:
    """What kind of resource `uri` is: one of this server's API objects or lists, or more_info."""
    path = uri.split("#")[0].split("?")[0]
    for api, one, many in API_RELATED_TYPES:
        base = settings.url(api)
        if path == base:
            return many
        rest = path.removeprefix(base + "/")
        if rest != path and rest and "/" not in rest:
            return one
    return "more_info"


def _updates(
    kind: str, value: Any, previous: Message | None, has_attachments: bool
) -> list[dict[str, Any]] | None:
    if kind != "client_submission":
        if value is not None:
            raise invalid_request("updates_requested belongs to client_submission Messages")
        return None
    if previous is None or previous.type not in ANSWERABLE:
        raise invalid_request(
            "a client_submission answers a server_request: previous_uri is its uri (§6.9)"
        )
    if value is None and previous.type == "pdf_form_request" and has_attachments:
        return None
    if not isinstance(value, list) or not 0 < len(value) <= MAX_ITEMS:
        raise invalid_request(f"updates_requested must list 1 to {MAX_ITEMS} answers (§6.9)")
    asked = {
        item.get("field") for item in previous.updates_requested or [] if isinstance(item, dict)
    }
    answered: list[dict[str, Any]] = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("field"), str):
            raise invalid_request("each updates_requested entry is an object with a field (§6.5)")
        unknown = sorted(item.keys() - UPDATE_KEYS)
        if unknown:
            raise invalid_request(f"updates_requested entries take no {', '.join(unknown)}")
        if asked and item["field"] not in asked:
            raise invalid_request(f"{item['field']!r} is not a field the server_request asked for")
        if any(a["field"] == item["field"] for a in answered):
            raise invalid_request(f"updates_requested answers {item['field']!r} twice")
        for key in ("name", "description"):
            if key in item and (not isinstance(item[key], str) or len(item[key]) > MAX_DESCRIPTION):
                raise invalid_request(f"updates_requested {key} must be a string")
        if "uri" in item and (not isinstance(item["uri"], str) or not is_url(item["uri"])):
            raise invalid_request("updates_requested uri must be an absolute http(s) URL")
        if "description" not in item and "uri" not in item:
            raise invalid_request("each answer carries a description or a uri (§6.9)")
        answered.append(item)
    return answered


def _grants(
    session: Session, settings: Settings, kind: str, value: Any, related_uri: str | None
) -> list[Any] | None:
    if kind != "grant_request":
        if value is not None:
            raise invalid_request("grants_requested belongs to grant_request Messages")
        return None
    if not isinstance(value, list) or not 0 < len(value) <= MAX_ITEMS:
        raise invalid_request(f"a grant_request lists 1 to {MAX_ITEMS} grants_requested (§6.9)")
    assert related_uri is not None  # _related checked it
    target = session.get_one(Client, related_uri.removeprefix(client_uri(settings, "")))
    catalogue = load_catalogue(settings)
    now = utcnow()
    for item in value:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("scope"), str)
            or not isinstance(item.get("authorization_details"), list)
        ):
            raise invalid_request(
                "each grants_requested entry has a scope string and an authorization_details "
                "list ([] when the scope says it all) (§6.6)"
            )
        for entry in item["authorization_details"]:
            details_type = entry.get("type") if isinstance(entry, dict) else None
            if details_type not in target.authorization_details_types:
                raise invalid_request(
                    f"authorization_details type {details_type!r} is not among Client Object "
                    f"{target.client_id}'s authorization_details_types (§6.6)"
                )
        try:
            resolve_request(
                catalogue,
                scope=item["scope"],
                details=item["authorization_details"],
                allowed_scopes=set(target.scope.split()),
                settings=settings,
                now=now,
                purposes=usable_for(settings, catalogue, target),
            )
        except RequestRejected as error:
            raise invalid_request(
                f"grants_requested: {error.description} ({error.error})"
            ) from error
    return value


def _attachments(value: Any) -> list[tuple[str, str, bytes]]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise invalid_request(f"attachments must be a list of at most {MAX_ITEMS} (§6.7)")
    decoded: list[tuple[str, str, bytes]] = []
    total = 0
    for item in value:
        if not isinstance(item, dict) or set(item) != ATTACHMENT_KEYS:
            raise invalid_request("each attachment has exactly filename, mime_type and data (§6.7)")
        filename, mime_type, data = item["filename"], item["mime_type"], item["data"]
        if not isinstance(filename, str) or not 0 < len(filename) <= 255:
            raise invalid_request("an attachment's filename is a string of 1 to 255 characters")
        if (
            not isinstance(mime_type, str)
            or len(mime_type) > 120
            or not _MIME_TYPE.fullmatch(mime_type)
        ):
            raise invalid_request(
                "an attachment's mime_type is a MIME type such as application/pdf "
                "(application/octet-stream when unknown)"
            )
        if not isinstance(data, str):
            raise invalid_request("an attachment's data is a Base64 string")
        total += max(0, len(data) * 3 // 4 - 2)  # at least this many bytes, before decoding
        if total > ATTACHMENTS_LIMIT:
            raise _too_large()
        try:
            content = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as error:
            raise invalid_request(f"attachment {filename!r}: data is not Base64") from error
        decoded.append((filename, mime_type, content))
    if sum(len(content) for _, _, content in decoded) > ATTACHMENTS_LIMIT:
        raise _too_large()
    return decoded


def _too_large() -> OAuthError:
    return OAuthError(
        "invalid_request",
        f"the attachments are larger than {ATTACHMENTS_LIMIT} bytes together (§6.9)",
        413,
    )


# --- helpers -------------------------------------------------------------------------------------


def _visible(registration_id: str) -> Select[Message]:
    return select(Message).where(Message.registration_id == registration_id)


def _find(session: Session, registration_id: str, message_id: str, lock: bool = False) -> Message:
    return find_or_404(
        session,
        _visible(registration_id).where(Message.message_id == message_id),
        f"no Message {message_id!r} in this registration; list them at {urls.MESSAGES}",
        lock=lock,
    )


def _attachments_of(
    session: Session, messages: Sequence[Message]
) -> dict[str, list[MessageAttachment]]:
    ids = {m.message_id for m in messages}
    found: dict[str, list[MessageAttachment]] = {}
    if ids:
        for attachment in session.scalars(
            select(MessageAttachment)
            .where(MessageAttachment.message_id.in_(ids))
            .order_by(MessageAttachment.message_id, MessageAttachment.position)
        ):
            found.setdefault(attachment.message_id, []).append(attachment)
    return found


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return json_response(body, status)
