"""The worker's handlers (gridshare.deliveries): the built-in kinds and every face's, so a
callback or announcement written to the outbox always finds its handler."""

from __future__ import annotations

from sqlalchemy import Engine

from gridshare.beckn.callbacks import CALLBACK_KIND
from gridshare.config import Settings
from gridshare.deliveries import handlers
from gridshare.utility.orders import EVENT_KIND


def test_every_kind_written_has_a_handler(settings: Settings, engine: Engine) -> None:
    assert set(handlers(settings, engine)) == {"http_post", "email", CALLBACK_KIND, EVENT_KIND}
