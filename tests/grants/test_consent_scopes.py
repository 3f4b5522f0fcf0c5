"""CDS-WG3-01 §6.1: the bundled catalogue's Customer Consent scopes, each against its section.

The expectations are written out here from the spec text, not read from `consent_scopes.RULES`,
so a wrong rule table cannot make its own test pass.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gridshare.config import Settings
from gridshare.grants.authorization_details import (
    InvalidAuthorizationDetails,
    Requested,
    for_grant,
    resolve_request,
)
from gridshare.grants.consent_scopes import in_default_scope
from gridshare.grants.scopes import (
    DEFAULT_FILE,
    Catalogue,
    CatalogueError,
    ScopeDescription,
    load_catalogue,
    parse_catalogue,
)

NOW = datetime(2024, 6, 1, 19, 0, tzinfo=UTC)
COMMON = (
    "authorization_form_selection_type",
    "merge_selection_with",
    "error_if_no_preselections",
    "allow_scope_modifications",
    "jwk",
)
NO_DATA = ("include_bill_statements", "include_bill_sections", "include_usage_segments")
PRESELECTION = (
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
)
ALL_SELECTIONS = {
    "account_selection",
    "service_contract_selection",
    "servicepoint_selection",
    "meter_device_selection",
    "aggregation_selection",
}

# scope id -> (type, required fields, forbidden fields, required choices, allowed choices, one)
SECTIONS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], set[str], set[str], bool]] = {
    "cds_rate_plan_1": (
        "cds_rate_plan",
        ("contract_numbers", "service_types", "include_contract_numbers", "sync_until", *COMMON),
        NO_DATA,
        {"service_contract_selection"},
        {"service_contract_selection"},
        True,
    ),
    "cds_account_programs_1": (
        "cds_account_programs",
        ("account_numbers", "account_programs", "include_account_numbers", "sync_until", *COMMON),
        NO_DATA,
        {"account_selection"},
        {"account_selection"},
        True,
    ),
    "cds_service_programs_1": (
        "cds_service_programs",
        (
            "contract_numbers",
            "service_programs",
            "service_types",
            "include_contract_numbers",
            "sync_until",
            *COMMON,
        ),
        NO_DATA,
        {"service_contract_selection"},
        {"service_contract_selection"},
        True,
    ),
    "cds_accounts_1": (
        "cds_accounts",
        ("account_numbers", "include_account_numbers", "sync_until", *COMMON),
        NO_DATA,
        {"account_selection"},
        {"account_selection"},
        True,
    ),
    "cds_service_contracts_1": (
        "cds_service_contracts",
        ("contract_numbers", "service_types", "include_contract_numbers", "sync_until", *COMMON),
        NO_DATA,
        {"service_contract_selection"},
        {"service_contract_selection", "account_selection"},
        False,
    ),
    "cds_meters_1": (
        "cds_meters",
        ("meter_numbers", "meter_types", "include_meter_numbers", "sync_until", *COMMON),
        NO_DATA,
        {"meter_device_selection"},
        {
            "meter_device_selection",
            "service_contract_selection",
            "account_selection",
            "servicepoint_selection",
        },
        False,
    ),
    "cds_bill_statements_1": (
        "cds_bill_statements",
        ("account_numbers", "statement_date_start", "statement_date_end", *COMMON),
        ("include_usage_segments",),
        {"account_selection"},
        {"account_selection"},
        True,
    ),
    "cds_service_bills_1": (
        "cds_service_bills",
        ("contract_numbers", "service_types", "start_date", "end_date", *COMMON),
        ("include_usage_segments",),
        {"service_contract_selection", "account_selection"},
        {"service_contract_selection", "account_selection"},
        False,
    ),
    "cds_usage_1": (
        "cds_usage",
        (
            "include_meter_devices",
            "include_meter_numbers",
            "include_usage_segment_value_types",
            "segment_start",
            "segment_end",
            *COMMON,
        ),
        (),
        set(),
        ALL_SELECTIONS,
        False,
    ),
    "cds_aggregation_consent_1": (
        "cds_aggregation_consent",
        (
            "aggregation_numbers",
            "premise_numbers",
            "expires",
            "authorization_form_selection_type",
            "error_if_no_preselections",
            "allow_scope_modifications",
        ),
        (),
        {"aggregation_selection"},
        {"aggregation_selection"},
        True,
    ),
}
# §6.1.9: fields each offered selection brings along.
PER_SELECTION = {
    "account_selection": (
        "sync_until",
        "account_numbers",
        "include_accounts",
        "include_account_numbers",
        "include_service_contracts",
        "include_contract_numbers",
    ),
    "service_contract_selection": (
        "sync_until",
        "account_numbers",
        "contract_numbers",
        "include_accounts",
        "include_account_numbers",
        "include_service_contracts",
        "include_contract_numbers",
    ),
    "servicepoint_selection": ("sync_until", "servicepoint_numbers", "include_service_points"),
    "meter_device_selection": ("sync_until", "meter_numbers"),
    "aggregation_selection": ("sync_until", "aggregation_numbers", "include_aggregations"),
}
# A request each scope's Client would typically send (preselections and a duration).
TYPICAL: dict[str, dict[str, Any]] = {
    "cds_rate_plan_1": {"service_types": ["electric"]},
    "cds_account_programs_1": {"account_programs": ["DGE-EAD"]},
    "cds_service_programs_1": {"service_programs": ["DGE-PDR"], "sync_until": "P1Y"},
    "cds_accounts_1": {"account_numbers": ["1234-5"]},
    "cds_service_contracts_1": {"authorization_form_selection_type": "account_selection"},
    "cds_meters_1": {"meter_types": ["electric_usage"], "include_meter_apps": True},
    "cds_bill_statements_1": {"statement_date_start": "P3Y", "statement_date_end": "P0D"},
    "cds_service_bills_1": {"start_date": "P1Y", "include_bill_section_line_items": False},
    "cds_usage_1": {
        "meter_numbers": ["_all"],
        "segment_start": "P1Y",
        "include_usage_segment_value_types": ["electric_usage_net_kwh"],
    },
    "cds_aggregation_consent_1": {"aggregation_numbers": ["B1111"], "premise_numbers": ["P-1"]},
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """No database needed (the conftest `settings` would create one)."""
    return Settings(data_dir=tmp_path / "data", base_url="http://testserver")


@pytest.fixture
def catalogue(settings: Settings) -> Catalogue:
    return load_catalogue(settings)


def _fields(scope: ScopeDescription) -> dict[str, Any]:
    return {f.id: f for f in scope.authorization_details_fields_supported}


def _resolve(catalogue: Catalogue, settings: Settings, scope_id: str, **fields: Any) -> Requested:
    return resolve_request(
        catalogue,
        scope=None,
        details=[{"type": scope_id, **fields}],
        allowed_scopes=set(catalogue.scopes),
        settings=settings,
        now=NOW,
    )


@pytest.mark.req("WG3-6.1-a", "WG3-6.1-b")
def test_every_consent_scope_is_offered(catalogue: Catalogue) -> None:
    consent = {k for k, s in catalogue.scopes.items() if s.response_types_supported}
    assert consent == set(SECTIONS)
    for scope_id, scope in catalogue.scopes.items():
        if scope_id in SECTIONS:
            assert scope.authorization_details_types_supported == (scope_id,)
            assert scope.grant_admin_scope == "cds_grant_admin_1"
            assert scope.code_challenge_methods_supported == ("S256",)
            assert scope.registration_requirements == ("company_name",)


@pytest.mark.parametrize(
    "scope_id",
    [
        pytest.param("cds_rate_plan_1", marks=pytest.mark.req("WG3-6.1.1-a", "WG3-6.1.1-b")),
        pytest.param("cds_account_programs_1", marks=pytest.mark.req("WG3-6.1.2-a", "WG3-6.1.2-b")),
        pytest.param("cds_service_programs_1", marks=pytest.mark.req("WG3-6.1.3-a", "WG3-6.1.3-b")),
        pytest.param("cds_accounts_1", marks=pytest.mark.req("WG3-6.1.4-a", "WG3-6.1.4-b")),
        pytest.param(
            "cds_service_contracts_1", marks=pytest.mark.req("WG3-6.1.5-a", "WG3-6.1.5-b")
        ),
        pytest.param("cds_meters_1", marks=pytest.mark.req("WG3-6.1.6-a", "WG3-6.1.6-b")),
        pytest.param("cds_bill_statements_1", marks=pytest.mark.req("WG3-6.1.7-a", "WG3-6.1.7-b")),
        pytest.param("cds_service_bills_1", marks=pytest.mark.req("WG3-6.1.8-a", "WG3-6.1.8-b")),
        pytest.param(
            "cds_usage_1", marks=pytest.mark.req("WG3-6.1.9-a", "WG3-6.1.9-b", "WG3-6.1.9-c")
        ),
        pytest.param(
            "cds_aggregation_consent_1", marks=pytest.mark.req("WG3-6.1.10-a", "WG3-6.1.10-b")
        ),
    ],
)
def test_scope_description_follows_its_section(catalogue: Catalogue, scope_id: str) -> None:
    kind, required, forbidden, must_choose, may_choose, exactly_one = SECTIONS[scope_id]
    scope = catalogue.scopes[scope_id]
    assert scope.type == kind
    assert "code" in scope.response_types_supported
    assert {"authorization_code", "refresh_token"} <= set(scope.grant_types_supported)
    assert "client_credentials" not in scope.grant_types_supported
    fields = _fields(scope)
    assert set(required) <= set(fields), set(required) - set(fields)
    assert not set(forbidden) & set(fields)
    selection = fields["authorization_form_selection_type"]
    choices = {c.id for c in selection.choices}
    assert must_choose <= choices <= may_choose
    assert choices and (len(choices) == 1 or not exactly_one)
    assert selection.default in choices
    for choice in choices:  # §6.1.9-c (the other sections are covered by `required`)
        if scope.type == "cds_usage":
            assert set(PER_SELECTION[choice]) <= set(fields)


@pytest.mark.req(
    "WG3-7-a",
    "WG3-7.1-c",
    "WG3-7.1.1-a",
    "WG3-7.1.2-a",
    "WG3-7.1.3-a",
    "WG3-7.1.4-a",
    "WG3-7.1.5-a",
    "WG3-7.1.6-a",
    "WG3-7.1.7-a",
    "WG3-7.1.8-a",
    "WG3-7.1.9-a",
    "WG3-7.1.10-a",
    "WG3-7.1.12-a",
    "WG3-7.1.13-a",
    "WG3-7.2-c",
    "WG3-7.2.8.1-a",
    "WG3-7.3.1-a",
    "WG3-7.3.2-a",
    "WG3-7.3.3-a",
    "WG3-7.3.4-a",
    "WG3-7.3.5-a",
    "WG3-7.3.6-a",
    "WG3-7.3.7-a",
    "WG3-7.3.8-a",
    "WG3-7.4.1-a",
    "WG3-7.4.1-b",
    "WG3-7.4.2-a",
    "WG3-7.4.3-a",
    "WG3-7.4.5-a",
    "WG3-7.4.6-a",
)
def test_field_objects_have_the_section_7_formats(catalogue: Catalogue) -> None:
    lists = {"string_list_or_null", "choice_list_or_null"}
    formats: dict[str, set[str]] = {
        **{f: lists for f in PRESELECTION},
        **{
            f: {"choice_list_or_null"}
            for f in ("account_programs", "service_types", "service_programs")
        },
        **{f: {"choice_list_or_null"} for f in ("servicepoint_types", "meter_types", "meter_apps")},
        "include_usage_segment_value_types": {"choice_list_or_null"},
        "sync_until": {"relative_or_absolute_datetime"},
        "segment_start": {"relative_or_absolute_datetime"},
        "segment_end": {"relative_or_absolute_datetime"},
        "expires": {"relative_or_absolute_datetime"},
        "statement_date_start": {"relative_or_absolute_date"},
        "statement_date_end": {"relative_or_absolute_date"},
        "start_date": {"relative_or_absolute_date"},
        "end_date": {"relative_or_absolute_date"},
        "authorization_form_selection_type": {"choice"},
        "merge_selection_with": {"string_or_null"},
        "error_if_no_preselections": {"boolean"},
        "allow_scope_modifications": {"boolean"},
        "jwk": {"jwk_or_null"},
        "purpose": {"choice_or_null"},
    }
    history = {"statement_date_start", "start_date", "segment_start"}
    for scope_id in SECTIONS:
        for f in catalogue.scopes[scope_id].authorization_details_fields_supported:
            where = f"{scope_id}.{f.id}"
            assert not f.is_required, where
            assert f.has_default, where  # every default is materialised (§7)
            expected = {"boolean"} if f.id.startswith("include_") else formats[f.id]
            if f.id == "include_usage_segment_value_types":
                expected = formats[f.id]
                assert all("usagesegment_format" in c.extra for c in f.choices), where
            assert f.format in expected, where
            assert f.historical == (f.id in history), where
            if f.id == "jwk":
                assert f.default is None
            if f.id == "purpose":  # its choices are the Client's Purposes (§7.4.4)
                assert f.default is None and not f.choices, where


@pytest.mark.req("WG3-4.1-f", "WG3-4.2-f", "WG3-4.4-g", "WG3-4.8-b", "WG3-4.9-b")
def test_history_and_sync_limits(catalogue: Catalogue) -> None:
    for scope_id in SECTIONS:
        fields = _fields(catalogue.scopes[scope_id])
        for field_id in ("segment_start", "statement_date_start", "start_date"):
            if field_id in fields:  # at least three years back can be authorized
                assert fields[field_id].maximum in ("P3Y", "infinite")
        for field_id in ("sync_until", "segment_end", "statement_date_end", "end_date"):
            if field_id in fields:
                assert fields[field_id].maximum == "infinite"


@pytest.mark.req("WG3-6.1.10-b")
def test_aggregation_inclusion_defaults(catalogue: Catalogue) -> None:
    fields = _fields(catalogue.scopes["cds_aggregation_consent_1"])
    assert fields["error_if_no_preselections"].default is True
    assert fields["allow_scope_modifications"].default is False


@pytest.mark.parametrize("scope_id", list(SECTIONS))
@pytest.mark.req("WG3-7-b", "WG3-7-c", "WG3-7.3-b", "WG3-7.3-c", "WG3-6.1-d")
def test_a_typical_request_resolves_with_defaults(
    catalogue: Catalogue, settings: Settings, scope_id: str
) -> None:
    requested = _resolve(catalogue, settings, scope_id, **TYPICAL[scope_id])
    [entry] = requested.authorization_details
    fields = _fields(catalogue.scopes[scope_id])
    assert set(entry) == {"type"} | set(fields)  # every default materialised
    for key, value in TYPICAL[scope_id].items():
        if fields[key].format.startswith("relative_or_absolute"):
            assert value.startswith("P") and entry[key][:1] in "12"  # now absolute
        else:
            assert entry[key] == value
    for field_id, f in fields.items():
        if f.format.startswith("relative_or_absolute"):
            assert entry[field_id] == "infinite" or not entry[field_id].startswith("P")
    granted = for_grant(catalogue, requested).authorization_details[0]
    kept = {
        "cds_account_programs_1": "account_programs",
        "cds_service_programs_1": "service_programs",
    }
    leftover = set(granted) & set(PRESELECTION)
    assert leftover == ({kept[scope_id]} if scope_id in kept else set())
    assert not set(granted) & {"authorization_form_selection_type", "merge_selection_with"}


def test_resolved_durations(catalogue: Catalogue, settings: Settings) -> None:
    usage = _resolve(catalogue, settings, "cds_usage_1").authorization_details[0]
    assert usage["segment_start"] == "2023-05-01T19:00:00Z"  # the P13M default, back from noon
    assert usage["segment_end"] == "infinite"
    bills = _resolve(catalogue, settings, "cds_bill_statements_1", statement_date_start="P3Y")
    assert bills.authorization_details[0]["statement_date_start"] == "2021-06-01"
    with pytest.raises(InvalidAuthorizationDetails, match="segment_start"):
        _resolve(catalogue, settings, "cds_usage_1", segment_start="P4Y")


@pytest.mark.parametrize(
    ("scope_id", "field_id", "value"),
    [
        ("cds_rate_plan_1", "include_usage_segments", True),
        ("cds_rate_plan_1", "include_bill_statements", True),
        ("cds_accounts_1", "include_bill_sections", True),
        ("cds_bill_statements_1", "include_usage_segments", True),
        ("cds_service_bills_1", "include_usage_segments", True),
        ("cds_aggregation_consent_1", "jwk", None),
    ],
)
@pytest.mark.req("WG3-6.1.1-a", "WG3-6.1.4-a", "WG3-6.1.7-a", "WG3-6.1.8-a")
def test_a_forbidden_field_is_refused(
    catalogue: Catalogue, settings: Settings, scope_id: str, field_id: str, value: Any
) -> None:
    with pytest.raises(InvalidAuthorizationDetails, match=f"unsupported field {field_id}"):
        _resolve(catalogue, settings, scope_id, **TYPICAL[scope_id], **{field_id: value})


@pytest.mark.parametrize(
    ("scope_id", "change"),
    [
        ("cds_rate_plan_1", {"authorization_form_selection_type": "account_selection"}),
        ("cds_usage_1", {"include_usage_segment_value_types": ["electric_usage_kw"]}),
        ("cds_meters_1", {"meter_types": ["toaster"]}),
    ],
)
@pytest.mark.req("WG3-6.1.1-b")
def test_values_outside_the_choices_are_refused(
    catalogue: Catalogue, settings: Settings, scope_id: str, change: dict[str, Any]
) -> None:
    with pytest.raises(InvalidAuthorizationDetails, match=r"must be one of|not among"):
        _resolve(catalogue, settings, scope_id, **change)


@pytest.mark.parametrize(
    ("scope_id", "change", "message"),
    [
        pytest.param(
            "cds_account_programs_1",
            {"account_programs": None},
            "account_programs must not be null",
            marks=pytest.mark.req("WG3-6.1.2-c"),
        ),
        pytest.param(
            "cds_service_programs_1",
            {"service_programs": None},
            "service_programs must not be null",
            marks=pytest.mark.req("WG3-6.1.3-c"),
        ),
        pytest.param(
            "cds_aggregation_consent_1",
            {"aggregation_numbers": None, "premise_numbers": ["P-1"]},
            "aggregation_numbers must not be null",
            marks=pytest.mark.req("WG3-6.1.10-c"),
        ),
        pytest.param(
            "cds_aggregation_consent_1",
            {"aggregation_numbers": ["B1111"]},
            "premise_numbers must not be null",
            marks=pytest.mark.req("WG3-6.1.10-c"),
        ),
        pytest.param(
            "cds_aggregation_consent_1",
            {**TYPICAL["cds_aggregation_consent_1"], "error_if_no_preselections": False},
            "error_if_no_preselections must be true",
            marks=pytest.mark.req("WG3-6.1.10-c"),
        ),
        pytest.param(
            "cds_aggregation_consent_1",
            {**TYPICAL["cds_aggregation_consent_1"], "allow_scope_modifications": True},
            "allow_scope_modifications must be false",
            marks=pytest.mark.req("WG3-6.1.10-c"),
        ),
    ],
)
def test_section_request_rules(
    catalogue: Catalogue, settings: Settings, scope_id: str, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidAuthorizationDetails, match=message) as caught:
        _resolve(catalogue, settings, scope_id, **change)
    assert caught.value.error == "invalid_authorization_details"


@pytest.mark.req("WG3-6.1.2-e", "WG3-6.1.3-d", "WG3-6.1-d")
def test_program_scopes_keep_their_programs_in_the_grant(
    catalogue: Catalogue, settings: Settings
) -> None:
    requested = resolve_request(
        catalogue,
        scope=None,
        details=[
            {"type": "cds_account_programs_1", "account_programs": ["DGE-EAD"]},
            {"type": "cds_service_programs_1", "service_programs": ["DGE-NEM"]},
        ],
        allowed_scopes=set(catalogue.scopes),
        settings=settings,
        now=NOW,
    )
    accounts, services = for_grant(catalogue, requested).authorization_details
    assert accounts["account_programs"] == ["DGE-EAD"] and "account_numbers" not in accounts
    assert services["service_programs"] == ["DGE-NEM"] and "contract_numbers" not in services
    # Requested by the scope string alone: the non-null defaults (§6.1.2 allows them) apply.
    only = resolve_request(
        catalogue,
        scope="cds_service_programs_1",
        details=[],
        allowed_scopes=set(catalogue.scopes),
        settings=settings,
        now=NOW,
    )
    assert only.authorization_details[0]["service_programs"] == ["DGE-PDR", "DGE-NEM"]


def _bundled() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_FILE.read_text(encoding="utf-8"))
    return data


def _without_field(data: dict[str, Any], scope_id: str, field_id: str) -> dict[str, Any]:
    broken = copy.deepcopy(data)
    scope = broken["cds_scope_descriptions"][scope_id]
    scope["authorization_details_fields_supported"] = [
        f for f in scope["authorization_details_fields_supported"] if f["id"] != field_id
    ]
    return broken


def _edit_field(
    data: dict[str, Any], scope_id: str, field_id: str, **changes: Any
) -> dict[str, Any]:
    broken = copy.deepcopy(data)
    for f in broken["cds_scope_descriptions"][scope_id]["authorization_details_fields_supported"]:
        if f["id"] == field_id:
            f.update(changes)
    return broken


def _choice(scope_id: str, field_id: str, choice_id: str) -> dict[str, str]:
    return {
        "id": choice_id,
        "name": choice_id,
        "description": choice_id,
        "documentation": f"/developers/oauth#choice-{scope_id}-{field_id}-{choice_id}",
    }


@pytest.mark.req("WG3-6.1.1-a", "WG3-6.1.1-b", "WG3-6.1.9-c", "WG3-6.1.10-b")
def test_an_operator_file_breaking_a_section_is_refused() -> None:
    data = _bundled()
    parse_catalogue(data)  # as bundled: fine
    broken = _without_field(data, "cds_rate_plan_1", "sync_until")
    with pytest.raises(CatalogueError, match=r"missing field sync_until.*§6\.1\.1"):
        parse_catalogue(broken)
    broken = copy.deepcopy(data)
    broken["cds_scope_descriptions"]["cds_rate_plan_1"]["grant_types_supported"].append(
        "client_credentials"
    )
    with pytest.raises(CatalogueError, match="not client_credentials"):
        parse_catalogue(broken)
    sel = "authorization_form_selection_type"
    two = [_choice("cds_rate_plan_1", sel, c) for c in ("service_contract_selection", "x")]
    with pytest.raises(CatalogueError, match="choices"):
        parse_catalogue(_edit_field(data, "cds_rate_plan_1", sel, choices=two))
    with pytest.raises(CatalogueError, match="choice aggregation_selection needs field"):
        parse_catalogue(_without_field(data, "cds_usage_1", "aggregation_numbers"))
    with pytest.raises(CatalogueError, match="must default to True"):
        parse_catalogue(
            _edit_field(
                data, "cds_aggregation_consent_1", "error_if_no_preselections", default=False
            )
        )


@pytest.mark.req("WG3-5.2-a", "WG3-7.2.8.1-a")
def test_usage_value_type_choices_carry_their_format() -> None:
    data = _bundled()
    field_id = "include_usage_segment_value_types"
    scope = data["cds_scope_descriptions"]["cds_usage_1"]
    [values] = [f for f in scope["authorization_details_fields_supported"] if f["id"] == field_id]
    bare = [{k: v for k, v in c.items() if k != "usagesegment_format"} for c in values["choices"]]
    with pytest.raises(CatalogueError, match="needs a usagesegment_format"):
        parse_catalogue(_edit_field(data, "cds_usage_1", field_id, choices=bare))
    sel = "authorization_form_selection_type"
    [selection] = [f for f in scope["authorization_details_fields_supported"] if f["id"] == sel]
    odd = copy.deepcopy(selection["choices"])
    odd[0]["usagesegment_format"] = {"id": "x", "type": "electric_usage"}
    with pytest.raises(CatalogueError, match="usagesegment_format belongs only"):
        parse_catalogue(_edit_field(data, "cds_usage_1", sel, choices=odd))


@pytest.mark.req("WG3-6.1.10-c")
def test_only_aggregation_inclusion_stays_out_of_default_scopes(catalogue: Catalogue) -> None:
    outside = {s for s in SECTIONS if not in_default_scope(catalogue.scopes[s])}
    assert outside == {"cds_aggregation_consent_1"}


@pytest.mark.req("WG3-4.4-d", "WG3-4.4-e", "WG3-4.4-f")
def test_meter_list_and_meter_usage_offer_their_scenario_fields(catalogue: Catalogue) -> None:
    """§4.4 Download My Data: the fields the Meter List and Meter Usage scopes must support, and
    a service_contract_selection choice so both merge with the Service List's selection."""
    located = (
        "account_numbers",
        "contract_numbers",
        "service_types",
        "servicepoint_numbers",
        "servicepoint_types",
        "premise_numbers",
        "addresses",
    )
    wanted = {
        "cds_meters_1": (
            *located,
            "include_accounts",
            "include_account_numbers",
            "include_service_contracts",
            "include_contract_numbers",
            "include_rate_plans",
            "include_service_contract_details",
            "include_service_points",
            "include_premises",
            "include_service_point_addresses",
            "include_coordinates",
        ),
        "cds_usage_1": (*located, "meter_numbers"),
    }
    for scope_id, field_ids in wanted.items():
        fields = _fields(catalogue.scopes[scope_id])
        assert set(field_ids) <= set(fields), (scope_id, set(field_ids) - set(fields))
        choices = {c.id for c in fields["authorization_form_selection_type"].choices}
        assert "service_contract_selection" in choices, scope_id
