"""The `email` delivery handler against a tiny local SMTP server, and its capture mode."""

from __future__ import annotations

import email
import socketserver
import threading
from collections.abc import Iterator
from email.message import Message as EmailMessage

import pytest
from sqlalchemy import Engine, select

from gridshare.config import Settings
from gridshare.jobs.delivery import DeliveryFailed, Message, PermanentFailure
from gridshare.jobs.email import EmailSender
from gridshare.jobs.outbox import enqueue
from gridshare.jobs.worker import Worker
from gridshare.store.db import session_factory
from gridshare.store.tables.mail import CapturedMail
from gridshare.store.tables.outbox import OutboxItem

PAYLOAD = {"to": "home@example.org", "subject": "Your receipt 123456789", "text": "Hello.\n"}


class Smtp(socketserver.ThreadingTCPServer):
    """Speaks just enough SMTP (RFC 5321) to take mail; refuses RCPT to `refuse@...`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SmtpSession)
        self.received: list[tuple[str, list[str], EmailMessage]] = []

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class SmtpSession(socketserver.StreamRequestHandler):
    server: Smtp

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 test ESMTP")
        sender, recipients = "", list[str]()
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 test")
            elif verb == "MAIL":
                sender, recipients = command.split(":", 1)[1].strip(" <>"), []
                self.reply("250 ok")
            elif verb == "RCPT":
                address = command.split(":", 1)[1].strip(" <>")
                if address.startswith("refuse@"):
                    self.reply("550 no such user")
                else:
                    recipients.append(address)
                    self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go on")
                data = bytearray()
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.server.received.append(
                    (sender, recipients, email.message_from_bytes(bytes(data)))
                )
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    server = Smtp()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _message(payload: dict[str, str] = PAYLOAD, key: str = "receipt-email:123456789") -> Message:
    return Message(1, "email", key, dict(payload), 1)


@pytest.mark.req("WG3-9.4-d")
def test_the_handler_sends_over_smtp_with_the_key_as_message_id(
    settings: Settings, smtp: Smtp
) -> None:
    sender = EmailSender(
        settings.model_copy(
            update={
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp.port,
                "smtp_sender": "r@dge.example",
            }
        )
    )
    sender(_message())
    sender(_message())  # a second delivery of the same item: same Message-ID
    (first_from, first_to, first), (_, _, second) = smtp.received
    assert first_from == "r@dge.example"
    assert first_to == ["home@example.org"]
    assert first["Subject"] == PAYLOAD["subject"]
    assert first["Message-ID"] == "<receipt-email.123456789@dge.example>"
    assert second["Message-ID"] == first["Message-ID"]
    assert first.get_payload(decode=True) == b"Hello.\r\n"  # CRLF on the wire


def test_a_refused_recipient_is_permanent_and_no_server_is_retried(
    settings: Settings, smtp: Smtp
) -> None:
    sender = EmailSender(
        settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp.port})
    )
    with pytest.raises(PermanentFailure):
        sender(_message({**PAYLOAD, "to": "refuse@example.org"}))
    with pytest.raises(DeliveryFailed) as unset:
        EmailSender(settings)(_message())
    assert not isinstance(unset.value, PermanentFailure)
    with pytest.raises(PermanentFailure):
        sender(_message({"to": "home@example.org"}))


def test_the_worker_delivers_email_over_smtp_by_default(
    settings: Settings, engine: Engine, smtp: Smtp
) -> None:
    with session_factory(engine)() as session:
        enqueue(session, "email", PAYLOAD, "receipt-email:1")
        session.commit()
    live = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp.port})
    assert Worker(engine, live).run_once() == 1
    assert len(smtp.received) == 1
    with session_factory(engine)() as session:
        assert session.scalars(select(OutboxItem.status)).one() == "done"


def test_capture_keeps_each_message_once(settings: Settings, engine: Engine) -> None:
    sender = EmailSender(settings.model_copy(update={"mail_capture": True}), engine)
    sender(_message())
    sender(_message())
    with session_factory(engine)() as session:
        (kept,) = session.scalars(select(CapturedMail)).all()
    assert kept.recipient == PAYLOAD["to"]
    assert kept.subject == PAYLOAD["subject"]
    assert kept.body == PAYLOAD["text"]
