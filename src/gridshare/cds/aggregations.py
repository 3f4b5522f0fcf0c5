"""CDS-WG3-01 §10.7 Aggregations API: Aggregation, Aggregation Region and Consent Requirement
objects, and `GET cds_aggregations_api` listing the Aggregations the token reaches
(`grants.access`).

- The `grouped_*` lists name only the members the token itself reaches (an Account, Service
  Contract, Service Point, Meter Device or Aggregation is listed when `access.reach(kind)` holds
  it), so a Customer sees their own unit in a whole-building Aggregation and nothing of the other
  Customers in it.
- `grouped_addresses` is OPTIONAL and written only with `include_aggregation_addresses`
  (§7.2.7.1); without it the field is left out (§7.2.7: no OPTIONAL field unless enabled).
- The type-specific fields (§10.7.2: `countries`, `provinces`, `account_types`, ...) come from
  `Aggregation.details`, a region's (`postal_codes`, `map_resource`, ...) from
  `AggregationRegion.details` (§10.7.4); neither may override a field this section defines.
- `scope` names the Usage Query scope (§6.2.8, §4.11) through which the Aggregation's dataset is
  requested, and `authorization_details` the entry a token request needs for it (the scope's
  `aggregation_numbers` preselection); an Aggregation without an `aggregation_number`, without
  members, or on a server offering no such scope has no data to request: `""` and `[]`.

Filters (§10.7.8): `cds_aggregation_ids`, `aggregation_numbers`, `aggregation_types` (any of the
Aggregation's types), `q` over the id, the number, the addresses (only with
`include_aggregation_addresses`) and the Aggregation Regions' ids and names (§10.7.3 defines no
`region_number`). Order: newest `cds_modified` first, then by id.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import ColumnElement, Text, cast, exists, or_, select
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
from gridshare.grants.access import Access
from gridshare.grants.reach import ACCOUNTS, AGGREGATIONS, CONTRACTS, METERS, POINTS, Reach
from gridshare.grants.scopes import Catalogue, load_catalogue
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.tables.aggregations import (
    Aggregation,
    AggregationMember,
    AggregationRegion,
    ConsentRequirement,
)

router = APIRouter(tags=["CDS-WG3-01 Customer Data"])

AGGREGATION_TYPES: Final = (
    "public",
    "listed",
    "confidential",
    "region",
    "country",
    "province",
    "municipality",
    "local",
    "building",
    "account_number",
    "account_type",
    "account_program_number",
    "contract_number",
    "service_type",
    "rateplan_code",
    "service_program_number",
    "servicepoint_number",
    "servicepoint_type",
    "premise_number",
    "meter_number",
    "meter_type",
    "meter_app_number",
)
"""§10.7.2"""
ORDER: Final = Order(Aggregation.modified, Aggregation.id)
ADDRESSES: Final = "include_aggregation_addresses"
DATASET_SCOPE_TYPE: Final = "cds_query_usage"
"""The Usage Query scope (§6.2.8) serves an Aggregation's dataset (§10.7.7)."""

GROUPED: Final = (
    ("grouped_accounts", ACCOUNTS, AggregationMember.account_id),
    ("grouped_servicecontracts", CONTRACTS, AggregationMember.contract_id),
    ("grouped_servicepoints", POINTS, AggregationMember.service_point_id),
    ("grouped_meterdevices", METERS, AggregationMember.meter_id),
    ("grouped_aggregations", AGGREGATIONS, AggregationMember.member_aggregation_id),
)
"""Each `grouped_*` list, the kind of object it names and the member column naming it."""


@router.get(urls.AGGREGATIONS, summary="List Aggregations (CDS-WG3-01 §10.7.8)")
def list_aggregations(
    request: Request,
    access: AccessDep,
    session: SessionDep,
    settings: SettingsDep,
    cds_aggregation_ids: Annotated[str | None, Query()] = None,
    aggregation_numbers: Annotated[str | None, Query()] = None,
    aggregation_types: Annotated[str | None, Query()] = None,
    q: Annotated[str | None, Query(description="Case-insensitive search")] = None,
    cursor: CursorQuery = None,
) -> Response:
    reach = reach_of(access, AGGREGATIONS, "aggregations")
    query = select(Aggregation).where(within(Aggregation.id, reach))
    query = listed(
        query,
        [
            (id_list("cds_aggregation_ids", cds_aggregation_ids), Aggregation.id),
            (id_list("aggregation_numbers", aggregation_numbers), Aggregation.aggregation_number),
        ],
    )
    types = choice_list("aggregation_types", aggregation_types, AGGREGATION_TYPES)
    if types is not None:
        query = query.where(or_(*(_has_type(t) for t in types)))
    query = searched(
        query,
        search_term(q),
        Aggregation.id,
        reach,
        [
            (None, columns_contain(Aggregation.id, Aggregation.aggregation_number)),
            (None, _region_contains),
            (ADDRESSES, _address_contains),
        ],
    )
    page = paginate(session, settings, request, query, ORDER, cursor=cursor)
    body = aggregations_json(session, load_catalogue(settings), access, reach, page.items)
    return respond(access, "aggregations", body, page)


