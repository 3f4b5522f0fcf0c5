"""CDS-WG3-01 §9.4 Authorization Receipts: made on every approval, with the notification email.

`issue_receipt` runs in the approval's transaction (`grants.authorization.approve`). It:
- makes a 9-digit confirmation number (random, unique) and adds it to the Grant's
  `receipt_confirmations` (§9.4: the Customer and the Client both know it);
- puts the receipt at `RECEIPTS_PATH/<key>`, a random 256-bit key unrelated to the confirmation
  number or any id. The key is stored hashed (for lookup) and sealed with the server key (so the
  server can link the receipt from the outcome page, the connected-apps page and older receipts);
- freezes what the Customer approved (`snapshot`): the Client's name and link, the scopes' names,
  the authorization details (as the Customer changed them, `changed_by_customer`, CDS-WG3-01
  §7.4.5), the selected resources, the
  dates, the terms, and the Purposes the form showed (`purpose`: `grants.purposes.shown`, their
  content copied, never looked up again). The receipt
  page shows this copy, never the Client's current values (and shows those beside it if changed);
  what was granted reads as the form's Request Sections (`approved_sections`, the words of
  `grants.consent_words` for the approved scopes and details as of the approval day), and a
  Customer's changes are said (`CHANGED_WORDS`);
- marks the Grant's earlier receipts as superseded by this one;
- when the Customer has an email address, enqueues the notification email (outbox kind `email`,
  DESIGN rule 5) in the same transaction: the branded entity's name, the confirmation number, the
  receipt link, and (RECOMMENDED) date and time, Client name, the same Request Sections (and
  `CHANGED_WORDS`) and the selected resources (at most 10 per list). Purposes written by Clients
  apply without the server's review, so Purpose content is never mailed (§9.4 allows only
  reviewed content).

Revoking from a receipt needs no login (§9.4): the form carries `revoke_token`, an HMAC of the
receipt under the server key, so a page elsewhere cannot post the revocation blind.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridshare.config import Settings
from gridshare.grants import purposes
from gridshare.grants.consent_words import RequestSection, request_sections
from gridshare.grants.grants import access_ends
from gridshare.grants.scopes import Catalogue, is_url
from gridshare.grants.secrets import Sealer, digest, new_secret, server_key
from gridshare.grants.selections import NOUNS
from gridshare.jobs import email
from gridshare.jobs.outbox import enqueue
from gridshare.store.db import utcnow
from gridshare.store.tables.clients import Client
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.grants import Grant
from gridshare.store.tables.receipts import Receipt
from gridshare.timefmt import rfc3339

RECEIPTS_PATH: Final = "/receipts"
"""Where receipts live (`/{key}` follows); the face's `urls.RECEIPTS` names the same path."""
PURPOSE: Final = b"gridshare-receipt"
"""What receipt keys are sealed for (see `Sealer`)."""
CONFIRMATION_DIGITS: Final = 9
CHANGED_WORDS: Final = (
    "You changed the app's request on the authorization form: this is what you approved, "
    "not what the app asked for."
)
"""Said on the receipt and in its email when `changed_by_customer` (CDS-WG3-01 §7.4.5)."""


@dataclass(frozen=True)
class IssuedReceipt:
    receipt: Receipt
    key: str
    url: str


def receipt_path(key: str) -> str:
    return f"{RECEIPTS_PATH}/{key}"


def receipt_url(settings: Settings, receipt: Receipt) -> str:
    """The receipt's absolute URL (its key opened from the sealed copy)."""
    return settings.url(receipt_path(receipt_key(settings, receipt)))


def receipt_key(settings: Settings, receipt: Receipt) -> str:
    return Sealer.from_settings(settings).open(receipt.key_sealed, PURPOSE)


def find_receipt(session: Session, key: str) -> Receipt | None:
    return session.get(Receipt, digest(key))


def latest_receipt(session: Session, grant_id: str) -> Receipt | None:
    """The Grant's current receipt (the newest one)."""
    return session.scalars(
        select(Receipt)
        .where(Receipt.grant_id == grant_id)
        .order_by(Receipt.created.desc(), Receipt.key_hash)
        .limit(1)
    ).first()


def revoke_token(settings: Settings, receipt: Receipt) -> str:
    """The token the receipt's revoke form carries (bound to this receipt)."""
    mac = hmac.new(server_key(settings), b"receipt-revoke:" + receipt.key_hash.encode(), "sha256")
    return mac.hexdigest()


def revoke_token_ok(settings: Settings, receipt: Receipt, token: str) -> bool:
    return hmac.compare_digest(revoke_token(settings, receipt).encode(), token.encode())


def issue_receipt(
    session: Session,
    settings: Settings,
    catalogue: Catalogue,
    grant: Grant,
    client: Client,
    customer: Customer,
    selected: list[dict[str, Any]],
    *,
    changed_by_customer: bool = False,
) -> IssuedReceipt:
    """Make the receipt for an approval of `grant` (see the module docstring);
    `changed_by_customer`: the Customer changed the request on the form (CDS-WG3-01 §7.4.5)."""
    key = new_secret()
    now = utcnow()
    receipt = Receipt(
        key_hash=digest(key),
        key_sealed=Sealer.from_settings(settings).seal(key, PURPOSE),
        confirmation=_new_confirmation(session),
        grant_id=grant.grant_id,
        customer_id=customer.id,
        created=now,
        snapshot={
            **snapshot(settings, catalogue, grant, client, selected),
            "changed_by_customer": changed_by_customer,
        },
        superseded_by=None,
    )
    for older in session.scalars(
        select(Receipt).where(Receipt.grant_id == grant.grant_id, Receipt.superseded_by.is_(None))
    ):
        older.superseded_by = receipt.key_hash
    session.add(receipt)
    grant.receipt_confirmations = [*grant.receipt_confirmations, receipt.confirmation]
    session.flush()
    url = settings.url(receipt_path(key))
    if customer.email:
        enqueue(
            session,
            email.KIND,
            notification(settings, catalogue, receipt, url, customer.email),
            idempotency_key=f"receipt-email:{receipt.confirmation}",
        )
    return IssuedReceipt(receipt, key, url)


