"""ESPI retail customer resources (NAESB REQ.21 ESPI customer.xsd `Customer`, `CustomerAccount`,
`CustomerAgreement` with `DemandResponseProgram`, `ServiceLocation`, `Meter`, `ServiceSupplier`;
DIGEST §2, §3, §5 FB_46/FB_50): our records as the content of Atom entries, elements in the XSD
sequence order, under hrefs nested as API_TABLE FB_50 lists them:
`{ESPI}/RetailCustomer/{rcid}/Customer/{id}/CustomerAccount/{id}/CustomerAgreement/{id}/
ServiceLocation/{id}/Meter/{id}` (and `.../CustomerAgreement/{id}/ServiceSupplier/{id}`).

What each element is made of (the caller, `espi.retail`, decides which parts the Access allows):

- Customer: a Customer (`customerName`, `kind` from its Accounts' types, `Organisation` phone as
  E.164 `ituPhone` and email).
- CustomerAccount: an Account (`accountId` = account number; `status`; `contactInfo` = the
  Account's name, address, phone and email contacts; Document created/modified times).
- CustomerAgreement: a Service Contract (`agreementId` = contract number; `status`;
  `validityInterval` = the contract's start and end at local midnight; `currency` ISO 4217 numeric
  of its rate plan; one `DemandResponseProgram` per participation in a demand-response program:
  name, `enrolled` for an active participation else `unenrolled`, the program's documentation URI,
  enrollment and de-enrollment dates).
- ServiceLocation: a Service Point (`mainAddress`, `positionPoints` longitude/latitude, and the
  `UsagePoints` URIs of the Subscription's UsagePoint for the point, so a third party can join
  locations to usage, as the GBA usagepoint-location guide describes).
- Meter: a Meter Device (`serialNumber` = meter number, `type` = its types, `intervalLength` = its
  shortest interval channel).
- ServiceSupplier: an Entity the contract names as distributor or supplier (`kind`,
  `issuerIdentificationNumber` = entity number, `organisationName`).

Stored addresses are free text: each line becomes `addressGeneral`, `addressGeneral2`,
`addressGeneral3` (String256 each), never parsed into town or state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Final
from zoneinfo import ZoneInfo

from lxml import etree

from gridshare.config import Settings
from gridshare.espi import atom, hrefs
from gridshare.espi.resources import reading_type
from gridshare.store.tables.accounts import Account, AccountContact
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.meters import MeterDevice
from gridshare.store.tables.programs import Entity, Participation, Program
from gridshare.store.tables.servicepoints import ServicePoint

RETAIL_CUSTOMER: Final = "RetailCustomer"
CUSTOMER: Final = "Customer"
ACCOUNT: Final = "CustomerAccount"
AGREEMENT: Final = "CustomerAgreement"
LOCATION: Final = "ServiceLocation"
METER: Final = "Meter"
SUPPLIER: Final = "ServiceSupplier"
CHILDREN: Final[Mapping[str | None, tuple[str, ...]]] = {
    None: (CUSTOMER,),
    CUSTOMER: (ACCOUNT,),
    ACCOUNT: (AGREEMENT,),
    AGREEMENT: (LOCATION, SUPPLIER),
    LOCATION: (METER,),
    METER: (),
    SUPPLIER: (),
}
"""Each resource's child collections in the FB_50 paths (None: under `RetailCustomer/{id}`)."""
ENTRY_TYPE: Final = "cust-entry/{}"
FEED_TYPE: Final = "cust-feed/{}"
"""Link types of the customer namespace's resources, as in the GBA 2025 customer sample."""
ENROLLED: Final = "enrolled"
UNENROLLED: Final = "unenrolled"
ENROLLMENT_DATE: Final = "CUST_DR_PROGRAM_ENROLLMENT_DATE"
DE_ENROLLMENT_DATE: Final = "CUST_DR_PROGRAM_DE_ENROLLMENT_DATE"
TEXT_LIMIT: Final = 256
"""String256"""


def retail_entry(
    settings: Settings,
    retail_customer_id: str,
    path: Sequence[str],
    content: etree._Element,
    published: datetime,
    updated: datetime,
    related: Sequence[str],
) -> atom.Entry:
    """The entry of `RetailCustomer/{rcid}/{path}` (path: kind, id, kind, id, ...): self, up, and
    a `related` link to each child collection named in `related`. The Atom id is derived from
    `path`, so it is the same whichever authorization reads the resource."""
    kind = path[-2]
    base = (RETAIL_CUSTOMER, retail_customer_id)
    links = [
        atom.Link("self", hrefs.resource(settings, *base, *path), ENTRY_TYPE.format(kind)),
        atom.Link("up", hrefs.resource(settings, *base, *path[:-1]), FEED_TYPE.format(kind)),
    ]
    links += [
        atom.Link("related", hrefs.resource(settings, *base, *path, child), FEED_TYPE.format(child))
        for child in related
    ]
    return atom.Entry(
        atom_id=hrefs.atom_id(settings, "/".join(path)),
        title=kind,
        links=tuple(links),
        content=content,
        published=published,
        updated=updated,
    )


