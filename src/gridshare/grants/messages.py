"""Creating Messages (CDS-WG1-02 §6): the one way the server writes to a registration's inbox.

Every official communication that changes a Client Object, Credential or Grant is mirrored here
(§6; the changelog rules of §5.3 and §7.3). Server-created messages start unread (§6.1).

A `request_update` reply supersedes the status of the Message its `previous_uri` links to (§6.2):
that Message takes the reply's status. A production_request or grant_request that becomes
`complete` also takes the reply's related_uri and related_type, which §6.3 requires of a complete
one (the production Client Object; the Grants listing filtered to the new Grants).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from sqlalchemy.orm import Session

from gridshare.grants.secrets import new_id
from gridshare.store.db import utcnow
from gridshare.store.tables.messages import Message


def create_message(
    session: Session,
    *,
    registration_id: str,
    type: str,
    name: str,
    description: str,
    status: str = "complete",
    creator: str | None = None,
    previous_id: str | None = None,
    related_uri: str | None = None,
    related_type: str | None = None,
    updates_requested: list[Any] | None = None,
    grants_requested: list[Any] | None = None,
    amount: Decimal | None = None,
    currency: str | None = None,
) -> Message:
    """Add a message to the registration's inbox; server messages (creator None) start unread."""
    if (related_uri is None) != (related_type is None):
        raise ValueError("related_uri and related_type go together (CDS-WG1-02 §6.1)")
    now = utcnow()
    message = Message(
        message_id=new_id("m"),
        registration_id=registration_id,
        previous_id=previous_id,
        type=type,
        read=creator is not None,
        creator=creator,
        created=now,
        modified=now,
        status=status,
        name=name,
        description=description,
        updates_requested=updates_requested,
        grants_requested=grants_requested,
        related_uri=related_uri,
        related_type=related_type,
        amount=amount,
        currency=currency,
    )
    session.add(message)
    if type == "request_update" and previous_id is not None:
        _supersede(session, previous_id, message)
    return message


LINKED_WHEN_COMPLETE: Final = frozenset({"production_request", "grant_request"})
"""Request types whose `complete` status comes with a related_uri naming the outcome (§6.3)."""


def _supersede(session: Session, previous_id: str, reply: Message) -> None:
    previous = session.get(Message, previous_id)
    if previous is None:
        raise ValueError(f"request_update previous_id {previous_id!r} is not a Message")
    previous.status = reply.status
    previous.modified = reply.modified
    if (
        reply.status == "complete"
        and previous.type in LINKED_WHEN_COMPLETE
        and reply.related_uri is not None
    ):
        previous.related_uri, previous.related_type = reply.related_uri, reply.related_type


def changelog(
    session: Session,
    registration_id: str,
    name: str,
    description: str,
    related_uri: str | None = None,
    related_type: str | None = None,
) -> Message:
    """A server notification recording a change to a Client Object, Credential or Grant."""
    return create_message(
        session,
        registration_id=registration_id,
        type="notification",
        name=name,
        description=description,
        related_uri=related_uri,
        related_type=related_type,
    )
