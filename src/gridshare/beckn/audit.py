"""The Beckn audit trail and duplicate detection (Beckn-ONIX specification, "Requirements for BPP
Mode": de-duplicate requests by `message_id`; keep a record of what was received and sent).

Every request that reaches `POST /beckn/{action}` is kept as the exact bytes received, with its
signature headers and our answer, whether we acknowledged it or not; every callback we send is
kept as the bytes we signed, with our signature and the receiver's answer.

A request we acknowledged claims a `dedupe_key` (action, sender, `message_id`): a second request
with the same key creates nothing and gets the first one's answer again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gridshare.beckn.signing import AUTHORIZATION, GATEWAY_HEADERS
from gridshare.store.tables.beckn import BecknMessage

ACTION_MAX = 40
"""The width of the `action` column: a path naming no action of ours is kept cut to it."""
ANSWER_MAX = 4000
"""How much of a receiver's answer to an outgoing message is kept."""


@dataclass(frozen=True)
class Received:
    """A request as it arrived: its bytes, headers and what its context says (if readable)."""

    action: str
    body: bytes
    headers: Mapping[str, str]
    context: Mapping[str, object]

    def text(self, name: str) -> str | None:
        value = self.context.get(name)
        return value[:200] if isinstance(value, str) else None


def dedupe_key(action: str, bap_id: str, message_id: str) -> str:
    return hashlib.sha256(f"{action}\n{bap_id}\n{message_id}".encode()).hexdigest()


def answered_before(session: Session, key: str) -> BecknMessage | None:
    """The acknowledged request that claimed `key`, if any."""
    return session.scalars(select(BecknMessage).where(BecknMessage.dedupe_key == key)).first()


def record_received(
    session: Session, received: Received, status: int, answer: bytes, key: str | None = None
) -> BecknMessage | None:
    """Keep a request and our answer. With `key` (an acknowledged request), None when another
    request already claimed it: the caller then rolls back its work and repeats that answer."""
    headers = {name.lower(): value for name, value in received.headers.items()}
    row = BecknMessage(
        direction="in",
        action=received.action[:ACTION_MAX],
        transaction_id=received.text("transaction_id"),
        message_id=received.text("message_id"),
        bap_id=received.text("bap_id"),
        body=received.body,
        authorization=headers.get(AUTHORIZATION.lower()),
        gateway_authorization=next(
            (headers[n.lower()] for n in GATEWAY_HEADERS if n.lower() in headers), None
        ),
        http_status=status,
        answer=answer.decode(),
        dedupe_key=key,
    )
    if key is None:
        session.add(row)
        return row
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row


def record_sent(
    session: Session,
    action: str,
    context: Mapping[str, object],
    url: str,
    body: bytes,
    authorization: str,
    status: int | None,
    answer: str,
) -> None:
    """Keep a callback we sent (or tried to send: `status` None when no answer came)."""

    def text(name: str) -> str | None:
        value = context.get(name)
        return value[:200] if isinstance(value, str) else None

    session.add(
        BecknMessage(
            direction="out",
            action=action,
            transaction_id=text("transaction_id"),
            message_id=text("message_id"),
            bap_id=text("bap_id"),
            peer_url=url[:2000],
            body=body,
            authorization=authorization,
            http_status=status,
            answer=answer[:ANSWER_MAX],
        )
    )
