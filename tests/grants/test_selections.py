"""The authorization form's Selections over a small utility built here (CDS-WG3-01 §9.2.3,
§7.1 preselection, §7.4.2 merges, §7.4.3 error_if_no_preselections)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gridshare.config import Settings
from gridshare.grants.scopes import Catalogue, load_catalogue
from gridshare.grants.selections import (
    ACCOUNTS,
    AGGREGATIONS,
    CONTRACTS,
    METERS,
    SERVICE_POINTS,
    CustomerGraph,
    SelectionGroup,
    preselect,
    selection_groups,
)
from gridshare.store.db import session_factory
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.aggregations import Aggregation, AggregationMember
from gridshare.store.tables.contracts import ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.meters import MeterDevice, MeterInstallation
from gridshare.store.tables.servicepoints import (
    Premise,
    ServicePoint,
    ServicePointContract,
    ServicePointPremise,
)

TODAY = date(2026, 11, 22)
LONG_AGO = date(2020, 1, 1)


def _utility(session: Session) -> None:
    """Ann holds accounts A1 (electric C1 at P1 with meter M1; gas C2 at P2 with meter M2) and
    A2 (electric C3 at P3 with meter M3; M9 was removed from P3 last year). Bob holds B1.
    Group G1 (a building at 100 Oak Ave) groups C1 and C3 and Bob's contract."""
    for customer in ("ann", "bob"):
        session.add(Customer(id=customer, name=customer, username=customer, password_hash="x"))
    session.flush()
    for number, owner, address in (
        ("A1", "ann", "100 Oak Ave #1, Davis, CA 95616"),
        ("A2", "ann", "100 Oak Ave #2, Davis, CA 95616"),
        ("B1", "bob", "100 Oak Ave #3, Davis, CA 95616"),
    ):
        session.add(
            Account(
                id=number,
                customer_id=owner,
                account_number=number,
                name=f"{owner}'s {number}",
                address=address,
                types=["residential"],
                status="active",
            )
        )
    session.flush()
    services = (
        ("C1", "A1", "electric", "P1", "M1", "ami_meter"),
        ("C2", "A1", "natural_gas", "P2", "M2", "amr_meter"),
        ("C3", "A2", "electric", "P3", "M3", "ami_meter"),
        ("C4", "B1", "electric", "P4", "M4", "ami_meter"),
    )
    for contract, account, service, point, meter, meter_type in services:
        session.add(
            ServiceContract(
                id=contract,
                account_id=account,
                contract_number=f"{contract}-no",
                address=f"address of {contract}",
                types=["residential"],
                status="active",
                service_types=[service],
            )
        )
        session.add(
            ServicePoint(id=point, servicepoint_number=f"{point}-no", types=[f"{service}_point"])
        )
        session.add(MeterDevice(id=meter, meter_number=f"{meter}-no", types=[meter_type]))
    session.add(MeterDevice(id="M9", meter_number="M9-no", types=["ami_meter"]))
    session.add(Premise(id="PR1", premise_number="PR1-no", types=["building"]))
    session.add(
        Aggregation(
            id="G1",
            aggregation_number="G1-no",
            name="Oak Court",
            types=["building"],
            addresses=["100 Oak Ave, Davis, CA 95616"],
        )
    )
    session.add(Aggregation(id="G2", aggregation_number="G2-no", name="Elsewhere", types=["x"]))
    session.flush()
    for contract, _, _, point, meter, _ in services:
        session.add(
            ServicePointContract(service_point_id=point, contract_id=contract, start=LONG_AGO)
        )
        session.add(MeterInstallation(meter_id=meter, service_point_id=point, start=LONG_AGO))
    session.add(
        MeterInstallation(
            meter_id="M9", service_point_id="P3", start=LONG_AGO, end=date(2025, 1, 1)
        )
    )
    session.add(ServicePointPremise(service_point_id="P1", premise_id="PR1"))
    for contract in ("C1", "C3", "C4"):
        session.add(AggregationMember(aggregation_id="G1", contract_id=contract))
    session.commit()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as opened:
        _utility(opened)
        yield opened


