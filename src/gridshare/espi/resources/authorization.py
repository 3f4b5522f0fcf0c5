"""ESPI Authorization (NAESB REQ.21 ESPI, espi.xsd `Authorization`; DIGEST §2, §5 FB_3
`GET Authorization[/{id}]`): one authorization of a third party as the Data Custodian publishes it,
read with the client_access_token.

`AuthorizationView` holds the values; `authorization_entry` writes the Atom entry (self
`{ESPI}/Authorization/{id}`, up `{ESPI}/Authorization`) with the elements in the XSD sequence
order. `expires_at` and the periods' `start` are epoch seconds (TimeType; DIGEST §9), a period's
`duration` is seconds. espi.xsd requires both `duration` and `start` in a DateTimeInterval, so an
open-ended period cannot be written: leave it None. `token_type` is always `Bearer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from lxml import etree

from gridshare.config import Settings
from gridshare.espi import atom, hrefs

NAME: Final = "Authorization"
REVOKED, ACTIVE, DENIED = 0, 1, 2
"""AuthorizationStatus"""
GRANT_TYPES: Final = frozenset({"authorization_code", "client_credentials", "refresh_token"})
ERRORS: Final = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "invalid_redirect_uri",
        "invalid_client_metadata",
        "invalid_client_id",
        "access_denied",
        "unsupported_response_type",
        "server_error",
        "temporarily_unavailable",
    }
)
"""OAuthError (RFC 6749 and RFC 7591 codes)."""
UINT32: Final = 2**32 - 1
"""The longest `duration` (UInt32 seconds, about 136 years)."""


@dataclass(frozen=True)
class Period:
    """A DateTimeInterval: from `start` until `end`."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class AuthorizationView:
    """One Authorization resource: field names follow the XSD elements."""

    authorization_id: str
    """The id in `Authorization/{id}`."""
    published: datetime
    updated: datetime
    status: int
    """0 revoked, 1 active, 2 denied."""
    expires_at: datetime
    scope: str
    """The Green Button scope string (`FB=...;...`)."""
    resource_uri: str
    authorization_uri: str
    authorized_period: Period | None = None
    published_period: Period | None = None
    grant_type: str | None = None
    customer_resource_uri: str | None = None
    error: str | None = None
    error_description: str | None = None
    error_uri: str | None = None

    def __post_init__(self) -> None:
        if self.status not in (REVOKED, ACTIVE, DENIED):
            raise ValueError("status must be 0 (revoked), 1 (active) or 2 (denied)")
        if self.grant_type is not None and self.grant_type not in GRANT_TYPES:
            raise ValueError(f"grant_type must be one of {sorted(GRANT_TYPES)}")
        if self.error is not None and self.error not in ERRORS:
            raise ValueError(f"error must be one of {sorted(ERRORS)}")
        for name in ("scope", "error_description"):
            value = getattr(self, name)
            if value is not None and len(value) > 256:
                raise ValueError(f"{name} is longer than 256 characters")


def authorization_entry(settings: Settings, view: AuthorizationView) -> atom.Entry:
    """The entry of `Authorization/{id}`."""
    return atom.Entry(
        atom_id=hrefs.atom_id(settings, f"{NAME}/{view.authorization_id}"),
        title=NAME,
        links=(
            atom.Link(
                "self",
                hrefs.resource(settings, NAME, view.authorization_id),
                atom.ENTRY_TYPE.format(NAME),
            ),
            atom.Link("up", hrefs.resource(settings, NAME), atom.FEED_TYPE.format(NAME)),
        ),
        content=authorization_element(view),
        published=view.published,
        updated=view.updated,
    )


def authorization_element(view: AuthorizationView) -> etree._Element:
    """`espi:Authorization`, elements in the XSD sequence order."""
    element = etree.Element(atom.espi(NAME))
    for tag, period in (
        ("authorizedPeriod", view.authorized_period),
        ("publishedPeriod", view.published_period),
    ):
        if period is not None:
            element.append(interval_element(tag, period))
    ordered: list[tuple[str, str | int | None]] = [
        ("status", view.status),
        ("expires_at", int(view.expires_at.timestamp())),
        ("grant_type", view.grant_type),
        ("scope", view.scope),
        ("token_type", "Bearer"),
        ("error", view.error),
        ("error_description", view.error_description),
        ("error_uri", view.error_uri),
        ("resourceURI", view.resource_uri),
        ("authorizationURI", view.authorization_uri),
        ("customerResourceURI", view.customer_resource_uri),
    ]
    for tag, value in ordered:
        if value is not None:
            etree.SubElement(element, atom.espi(tag)).text = str(value)
    return element


def interval_element(tag: str, period: Period) -> etree._Element:
    """An espi DateTimeInterval (`duration` then `start`, the XSD order)."""
    element = etree.Element(atom.espi(tag))
    start = int(period.start.timestamp())
    duration = int(period.end.timestamp()) - start
    if not 0 <= duration <= UINT32:
        raise ValueError(
            f"{tag} must end after it starts and last at most {UINT32} seconds "
            "(leave an open-ended period out)"
        )
    etree.SubElement(element, atom.espi("duration")).text = str(duration)
    etree.SubElement(element, atom.espi("start")).text = str(start)
    return element
