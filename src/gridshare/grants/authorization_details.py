"""RFC 9396 Rich Authorization Requests, checked against CDS-WG1-02 §3.8-§3.9 field objects.

An `authorization_details` entry's `type` names a scope of the catalogue (through the scope's
`authorization_details_types_supported`, §3.4); the entry may carry only that scope's fields for
that type (§3.8 `for_types`), must carry its required fields, and gets every omitted field's
default (CDS-WG3-01 §7: defaults are materialised, also for scopes requested only by the `scope`
string). Values are checked by format, choices and limits; decimals stay `Decimal` (parse with
`parse_float=Decimal`, write with `store.jsontext`); relative dates become absolute at `now` in
`cds_timezone` (§3.9). An entry whose type belongs to a scope also named in the `scope` string
overrides it (§3.3.2, §3.3.3): the scope appears once, described by its entries.

Two cross-entry rules of CDS-WG3-01 are enforced here because they are about the request as a
whole: every entry's `jwk` must be the same (§7.4.6), and `merge_selection_with` must name another
requested scope that names a merge too (§7.4.2). A non-null `purpose` (§7.4.4) must name one of
the Client's Purposes whose `scopes_supported` lists the entry's scope (`purposes`, from
`grants.purposes.usable`). The per-scope request rules of §6.1 (fields that
must not be null, §6.1.10's fixed values) live in `consent_scopes`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Final

import orjson

from gridshare.config import Settings
from gridshare.grants import consent_scopes
from gridshare.grants.purposes import PURPOSE_FIELD
from gridshare.grants.scopes import Catalogue, FieldValueError, ScopeDescription

PRESELECTION_FIELDS: Final = frozenset(
    {
        "account_numbers",
        "account_programs",
        "contract_numbers",
        "service_types",
        "service_programs",
        "servicepoint_numbers",
        "servicepoint_types",
        "premise_numbers",
        "meter_numbers",
        "meter_types",
        "meter_apps",
        "aggregation_numbers",
        "addresses",
    }
)
"""CDS-WG3-01 §7.1 preselection fields."""

FORM_ONLY_FIELDS: Final = PRESELECTION_FIELDS | {
    # CDS-WG3-01 §7.4 fields that only steer the authorization form
    "authorization_form_selection_type",
    "merge_selection_with",
    "error_if_no_preselections",
    "allow_scope_modifications",
}
"""Fields that shape the Customer's authorization form but are not part of what was granted;
a Grant from a Customer authorization leaves them out (CDS-WG3-01 §6.1, example 13.3.3), except
the programs a program-participation scope asked about (§6.1.2, §6.1.3)."""


class RequestRejected(ValueError):
    """A scope or authorization_details problem, answered as an OAuth error code."""

    error: ClassVar[str]

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidAuthorizationDetails(RequestRejected):
    """RFC 9396 §5."""

    error = "invalid_authorization_details"


class InvalidScope(RequestRejected):
    """RFC 6749 §4.1.2.1 / §5.2."""

    error = "invalid_scope"


@dataclass(frozen=True)
class Requested:
    """What a request asks for, resolved: what Grants store and token responses return."""

    scope: str
    authorization_details: list[dict[str, Any]]

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()


def parse_authorization_details(raw: str | None) -> list[dict[str, Any]]:
    """The `authorization_details` parameter (a JSON array of objects with a `type`), or []."""
    if raw is None or not raw.strip():
        return []
    try:
        value = json.loads(raw, parse_float=Decimal, parse_constant=_no_constant)
    except ValueError as error:
        raise InvalidAuthorizationDetails(f"authorization_details is not JSON: {error}") from error
    if not isinstance(value, list):
        raise InvalidAuthorizationDetails("authorization_details must be a JSON array")
    for entry in value:
        _check_entry_shape(entry)
    return value


def resolve_request(
    catalogue: Catalogue,
    *,
    scope: str | None,
    details: list[dict[str, Any]],
    allowed_scopes: set[str],
    settings: Settings,
    now: datetime,
    purposes: Mapping[str, frozenset[str]] | None = None,
) -> Requested:
    """Validate a scope string plus authorization_details and resolve them into one request.

    `allowed_scopes` are the scopes the client may use (its Client Object's `scope`); `purposes`
    its Purposes by id with the scopes each supports (none given: `purpose` must be null). Callers
    substitute their defaults (e.g. `cds_default_scope`) before calling; asking for nothing is
    `invalid_scope`.
    """
    purposes = purposes or {}
    order: list[str] = []
    for scope_id in (scope or "").split():
        described = catalogue.get(scope_id)
        if described is None:
            raise InvalidScope(f"unknown scope {scope_id!r}")
        if scope_id not in allowed_scopes:
            raise InvalidScope(f"this client is not registered for scope {scope_id!r}")
        if scope_id not in order:
            order.append(scope_id)
    entries: dict[str, list[dict[str, Any]]] = {}
    for entry in details:
        _check_entry_shape(entry)
        owner = catalogue.scope_for_type(entry["type"])
        if owner is None:
            raise InvalidAuthorizationDetails(
                f"unknown authorization_details type {entry['type']!r}"
            )
        if owner.id not in allowed_scopes:
            raise InvalidAuthorizationDetails(
                f"this client is not registered for scope {owner.id!r} "
                f"(authorization_details type {entry['type']!r})"
            )
        entries.setdefault(owner.id, []).append(
            _resolve_entry(owner, entry, settings, now, purposes)
        )
        if owner.id not in order:
            order.append(owner.id)
    if not order:
        raise InvalidScope("no scope was requested")
    resolved: list[dict[str, Any]] = []
    for scope_id in order:
        described = catalogue.scopes[scope_id]
        if scope_id in entries:
            resolved.extend(entries[scope_id])
        elif described.authorization_details_types_supported:
            details_type = described.authorization_details_types_supported[0]
            if described.fields_for(details_type):
                resolved.append(
                    _resolve_entry(described, {"type": details_type}, settings, now, purposes)
                )
    _check_across(catalogue, order, resolved)
    return Requested(" ".join(order), resolved)


def for_grant(catalogue: Catalogue, requested: Requested) -> Requested:
    """What a Customer-authorized Grant keeps: without fields that only shaped the form."""
    kept = []
    for entry in requested.authorization_details:
        owner = catalogue.scope_for_type(entry["type"])
        if owner is not None and owner.response_types_supported:
            dropped = FORM_ONLY_FIELDS - consent_scopes.kept_preselections(owner.type)
            entry = {k: v for k, v in entry.items() if k not in dropped}
        kept.append(entry)
    return Requested(requested.scope, kept)


def encryption_keys(entries: Iterable[Mapping[str, Any]]) -> tuple[dict[str, Any], ...]:
    """The distinct non-null `jwk` values (CDS-WG3-01 §7.4.6) of a Grant's entries, in order.

    Feed it the entries that give access (`enabled_authorization_details`); the result is what an
    Access carries as `jwks` and what `cds.jwe.encrypt_for` encrypts to (empty: plain HTTPS).
    """
    keys: dict[bytes, dict[str, Any]] = {}
    for entry in entries:
        jwk = entry.get("jwk")
        if jwk is not None:
            keys.setdefault(orjson.dumps(jwk, option=orjson.OPT_SORT_KEYS), dict(jwk))
    return tuple(keys.values())


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_entry_shape(entry: Any) -> None:
    if not isinstance(entry, dict):
        raise InvalidAuthorizationDetails("each authorization_details entry must be a JSON object")
    if not isinstance(entry.get("type"), str) or not entry["type"]:
        raise InvalidAuthorizationDetails("each authorization_details entry needs a string type")


def _resolve_entry(
    scope: ScopeDescription,
    entry: dict[str, Any],
    settings: Settings,
    now: datetime,
    purposes: Mapping[str, frozenset[str]],
) -> dict[str, Any]:
    details_type = entry["type"]
    fields = scope.fields_for(details_type)
    unknown = sorted(entry.keys() - {"type"} - {f.id for f in fields})
    if unknown:
        raise InvalidAuthorizationDetails(
            f"{details_type}: unsupported field {', '.join(unknown)} (see the scope's "
            "authorization_details_fields_supported)"
        )
    resolved: dict[str, Any] = {"type": details_type}
    for described in fields:
        if described.id in entry:
            value = entry[described.id]
        elif described.is_required:
            raise InvalidAuthorizationDetails(f"{details_type}: {described.id} is required")
        elif described.has_default:
            value = described.default
        else:
            continue
        if described.id == PURPOSE_FIELD:
            resolved[described.id] = _purpose(scope, value, purposes)
            continue
        try:
            resolved[described.id] = described.validate(value, tz=settings.tz, now=now)
        except FieldValueError as error:
            raise InvalidAuthorizationDetails(f"{details_type}: {error}") from error
    problem = consent_scopes.request_problem(details_type, scope, resolved)
    if problem is not None:
        raise InvalidAuthorizationDetails(problem)
    return resolved


def _purpose(scope: ScopeDescription, value: Any, purposes: Mapping[str, frozenset[str]]) -> Any:
    """§7.4.4: null, or the id of a Purpose of the Client whose scopes_supported lists the scope."""
    if value is None:
        return None
    if not isinstance(value, str) or scope.id not in purposes.get(value, frozenset()):
        usable = sorted(key for key, scopes in purposes.items() if scope.id in scopes)
        raise InvalidAuthorizationDetails(
            f"{scope.id}: purpose must be null or the id of one of this Client's cds_purposes "
            f"that supports the scope ({', '.join(usable) or 'none does'})"
        )
    return value


def _check_across(catalogue: Catalogue, order: list[str], entries: list[dict[str, Any]]) -> None:
    keys = {orjson.dumps(e["jwk"], option=orjson.OPT_SORT_KEYS) for e in entries if "jwk" in e}
    if len(keys) > 1:
        raise InvalidAuthorizationDetails("every authorization_details entry needs the same jwk")
    merging: dict[str, str] = {}
    by_scope: dict[str, dict[str, Any]] = {}
    for entry in entries:
        owner = catalogue.scope_for_type(entry["type"])
        if owner is not None:
            by_scope.setdefault(owner.id, entry)
            if entry.get("merge_selection_with") is not None:
                merging[owner.id] = entry["merge_selection_with"]
    for scope_id, target in merging.items():
        if target == scope_id or target not in order:
            raise InvalidAuthorizationDetails(
                f"merge_selection_with {target!r} must name another requested scope"
            )
        if target not in merging:
            raise InvalidAuthorizationDetails(
                f"merge_selection_with {target!r}: that scope must name a merge as well"
            )
        _check_mergeable(catalogue, scope_id, target, by_scope)


MERGE_SAME: Final = ("authorization_form_selection_type", "purpose", "allow_scope_modifications")
"""Fields merged scopes must agree on (CDS-WG3-01 §7.4.2)."""


def _check_mergeable(
    catalogue: Catalogue, scope_id: str, target: str, by_scope: dict[str, dict[str, Any]]
) -> None:
    """§7.4.2: merged scopes render one Selection, so they need the same selection type, purpose
    and editability, the same value for a preselection field both support, and null for one only
    one of them supports."""
    mine, theirs = by_scope.get(scope_id, {}), by_scope.get(target, {})
    for field_id in MERGE_SAME:
        if mine.get(field_id) != theirs.get(field_id):
            raise InvalidAuthorizationDetails(
                f"merge_selection_with {target!r}: {field_id} differs between {scope_id!r} "
                f"and {target!r}"
            )
    supported_mine = {
        f.id for f in catalogue.scopes[scope_id].authorization_details_fields_supported
    }
    supported_theirs = {
        f.id for f in catalogue.scopes[target].authorization_details_fields_supported
    }
    for field_id in PRESELECTION_FIELDS & (supported_mine | supported_theirs):
        both = field_id in supported_mine and field_id in supported_theirs
        if both and mine.get(field_id) != theirs.get(field_id):
            raise InvalidAuthorizationDetails(
                f"merge_selection_with {target!r}: {field_id} differs between {scope_id!r} "
                f"and {target!r}"
            )
        if not both and (mine.get(field_id) or theirs.get(field_id)) is not None:
            raise InvalidAuthorizationDetails(
                f"merge_selection_with {target!r}: {field_id} is supported by only one of "
                f"{scope_id!r} and {target!r}, so it must be null"
            )


def _field_ids(catalogue: Catalogue, scope_id: str) -> set[str]:
    return {f.id for f in catalogue.scopes[scope_id].authorization_details_fields_supported}
