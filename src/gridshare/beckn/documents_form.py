"""The documents form (BECKN-007 "The XInput Schema"; core 1.1.0 `XInput`, `Form`): the on_init
of a product that needs documents (ID proof, ownership, wiring diagram, ...) carries an item
`xinput` whose form lives at `{bpp_uri}/forms/{nonce}`.

- `GET` the form: an HTML form (`text/html`) with one file input per required document, posting
  back to the same URL.
- `POST` it, multipart/form-data, signed by the BAP (BECKN-006, as every Beckn request): the
  nonce must exist, be unexpired and unused, the signer must be the BAP it was made for, and the
  files must pass `utility.order_documents`. The answer is a `FormResponse`:
  `{"status": true, "submission_id": <uuid>}`, or `{"status": false, "errors": [...]}`.
- The confirm names the submission in `items[0].xinput.form.submission_id`; it must be a
  submission of that BAP in that transaction. The order keeps it, and the desk shows its files.

The form is optional (`required: false`, as in the guide's on_init): documents can also reach
the utility another way.
"""

from __future__ import annotations

import html
import logging
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Final

import orjson
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from gridshare.beckn import catalog as catalogs
from gridshare.beckn import keys
from gridshare.beckn.context import RequestContext
from gridshare.beckn.errors import INVALID_REQUEST, BecknError
from gridshare.beckn.gate import NetworkDep, Refused, authenticated
from gridshare.config import Settings
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.db import utcnow
from gridshare.store.tables.beckn import BecknForm
from gridshare.utility import order_documents

log = logging.getLogger(__name__)

FORM_PATH: Final = f"{keys.BPP_PATH}/forms"
FORM_LIFETIME: Final = timedelta(days=7)
"""How long an offered form may be submitted."""
BODY_MAX: Final = order_documents.SUBMISSION_MAX + 1024 * 1024
"""The largest submission read: the files' limit and room for the multipart framing."""
FIELD_PREFIX: Final = "document-"
"""File inputs are `document-1`, `document-2`, ...: one per required document, in order."""

router = APIRouter(tags=["Beckn"])


@dataclass(frozen=True)
class Posted:
    """A form submission as received: its bytes (what is signed) and its files."""

    body: bytes | None
    files: dict[str, tuple[str, str, bytes]]
    problem: str | None


def xinput(
    session: Session,
    settings: Settings,
    context: RequestContext,
    product: catalogs.Product,
    submission_id: str | None = None,
) -> dict[str, Any] | None:
    """The item `XInput` of `product` for this BAP's transaction (one form per transaction and
    item, made on first use), or None when the product needs no documents."""
    if not product.required_documents:
        return None
    form = _offered(session, context.bap_id, context.transaction_id, product.id)
    if form is None:
        form = BecknForm(
            nonce=secrets.token_urlsafe(32),
            requester=context.bap_id,
            transaction_id=context.transaction_id,
            item_id=product.id,
            expires_at=utcnow() + FORM_LIFETIME,
        )
        session.add(form)
        session.flush()
    described: dict[str, Any] = {
        "url": settings.url(f"{FORM_PATH}/{form.nonce}"),
        "mime_type": "text/html",
    }
    if submission_id is not None:
        described["submission_id"] = submission_id
    return {"required": False, "form": described}


def submission(session: Session, context: RequestContext, order: Mapping[str, Any]) -> str | None:
    """The submission a confirm names (`items[0].xinput.form.submission_id`), if it names one:
    BecknError 30000 unless this BAP submitted it in this transaction."""
    items = order.get("items")
    item = items[0] if isinstance(items, list) and items else {}
    given = item.get("xinput") if isinstance(item, Mapping) else None
    form = given.get("form") if isinstance(given, Mapping) else None
    submission_id = form.get("submission_id") if isinstance(form, Mapping) else None
    if submission_id is None:
        return None
    path = "message.order.items[0].xinput.form.submission_id"
    found = session.scalars(
        select(BecknForm).where(BecknForm.submission_id == str(submission_id))
    ).first()
    if (
        found is None
        or found.requester != context.bap_id
        or found.transaction_id != context.transaction_id
    ):
        raise BecknError(
            INVALID_REQUEST,
            f"{path} {submission_id!r} is not a submission of yours in this transaction",
            path,
        )
    return found.submission_id


