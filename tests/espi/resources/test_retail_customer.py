"""Retail customer content (customer.xsd): each element, with every optional part and with none,
validates in an entry; the mapping rules (kinds, enrollment, dates, addresses) hold; hrefs, link
types and Atom ids follow the FB_50 nesting."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from gridshare.config import Settings
from gridshare.espi import atom
from gridshare.espi.resources.retail_customer import (
    account_element,
    address_lines,
    agreement_element,
    customer_element,
    customer_kind,
    location_element,
    meter_element,
    retail_entry,
    supplier_element,
    supplier_kind,
)
from gridshare.store.tables.accounts import Account, AccountContact
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.meters import MeterDevice
from gridshare.store.tables.programs import Entity, Participation, Program
from gridshare.store.tables.servicepoints import ServicePoint
from tests.espi.xml_checks import schema_errors

SETTINGS = Settings(base_url="https://dc.example")
TZ = ZoneInfo("America/Los_Angeles")
WHEN = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
STAMPS = {"created": WHEN, "modified": WHEN, "synced": WHEN}
ADDRESS = "606 Pine St\nDavis, CA 95618"

CUSTOMER = Customer(
    id="cust_1",
    name="Alex Rivera",
    username="alex",
    password_hash="-",
    email="alex@example.com",
    phone="+15305550181",
    **STAMPS,
)
ACCOUNT = Account(
    id="acct_1",
    customer_id="cust_1",
    account_number="4100000067-3",
    name="Alex Rivera",
    address=ADDRESS,
    types=["customer", "residential"],
    status="active",
    **STAMPS,
)
CONTACTS = [
    AccountContact(id="c1", account_id="acct_1", types=["email"], value="a@example.com"),
    AccountContact(id="c2", account_id="acct_1", types=["phone_number"], value="+15305550181"),
    AccountContact(id="c3", account_id="acct_1", types=["email"], value="b@example.com"),
    AccountContact(id="c4", account_id="acct_1", types=["email"], value="c@example.com"),
]
CONTRACT = ServiceContract(
    id="sc_1",
    account_id="acct_1",
    contract_number="SA-1",
    types=["utility_service"],
    status="active",
    start=date(2024, 11, 24),
    end=date(2025, 11, 24),
    service_types=["electric"],
    **STAMPS,
)
PROGRAM = Program(
    id="prog_1",
    program_number="DGE-PDR",
    level="service",
    kinds=["demand_response"],
    name="Peak Day Rewards",
    description="Bill credits.",
    documentation="https://dc.example/docs/programs#peak-day-rewards",
    **STAMPS,
)
ACTIVE = Participation(
    id="p1", program_id="prog_1", contract_id="sc_1", status="active", start=date(2024, 12, 1)
)
ENDED = Participation(
    id="p2",
    program_id="prog_1",
    contract_id="sc_1",
    status="inactive",
    start=date(2020, 9, 7),
    end=date(2024, 12, 12),
)
POINT = ServicePoint(
    id="sp_1",
    servicepoint_number="SP1",
    types=["electric"],
    address=ADDRESS,
    postal_code="95618",
    latitude=Decimal("38.545097"),
    longitude=Decimal("-121.760363"),
    **STAMPS,
)
METER = MeterDevice(id="mtr_1", meter_number="E1", types=["electric_usage", "ami_meter"], **STAMPS)
UTILITY = Entity(
    id="ent_1",
    types=["distributor", "supplier", "iou"],
    entity_number="US-CA-IOU-DG&E",
    name="Demo Gas & Electric",
    **STAMPS,
)
PATH = ("Customer", "cust_1", "CustomerAccount", "acct_1", "CustomerAgreement", "sc_1")


def _valid(content: etree._Element) -> etree._Element:
    """`content` in an entry that validates; returns the parsed content element."""
    entry = retail_entry(SETTINGS, "g1", PATH, content, WHEN, WHEN, ["ServiceLocation"])
    document = atom.entry_document(entry)
    assert schema_errors(document) == []
    parsed = etree.XML(document).find(f"{{{atom.ATOM}}}content")
    assert parsed is not None
    return parsed[0]


def _names(element: etree._Element) -> list[str]:
    return [etree.QName(child).localname for child in element]


def test_a_customer_with_details_and_without() -> None:
    full = _valid(customer_element(CUSTOMER, ["residential", "customer"], True))
    assert _names(full) == ["Organisation", "kind", "customerName"]
    assert full.findtext(atom.cust("customerName")) == "Alex Rivera"
    assert full.findtext(f".//{atom.cust('ituPhone')}") == "+15305550181"
    assert full.findtext(f".//{atom.cust('email1')}") == "alex@example.com"
    assert _names(_valid(customer_element(CUSTOMER, ["residential"], False))) == []


def test_an_account_with_numbers_and_details_and_without() -> None:
    full = _valid(account_element(ACCOUNT, CONTACTS, numbers=True, details=True))
    assert _names(full) == [
        "createdDateTime",
        "lastModifiedDateTime",
        "status",
        "contactInfo",
        "accountId",
    ]
    assert full.findtext(atom.cust("accountId")) == "4100000067-3"
    contact = full.find(atom.cust("contactInfo"))
    assert contact is not None
    assert _names(contact) == ["streetAddress", "phone1", "electronicAddress", "organisationName"]
    emails = contact.find(atom.cust("electronicAddress"))
    assert emails is not None
    assert [e.text for e in emails] == ["a@example.com", "b@example.com"]  # two fit
    bare = _valid(account_element(ACCOUNT, CONTACTS, numbers=False, details=False))
    assert _names(bare) == ["createdDateTime", "lastModifiedDateTime"]
    assert bare.findtext(atom.cust("createdDateTime")) == str(int(WHEN.timestamp()))


def test_an_agreement_with_demand_response_programs() -> None:
    programs = [(ACTIVE, PROGRAM), (ENDED, PROGRAM)]
    full = _valid(agreement_element(CONTRACT, TZ, True, True, "USD", programs))
    assert _names(full) == [
        "createdDateTime",
        "lastModifiedDateTime",
        "status",
        "validityInterval",
        "DemandResponseProgram",
        "DemandResponseProgram",
        "currency",
        "agreementId",
    ]
    validity = full.find(atom.cust("validityInterval"))
    assert validity is not None
    start = int(datetime(2024, 11, 24, tzinfo=TZ).timestamp())
    end = int(datetime(2025, 11, 24, tzinfo=TZ).timestamp())
    assert [(c.tag, c.text) for c in validity] == [
        (atom.cust("duration"), str(end - start)),
        (atom.cust("start"), str(start)),
    ]
    active, ended = full.findall(atom.cust("DemandResponseProgram"))
    assert active.findtext(atom.cust("enrollmentStatus")) == "enrolled"
    assert ended.findtext(atom.cust("enrollmentStatus")) == "unenrolled"
    dates = ended.findall(atom.cust("programDate"))
    assert [d.findtext(atom.cust("programDateDescription")) for d in dates] == [
        "CUST_DR_PROGRAM_ENROLLMENT_DATE",
        "CUST_DR_PROGRAM_DE_ENROLLMENT_DATE",
    ]
    assert full.findtext(atom.cust("currency")) == "840"
    bare = _valid(agreement_element(CONTRACT, TZ, False, False, "XXX", []))
    assert _names(bare) == ["createdDateTime", "lastModifiedDateTime", "status"]


def test_a_service_location_a_meter_and_a_supplier() -> None:
    usage_point = "https://dc.example/espi/1_1/resource/Subscription/g1/UsagePoint/sp_1"
    location = _valid(location_element(POINT, True, True, [usage_point]))
    assert _names(location) == ["mainAddress", "positionPoints", "UsagePoints"]
    assert [
        e.text for e in location.iter(atom.cust("addressGeneral"), atom.cust("addressGeneral2"))
    ] == [
        "606 Pine St",
        "Davis, CA 95618",
    ]
    assert location.findtext(f".//{atom.cust('xPosition')}") == "-121.760363"
    assert location.findtext(f".//{atom.cust('UsagePoint')}") == usage_point
    assert _names(_valid(location_element(POINT, False, False, []))) == []
    meter = _valid(meter_element(METER, True, 900))
    assert _names(meter) == ["type", "serialNumber", "intervalLength"]
    assert _names(_valid(meter_element(METER, False, None))) == ["type"]
    supplier = _valid(supplier_element(UTILITY))
    assert _names(supplier) == ["Organisation", "kind", "issuerIdentificationNumber"]
    assert supplier.findtext(atom.cust("kind")) == "utility"


def test_links_types_and_ids_follow_the_nesting() -> None:
    content = agreement_element(CONTRACT, TZ, False, False, None, [])
    entry = retail_entry(
        SETTINGS, "g1", PATH, content, WHEN, WHEN, ["ServiceLocation", "ServiceSupplier"]
    )
    base = "https://dc.example/espi/1_1/resource/RetailCustomer/g1/Customer/cust_1/CustomerAccount/acct_1"
    assert [(link.rel, link.href, link.type) for link in entry.links] == [
        ("self", f"{base}/CustomerAgreement/sc_1", "cust-entry/CustomerAgreement"),
        ("up", f"{base}/CustomerAgreement", "cust-feed/CustomerAgreement"),
        ("related", f"{base}/CustomerAgreement/sc_1/ServiceLocation", "cust-feed/ServiceLocation"),
        ("related", f"{base}/CustomerAgreement/sc_1/ServiceSupplier", "cust-feed/ServiceSupplier"),
    ]
    assert entry.title == "CustomerAgreement"
    other_grant = retail_entry(SETTINGS, "g2", PATH, content, WHEN, WHEN, [])
    assert other_grant.atom_id == entry.atom_id  # the resource's id, whichever authorization


@pytest.mark.parametrize(
    ("types", "kind"),
    [
        (["customer", "residential"], "residential"),
        (["commercial", "parent"], "commercialIndustrial"),
        (["residential", "industrial"], "residentialAndCommercial"),
        (["customer"], "other"),
        ([], None),
    ],
)
def test_customer_kind(types: list[str], kind: str | None) -> None:
    assert customer_kind(types) == kind


@pytest.mark.parametrize(
    ("types", "kind"),
    [
        (["distributor", "supplier", "iou"], "utility"),
        (["supplier", "cca"], "lse"),
        (["supplier"], "retailer"),
        (["generator"], "other"),
    ],
)
def test_supplier_kind(types: list[str], kind: str) -> None:
    assert supplier_kind(types) == kind


def test_address_lines_keep_all_the_text_in_three_string256_lines() -> None:
    assert address_lines("1 A St\n\n Town, CA 95618 ") == ["1 A St", "Town, CA 95618"]
    assert address_lines("a\nb\nc\nd") == ["a", "b", "c, d"]
    long = "x" * 300 + "\n" + "y" * 100
    lines = address_lines(long)
    assert [len(line) for line in lines] == [256, 146] and "".join(lines) == long.replace(
        "\n", ", "
    )
    with pytest.raises(ValueError, match="does not fit"):
        address_lines("z" * 800)
