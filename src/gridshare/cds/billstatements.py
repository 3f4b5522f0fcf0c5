"""CDS-WG3-01 §10.5 Bill Statements API: Bill Statement (§10.5.1) and New Charge (§10.5.2)
objects, and `GET cds_billstatement_api` listing the Bill Statements the token reaches
(`grants.access`, which also applies `statement_date_start`/`_end`, §7.3.2, §7.3.3).

OPTIONAL fields follow the Grant's include flags: `file_uri` (and `file_mimetype` when there is a
file) with `include_bill_statement_files` (§7.2.5.1); the balances and `new_charges` with
`include_bill_statement_charges` (§7.2.5.2); `account_programs` with
`include_bill_statement_programs` (§7.2.5.3); `account_number` with `include_account_numbers`
(§7.2.1.1). `cds_account_id` names the Account only when the token reaches it (else null), as in
the Service Contracts API. A New Charge's `related_billsections` is written only when the token
reaches Bill Sections and the charge names some, and lists only the reachable ones. Filters match
only what the token may see (`cds_account_ids` reached Accounts, `account_numbers` shown ones).
Listing order (§10.5.4): newest `statement_date` first, then newest `cds_modified`, then by id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.api.pagination import CursorQuery, Order, SortKey, paginate
from gridshare.cds.accounts import account_programs
from gridshare.cds.customer_data import (
    AccessDep,
    date_param,
    id_list,
    listed,
    reach_of,
    respond,
    stamps,
    with_flag,
    within,
)
from gridshare.grants.access import Access
from gridshare.grants.reach import ACCOUNTS, SECTIONS, STATEMENTS, Reach
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.tables.bills import BillSection, BillStatement, NewCharge

router = APIRouter(tags=["CDS-WG3-01 Customer Data"])

ORDER: Final = Order(
    keys=(
        SortKey(BillStatement.statement_date, "statement_date", descending=True),
        SortKey(BillStatement.modified, "modified", descending=True),
        SortKey(BillStatement.id, "id"),
    )
)
NUMBERS: Final = "include_account_numbers"
FILES: Final = "include_bill_statement_files"
CHARGES: Final = "include_bill_statement_charges"
PROGRAMS: Final = "include_bill_statement_programs"
BALANCES: Final = (
    "previous_balance_amount",
    "previous_balance_paid",
    "previous_balance_unpaid",
    "new_charges_amount",
)


@router.get(urls.BILL_STATEMENTS, summary="List Bill Statements (CDS-WG3-01 §10.5.4)")
def list_bill_statements(
    request: Request,
    access: AccessDep,
    session: SessionDep,
    settings: SettingsDep,
    cds_billstatement_ids: Annotated[str | None, Query()] = None,
    before: Annotated[str | None, Query(description="statement_date on or before")] = None,
    after: Annotated[str | None, Query(description="statement_date on or after")] = None,
    cds_account_ids: Annotated[str | None, Query()] = None,
    account_numbers: Annotated[str | None, Query()] = None,
    cursor: CursorQuery = None,
) -> Response:
    reach = reach_of(access, STATEMENTS, "bill statements")
    query = select(BillStatement).where(within(BillStatement.id, reach))
    query = listed(
        query,
        [
            (id_list("cds_billstatement_ids", cds_billstatement_ids), BillStatement.id),
            (
                _reached(access, id_list("cds_account_ids", cds_account_ids)),
                BillStatement.account_id,
            ),
        ],
    )
    numbers = id_list("account_numbers", account_numbers)
    if numbers is not None:
        # Only where the token may see the number: a filter must not confirm a hidden one.
        query = query.where(
            BillStatement.account_number.in_(numbers),
            with_flag(BillStatement.id, reach, NUMBERS),
        )
    last = date_param("before", before)
    if last is not None:
        query = query.where(BillStatement.statement_date <= last)
    first = date_param("after", after)
    if first is not None:
        query = query.where(BillStatement.statement_date >= first)
    page = paginate(session, settings, request, query, ORDER, cursor=cursor)
    items = statements_json(session, access, reach, page.items)
    return respond(access, "bill_statements", items, page)


def statements_json(
    session: Session, access: Access, reach: Reach, statements: Sequence[BillStatement]
) -> list[Any]:
    """The Bill Statement objects (§10.5.1) of `statements`, each with the fields its flags
    allow."""
    ids = [s.id for s in statements]
    charges = _new_charges(session, access, ids)
    programs = _programs_in_period(session, statements)
    found = []
    for statement in statements:
        flags = reach.flags(statement.id) or frozenset()
        shown = _reached(access, [statement.account_id]) == [statement.account_id]
        body: dict[str, Any] = {
            "cds_billstatement_id": statement.id,
            **stamps(statement),
            "cds_account_id": statement.account_id if shown else None,
        }
        if NUMBERS in flags:
            body["account_number"] = statement.account_number
        body["statement_date"] = statement.statement_date.isoformat()
        body["currency"] = statement.currency
        if FILES in flags:
            body["file_uri"] = statement.file_uri
            if statement.file_uri is not None:
                body["file_mimetype"] = statement.file_mimetype
        if CHARGES in flags:
            for name in BALANCES:
                value = getattr(statement, name)
                if value is not None:
                    body[name] = value
            body["new_charges"] = charges.get(statement.id, [])
            if statement.new_balance_amount is not None:
                body["new_balance_amount"] = statement.new_balance_amount
        body["amount_due"] = statement.amount_due
        body["amount_due_date"] = statement.amount_due_date.isoformat()
        body["shutoff_prevention_minimum_due"] = statement.shutoff_prevention_minimum_due
        body["shutoff_prevention_date"] = _day(statement.shutoff_prevention_date)
        if PROGRAMS in flags:
            body["account_programs"] = programs.get(statement.id, [])
        found.append(body)
    return found


def _new_charges(session: Session, access: Access, ids: Sequence[str]) -> Mapping[str, list[Any]]:
    """New Charge objects (§10.5.2) per statement id, in the bill's order."""
    sections = access.reach(SECTIONS)
    found: dict[str, list[Any]] = defaultdict(list)
    for charge in session.scalars(
        select(NewCharge)
        .where(NewCharge.statement_id.in_(ids))
        .order_by(NewCharge.statement_id, NewCharge.position, NewCharge.id)
    ):
        body: dict[str, Any] = {
            "id": charge.id,
            "name": charge.name,
            "types": list(charge.types),
            "amount": charge.amount,
            "included_in_amount_due": charge.included_in_amount_due,
        }
        if sections is not None and charge.related_section_ids:
            body["related_billsections"] = [
                s for s in charge.related_section_ids if sections.flags(s) is not None
            ]
        found[charge.statement_id].append(body)
    return found


