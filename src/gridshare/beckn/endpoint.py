"""`POST {bpp_uri}/{action}`: how the BPP receives a Beckn request (core 1.1.0 transaction API,
BECKN-006, the Beckn-ONIX specification's "Requirements for BPP Mode").

Each request passes these steps in order, and the first that fails answers:

1. the body: at most `BODY_MAX` bytes (413) of JSON (400);
2. the signatures (BECKN-006): the sender's `Authorization`, and a gateway's if present, against
   the keys in the registry (401 with `WWW-Authenticate`; 503 if the registry cannot answer);
   the signer must be the `context.bap_id`, and `bap_uri` under its registered URL (401);
3. a repeat: a `message_id` this sender already sent for this action gets the first answer again
   and changes nothing;
4. the context (`context.validate_context`) and the action's message (`actions`), each a 400 NACK;
5. the work, the `on_{action}` callback in the outbox and the audit record, in one transaction;
   then the ACK.

Every request, answered ACK or NACK, is kept in the audit trail (`audit`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Annotated, Any, Final

import orjson
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect

from gridshare.beckn import actions, audit, callbacks, keys
from gridshare.beckn import catalog as catalogs
from gridshare.beckn.context import validate_context
from gridshare.beckn.errors import INVALID_REQUEST, BecknError, ack, nack
from gridshare.beckn.gate import NetworkDep, Refused, authenticated
from gridshare.beckn.registry import Registry
from gridshare.beckn.signing import Authenticated
from gridshare.config import Settings
from gridshare.http import SessionDep, SettingsDep

log = logging.getLogger(__name__)

BODY_MAX: Final = 256 * 1024
"""The largest request accepted; a Connections confirm is about 4 kB."""

router = APIRouter(tags=["Beckn"])


async def raw_body(request: Request) -> bytes | None:
    """The request's bytes, or None if it is larger than BODY_MAX (read no further)."""
    received = bytearray()
    try:
        async for chunk in request.stream():
            received.extend(chunk)
            if len(received) > BODY_MAX:
                return None
    except ClientDisconnect:
        return b""
    return bytes(received)


BodyDep = Annotated[bytes | None, Depends(raw_body)]


@router.post(
    f"{keys.BPP_PATH}/{{action}}",
    summary="A Beckn request to this BPP: ACK or NACK now, the on_{action} callback later",
)
def receive(
    action: str,
    body: BodyDep,
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    beckn: NetworkDep,
) -> Response:
    registry, problem, catalog = beckn
    headers = dict(request.headers)
    document: Mapping[str, Any] = {}
    try:
        document = _json(body)
        context = document.get("context")
        signer = authenticated(headers, body or b"", registry, problem, settings)
        received = audit.Received(
            action, body or b"", headers, context if isinstance(context, Mapping) else {}
        )
        repeat = _repeat(session, action, received)
        if repeat is not None:
            return repeat
        return _accept(session, settings, catalog, registry, signer, received, document)
    except Refused as refused:
        session.rollback()
        answer = orjson.dumps(nack(refused.error))
        context = document.get("context")
        received = audit.Received(
            action, body or b"", headers, context if isinstance(context, Mapping) else {}
        )
        audit.record_received(session, received, refused.status, answer)
        session.commit()
        log.info("beckn %s refused (%s): %s", action, refused.status, refused.error.message)
        return Response(
            answer, refused.status, headers=refused.headers, media_type="application/json"
        )


def _accept(
    session: Session,
    settings: Settings,
    catalog: catalogs.Catalog,
    registry: Registry | None,
    signer: Authenticated,
    received: audit.Received,
    document: Mapping[str, Any],
) -> Response:
    try:
        context = validate_context(received.context or None, received.action, settings)
    except BecknError as error:
        raise Refused(400, error) from error
    _check_sender(signer, context.bap_id, context.bap_uri, registry)
    message = document.get("message", {})
    if not isinstance(message, Mapping):
        raise Refused(400, BecknError(INVALID_REQUEST, "message must be an object", "message"))
    request = actions.Request(session, settings, catalog, context, message)
    key = audit.dedupe_key(received.action, context.bap_id, context.message_id)
    answer: dict[str, Any] | None = None
    failure: BecknError | None = None
    try:
        answer = actions.HANDLERS[received.action](request)
    except BecknError as refused:
        if refused.code == INVALID_REQUEST:
            raise Refused(400, refused) from refused
        session.rollback()
        failure = refused
    acknowledged = orjson.dumps(ack())
    if audit.record_received(session, received, 200, acknowledged, key) is None:
        session.rollback()  # the same message arrived twice at once: the first one stands
        return _repeat(session, received.action, received) or Response(
            acknowledged, 200, media_type="application/json"
        )
    callbacks.enqueue(session, settings, context, answer, failure, key)
    session.commit()
    log.info(
        "beckn %s %s from %s: ACK%s",
        received.action,
        context.message_id,
        context.bap_id,
        f", answered with error {failure.code}" if failure else "",
    )
    return Response(acknowledged, 200, media_type="application/json")


def _json(body: bytes | None) -> Mapping[str, Any]:
    if body is None:
        raise Refused(
            413, BecknError(INVALID_REQUEST, f"the request is larger than {BODY_MAX} bytes")
        )
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise Refused(400, BecknError(INVALID_REQUEST, f"the body is not JSON: {error}")) from error
    if not isinstance(document, dict):
        raise Refused(400, BecknError(INVALID_REQUEST, "the body must be a JSON object"))
    return document


def _check_sender(
    signer: Authenticated, bap_id: str, bap_uri: str, registry: Registry | None
) -> None:
    """The signer is the BAP the context names, and `bap_uri` is under its registered URL."""
    subscriber = signer.subscriber
    if subscriber.subscriber_id != bap_id:
        raise Refused(
            401,
            BecknError(
                INVALID_REQUEST,
                f"the request is signed by {subscriber.subscriber_id!r} but context.bap_id is "
                f"{bap_id!r}: a BAP signs its own requests",
                "context.bap_id",
            ),
        )
    entry = (
        registry.lookup(subscriber.subscriber_id, subscriber.unique_key_id) if registry else None
    )
    url = entry.subscriber_url if entry is not None else None
    if url and not (bap_uri == url or bap_uri.startswith(url.rstrip("/") + "/")):
        raise Refused(
            401,
            BecknError(
                INVALID_REQUEST,
                f"context.bap_uri {bap_uri!r} is not under {bap_id}'s registered URL {url!r}",
                "context.bap_uri",
            ),
        )


def _repeat(session: Session, action: str, received: audit.Received) -> Response | None:
    """The first answer to a message already acknowledged, kept again as a repeat."""
    bap_id, message_id = received.text("bap_id"), received.text("message_id")
    if bap_id is None or message_id is None:
        return None
    first = audit.answered_before(session, audit.dedupe_key(action, bap_id, message_id))
    if first is None or first.answer is None:
        return None
    audit.record_received(session, received, first.http_status or 200, first.answer.encode())
    session.commit()
    log.info("beckn %s %s from %s repeated: first answer given again", action, message_id, bap_id)
    return Response(first.answer, first.http_status or 200, media_type="application/json")
