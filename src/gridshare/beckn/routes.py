"""`GET /beckn/subscriber.json`: our subscriber id, BPP URL, domains and every public key valid
now (BECKN-006 keys, in the registry Subscription's terms), for networks without a registry
lookup and for BAPs checking our callbacks' signatures during a key's grace period."""

from __future__ import annotations

from typing import Final

import orjson
from fastapi import APIRouter, Response

from gridshare.beckn import keys
from gridshare.http import SessionDep, SettingsDep

SUBSCRIBER_PATH: Final = f"{keys.BPP_PATH}/subscriber.json"

router = APIRouter(tags=["Beckn"])


@router.get(SUBSCRIBER_PATH, summary="Our Beckn subscriber and public keys (BECKN-006)")
def subscriber(settings: SettingsDep, session: SessionDep) -> Response:
    keys.current_key(session, settings)  # the first request after install makes the key
    document = keys.subscriber_document(settings, keys.public_keys(session))
    session.commit()
    return Response(orjson.dumps(document), media_type="application/json")
