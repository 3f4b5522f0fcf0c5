"""CDS-WG3-01 §10.9 Energy Attribute Certificates API: EAC objects, `GET cds_eacs_api` listing the
EACs the token reaches (`grants.access`), and each EAC's data at its `eac_data_url`.

- `beneficiaries` (§10.9.2) are stored as our record ids (`store.tables.eacs`) and shown as the
  identifiers the token may see: `customer_number` of a Customer one of whose reached Accounts
  shows it (`include_account_numbers`), a reached `cds_account_id` or `cds_servicecontract_id`,
  the `rateplan_code` of a reached Service Contract that shows it (`include_rate_plans`), the
  `program_number` of a program in a reached Account's `account_programs`
  (`include_account_programs`) or Service Contract's `service_programs`
  (`include_service_programs`). Other beneficiaries are left out; `general` EACs have none.
- `eac_data_url` is `urls.EAC_DATA/{cds_eac_id}`, answered to the same token (§10.9.1: same
  authentication), encrypted like the listings (§7.4.6); an EAC the token does not reach is 404
  whether or not it exists.

Filters (§10.9.4): `cds_eac_ids`, `eac_numbers` (any of the EAC's numbers), `beneficiaries` (only
identifiers the token may see match), `before` (`period_start` on or before), `after`
(`period_end` on or after). Order: newest `period_start` first, then newest `cds_created`, then
`cds_eac_id` ascending.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import ColumnElement, Select, Text, and_, cast, false, or_, select
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.api.errors import OAuthError
from gridshare.api.pagination import CursorQuery, Order, SortKey, datetime_param, paginate
from gridshare.cds.customer_data import (
    AccessDep,
    encrypted,
    id_list,
    listed,
    reach_of,
    respond,
    stamps,
    within,
)
from gridshare.config import Settings
from gridshare.grants.access import Access
from gridshare.grants.reach import ACCOUNTS, CONTRACTS, EACS, Reach
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.tables.accounts import Account
from gridshare.store.tables.contracts import RatePlan, ServiceContract
from gridshare.store.tables.customers import Customer
from gridshare.store.tables.eacs import EnergyAttributeCertificate as Eac
from gridshare.store.tables.programs import Participation, Program
from gridshare.timefmt import rfc3339

router = APIRouter(tags=["CDS-WG3-01 Customer Data"])

BENEFICIARY_TYPES: Final = (
    "customer",
    "account",
    "servicecontract",
    "rateplan",
    "program",
    "general",
)
"""§10.9.2"""
ORDER: Final = Order(
    keys=(
        SortKey(Eac.period_start, "period_start", descending=True),
        SortKey(Eac.created, "created", descending=True),
        SortKey(Eac.id, "id"),
    )
)
ACCOUNT_NUMBERS: Final = "include_account_numbers"
RATE_PLANS: Final = "include_rate_plans"
ACCOUNT_PROGRAMS: Final = "include_account_programs"
SERVICE_PROGRAMS: Final = "include_service_programs"


@router.get(urls.EACS, summary="List Energy Attribute Certificates (CDS-WG3-01 §10.9.4)")
def list_eacs(
    request: Request,
    access: AccessDep,
    session: SessionDep,
    settings: SettingsDep,
    cds_eac_ids: Annotated[str | None, Query()] = None,
    eac_numbers: Annotated[str | None, Query()] = None,
    beneficiaries: Annotated[str | None, Query()] = None,
    before: Annotated[str | None, Query(description="RFC 3339 datetime")] = None,
    after: Annotated[str | None, Query(description="RFC 3339 datetime")] = None,
    cursor: CursorQuery = None,
) -> Response:
    reach = reach_of(access, EACS, "energy attribute certificates")
    query = select(Eac).where(within(Eac.id, reach))
    query = listed(query, [(id_list("cds_eac_ids", cds_eac_ids), Eac.id)])
    numbers = id_list("eac_numbers", eac_numbers)
    if numbers is not None:
        query = query.where(or_(*(_lists(Eac.eac_numbers, n) for n in numbers)))
    wanted = id_list("beneficiaries", beneficiaries)
    if wanted is not None:
        query = query.where(Beneficiaries(session, access).matching(wanted))
    query = _period(query, datetime_param("before", before), datetime_param("after", after))
    page = paginate(session, settings, request, query, ORDER, cursor=cursor)
    return respond(access, "eacs", eacs_json(session, settings, access, page.items), page)


@router.get(
    urls.EAC_DATA + "/{cds_eac_id}",
    summary="An Energy Attribute Certificate's data (CDS-WG3-01 §10.9.1 eac_data_url)",
)
def eac_data(cds_eac_id: str, access: AccessDep, session: SessionDep) -> Response:
    reach = reach_of(access, EACS, "energy attribute certificates")
    eac = session.get(Eac, cds_eac_id) if reach.flags(cds_eac_id) is not None else None
    if eac is None:
        raise OAuthError(
            "not_found", f"no energy attribute certificate {cds_eac_id!r} for this token", 404
        )
    return encrypted(access, eac.data.encode())


def eacs_json(
    session: Session, settings: Settings, access: Access, eacs: Sequence[Eac]
) -> list[Any]:
    """The EAC objects (§10.9.1) of `eacs`, each listing the beneficiaries the token may see."""
    held: dict[str, set[str]] = defaultdict(set)
    for eac in eacs:
        held[eac.beneficiary_type] |= set(eac.beneficiaries)
    visible = Beneficiaries(session, access)
    shown = {kind: visible.shown(kind, ids) for kind, ids in held.items()}
    return [
        {
            "cds_eac_id": eac.id,
            **stamps(eac),
            "beneficiary_type": eac.beneficiary_type,
            "beneficiaries": [
                shown[eac.beneficiary_type][b]
                for b in eac.beneficiaries
                if b in shown[eac.beneficiary_type]
            ],
            "eac_numbers": list(eac.eac_numbers),
            "eac_format": eac.eac_format,
            "eac_data_url": settings.url(f"{urls.EAC_DATA}/{eac.id}"),
            "period_start": rfc3339(eac.period_start),
            "period_end": rfc3339(eac.period_end),
        }
        for eac in eacs
    ]


class Beneficiaries:
    """Which beneficiaries (our record ids, per `beneficiary_type`) a token may see, and the
    identifier each is shown as (§10.9.2)."""

    def __init__(self, session: Session, access: Access) -> None:
        self.session = session
        self.accounts = access.reach(ACCOUNTS)
        self.contracts = access.reach(CONTRACTS)

    def shown(self, beneficiary_type: str, ids: Collection[str]) -> Mapping[str, str]:
        """Our id -> the identifier shown, for those of `ids` the token may see."""
        if not ids:
            return {}
        if beneficiary_type == "account":
            return _reached(self.accounts, ids)
        if beneficiary_type == "servicecontract":
            return _reached(self.contracts, ids)
        if beneficiary_type == "customer":
            return self._customers(ids)
        if beneficiary_type == "rateplan":
            return self._rate_plans(ids)
        if beneficiary_type == "program":
            return self._programs(ids)
        return {}

    def matching(self, values: Sequence[str]) -> ColumnElement[bool]:
        """EACs with a beneficiary the token may see shown as one of `values` (§10.9.4)."""
        s = self.session
        candidates: dict[str, set[str]] = {
            "customer": set(
                s.scalars(select(Customer.id).where(Customer.customer_number.in_(values)))
            ),
            "account": set(values),
            "servicecontract": set(values),
            "rateplan": set(s.scalars(select(RatePlan.id).where(RatePlan.code.in_(values)))),
            "program": set(s.scalars(select(Program.id).where(Program.program_number.in_(values)))),
        }
        alternatives = []
        for beneficiary_type, ids in candidates.items():
            seen = self.shown(beneficiary_type, ids)
            if seen:
                alternatives.append(
                    and_(
                        Eac.beneficiary_type == beneficiary_type,
                        or_(*(_lists(Eac.beneficiaries, i) for i in sorted(seen))),
                    )
                )
        return or_(*alternatives) if alternatives else false()

    def _customers(self, ids: Collection[str]) -> Mapping[str, str]:
        """Customers with a reached Account that shows its `customer_number`."""
        shows = _flagged(Account.id, self.accounts, ACCOUNT_NUMBERS)
        if shows is None:
            return {}
        query = (
            select(Customer.id, Customer.customer_number)
            .join(Account, Account.customer_id == Customer.id)
            .where(shows, Customer.id.in_(ids))
        )
        return self._pairs(query)

    def _rate_plans(self, ids: Collection[str]) -> Mapping[str, str]:
        """Rate plans of a reached Service Contract that shows its `rateplan_code`."""
        shows = _flagged(ServiceContract.id, self.contracts, RATE_PLANS)
        if shows is None:
            return {}
        query = (
            select(RatePlan.id, RatePlan.code)
            .join(ServiceContract, ServiceContract.rate_plan_id == RatePlan.id)
            .where(shows, RatePlan.id.in_(ids))
        )
        return self._pairs(query)

    def _programs(self, ids: Collection[str]) -> Mapping[str, str]:
        """Programs in the `account_programs` or `service_programs` of a reached object."""
        shows = [
            condition
            for condition in (
                _flagged(Participation.account_id, self.accounts, ACCOUNT_PROGRAMS),
                _flagged(Participation.contract_id, self.contracts, SERVICE_PROGRAMS),
            )
            if condition is not None
        ]
        if not shows:
            return {}
        query = (
            select(Program.id, Program.program_number)
            .join(Participation, Participation.program_id == Program.id)
            .where(or_(*shows), Program.id.in_(ids))
        )
        return self._pairs(query)

    def _pairs(self, query: Select[str, str] | Select[str, str | None]) -> dict[str, str]:
        """Our id -> shown identifier, from a query of both (an identifier never null)."""
        return {
            str(record_id): str(shown)
            for record_id, shown in self.session.execute(query.distinct())
            if shown is not None
        }


def _reached(reach: Reach | None, ids: Collection[str]) -> dict[str, str]:
    if reach is None:
        return {}
    return {i: i for i in ids if reach.flags(i) is not None}


def _flagged(column: Any, reach: Reach | None, flag: str) -> ColumnElement[bool] | None:
    """Rows whose `column` names an object reached with `flag` (None: no object is)."""
    if reach is None:
        return None
    if reach.every is not None and flag in reach.every:
        condition: ColumnElement[bool] = column.is_not(None)
        return condition
    flagged = [i for i, flags in reach.ids.items() if flag in flags]
    return column.in_(flagged) if flagged else None


def _lists(column: Any, value: str) -> ColumnElement[bool]:
    """The JSON list in `column` (stored text) holds `value`."""
    condition: ColumnElement[bool] = cast(column, Text).contains(json.dumps(value), autoescape=True)
    return condition


def _period(query: Select[Any], before: datetime | None, after: datetime | None) -> Select[Any]:
    """§10.9.4 `before`: `period_start` on or before; `after`: `period_end` on or after."""
    if before is not None:
        query = query.where(Eac.period_start <= before)
    if after is not None:
        query = query.where(Eac.period_end >= after)
    return query