def customer_element(
    customer: Customer, account_types: Iterable[str], details: bool
) -> etree._Element:
    """`cust:Customer`: with `details`, its phone, email, kind and name; else empty."""
    element = etree.Element(atom.cust(CUSTOMER))
    if not details:
        return element
    organisation = organisation_element(
        "Organisation",
        phones=[customer.phone] if customer.phone else [],
        emails=[customer.email] if customer.email else [],
    )
    if len(organisation):
        element.append(organisation)
    _add(element, "kind", customer_kind(account_types))
    _add(element, "customerName", customer.name)
    return element


def customer_kind(account_types: Iterable[str]) -> str | None:
    """CustomerKind from the Customer's Account types (CDS-WG3-01 §10.1.2)."""
    types = set(account_types)
    residential = "residential" in types
    business = bool(types & {"commercial", "industrial"})
    if residential and business:
        return "residentialAndCommercial"
    if residential:
        return "residential"
    if business:
        return "commercialIndustrial"
    return "other" if types else None


def account_element(
    account: Account, contacts: Sequence[AccountContact], numbers: bool, details: bool
) -> etree._Element:
    """`cust:CustomerAccount`: Document times always; with `details` its status and contact
    information (name, address, phone and email contacts); with `numbers` the account number."""
    element = etree.Element(atom.cust(ACCOUNT))
    _document(element, account.created, account.modified, account.status if details else None)
    if details:
        element.append(
            organisation_element(
                "contactInfo",
                address=account.address,
                phones=[c.value for c in contacts if "phone_number" in c.types],
                emails=[c.value for c in contacts if "email" in c.types],
                name=account.name,
            )
        )
    if numbers:
        _add(element, "accountId", account.account_number)
    return element


def agreement_element(
    contract: ServiceContract,
    tz: ZoneInfo,
    numbers: bool,
    details: bool,
    currency: str | None,
    programs: Sequence[tuple[Participation, Program]],
) -> etree._Element:
    """`cust:CustomerAgreement`: Document times and status always; with `details` the validity
    interval; a DemandResponseProgram per entry of `programs`; the currency; with `numbers` the
    contract number."""
    element = etree.Element(atom.cust(AGREEMENT))
    _document(element, contract.created, contract.modified, contract.status)
    if details and contract.start is not None:
        element.append(_interval("validityInterval", contract.start, contract.end, tz))
    for participation, program in programs:
        element.append(demand_response_element(participation, program, tz))
    if currency is not None and currency in reading_type.CURRENCIES:
        _add(element, "currency", reading_type.CURRENCIES[currency])
    if numbers:
        _add(element, "agreementId", contract.contract_number)
    return element


def demand_response_element(
    participation: Participation, program: Program, tz: ZoneInfo
) -> etree._Element:
    """`cust:DemandResponseProgram` of one participation."""
    element = etree.Element(atom.cust("DemandResponseProgram"))
    _add(element, "programName", program.name)
    _add(element, "enrollmentStatus", ENROLLED if participation.status == "active" else UNENROLLED)
    _add(element, "programDescription", program.documentation)
    for day, kind in (
        (participation.start, ENROLLMENT_DATE),
        (participation.end, DE_ENROLLMENT_DATE),
    ):
        if day is not None:
            dated = etree.SubElement(element, atom.cust("programDate"))
            _add(dated, "programDate", _epoch(day, tz))
            _add(dated, "programDateDescription", kind)
    return element


def location_element(
    point: ServicePoint, address: bool, coordinates: bool, usage_points: Sequence[str]
) -> etree._Element:
    """`cust:ServiceLocation`: with `address` its address and postal code, with `coordinates` its
    position, and the UsagePoint URIs given."""
    element = etree.Element(atom.cust(LOCATION))
    if address and (point.address or point.postal_code):
        element.append(street_address_element("mainAddress", point.address, point.postal_code))
    if coordinates and point.latitude is not None and point.longitude is not None:
        position = etree.SubElement(element, atom.cust("positionPoints"))
        _add(position, "xPosition", point.longitude)
        _add(position, "yPosition", point.latitude)
    if usage_points:
        listed = etree.SubElement(element, atom.cust("UsagePoints"))
        for uri in usage_points:
            _add(listed, "UsagePoint", uri)
    return element


