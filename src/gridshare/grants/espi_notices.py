"""Green Button notifications (NAESB REQ.21 ESPI FB 39 "PUSH model"; DIGEST §8).

The Data Custodian tells a third party that something is ready by POSTing a BatchList (the URIs to
GET) to its registered notification URI. Like every side effect it leaves through the outbox
(DESIGN rule 5): the row is written with the change that causes it, and the worker delivers it
with retries. Causes: an asynchronous Batch request was accepted (202), new data for its
Subscriptions (`gridshare greenbutton notify`), and an authorization that ended (its Authorization
URI, as OpenESPI does).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Final
from urllib.parse import urlencode

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.config import Settings
from gridshare.grants.access import access_for
from gridshare.grants.espi_clients import third_party
from gridshare.grants.scopes import Catalogue
from gridshare.grants.tokens import grant_gives_access
from gridshare.jobs import outbox
from gridshare.store.tables.clients import Client
from gridshare.store.tables.grants import Grant, Token
from gridshare.store.tables.usage import Channel, UsageBlock
from gridshare.timefmt import rfc3339

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


def new_data(
    session: Session, settings: Settings, catalogue: Catalogue, since: datetime, until: datetime
) -> int:
    """Queue one BatchList per third party naming each of its Subscriptions whose readable usage
    changed in [since, until): `Batch/Subscription/{id}?published-min=...&published-max=...`
    (the window, as OpenESPI sends it). Returns how many BatchLists were queued; running it again
    for the same window queues nothing new."""
    changed_meters = set(
        session.scalars(
            select(Channel.meter_id)
            .join(UsageBlock, UsageBlock.channel_id == Channel.id)
            .where(UsageBlock.modified >= since, UsageBlock.modified < until)
            .distinct()
        )
    )
    if not changed_meters:
        return 0
    window = urlencode({"published-min": rfc3339(since), "published-max": rfc3339(until)})
    by_client: dict[str, list[str]] = defaultdict(list)
    grants = session.scalars(
        select(Grant).where(Grant.espi_scope.is_not(None)).order_by(Grant.grant_id)
    ).all()
    for grant in grants:
        if not grant_gives_access(grant, until):
            continue
        probe = Token(
            client_id=grant.client_id, scope=grant.enabled_scope, grant_ids=[grant.grant_id]
        )
        usage = access_for(session, catalogue, probe, settings.tz).usage
        if usage is not None and changed_meters & set(usage.meters):
            uri = settings.url(f"{urls.ESPI}/Batch/Subscription/{grant.grant_id}")
            by_client[grant.client_id].append(f"{uri}?{window}")
    queued = 0
    for client_id, resources in by_client.items():
        client = session.get_one(Client, client_id)
        queued += notify(session, client, resources, f"data:{client_id}:{rfc3339(until)}")
    return queued
