"""Our `on_{action}` callbacks (Beckn core 1.1.0: `Ack.yaml`, after an ACK the BPP is required to
call back; BECKN-006 signing) and the unsolicited `on_status` of a change the desk made
(`Fulfillment.state`: the BPP "must ... fire an unsolicited `on_status`").

A callback is written to the outbox with the change that caused it (DESIGN rule 5) and sent by
the worker: signed with our current key when it is sent (so a retry carries a fresh signature and
`timestamp`), POSTed to `{bap_uri}/on_{action}`, and kept in the audit trail with the receiver's
answer. A callback to a request whose `ttl` has passed is dropped (the Beckn-ONIX specification:
drop any response after the ttl). The announcement of a desk change carries a `message_id` made
from the change's id, so every retry of it carries the same one.

A receiver's 5xx, 408, 429 or no answer is retried with backoff; any other refusal, or a NACK,
is final (the item goes dead, with the receiver's answer as its error).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import httpx
import orjson
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridshare.beckn import audit, keys, order_document, signing
from gridshare.beckn.context import (
    DEFAULT_TTL,
    RequestContext,
    answer_action,
    callback_context,
    ttl_end,
    unsolicited_context,
)
from gridshare.beckn.errors import BecknError
from gridshare.config import Settings
from gridshare.jobs import outbox
from gridshare.jobs.delivery import DeliveryFailed, Handler, HttpPost, Message, PermanentFailure
from gridshare.store.db import session_factory, transaction, utcnow
from gridshare.store.tables.orders import OrderEvent
from gridshare.timefmt import rfc3339
from gridshare.utility import orders

log = logging.getLogger(__name__)

CALLBACK_KIND: Final = "beckn_callback"
"""The outbox kind of an `on_{action}` answering a request (payload: url, body, expires_at)."""
ANNOUNCEMENT_NAMESPACE: Final = uuid.UUID("2f1a4b0e-61c5-4d8e-9a57-8f0c6b1d3e29")


def enqueue(
    session: Session,
    settings: Settings,
    request: RequestContext,
    message: dict[str, Any] | None,
    error: BecknError | None,
    key: str,
) -> None:
    """Write the `on_{action}` answering `request` (its `message`, or the `error`) to the outbox
    in the caller's transaction; `key` makes it once per request."""
    body: dict[str, Any] = {"context": callback_context(request.raw, settings, request.action)}
    if message is not None:
        body["message"] = message
    elif request.action == "rating":
        body["message"] = {}  # on_rating requires a message
    if error is not None:
        body["error"] = error.error()
    payload = {
        "url": callback_url(request.bap_uri, request.action),
        "body": body,
        "expires_at": request.expires_at.isoformat(),
    }
    outbox.enqueue(session, CALLBACK_KIND, payload, f"beckn:{key}")


def callback_url(bap_uri: str, action: str) -> str:
    """Where the answer to `action` goes: `{bap_uri}/on_{action}` (or the meta API's answer)."""
    return f"{bap_uri.rstrip('/')}/{answer_action(action)}"


class Sender:
    """The worker's handlers for `beckn_callback` and (for orders taken on Beckn) `order_event`."""

    def __init__(self, settings: Settings, engine: Engine, http: HttpPost | None = None) -> None:
        self.settings = settings
        self.sessions = session_factory(engine)
        self.http = http or HttpPost()

    def handlers(self) -> Mapping[str, Handler]:
        return {CALLBACK_KIND: self.callback, orders.EVENT_KIND: self.announcement}

    def callback(self, item: Message) -> None:
        payload = item.payload
        expires_at = datetime.fromisoformat(payload["expires_at"])
        now = utcnow()
        if now > expires_at:
            raise PermanentFailure(
                f"not sent: the request's ttl ended at {rfc3339(expires_at)}, so its "
                f"{payload['body']['context']['action']} is no longer wanted"
            )
        self._send(payload["url"], payload["body"], now)

    def announcement(self, item: Message) -> None:
        """The unsolicited `on_status` of one desk change, showing the order in that status."""
        with transaction(self.sessions) as session:
            event = session.get(OrderEvent, item.payload["event_id"])
            order = orders.find(session, item.payload["order_id"])
            if event is None or order is None:
                raise PermanentFailure(f"order event {item.payload} no longer exists")
            if order.channel != "beckn":
                raise PermanentFailure(f"order {order.id} came from {order.channel}, not Beckn")
            message_id = uuid.uuid5(
                ANNOUNCEMENT_NAMESPACE, f"{self.settings.subscriber_id}/{event.id}"
            )
            context = unsolicited_context(
                order.reply_to["context"], self.settings, "status", str(message_id)
            )
            body = {
                "context": context,
                "message": {"order": order_document.rendered(order, orders.as_of(session, event))},
            }
        self._send(callback_url(context["bap_uri"], "status"), body, utcnow())

    def _send(self, url: str, body: dict[str, Any], now: datetime) -> None:
        with transaction(self.sessions) as session:
            key = keys.current_key(session, self.settings, now)
            private = keys.signing_key(key, self.settings)
            unique_key_id = key.unique_key_id
        context = body["context"]
        context["timestamp"] = rfc3339(now)
        data = orjson.dumps(body)
        authorization = signing.sign(
            data,
            private,
            self.settings.subscriber_id,
            unique_key_id,
            created=now,
            expires=ttl_end(now, context.get("ttl", DEFAULT_TTL)),
        )
        headers = httpx.Headers(
            {"Content-Type": "application/json", "Authorization": authorization}
        )
        action = str(context["action"])
        try:
            response = self.http.send(url, data, headers)
        except DeliveryFailed as failure:
            self._keep(action, context, url, data, authorization, None, str(failure))
            raise
        self._keep(action, context, url, data, authorization, response.status_code, response.text)
        if _acknowledged(response) is False:
            raise PermanentFailure(f"{url} answered NACK: {' '.join(response.text.split())[:300]}")
        log.info("sent %s %s to %s", action, context.get("message_id"), url)

    def _keep(
        self,
        action: str,
        context: Mapping[str, Any],
        url: str,
        data: bytes,
        authorization: str,
        status: int | None,
        answer: str,
    ) -> None:
        with transaction(self.sessions) as session:
            audit.record_sent(session, action, context, url, data, authorization, status, answer)


def handlers(settings: Settings, engine: Engine) -> Mapping[str, Handler]:
    """The outbox handlers of the Beckn face, for the worker."""
    return Sender(settings, engine).handlers()


def _acknowledged(response: httpx.Response) -> bool | None:
    """True for an ACK, False for a NACK, None for an answer that says neither."""
    try:
        answer = response.json()
    except ValueError:
        return None
    message = answer.get("message") if isinstance(answer, dict) else None
    ack = message.get("ack") if isinstance(message, dict) else None
    status = ack.get("status") if isinstance(ack, dict) else None
    return {"ACK": True, "NACK": False}.get(status) if isinstance(status, str) else None
