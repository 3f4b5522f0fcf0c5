"""What every Beckn endpoint of ours checks first (BECKN-006 "Verifying the signature"): the
registry and catalog of this server, the sender's signatures, and the NACK that refuses a
request (`Refused`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Annotated, Any, Final

from fastapi import Depends, Request

from gridshare.beckn import catalog as catalogs
from gridshare.beckn.errors import BecknError
from gridshare.beckn.registry import Registry, RegistryError, registry_from
from gridshare.beckn.signing import Authenticated, SignatureError, authenticate
from gridshare.beckn.signing import public_key_from_b64 as public_key
from gridshare.config import Settings
from gridshare.store.db import utcnow

log = logging.getLogger(__name__)

REGISTRY_DOWN: Final = "31001"
"""Not a BECKN-005 code (it has none for this): we could not check the signature now."""


class Refused(Exception):
    """A request answered with a NACK and `status`."""

    def __init__(
        self, status: int, error: BecknError, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(error.message)
        self.status = status
        self.error = error
        self.headers = dict(headers or {})


def network(request: Request) -> tuple[Registry | None, str, catalogs.Catalog]:
    """The registry (None and why when it is not configured) and the catalog, made once."""
    state = request.app.state
    if not hasattr(state, "beckn_network"):
        settings: Settings = state.settings
        try:
            registry: Registry | None = registry_from(settings)
            problem = ""
        except RegistryError as error:
            registry, problem = None, str(error)
        state.beckn_network = (registry, problem, catalogs.load(settings))
    found: tuple[Registry | None, str, catalogs.Catalog] = state.beckn_network
    return found


NetworkDep = Annotated[tuple[Registry | None, str, catalogs.Catalog], Depends(network)]


def authenticated(
    headers: Mapping[str, str],
    body: bytes,
    registry: Registry | None,
    problem: str,
    settings: Settings,
) -> Authenticated:
    """The request's verified signatures; Refused (401, or 503 without a registry) if not."""
    if registry is None:
        raise Refused(
            503,
            BecknError(REGISTRY_DOWN, f"this BPP cannot check signatures yet: {problem}"),
        )

    def lookup(subscriber_id: str, unique_key_id: str | None) -> Any:
        entry = registry.lookup(subscriber_id, unique_key_id)
        return None if entry is None else public_key(entry.signing_public_key)

    try:
        return authenticate(headers, body, lookup, utcnow())
    except SignatureError as error:
        raise Refused(401, error, error.challenge(settings.subscriber_id)) from error
    except RegistryError as error:
        log.warning("beckn registry lookup failed: %s", error)
        raise Refused(
            503,
            BecknError(
                REGISTRY_DOWN,
                "the registry could not be reached to check the "
                "signature; send the request again later",
            ),
            {"Retry-After": "30"},
        ) from error