def _programs_in_period(
    session: Session, statements: Sequence[BillStatement]
) -> Mapping[str, list[Any]]:
    """Per statement id, the Account Programs (§10.1.8) its Account took part in during the
    statement's period: the days its Bill Sections cover (the statement date alone when it has
    none). A participation runs from `start` until `end` exclusive; one never started (only
    eligible) is not taken part in."""
    periods: dict[str, tuple[date, date]] = {
        s.id: (s.statement_date, s.statement_date) for s in statements
    }
    for statement_id, first, last in session.execute(
        select(
            BillSection.statement_id,
            func.min(BillSection.start_date),
            func.max(BillSection.end_date),
        )
        .where(BillSection.statement_id.in_(list(periods)))
        .group_by(BillSection.statement_id)
    ):
        if statement_id is not None:
            periods[statement_id] = (first, last)
    programs = account_programs(session, sorted({s.account_id for s in statements}))
    found: dict[str, list[Any]] = {}
    for statement in statements:
        first, last = periods[statement.id]
        found[statement.id] = [
            program
            for program in programs.get(statement.account_id, [])
            if "start" in program
            and date.fromisoformat(program["start"]) <= last
            and ("end" not in program or date.fromisoformat(program["end"]) > first)
        ]
    return found


def _reached(access: Access, account_ids: list[str] | None) -> list[str] | None:
    """The Accounts among `account_ids` the token reaches (None stays None: no filter)."""
    if account_ids is None:
        return None
    accounts = access.reach(ACCOUNTS)
    return [a for a in account_ids if accounts is not None and accounts.flags(a) is not None]


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()