def meter_element(
    meter: MeterDevice, numbers: bool, interval_seconds: int | None
) -> etree._Element:
    """`cust:Meter`: its types, with `numbers` its meter number, its shortest interval."""
    element = etree.Element(atom.cust(METER))
    if meter.types:
        _add(element, "type", " ".join(meter.types))
    if numbers:
        _add(element, "serialNumber", meter.meter_number)
    _add(element, "intervalLength", interval_seconds)
    return element


def supplier_element(entity: Entity) -> etree._Element:
    """`cust:ServiceSupplier` of a distributor or supplier Entity."""
    element = etree.Element(atom.cust(SUPPLIER))
    element.append(organisation_element("Organisation", name=entity.name))
    _add(element, "kind", supplier_kind(entity.types))
    _add(element, "issuerIdentificationNumber", entity.entity_number)
    return element


def supplier_kind(types: Sequence[str]) -> str:
    """SupplierKind from the Entity types (CDS-WG3-01 §10.1.4): a distributor or investor-owned
    utility is `utility`, a community choice aggregator a load-serving entity (`lse`), another
    supplier a `retailer`."""
    if {"distributor", "iou"} & set(types):
        return "utility"
    if "cca" in types:
        return "lse"
    return "retailer" if "supplier" in types else "other"


def organisation_element(
    tag: str,
    address: str | None = None,
    phones: Sequence[str] = (),
    emails: Sequence[str] = (),
    name: str | None = None,
) -> etree._Element:
    """A customer.xsd Organisation (streetAddress, phone1, phone2, electronicAddress,
    organisationName): at most two phones and two emails fit."""
    element = etree.Element(atom.cust(tag))
    if address:
        element.append(street_address_element("streetAddress", address, None))
    for index, phone in enumerate(phones[:2], start=1):
        telephone = etree.SubElement(element, atom.cust(f"phone{index}"))
        _add(telephone, "ituPhone", phone)
    if emails:
        electronic = etree.SubElement(element, atom.cust("electronicAddress"))
        for index, email in enumerate(emails[:2], start=1):
            _add(electronic, f"email{index}", email)
    _add(element, "organisationName", name)
    return element


def street_address_element(tag: str, text: str | None, postal_code: str | None) -> etree._Element:
    """A StreetAddress holding free-text address lines (module docstring) and the postal code."""
    element = etree.Element(atom.cust(tag))
    lines = address_lines(text or "")
    if lines:
        detail = etree.SubElement(element, atom.cust("streetDetail"))
        names = ("addressGeneral", "addressGeneral2", "addressGeneral3")[: len(lines)]
        for name, line in zip(names, lines, strict=True):
            _add(detail, name, line)
    _add(element, "postalCode", postal_code)
    return element


def address_lines(text: str) -> list[str]:
    """At most three String256 lines holding all of `text`: its lines, the fourth and later ones
    joined to the third; text too long for that is cut into 256-character pieces."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 3:
        lines = [*lines[:2], ", ".join(lines[2:])]
    if any(len(line) > TEXT_LIMIT for line in lines):
        whole = ", ".join(lines)
        lines = [whole[i : i + TEXT_LIMIT] for i in range(0, len(whole), TEXT_LIMIT)]
    if len(lines) > 3:
        raise ValueError(f"an address longer than {3 * TEXT_LIMIT} characters does not fit")
    return lines


def _document(
    element: etree._Element, created: datetime, modified: datetime, status: str | None
) -> None:
    """The Document fields we hold: createdDateTime, lastModifiedDateTime, status."""
    _add(element, "createdDateTime", int(created.timestamp()))
    _add(element, "lastModifiedDateTime", int(modified.timestamp()))
    if status is not None:
        held = etree.SubElement(element, atom.cust("status"))
        _add(held, "value", status)


def _interval(tag: str, start: date, end: date | None, tz: ZoneInfo) -> etree._Element:
    """A customer.xsd DateTimeInterval of local dates (`end` exclusive; open when None)."""
    element = etree.Element(atom.cust(tag))
    begin = _epoch(start, tz)
    if end is not None:
        _add(element, "duration", _epoch(end, tz) - begin)
    _add(element, "start", begin)
    return element


def _epoch(day: date, tz: ZoneInfo) -> int:
    """Local midnight of `day` as epoch seconds (TimeType)."""
    return int(datetime.combine(day, time(), tz).timestamp())


def _add(parent: etree._Element, tag: str, value: object) -> None:
    if value is not None:
        etree.SubElement(parent, atom.cust(tag)).text = str(value)
