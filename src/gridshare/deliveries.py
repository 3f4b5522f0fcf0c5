"""The outbox handlers of every face, for the worker (a composition root, like `app.py`: the
jobs layer cannot import the faces whose messages it delivers)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Engine

from gridshare.beckn import callbacks
from gridshare.config import Settings
from gridshare.jobs.delivery import Handler
from gridshare.jobs.email import default_handlers


def handlers(settings: Settings, engine: Engine) -> Mapping[str, Handler]:
    """`http_post` and `email`, and the Beckn callbacks and order announcements."""
    return {**default_handlers(settings, engine), **callbacks.handlers(settings, engine)}