@router.get(f"{FORM_PATH}/{{nonce}}", summary="The documents form of an order (BECKN-007)")
def show(nonce: str, session: SessionDep, beckn: NetworkDep) -> Response:
    form = session.get(BecknForm, nonce)
    if form is None or form.expires_at <= utcnow():
        return Response("This form does not exist or has expired.", 404, media_type="text/plain")
    product = catalogs.product(beckn[2], None, form.item_id)
    inputs = "\n".join(
        f'<p><label for="{FIELD_PREFIX}{n}">{html.escape(label)}</label>\n'
        f'<input type="file" id="{FIELD_PREFIX}{n}" name="{FIELD_PREFIX}{n}" '
        'accept="application/pdf,image/png,image/jpeg"></p>'
        for n, label in enumerate(product.required_documents, start=1)
    )
    page = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Documents for {html.escape(product.name)}</title></head><body>\n"
        f"<h1>Documents for {html.escape(product.name)}</h1>\n"
        f'<form action="{html.escape(nonce)}" method="post" enctype="multipart/form-data">\n'
        f"{inputs}\n"
        f'<input type="hidden" name="nonce" value="{html.escape(nonce)}">\n'
        "<p>PDF, PNG or JPEG, at most "
        f"{order_documents.FILE_MAX // 2**20} MB each.</p>\n"
        "</form>\n</body></html>\n"
    )
    return Response(page, media_type="text/html")


async def posted(request: Request) -> Posted:
    """The submission's bytes and files (read in the event loop; nothing is kept here)."""
    received = bytearray()
    async for chunk in request.stream():
        received.extend(chunk)
        if len(received) > BODY_MAX:
            return Posted(None, {}, None)
    body = bytes(received)

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    files: dict[str, tuple[str, str, bytes]] = {}
    try:
        parsed = await Request(request.scope, replay).form(max_files=20, max_fields=40)
        for name, value in parsed.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read()
                files[name] = (value.filename or name, value.content_type or "", data)
    except (MultiPartException, AssertionError) as error:
        return Posted(body, {}, f"the body is not multipart/form-data: {error}")
    return Posted(body, files, None)


@router.post(f"{FORM_PATH}/{{nonce}}", summary="Submit the documents form (BECKN-007)")
def submit(
    nonce: str,
    request: Request,
    submitted: Annotated[Posted, Depends(posted)],
    settings: SettingsDep,
    session: SessionDep,
    beckn: NetworkDep,
) -> Response:
    registry, problem, catalog = beckn
    try:
        if submitted.body is None:
            raise Refused(413, BecknError(INVALID_REQUEST, f"the body is over {BODY_MAX} bytes"))
        signer = authenticated(dict(request.headers), submitted.body, registry, problem, settings)
        form = session.get(BecknForm, nonce, with_for_update=True)
        if form is None or form.expires_at <= utcnow():
            raise Refused(404, BecknError(INVALID_REQUEST, "this form does not exist or expired"))
        if signer.subscriber.subscriber_id != form.requester:
            raise Refused(401, BecknError(INVALID_REQUEST, "this form was offered to another BAP"))
        if form.submission_id is not None:
            raise Refused(
                409, BecknError(INVALID_REQUEST, "this form was submitted already", "nonce")
            )
        if submitted.problem is not None:
            raise Refused(400, BecknError(INVALID_REQUEST, submitted.problem))
        product = catalogs.product(catalog, None, form.item_id)
        files = _documents(product, submitted.files)
        submission_id = str(uuid.uuid4())
        order_documents.add(session, submission_id, files)
    except order_documents.DocumentError as error:
        session.rollback()
        return _answer(400, {"status": False, "errors": [_error(str(error))]})
    except Refused as refused:
        session.rollback()
        return _answer(
            refused.status, {"status": False, "errors": [refused.error.error()]}, refused.headers
        )
    form.submission_id, form.submitted_at = submission_id, utcnow()
    session.commit()
    log.info(
        "documents form of %s submitted: %s (%d files)", form.requester, submission_id, len(files)
    )
    return _answer(200, {"status": True, "submission_id": submission_id})


def _documents(
    product: catalogs.Product, files: Mapping[str, tuple[str, str, bytes]]
) -> list[order_documents.NewDocument]:
    labels = {f"{FIELD_PREFIX}{n}": label for n, label in enumerate(product.required_documents, 1)}
    unknown = sorted(set(files) - set(labels))
    if unknown:
        raise order_documents.DocumentError(
            f"no document is asked for as {', '.join(unknown)}; the fields are {', '.join(labels)}"
        )
    return [
        order_documents.NewDocument(labels[name], filename, content_type, data)
        for name, (filename, content_type, data) in files.items()
        if data
    ]


def _offered(
    session: Session, requester: str, transaction_id: str, item_id: str
) -> BecknForm | None:
    query = select(BecknForm).where(
        BecknForm.requester == requester,
        BecknForm.transaction_id == transaction_id,
        BecknForm.item_id == item_id,
        BecknForm.expires_at > utcnow(),
    )
    return session.scalars(query.order_by(BecknForm.created.desc())).first()


def _error(message: str) -> dict[str, str]:
    return BecknError(INVALID_REQUEST, message).error()


def _answer(
    status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(body), status, headers=dict(headers or {}), media_type="application/json"
    )