@pytest.fixture
def catalogue(settings: Settings) -> Catalogue:
    return load_catalogue(settings)


def _ids(graph: CustomerGraph, selection_type: str, **requested: list[str]) -> set[str]:
    return set(preselect(graph.resources(selection_type), selection_type, requested).ids)


def test_each_selection_lists_only_the_customers_current_resources(session: Session) -> None:
    graph = CustomerGraph.load(session, "ann", TODAY)
    numbers = {kind: [r.number for r in graph.resources(kind)] for kind in (ACCOUNTS, CONTRACTS)}
    assert numbers == {ACCOUNTS: ["A1", "A2"], CONTRACTS: ["C1-no", "C2-no", "C3-no"]}
    assert [r.number for r in graph.resources(SERVICE_POINTS)] == ["P1-no", "P2-no", "P3-no"]
    assert [r.number for r in graph.resources(METERS)] == ["M1-no", "M2-no", "M3-no"]
    assert [r.number for r in graph.resources(AGGREGATIONS)] == ["G1-no"]
    contract = graph.resources(CONTRACTS)[0]
    assert (contract.account_number, contract.types) == ("A1", ("electric",))


@pytest.mark.req("WG3-7.1.1-b", "WG3-7.1.3-b", "WG3-7.1.4-a", "WG3-7.1.9-b")
def test_each_field_matches_through_current_relations(session: Session) -> None:
    graph = CustomerGraph.load(session, "ann", TODAY)
    assert _ids(graph, ACCOUNTS, account_numbers=["A2", "B1"]) == {"A2"}
    assert _ids(graph, CONTRACTS, account_numbers=["A1"]) == {"C1", "C2"}
    assert _ids(graph, ACCOUNTS, contract_numbers=["C3-no"]) == {"A2"}
    assert _ids(graph, ACCOUNTS, service_types=["natural_gas"]) == {"A1"}
    assert _ids(graph, CONTRACTS, service_types=["electric"]) == {"C1", "C3"}
    assert _ids(graph, ACCOUNTS, meter_numbers=["M3-no"]) == {"A2"}
    assert _ids(graph, ACCOUNTS, meter_numbers=["M9-no"]) == set(), "M9 was removed"
    assert _ids(graph, METERS, premise_numbers=["PR1-no"]) == {"M1"}
    assert _ids(graph, SERVICE_POINTS, meter_types=["amr_meter"]) == {"P2"}
    assert _ids(graph, CONTRACTS, aggregation_numbers=["G1-no"]) == {"C1", "C3"}
    assert _ids(graph, AGGREGATIONS, aggregation_numbers=["G1-no", "G2-no"]) == {"G1"}


@pytest.mark.req("WG3-7.1-b")
def test_several_fields_preselect_their_intersection(session: Session) -> None:
    graph = CustomerGraph.load(session, "ann", TODAY)
    both = _ids(graph, CONTRACTS, account_numbers=["A1"], service_types=["electric"])
    assert both == {"C1"}
    assert _ids(graph, CONTRACTS, account_numbers=["A2"], service_types=["natural_gas"]) == set()


@pytest.mark.req("WG3-7.1-d", "WG3-9.2.3-d")
def test_all_and_include_future(session: Session) -> None:
    graph = CustomerGraph.load(session, "ann", TODAY)
    accounts = graph.resources(ACCOUNTS)
    everything = preselect(accounts, ACCOUNTS, {"account_numbers": ["_all", "_include_future"]})
    assert everything.ids == {"A1", "A2"} and everything.include_future
    future_only = preselect(accounts, ACCOUNTS, {"account_numbers": ["_include_future"]})
    assert future_only.ids == set() and future_only.include_future
    meters = preselect(graph.resources(METERS), METERS, {"meter_numbers": ["_all"]})
    assert meters.ids == {"M1", "M2", "M3"} and not meters.include_future