def aggregations_json(
    session: Session,
    catalogue: Catalogue,
    access: Access,
    reach: Reach,
    aggregations: Sequence[Aggregation],
) -> list[Any]:
    """The Aggregation objects (§10.7.1) of `aggregations` (reached through `reach`), with the
    members and fields the token may see."""
    ids = [a.id for a in aggregations]
    members: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    grouping: set[str] = set()
    for member in session.scalars(
        select(AggregationMember).where(AggregationMember.aggregation_id.in_(ids))
    ):
        grouping.add(member.aggregation_id)
        for name, kind, column in GROUPED:
            target = getattr(member, column.key)
            kind_reach = access.reach(kind)
            if (
                target is not None
                and kind_reach is not None
                and kind_reach.flags(target) is not None
            ):
                members[member.aggregation_id][name].add(target)
    regions: dict[str, list[Any]] = defaultdict(list)
    for region in session.scalars(
        select(AggregationRegion)
        .where(AggregationRegion.aggregation_id.in_(ids))
        .order_by(AggregationRegion.id)
    ):
        regions[region.aggregation_id].append(region_json(region))
    requirements: dict[str, list[Any]] = defaultdict(list)
    for requirement in session.scalars(
        select(ConsentRequirement)
        .where(ConsentRequirement.aggregation_id.in_(ids))
        .order_by(ConsentRequirement.id)
    ):
        requirements[requirement.aggregation_id].append(consent_requirement_json(requirement))
    dataset = dataset_scope(catalogue)
    found = []
    for aggregation in aggregations:
        flags = reach.flags(aggregation.id) or frozenset()
        number = aggregation.aggregation_number
        offered = dataset if number is not None and aggregation.id in grouping else None
        body: dict[str, Any] = {
            "cds_aggregation_id": aggregation.id,
            **stamps(aggregation),
            "aggregation_types": list(aggregation.types),
            "aggregation_number": number,
            "scope": offered[0] if offered else "",
            "authorization_details": (
                [{"type": offered[1], "aggregation_numbers": [number]}] if offered else []
            ),
        }
        for name, _, _ in GROUPED:
            body[name] = sorted(members[aggregation.id][name])
        if ADDRESSES in flags:
            body["grouped_addresses"] = list(aggregation.addresses)
        body["grouped_regions"] = regions[aggregation.id]
        body["consent_requirements"] = requirements[aggregation.id]
        for key, value in aggregation.details.items():
            body.setdefault(key, value)
        found.append(body)
    return found


def region_json(region: AggregationRegion) -> dict[str, Any]:
    """An Aggregation Region object (§10.7.3) with its type-specific fields (§10.7.4)."""
    body: dict[str, Any] = {"id": region.id, "name": region.name, "types": list(region.types)}
    for key, value in region.details.items():
        body.setdefault(key, value)
    return body


def consent_requirement_json(requirement: ConsentRequirement) -> dict[str, Any]:
    """A Consent Requirement object (§10.7.5)."""
    return {
        "id": requirement.id,
        "name": requirement.name,
        "types": list(requirement.types),
        "documentation": requirement.documentation,
    }


def dataset_scope(catalogue: Catalogue) -> tuple[str, str] | None:
    """The scope id and authorization details type through which an Aggregation's dataset is
    requested: a Usage Query scope offering `aggregation_numbers` to `client_credentials`."""
    for scope in catalogue.scopes.values():
        field = scope.field("aggregation_numbers")
        if (
            scope.type == DATASET_SCOPE_TYPE
            and field is not None
            and field.for_types
            and "client_credentials" in scope.grant_types_supported
        ):
            return scope.id, field.for_types[0]
    return None


def _has_type(aggregation_type: str) -> ColumnElement[bool]:
    """The Aggregation's `types` (stored JSON text) list this enumeration value."""
    condition: ColumnElement[bool] = cast(Aggregation.types, Text).contains(
        json.dumps(aggregation_type), autoescape=True
    )
    return condition


def _address_contains(term: str) -> ColumnElement[bool]:
    """One of the Aggregation's addresses contains the term (the stored JSON text, matched with
    the term written as JSON writes it)."""
    return contains(cast(Aggregation.addresses, Text), json.dumps(term)[1:-1])


def _region_contains(term: str) -> ColumnElement[bool]:
    return exists().where(
        AggregationRegion.aggregation_id == Aggregation.id,
        or_(contains(AggregationRegion.id, term), contains(AggregationRegion.name, term)),
    )
