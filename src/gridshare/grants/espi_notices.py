"""Green Button notifications (NAESB REQ.21 ESPI FB 39 "PUSH model"; DIGEST §8).

The Data Custodian tells a third party that something is ready by POSTing a BatchList (the URIs to
GET) to its registered notification URI. Like every side effect it leaves through the outbox
(DESIGN rule 5): the row is written with the change that causes it, and the worker delivers it
with retries. Causes: an asynchronous Batch request was accepted (202), new data for its
Subscriptions (`gridshare greenbutton notify`), and an authorization that ended (its Authorization
URI, as OpenESPI does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from lxml import etree
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.config import Settings
from gridshare.grants.espi_clients import third_party
from gridshare.jobs import outbox
from gridshare.store.tables.clients import Client
from gridshare.store.tables.grants import Grant

ESPI_NS: Final = "http://naesb.org/espi"
CONTENT_TYPE: Final = "application/xml"


def batch_list(resources: Sequence[str]) -> str:
    """The `espi:BatchList` document naming `resources`."""
    root = etree.Element(f"{{{ESPI_NS}}}BatchList", nsmap={"espi": ESPI_NS})
    for uri in resources:
        etree.SubElement(root, f"{{{ESPI_NS}}}resources").text = uri
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()


def notify(session: Session, client: Client, resources: Sequence[str], key: str) -> bool:
    """Queue a BatchList for `client`'s notification URI in the caller's transaction; False (and
    nothing queued) when the client is not a Green Button third party."""
    party = third_party(client)
    if party is None or not resources:
        return False
    outbox.enqueue(
        session,
        "http_post",
        {
            "url": party.notify_uri,
            "text": batch_list(resources),
            "headers": {"Content-Type": CONTENT_TYPE},
        },
        idempotency_key=f"espi:{key}"[: outbox.KEY_MAX],
    )
    return True


def authorization_ended(session: Session, settings: Settings, grant: Grant) -> bool:
    """Tell the third party that a Green Button authorization ended (its Authorization URI)."""
    if grant.espi_scope is None:
        return False
    client = session.get_one(Client, grant.client_id)
    uri = settings.url(f"{urls.ESPI}/Authorization/{grant.grant_id}")
    return notify(session, client, [uri], f"ended:{grant.grant_id}")
