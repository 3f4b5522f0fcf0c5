"""The `email` delivery kind: plain-text email over SMTP (`smtplib`), or captured in the database.

Payload: `{"to": address, "subject": text, "text": body}`. The message's `Message-ID` is made from
the outbox item's idempotency key, so a second delivery of the same item (a worker died after the
SMTP server took it) carries the same Message-ID and mail systems can drop the duplicate.

Settings: `smtp_host` (unset: the item fails and is retried until it is dead, so nothing is lost
and `gridshare outbox requeue` sends it once a host is configured), `smtp_port`, `smtp_sender`,
optional `smtp_username`/`smtp_password` (AUTH after STARTTLS when `smtp_starttls`).

With `mail_capture` (set by `gridshare demo`) nothing is sent: the message is kept in the
`captured_mail` table, once per Message-ID, and the demo shows it at `/demo/mail`.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Final

from sqlalchemy import Engine

from gridshare.config import Settings
from gridshare.jobs.delivery import (
    DEFAULT_HANDLERS,
    DeliveryFailed,
    Handler,
    Message,
    PermanentFailure,
)
from gridshare.store.claims import insert_new
from gridshare.store.db import session_factory, transaction
from gridshare.store.tables.mail import CapturedMail

KIND: Final = "email"


def message_id(idempotency_key: str, sender: str) -> str:
    """The Message-ID of the email sent for an outbox item (RFC 5322 §3.6.4)."""
    domain = sender.rpartition("@")[2] or "gridshare.invalid"
    local = "".join(c if c.isalnum() or c in "-._" else "." for c in idempotency_key)
    return f"<{local}@{domain}>"


class EmailSender:
    """Sends (or, with `mail_capture`, captures) `email` outbox items."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self._sessions = session_factory(engine) if engine is not None else None

    def __call__(self, message: Message) -> None:
        email = self.compose(message)
        if self.settings.mail_capture:
            self._capture(email)
        else:
            self._send(email)

    def compose(self, message: Message) -> EmailMessage:
        payload = message.payload
        to, subject, text = (payload.get(name) for name in ("to", "subject", "text"))
        if not all(isinstance(value, str) and value for value in (to, subject, text)):
            raise PermanentFailure("email payload needs 'to', 'subject' and 'text' strings")
        assert isinstance(to, str) and isinstance(subject, str) and isinstance(text, str)
        if "\n" in to or "\r" in to or "@" not in to:
            raise PermanentFailure(f"email payload 'to' is not an address: {to!r}")
        email = EmailMessage()
        email["From"] = self.settings.smtp_sender
        email["To"] = to
        email["Subject"] = subject
        email["Date"] = formatdate(localtime=False, usegmt=True)
        email["Message-ID"] = message_id(message.idempotency_key, self.settings.smtp_sender)
        email["Auto-Submitted"] = "auto-generated"
        email.set_content(text)
        return email

    def _send(self, email: EmailMessage) -> None:
        settings = self.settings
        if not settings.smtp_host:
            raise DeliveryFailed("no SMTP server: set GRIDSHARE_SMTP_HOST (or mail capture)")
        try:
            with smtplib.SMTP(
                settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
            ) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if settings.smtp_username:
                    smtp.login(settings.smtp_username, settings.smtp_password or "")
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as error:
            raise PermanentFailure(f"the SMTP server refused the recipient: {error}") from error
        except smtplib.SMTPResponseException as error:
            answer = f"the SMTP server answered {error.smtp_code} {error.smtp_error!r}"
            if 500 <= error.smtp_code < 600:
                raise PermanentFailure(answer) from error
            raise DeliveryFailed(answer) from error
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryFailed(f"SMTP to {settings.smtp_host} failed: {error!r}") from error

    def _capture(self, email: EmailMessage) -> None:
        if self._sessions is None:
            raise PermanentFailure("mail capture needs the database: give EmailSender an engine")
        values: dict[str, Any] = {
            "message_id": str(email["Message-ID"]),
            "sender": str(email["From"]),
            "recipient": str(email["To"]),
            "subject": str(email["Subject"]),
            "body": email.get_content(),
        }
        with transaction(self._sessions) as session:
            insert_new(session, CapturedMail, values, "message_id")


def default_handlers(settings: Settings, engine: Engine) -> Mapping[str, Handler]:
    """`DEFAULT_HANDLERS` and `email` (which needs the settings, and the database to capture)."""
    return {**DEFAULT_HANDLERS, KIND: EmailSender(settings, engine)}