def test_a_field_without_a_rule_for_the_selection_does_not_narrow_it(session: Session) -> None:
    graph = CustomerGraph.load(session, "ann", TODAY)
    unrelated = preselect(graph.resources(METERS), METERS, {"account_programs": ["LIHEAP"]})
    assert unrelated.ids == set() and not unrelated.asked


def test_addresses_match_by_normalized_address(session: Session) -> None:
    graph = CustomerGraph.load(session, "ann", TODAY)
    assert _ids(graph, ACCOUNTS, addresses=["100 oak avenue unit 2, davis, ca 95616"]) == {"A2"}
    assert _ids(graph, AGGREGATIONS, addresses=["100 Oak Avenue, Davis, CA 95616"]) == {"G1"}


def _groups(
    session: Session, catalogue: Catalogue, customer: str, details: list[dict[str, Any]]
) -> list[SelectionGroup]:
    scope = " ".join(dict.fromkeys(_scope_of(catalogue, d["type"]) for d in details))
    defaults = {
        "cds_accounts_1": ACCOUNTS,
        "cds_service_contracts_1": CONTRACTS,
        "cds_meters_1": METERS,
        "cds_aggregation_consent_1": AGGREGATIONS,
    }
    resolved = [
        {"authorization_form_selection_type": defaults[_scope_of(catalogue, d["type"])]} | d
        for d in details
    ]
    return selection_groups(session, catalogue, customer, scope, resolved, TODAY)


def _scope_of(catalogue: Catalogue, details_type: str) -> str:
    owner = catalogue.scope_for_type(details_type)
    assert owner is not None
    return owner.id


@pytest.mark.req("WG3-7.4.1-c", "WG3-7.4.2-d", "WG3-7.4.2-e")
def test_merged_scopes_share_one_selection(session: Session, catalogue: Catalogue) -> None:
    apart = _groups(
        session,
        catalogue,
        "ann",
        [
            {"type": "cds_accounts_1"},
            {"type": "cds_service_contracts_1"},
            {"type": "cds_meters_1"},
        ],
    )
    assert [(g.scope_ids, g.selection_type) for g in apart] == [
        (("cds_accounts_1",), ACCOUNTS),
        (("cds_service_contracts_1",), CONTRACTS),
        (("cds_meters_1",), METERS),
    ]
    merged = _groups(
        session,
        catalogue,
        "ann",
        [
            {"type": "cds_accounts_1", "merge_selection_with": "cds_service_contracts_1"},
            {
                "type": "cds_service_contracts_1",
                "authorization_form_selection_type": ACCOUNTS,
                "merge_selection_with": "cds_accounts_1",
            },
        ],
    )
    [group] = merged
    assert group.scope_ids == ("cds_accounts_1", "cds_service_contracts_1")
    assert [r.number for r in group.resources] == ["A1", "A2"]


@pytest.mark.req("WG3-9.2.3.5-a")
def test_aggregation_consent_is_a_fixed_list_with_the_customers_related_resources(
    session: Session, catalogue: Catalogue
) -> None:
    details = [{"type": "cds_aggregation_consent_1", "aggregation_numbers": ["G1-no", "G2-no"]}]
    [group] = _groups(session, catalogue, "ann", details)
    assert group.fixed and not group.future_option
    [oak] = group.resources
    assert oak.number == "G1-no"
    assert oak.related == ("service C1-no (address of C1)", "service C3-no (address of C3)")
    chosen = group.choose([], include_future=True)
    assert chosen.ids == ("G1",) and not chosen.include_future