def snapshot(
    settings: Settings,
    catalogue: Catalogue,
    grant: Grant,
    client: Client,
    selected: list[dict[str, Any]],
) -> dict[str, Any]:
    """What the Customer approved, frozen (JSON); `selected` are the Selection Components'
    summaries (`grants.selections.Chosen.summary`)."""
    from gridshare.grants.authorization import described_scopes

    described = described_scopes(catalogue, grant.scope, grant.authorization_details)
    return {
        "entity_name": settings.utility_name,
        "client_id": client.client_id,
        "client_name": client.client_name or client.client_id,
        "client_uri": _url_or_none(client.client_uri),
        "tos_uri": _url_or_none(client.tos_uri),
        "policy_uri": _url_or_none(client.policy_uri),
        "sandbox": client.status == "sandbox",
        "scope": grant.scope,
        "authorization_details": grant.authorization_details,
        "scopes": [{"id": s.id, "name": s.name, "description": s.description} for s in described],
        "not_before": _time(grant.not_before),
        "ends": _time(access_ends(grant)),
        "selections": selected,
        "purpose": purposes.shown(settings, catalogue, client, grant.authorization_details) or None,
        "support_url": settings.support,
    }


def approved_sections(
    settings: Settings, catalogue: Catalogue, receipt: Receipt
) -> list[RequestSection]:
    """What the receipt's Grant allowed, as the form's Request Sections (§9.4: the form's words):
    the snapshot's scopes and authorization details, durations told as of the approval day."""
    shot = receipt.snapshot
    day = receipt.created.astimezone(settings.tz).date()
    return request_sections(catalogue, settings, shot["scope"], shot["authorization_details"], day)


def notification(
    settings: Settings, catalogue: Catalogue, receipt: Receipt, url: str, to: str
) -> dict[str, Any]:
    """The receipt email's outbox payload (for `jobs.email`)."""
    shot = receipt.snapshot
    when = receipt.created.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M %Z")
    sections = approved_sections(settings, catalogue, receipt)
    scopes = "".join(_section_words(section) for section in sections[:10])
    if len(sections) > 10:
        scopes += f"  - and {len(sections) - 10} more (see the receipt)\n"
    if shot["changed_by_customer"]:
        scopes += f"{CHANGED_WORDS}\n"
    ends = shot["ends"]
    until = (
        datetime.fromisoformat(ends).astimezone(settings.tz).strftime("%Y-%m-%d %H:%M %Z")
        if ends
        else "until you revoke it"
    )
    chosen = _chosen_words(shot.get("selections", []))
    text = (
        f"{shot['entity_name']}\n\n"
        f"You authorized {shot['client_name']} to access your data.\n\n"
        f"Confirmation number: {receipt.confirmation}\n"
        f"Authorized on: {when}\n"
        f"App: {shot['client_name']}\n"
        f"Access you approved:\n{scopes}"
        f"{chosen}"
        f"Access ends: {until}\n\n"
        f"Your authorization receipt (you can revoke the access there at any time):\n{url}\n\n"
        f"Questions? Contact us at {shot['support_url']} and quote the confirmation number.\n"
    )
    return {
        "to": to,
        "subject": f"Your authorization receipt {receipt.confirmation} - {shot['entity_name']}",
        "text": text,
    }


def _section_words(section: RequestSection) -> str:
    """One Request Section for the email: its title, what it includes, its durations."""
    line = f"  - {section.title}"
    if section.includes:
        line += f": {', '.join(section.includes)}"
    return f"{line}\n" + (f"    {section.duration}\n" if section.duration else "")


def _chosen_words(selections: list[dict[str, Any]]) -> str:
    """The selected resources for the email, at most 10 per list (§9.4, RECOMMENDED)."""
    lines = []
    for picked in selections:
        what = NOUNS.get(picked["type"], ("item", "items"))[1]
        labels = picked["labels"]
        lines.append(f"For these {what}:")
        lines += [f"  - {text}" for text in labels[:10]]
        if len(labels) > 10:
            lines.append(f"  - and {len(labels) - 10} more (see the receipt)")
        if picked["include_future"]:
            lines.append(f"  - and {what} you add in the future")
    return "".join(line + "\n" for line in lines)


def _new_confirmation(session: Session) -> str:
    for _ in range(20):
        value = f"{secrets.randbelow(10**CONFIRMATION_DIGITS):0{CONFIRMATION_DIGITS}d}"
        if session.scalar(select(Receipt.key_hash).where(Receipt.confirmation == value)) is None:
            return value
    raise RuntimeError("could not find a free confirmation number")  # pragma: no cover


def _url_or_none(value: str | None) -> str | None:
    return value if value and is_url(value) else None


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else rfc3339(moment)
