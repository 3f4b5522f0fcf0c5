"""ESPI ApplicationInformation (NAESB REQ.21 ESPI, espi.xsd `ApplicationInformation`; DIGEST §2,
§5 FB_3 `GET ApplicationInformation/{id}`): a third party's registration as the Data Custodian
publishes it, read with the registration_access_token.

`ApplicationView` holds the values; `application_entry` writes the Atom entry with the elements in
the XSD sequence order. Times are epoch seconds (TimeType); `client_secret_expires_at` None is
written 0, "never expires" (RFC 7591 §3.2.1). `token_endpoint_auth_method` is always
`client_secret_basic` and `response_types` always `code` (the only values the XSD allows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from lxml import etree

from gridshare.config import Settings
from gridshare.espi import atom, hrefs

NAME: Final = "ApplicationInformation"
GRANT_TYPES: Final = frozenset({"authorization_code", "client_credentials", "refresh_token"})
REVIEW, PRODUCTION, ON_HOLD, REVOKED = 1, 2, 3, 4
"""dataCustodianApplicationStatus"""
_LIMITS: Final = {
    "data_custodian_id": 64,
    "third_party_application_description": 256,
    "third_party_phone": 32,
    "client_secret": 512,
    "client_name": 256,
    "client_id": 64,
    "software_id": 256,
    "software_version": 32,
}
"""Longest value of each text field (String64, String256, ... in espi.xsd)."""


@dataclass(frozen=True)
class ApplicationView:
    """One ApplicationInformation resource: field names follow the XSD elements."""

    application_id: str
    """The id in `ApplicationInformation/{id}`."""
    published: datetime
    updated: datetime
    data_custodian_id: str
    data_custodian_application_status: int
    """1 review, 2 production, 3 on hold, 4 revoked."""
    third_party_notify_uri: str
    authorization_endpoint: str
    token_endpoint: str
    bulk_request_uri: str
    resource_endpoint: str
    client_secret: str
    client_name: str
    redirect_uris: tuple[str, ...]
    client_id: str
    software_id: str
    software_version: str
    client_id_issued_at: datetime
    client_secret_expires_at: datetime | None
    """None: the secret never expires (written 0)."""
    scopes: tuple[str, ...]
    """Green Button scope strings (`FB=...;...`)."""
    grant_types: tuple[str, ...]
    registration_client_uri: str
    registration_access_token: str
    third_party_application_description: str | None = None
    third_party_application_status: int | None = None
    """1 development, 2 review/test, 3 production, 4 retired."""
    third_party_application_type: int | None = None
    """1 web, 2 desktop, 3 mobile, 4 device."""
    third_party_application_use: int | None = None
    """1 energy management, 2 comparisons, 3 government, 4 academic, 5 law enforcement."""
    third_party_phone: str | None = None
    authorization_server_uri: str | None = None
    registration_endpoint: str | None = None
    third_party_scope_selection_screen_uri: str | None = None
    third_party_user_portal_screen_uri: str | None = None
    logo_uri: str | None = None
    client_uri: str | None = None
    tos_uri: str | None = None
    policy_uri: str | None = None
    contacts: tuple[str, ...] = ()
    data_custodian_scope_selection_screen_uri: str | None = None

    def __post_init__(self) -> None:
        if self.data_custodian_application_status not in (REVIEW, PRODUCTION, ON_HOLD, REVOKED):
            raise ValueError("data_custodian_application_status must be 1, 2, 3 or 4")
        if self.third_party_application_status not in (None, 1, 2, 3, 4):
            raise ValueError("third_party_application_status must be 1, 2, 3 or 4 (or None)")
        if not self.redirect_uris:
            raise ValueError("an ApplicationInformation needs at least one redirect_uri")
        if not self.scopes:
            raise ValueError("an ApplicationInformation needs at least one scope")
        unknown = sorted(set(self.grant_types) - GRANT_TYPES)
        if unknown or len(set(self.grant_types)) < 2:
            raise ValueError(
                f"grant_types must be at least two of {sorted(GRANT_TYPES)}, "
                f"not {list(self.grant_types)}"
            )
        for name, limit in _LIMITS.items():
            value = getattr(self, name)
            if value is not None and len(value) > limit:
                raise ValueError(f"{name} is longer than {limit} characters")
        long_scopes = [s for s in self.scopes if len(s) > 256]
        if long_scopes:
            raise ValueError(f"scope {long_scopes[0][:40]}... is longer than 256 characters")


def application_entry(settings: Settings, view: ApplicationView) -> atom.Entry:
    """The entry of `ApplicationInformation/{id}`: self and up links, the content element."""
    return atom.Entry(
        atom_id=hrefs.atom_id(settings, f"{NAME}/{view.application_id}"),
        title=NAME,
        links=(
            atom.Link(
                "self",
                hrefs.resource(settings, NAME, view.application_id),
                atom.ENTRY_TYPE.format(NAME),
            ),
            atom.Link("up", hrefs.resource(settings, NAME), atom.FEED_TYPE.format(NAME)),
        ),
        content=application_element(view),
        published=view.published,
        updated=view.updated,
    )


def application_element(view: ApplicationView) -> etree._Element:
    """`espi:ApplicationInformation`, elements in the XSD sequence order."""
    element = etree.Element(atom.espi(NAME))
    expires = view.client_secret_expires_at
    ordered: list[tuple[str, str | int | None]] = [
        ("dataCustodianId", view.data_custodian_id),
        ("dataCustodianApplicationStatus", view.data_custodian_application_status),
        ("thirdPartyApplicationDescription", view.third_party_application_description),
        ("thirdPartyApplicationStatus", view.third_party_application_status),
        ("thirdPartyApplicationType", view.third_party_application_type),
        ("thirdPartyApplicationUse", view.third_party_application_use),
        ("thirdPartyPhone", view.third_party_phone),
        ("authorizationServerUri", view.authorization_server_uri),
        ("thirdPartyNotifyUri", view.third_party_notify_uri),
        ("authorizationServerAuthorizationEndpoint", view.authorization_endpoint),
        ("authorizationServerRegistrationEndpoint", view.registration_endpoint),
        ("authorizationServerTokenEndpoint", view.token_endpoint),
        ("dataCustodianBulkRequestURI", view.bulk_request_uri),
        ("dataCustodianResourceEndpoint", view.resource_endpoint),
        ("thirdPartyScopeSelectionScreenURI", view.third_party_scope_selection_screen_uri),
        ("thirdPartyUserPortalScreenURI", view.third_party_user_portal_screen_uri),
        ("client_secret", view.client_secret),
        ("logo_uri", view.logo_uri),
        ("client_name", view.client_name),
        ("client_uri", view.client_uri),
        *(("redirect_uri", uri) for uri in view.redirect_uris),
        ("client_id", view.client_id),
        ("tos_uri", view.tos_uri),
        ("policy_uri", view.policy_uri),
        ("software_id", view.software_id),
        ("software_version", view.software_version),
        ("client_id_issued_at", int(view.client_id_issued_at.timestamp())),
        ("client_secret_expires_at", 0 if expires is None else int(expires.timestamp())),
        *(("contacts", contact) for contact in view.contacts),
        ("token_endpoint_auth_method", "client_secret_basic"),
        *(("scope", scope) for scope in view.scopes),
        *(("grant_types", grant_type) for grant_type in view.grant_types),
        ("response_types", "code"),
        ("registration_client_uri", view.registration_client_uri),
        ("registration_access_token", view.registration_access_token),
        ("dataCustodianScopeSelectionScreenURI", view.data_custodian_scope_selection_screen_uri),
    ]
    for tag, value in ordered:
        if value is not None:
            etree.SubElement(element, atom.espi(tag)).text = str(value)
    return element