@pytest.mark.req("WG3-7.4.3-b", "WG3-7.4.3-c")
def test_no_preselections_only_when_asked_for_and_nothing_matched(
    session: Session, catalogue: Catalogue
) -> None:
    def blocked(**entry: Any) -> bool:
        [group] = _groups(session, catalogue, "ann", [{"type": "cds_accounts_1", **entry}])
        return group.no_preselections

    assert blocked(account_numbers=["B1"], error_if_no_preselections=True)
    assert not blocked(account_numbers=["B1"], error_if_no_preselections=False)
    assert not blocked(account_numbers=["A1"], error_if_no_preselections=True)
    assert not blocked(account_numbers=["_include_future"], error_if_no_preselections=True)
    assert not blocked(error_if_no_preselections=True), "no preselection field: ignored"


def test_a_choice_keeps_only_listed_entries(session: Session, catalogue: Catalogue) -> None:
    [group] = _groups(session, catalogue, "ann", [{"type": "cds_accounts_1"}])
    chosen = group.choose(["A2", "B1", "nonsense"], include_future=True)
    assert chosen.record() == {
        "scopes": ["cds_accounts_1"],
        "type": ACCOUNTS,
        "ids": ["A2"],
        "include_future": True,
    }
    summary = chosen.summary()
    assert summary["labels"] == ["A2 — ann's A2 — 100 Oak Ave #2, Davis, CA 95616"]
    assert summary["all"] is False
    assert group.choose([], include_future=False).empty


@pytest.mark.req("WG3-9.2.3-a")
def test_the_catalogues_selection_choices_are_the_five_selections(catalogue: Catalogue) -> None:
    offered = set()
    for described in catalogue.scopes.values():
        field = described.field("authorization_form_selection_type")
        if field is not None:
            offered |= field.choice_ids
    assert offered == {ACCOUNTS, CONTRACTS, SERVICE_POINTS, METERS, AGGREGATIONS}


@pytest.mark.req("WG3-7.1.6-b")
def test_servicepoint_numbers_preselect_through_current_service_points(session: Session) -> None:
    graph = CustomerGraph.load(session, "ann", TODAY)
    assert _ids(graph, ACCOUNTS, servicepoint_numbers=["P3-no"]) == {"A2"}
    assert _ids(graph, CONTRACTS, servicepoint_numbers=["P1-no", "P2-no"]) == {"C1", "C2"}
    assert _ids(graph, SERVICE_POINTS, servicepoint_numbers=["P2-no", "P4-no"]) == {"P2"}
    assert _ids(graph, SERVICE_POINTS, servicepoint_numbers=["_all"]) == {"P1", "P2", "P3"}
    assert _ids(graph, METERS, servicepoint_numbers=["P3-no"]) == {"M3"}, "M9 was removed"


@pytest.mark.req("WG3-7.1.12-b")
def test_aggregation_numbers_preselect_what_the_aggregation_groups(session: Session) -> None:
    """G1 groups contracts C1 and C3 only; G2 is made to group A2, P1 and M2 directly."""
    for member in (
        AggregationMember(aggregation_id="G2", account_id="A2"),
        AggregationMember(aggregation_id="G2", service_point_id="P1"),
        AggregationMember(aggregation_id="G2", meter_id="M2"),
    ):
        session.add(member)
    session.commit()
    graph = CustomerGraph.load(session, "ann", TODAY)
    assert _ids(graph, CONTRACTS, aggregation_numbers=["G1-no"]) == {"C1", "C3"}
    for selection in (ACCOUNTS, SERVICE_POINTS, METERS):  # G1 groups none of these
        assert _ids(graph, selection, aggregation_numbers=["G1-no"]) == set()
    assert _ids(graph, ACCOUNTS, aggregation_numbers=["G2-no"]) == {"A2"}
    assert _ids(graph, SERVICE_POINTS, aggregation_numbers=["G2-no"]) == {"P1"}
    assert _ids(graph, METERS, aggregation_numbers=["G2-no"]) == {"M2"}
    assert _ids(graph, CONTRACTS, aggregation_numbers=["G2-no"]) == set()
    assert _ids(graph, AGGREGATIONS, aggregation_numbers=["G2-no"]) == {"G2"}
