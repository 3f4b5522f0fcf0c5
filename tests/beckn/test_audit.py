"""The Beckn audit trail (Beckn-ONIX "Requirements for BPP Mode": de-duplicate by message_id):
what is kept of a request and a callback, and a request that claims a message_id once."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from gridshare.beckn import audit
from gridshare.store.db import session_factory, transaction
from gridshare.store.tables.beckn import BecknMessage

CONTEXT = {"transaction_id": "t-1", "message_id": "m-1", "bap_id": "bap.example.org"}


def received(action: str = "search", body: bytes = b'{"x": 1}') -> audit.Received:
    headers = {"Authorization": "Signature keyId=...", "X-Gateway-Authorization": "Signature g"}
    return audit.Received(action, body, headers, CONTEXT)


def test_a_request_is_kept_with_its_bytes_signatures_and_answer(engine: Engine) -> None:
    with transaction(session_factory(engine)) as session:
        audit.record_received(session, received(), 401, b'{"message": {"ack": "NACK"}}')
    with session_factory(engine)() as session:
        kept = session.scalars(select(BecknMessage)).one()
    assert (kept.direction, kept.action, kept.body, kept.http_status) == (
        "in",
        "search",
        b'{"x": 1}',
        401,
    )
    assert kept.authorization == "Signature keyId=..."
    assert kept.gateway_authorization == "Signature g"
    assert (kept.transaction_id, kept.message_id, kept.bap_id) == ("t-1", "m-1", "bap.example.org")
    assert kept.dedupe_key is None


@pytest.mark.req("ONIX-BPP-6")
def test_a_message_id_is_claimed_once_per_sender_and_action(engine: Engine) -> None:
    key = audit.dedupe_key("confirm", "bap.example.org", "m-1")
    assert key != audit.dedupe_key("status", "bap.example.org", "m-1")
    assert key != audit.dedupe_key("confirm", "other.example.org", "m-1")
    with transaction(session_factory(engine)) as session:
        first = audit.record_received(session, received("confirm"), 200, b"ACK", key)
        again = audit.record_received(session, received("confirm"), 200, b"ACK", key)
    assert first is not None and again is None
    with session_factory(engine)() as session:
        found = audit.answered_before(session, key)
        assert found is not None and found.answer == "ACK"
        assert session.scalars(select(BecknMessage)).all() == [found]


def test_a_path_naming_no_action_is_kept_cut_to_the_column(engine: Engine) -> None:
    with transaction(session_factory(engine)) as session:
        audit.record_received(session, received("x" * 500), 400, b"NACK")
    with session_factory(engine)() as session:
        assert session.scalars(select(BecknMessage.action)).one() == "x" * audit.ACTION_MAX


def test_a_callback_is_kept_with_our_signature_and_the_answer(engine: Engine) -> None:
    with transaction(session_factory(engine)) as session:
        audit.record_sent(
            session,
            "on_search",
            CONTEXT,
            "https://bap.example.org/on_search",
            b"{}",
            "Signature ours",
            None,
            "timed out " * 1000,
        )
    with session_factory(engine)() as session:
        kept = session.scalars(select(BecknMessage)).one()
    assert (kept.direction, kept.peer_url, kept.authorization) == (
        "out",
        "https://bap.example.org/on_search",
        "Signature ours",
    )
    assert kept.http_status is None and len(kept.answer or "") == audit.ANSWER_MAX
