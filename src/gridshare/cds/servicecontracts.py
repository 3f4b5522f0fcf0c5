"""CDS-WG3-01 §10.2 Service Contracts API: Service Contract and Service Program objects, and
`GET cds_servicecontracts_api` listing the Service Contracts the token reaches (`grants.access`).

OPTIONAL fields follow the include flags that reached each contract (§7.2.1.1, §7.2.2.1-§7.2.2.4):
`account_number` with `include_account_numbers`; `contract_number` and `contract_entity` with
`include_contract_numbers`; `contract_address`, `contract_start` and `contract_end` with
`include_service_contract_details`; `rateplan_code` and `rateplan_name` with `include_rate_plans`;
`service_programs` with `include_service_programs`. `cds_account_id` names the Account only when
the token reaches it (else null), and `contract_entity` is the distributor the agreement is made
with (the supplier when there is none). Filters on OPTIONAL fields match only where the token may
see the field. Listing order: newest `cds_modified` first (§10.2.7), then by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import ColumnElement, String, cast, exists, or_, select
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.api.pagination import CursorQuery, Order, paginate
from gridshare.cds.accounts import entity_json, service_programs
from gridshare.cds.customer_data import (
    AccessDep,
    choice_list,
    columns_contain,
    contains,
    id_list,
    listed,
    reach_of,
    respond,
    search_term,
    searched,
    stamps,
    with_flag,
    within,
)
from gridshare.grants.access import Access
from gridshare.grants.reach import ACCOUNTS, CONTRACTS, Reach
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.contracts import RatePlan, ServiceContract
from gridshare.store.tables.programs import Entity, Participation, Program

router = APIRouter(tags=["CDS-WG3-01 Customer Data"])

CONTRACT_TYPES: Final = ("utility_service", "project", "billed_monthly", "billed_quarterly")
"""§10.2.2"""
CONTRACT_STATUSES: Final = ("active", "paused", "stopped", "closed", "unknown")
"""§10.2.3"""
SERVICE_TYPES: Final = (
    "electric",
    "water",
    "natural_gas",
    "fuel_oil",
    "waste_water",
    "solid_waste",
    "residential",
    "commercial",
    "industrial",
    "agriculture",
    "metered",
    "unmetered",
    "distribution",
    "supply",
    "generation",
)
"""§10.2.4"""
ORDER: Final = Order(ServiceContract.modified, ServiceContract.id)
ACCOUNT_NUMBERS: Final = "include_account_numbers"
NUMBERS: Final = "include_contract_numbers"
RATE_PLANS: Final = "include_rate_plans"
DETAILS: Final = "include_service_contract_details"
PROGRAMS: Final = "include_service_programs"


@router.get(urls.SERVICE_CONTRACTS, summary="List Service Contracts (CDS-WG3-01 §10.2.7)")
def list_service_contracts(
    request: Request,
    access: AccessDep,
    session: SessionDep,
    settings: SettingsDep,
    cds_servicecontract_ids: Annotated[str | None, Query()] = None,
    account_numbers: Annotated[str | None, Query()] = None,
    contract_numbers: Annotated[str | None, Query()] = None,
    contract_statuses: Annotated[str | None, Query()] = None,
    contract_types: Annotated[str | None, Query()] = None,
    service_types: Annotated[str | None, Query()] = None,
    q: Annotated[str | None, Query(description="Case-insensitive search")] = None,
    cursor: CursorQuery = None,
) -> Response:
    reach = reach_of(access, CONTRACTS, "service contracts")
    query = select(ServiceContract).where(within(ServiceContract.id, reach))
    query = listed(
        query,
        [
            (id_list("cds_servicecontract_ids", cds_servicecontract_ids), ServiceContract.id),
            (
                choice_list("contract_statuses", contract_statuses, CONTRACT_STATUSES),
                ServiceContract.status,
            ),
        ],
    )
    numbers = id_list("account_numbers", account_numbers)
    if numbers is not None:
        query = query.where(
            ServiceContract.account_id.in_(
                select(Account.id).where(Account.account_number.in_(numbers))
            ),
            with_flag(ServiceContract.id, reach, ACCOUNT_NUMBERS),
        )
    numbers = id_list("contract_numbers", contract_numbers)
    if numbers is not None:
        query = query.where(
            ServiceContract.contract_number.in_(numbers),
            with_flag(ServiceContract.id, reach, NUMBERS),
        )
    for values, column in (
        (choice_list("contract_types", contract_types, CONTRACT_TYPES), ServiceContract.types),
        (
            choice_list("service_types", service_types, SERVICE_TYPES),
            ServiceContract.service_types,
        ),
    ):
        if values is not None:
            query = query.where(or_(*(_holds(column, v) for v in values)))
    query = searched(
        query,
        search_term(q),
        ServiceContract.id,
        reach,
        [
            (None, columns_contain(ServiceContract.id)),
            (ACCOUNT_NUMBERS, _account_number_contains),
            (NUMBERS, columns_contain(ServiceContract.contract_number)),
            (DETAILS, columns_contain(ServiceContract.address)),
            (RATE_PLANS, _rate_plan_contains),
            (PROGRAMS, _program_contains),
        ],
    )
    page = paginate(session, settings, request, query, ORDER, cursor=cursor)
    return respond(
        access, "service_contracts", contracts_json(session, access, reach, page.items), page
    )


def contracts_json(
    session: Session, access: Access, reach: Reach, contracts: Sequence[ServiceContract]
) -> list[Any]:
    """The Service Contract objects (§10.2.1) of `contracts`, each with the fields its flags
    allow."""
    ids = [c.id for c in contracts]
    accounts = {
        a.id: a.account_number
        for a in session.scalars(
            select(Account).where(Account.id.in_({c.account_id for c in contracts}))
        )
    }
    entity_ids = {_entity_id(c) for c in contracts} - {None}
    entities = {
        e.id: entity_json(e)
        for e in session.scalars(select(Entity).where(Entity.id.in_(entity_ids)))
    }
    plans = {
        p.id: p
        for p in session.scalars(
            select(RatePlan).where(RatePlan.id.in_({c.rate_plan_id for c in contracts} - {None}))
        )
    }
    programs = service_programs(session, ids)
    account_reach = access.reach(ACCOUNTS)
    found = []
    for contract in contracts:
        flags = reach.flags(contract.id) or frozenset()
        shown = account_reach is not None and account_reach.flags(contract.account_id) is not None
        body: dict[str, Any] = {
            "cds_servicecontract_id": contract.id,
            **stamps(contract),
            "cds_account_id": contract.account_id if shown else None,
        }
        if ACCOUNT_NUMBERS in flags:
            body["account_number"] = accounts.get(contract.account_id)
        if NUMBERS in flags:
            body["contract_number"] = contract.contract_number
        if DETAILS in flags and contract.address:
            body["contract_address"] = contract.address
        body["contract_types"] = list(contract.types)
        if NUMBERS in flags:
            body["contract_entity"] = entities.get(_entity_id(contract) or "")
        body["contract_status"] = contract.status
        if DETAILS in flags:
            if contract.start is not None:
                body["contract_start"] = contract.start.isoformat()
            body["contract_end"] = contract.end.isoformat() if contract.end else None
        body["service_types"] = list(contract.service_types)
        plan = plans.get(contract.rate_plan_id or "")
        if RATE_PLANS in flags and plan is not None:
            body["rateplan_code"] = plan.code
            body["rateplan_name"] = plan.name
        if PROGRAMS in flags:
            body["service_programs"] = programs.get(contract.id, [])
        found.append(body)
    return found


def _entity_id(contract: ServiceContract) -> str | None:
    """The entity the agreement is made with: the distributor, else the supplier."""
    return contract.distribution_entity_id or contract.supply_entity_id


def _holds(column: Any, value: str) -> ColumnElement[bool]:
    """A JSON list column holds `value` (an enumeration value: no quotes or escapes in it)."""
    return cast(column, String).contains(f'"{value}"', autoescape=True)


def _account_number_contains(term: str) -> ColumnElement[bool]:
    return exists().where(
        Account.id == ServiceContract.account_id, contains(Account.account_number, term)
    )


def _rate_plan_contains(term: str) -> ColumnElement[bool]:
    return exists().where(
        RatePlan.id == ServiceContract.rate_plan_id,
        or_(contains(RatePlan.code, term), contains(RatePlan.name, term)),
    )


def _program_contains(term: str) -> ColumnElement[bool]:
    return exists().where(
        Participation.contract_id == ServiceContract.id,
        Participation.program_id == Program.id,
        contains(Program.program_number, term),
    )
