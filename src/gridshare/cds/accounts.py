"""CDS-WG3-01 §10.1 Accounts API: Account, Entity, Account Contact and Account Program objects, and
`GET cds_accounts_api` listing the Accounts the token reaches (`grants.access`).

OPTIONAL fields follow the Grant's include flags (§7.2.1.1-§7.2.1.3): `customer_number`,
`account_number` and `account_entity` with `include_account_numbers`; name, address, types, status
and contacts with `include_account_details`; `account_programs` with `include_account_programs`.
`cds_account_parent` names the parent only when the token reaches it (else null).
Listing order: newest `cds_modified` first (§10.1.10), then by id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.api.pagination import CursorQuery, Order, paginate
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
    within,
)
from gridshare.grants.reach import ACCOUNTS, Reach
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.tables.accounts import Account, AccountContact
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.programs import Entity, Participation, Program

router = APIRouter(tags=["CDS-WG3-01 Customer Data"])

ACCOUNT_STATUSES: Final = ("active", "suspended", "closed", "unknown")
"""§10.1.3"""
ORDER: Final = Order(Account.modified, Account.id)
NUMBERS: Final = "include_account_numbers"
DETAILS: Final = "include_account_details"
PROGRAMS: Final = "include_account_programs"


@router.get(urls.ACCOUNTS, summary="List Accounts (CDS-WG3-01 §10.1.10)")
def list_accounts(
    request: Request,
    access: AccessDep,
    session: SessionDep,
    settings: SettingsDep,
    cds_account_ids: Annotated[str | None, Query()] = None,
    customer_numbers: Annotated[str | None, Query()] = None,
    account_numbers: Annotated[str | None, Query()] = None,
    account_statuses: Annotated[str | None, Query()] = None,
    q: Annotated[str | None, Query(description="Case-insensitive search")] = None,
    cursor: CursorQuery = None,
) -> Response:
    reach = reach_of(access, ACCOUNTS, "accounts")
    query = select(Account).join(Customer, Customer.id == Account.customer_id)
    query = query.where(within(Account.id, reach))
    query = listed(
        query,
        [
            (id_list("cds_account_ids", cds_account_ids), Account.id),
            (id_list("customer_numbers", customer_numbers), Customer.customer_number),
            (id_list("account_numbers", account_numbers), Account.account_number),
            (
                choice_list("account_statuses", account_statuses, ACCOUNT_STATUSES),
                Account.status,
            ),
        ],
    )
    query = searched(
        query,
        search_term(q),
        Account.id,
        reach,
        [
            (None, columns_contain(Account.id)),
            (NUMBERS, columns_contain(Account.account_number, Customer.customer_number)),
            (DETAILS, columns_contain(Account.name, Account.address)),
            (DETAILS, _contact_contains),
            (PROGRAMS, _program_contains),
        ],
    )
    page = paginate(session, settings, request, query, ORDER, cursor=cursor)
    return respond(access, "accounts", accounts_json(session, reach, page.items), page)


def accounts_json(session: Session, reach: Reach, accounts: Sequence[Account]) -> list[Any]:
    """The Account objects (§10.1.1) of `accounts`, each with the fields its flags allow."""
    ids = [a.id for a in accounts]
    customers = {
        c.id: c.customer_number
        for c in session.scalars(
            select(Customer).where(Customer.id.in_({a.customer_id for a in accounts}))
        )
    }
    entities = _entities(session, {a.entity_id for a in accounts if a.entity_id})
    contacts: dict[str, list[AccountContact]] = defaultdict(list)
    for contact in session.scalars(
        select(AccountContact).where(AccountContact.account_id.in_(ids)).order_by(AccountContact.id)
    ):
        contacts[contact.account_id].append(contact)
    programs = account_programs(session, ids)
    found = []
    for account in accounts:
        flags = reach.flags(account.id) or frozenset()
        parent = account.parent_id
        body: dict[str, Any] = {
            "cds_account_id": account.id,
            **stamps(account),
            "cds_account_parent": parent if parent and reach.flags(parent) is not None else None,
        }
        if NUMBERS in flags:
            body["customer_number"] = customers.get(account.customer_id)
            body["account_number"] = account.account_number
            body["account_entity"] = entities.get(account.entity_id or "")
        if DETAILS in flags:
            body["account_name"] = account.name
            if account.address:
                body["account_address"] = account.address
            body["account_types"] = list(account.types)
            body["account_status"] = account.status
            body["account_contacts"] = [
                {"id": c.id, "types": list(c.types), "value": c.value} for c in contacts[account.id]
            ]
        if PROGRAMS in flags:
            body["account_programs"] = programs.get(account.id, [])
        found.append(body)
    return found


def entity_json(entity: Entity) -> dict[str, Any]:
    """An Entity object (§10.1.4)."""
    return {
        "id": entity.id,
        "types": list(entity.types),
        "entity_number": entity.entity_number,
        "entity_name": entity.name,
        "entity_abbreviation": entity.abbreviation,
    }


def _entities(session: Session, ids: set[str]) -> dict[str, dict[str, Any]]:
    return {e.id: entity_json(e) for e in session.scalars(select(Entity).where(Entity.id.in_(ids)))}


def account_programs(session: Session, account_ids: Sequence[str]) -> Mapping[str, list[Any]]:
    """Account Program objects (§10.1.8) per account id."""
    return _programs(session, Participation.account_id, account_ids)


def service_programs(session: Session, contract_ids: Sequence[str]) -> Mapping[str, list[Any]]:
    """Service Program objects (§10.2.5) per service contract id: the same shape."""
    return _programs(session, Participation.contract_id, contract_ids)


def _programs(session: Session, owner: Any, ids: Sequence[str]) -> Mapping[str, list[Any]]:
    found: dict[str, list[Any]] = defaultdict(list)
    for participation, program in session.execute(
        select(Participation, Program)
        .join(Program, Program.id == Participation.program_id)
        .where(owner.in_(ids))
        .order_by(Program.program_number, Participation.id)
    ):
        body: dict[str, Any] = {
            "id": participation.id,
            "program_number": program.program_number,
            "types": [participation.status, *program.kinds],
            "name": program.name,
            "description": program.description,
            "documentation": program.documentation,
        }
        for link in ("more_info", "signup", "settings", "discontinue"):
            if getattr(program, link):
                body[link] = getattr(program, link)
        if participation.participation_number and participation.status != "eligible":
            body["participation_number"] = participation.participation_number
        if participation.start is not None:
            body["start"] = participation.start.isoformat()
        if participation.end is not None:
            body["end"] = participation.end.isoformat()
        if participation.balance is not None:
            body["balance"] = participation.balance
            if participation.balance_units:
                body["units"] = participation.balance_units  # §10.2.6 credit_bank `units`
            if participation.currency:
                body["currency"] = participation.currency
        body.update(program.details)
        found[participation.account_id or participation.contract_id or ""].append(body)
    return found


def _contact_contains(term: str) -> ColumnElement[bool]:
    """An Account Contact's value or name contains the term (§10.1.10 `q`: `contact_name` and
    `contact_email`, which §10.1.6 does not define: docs/spec-decisions.md)."""
    return exists().where(
        AccountContact.account_id == Account.id,
        or_(contains(AccountContact.value, term), contains(AccountContact.name, term)),
    )


def _program_contains(term: str) -> ColumnElement[bool]:
    return exists().where(
        Participation.account_id == Account.id,
        Participation.program_id == Program.id,
        contains(Program.program_number, term),
    )
