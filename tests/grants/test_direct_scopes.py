"""CDS-WG3-01 §6.2 Direct Access scopes in the bundled catalogue, and the loader's §6.2 checks."""

from __future__ import annotations

from typing import Any

import pytest

from gridshare.grants.direct_scopes import IMPLIED, REQUIRED
from gridshare.grants.scopes import CatalogueError, parse_catalogue
from tests.grants.catalogue_samples import bundled

PRESELECT = ["account_numbers", "contract_numbers", "servicepoint_numbers", "premise_numbers"]
SELF_ACCESS = [
    *PRESELECT,
    "meter_numbers",
    "include_accounts",
    "include_account_numbers",
    "include_account_details",
    "include_service_contracts",
    "include_contract_numbers",
    "include_rate_plans",
    "include_service_contract_details",
    "include_service_points",
    "include_premises",
    "include_service_point_addresses",
    "include_coordinates",
    "include_meter_devices",
    "include_meter_numbers",
    "include_meter_apps",
    "error_if_no_preselections",
]
SCENARIO_FIELDS: dict[str, list[str]] = {
    # §4.1-d, §4.2-c
    "cds_query_accounts_1": SELF_ACCESS,
    "cds_query_service_contracts_1": SELF_ACCESS,
    "cds_query_service_points_1": SELF_ACCESS,
    "cds_query_meter_devices_1": SELF_ACCESS,
    # §4.2-d
    "cds_query_bill_statements_1": [
        "account_numbers",
        "include_accounts",
        "include_account_numbers",
        "include_bill_statement_files",
        "include_bill_statement_charges",
        "include_bill_statement_programs",
        "error_if_no_preselections",
    ],
    # §4.2-e, §4.3-a
    "cds_query_bill_sections_1": [
        "account_numbers",
        "contract_numbers",
        "include_accounts",
        "include_account_numbers",
        "include_service_contracts",
        "include_contract_numbers",
        "include_bill_section_line_items",
        "include_service_points",
        "include_meter_devices",
    ],
    # §4.11-c, §4.12-b
    "cds_query_aggregations_1": [
        "servicepoint_numbers",
        "aggregation_numbers",
        "addresses",
        "include_service_points",
        "include_premises",
        "include_service_point_addresses",
        "include_aggregation_addresses",
    ],
    # §4.1-e, §4.3-a, §4.11-d, §4.12-b
    "cds_query_usage_1": [
        "meter_numbers",
        "include_meter_devices",
        "include_meter_numbers",
        "error_if_no_preselections",
        "include_bill_sections",
        "aggregation_numbers",
        "include_aggregations",
        "include_aggregation_addresses",
    ],
}


def _fields(scope: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in scope["authorization_details_fields_supported"]}


@pytest.mark.req(
    "WG3-6.2-a",
    "WG3-6.2.1-a",
    "WG3-6.2.2-a",
    "WG3-6.2.3-a",
    "WG3-6.2.4-a",
    "WG3-6.2.5-a",
    "WG3-6.2.6-a",
    "WG3-6.2.7-a",
    "WG3-6.2.8-a",
)
def test_every_direct_access_type_has_a_scope_that_meets_its_section() -> None:
    scopes = bundled()["cds_scope_descriptions"]
    for scope_type, (_, required) in REQUIRED.items():
        scope = scopes[f"{scope_type}_1"]
        assert scope["type"] == scope_type
        assert scope["response_types_supported"] == []
        assert scope["grant_types_supported"] == ["client_credentials"]
        assert scope["authorization_details_types_supported"] == [scope["id"]]
        fields = _fields(scope)
        assert set(required) <= set(fields), scope_type
        for implied in IMPLIED[scope_type]:
            if implied in fields and fields[implied]["format"] == "boolean":
                assert fields[implied]["default"] is True, (scope_type, implied)


@pytest.mark.req(
    "WG3-4.1-d",
    "WG3-4.1-e",
    "WG3-4.1-f",
    "WG3-4.2-c",
    "WG3-4.2-d",
    "WG3-4.2-e",
    "WG3-4.2-f",
    "WG3-4.3-a",
    "WG3-4.11-c",
    "WG3-4.11-d",
    "WG3-4.12-b",
)
def test_direct_access_scopes_offer_the_fields_their_scenarios_list() -> None:
    scopes = bundled()["cds_scope_descriptions"]
    for scope_id, wanted in SCENARIO_FIELDS.items():
        fields = _fields(scopes[scope_id])
        assert set(wanted) <= set(fields), (scope_id, sorted(set(wanted) - set(fields)))
        for f in fields.values():
            assert f["for_types"] == [scope_id]
            assert f["is_required"] is False and "default" in f
            if f["id"].startswith("include_") and f["id"] != "include_usage_segment_value_types":
                assert f["format"] == "boolean"
            elif f["id"].endswith("_numbers"):  # a preselection field (§7.1)
                assert f["format"] == "string_list_or_null" and f["default"] is None
        assert fields["sync_until"]["maximum"] == "infinite"
    usage = _fields(scopes["cds_query_usage_1"])
    assert usage["segment_end"]["maximum"] == "infinite"
    assert usage["segment_start"]["maximum"] in ("P3Y", "infinite")  # ≥ 1 year back (§4.1)
    bills = _fields(scopes["cds_query_bill_statements_1"])
    assert bills["statement_date_end"]["maximum"] == "infinite"
    sections = _fields(scopes["cds_query_bill_sections_1"])
    assert sections["end_date"]["maximum"] == "infinite"


@pytest.mark.req("WG3-5.2-a")
def test_usage_value_type_choices_carry_a_value_format() -> None:
    usage = _fields(bundled()["cds_scope_descriptions"]["cds_query_usage_1"])
    for choice in usage["include_usage_segment_value_types"]["choices"]:
        assert choice["usagesegment_format"]["type"] in (
            "electric_usage",
            "natural_gas_usage",
            "water_usage",
            "electric_supply_mix",
            "cost",
        )


@pytest.mark.req("WG3-4.4-b", "WG3-4.11-a", "WG3-4.12-a")
def test_direct_access_needs_the_utilitys_review() -> None:
    data = bundled()
    assert data["cds_registration_fields"]["internal_review"]["type"] == "internal_review"
    for scope_type in REQUIRED:
        scope = data["cds_scope_descriptions"][f"{scope_type}_1"]
        assert "internal_review" in scope["registration_requirements"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"response_types_supported": ["code"]}, "response type code needs"),
        ({"grant_types_supported": ["refresh_token"]}, "must contain client_credentials"),
    ],
)
@pytest.mark.req("WG3-6.2-a")
def test_the_loader_refuses_a_direct_scope_that_breaks_section_6_2(
    change: dict[str, Any], problem: str
) -> None:
    data = bundled()
    data["cds_scope_descriptions"]["cds_query_accounts_1"].update(change)
    with pytest.raises(CatalogueError, match=problem):
        parse_catalogue(data)


@pytest.mark.req("WG3-6.2.5-a", "WG3-6.2.8-a")
@pytest.mark.parametrize(
    ("scope_id", "field_id"),
    [
        ("cds_query_accounts_1", "sync_until"),
        ("cds_query_bill_statements_1", "statement_date_start"),
        ("cds_query_bill_sections_1", "end_date"),
        ("cds_query_usage_1", "segment_start"),
    ],
)
def test_the_loader_refuses_a_direct_scope_without_a_required_field(
    scope_id: str, field_id: str
) -> None:
    data = bundled()
    scope = data["cds_scope_descriptions"][scope_id]
    scope["authorization_details_fields_supported"] = [
        f for f in scope["authorization_details_fields_supported"] if f["id"] != field_id
    ]
    with pytest.raises(CatalogueError, match=f"missing field {field_id} for type"):
        parse_catalogue(data)


@pytest.mark.req("WG3-5.2-a")
def test_a_value_format_of_an_unknown_value_type_is_refused() -> None:
    data = bundled()
    usage = _fields(data["cds_scope_descriptions"]["cds_query_usage_1"])
    usage["include_usage_segment_value_types"]["choices"][0]["usagesegment_format"]["type"] = "x"
    with pytest.raises(CatalogueError, match="usagesegment_format type 'x' is not one of"):
        parse_catalogue(data)


@pytest.mark.req("WG3-5.2-a")
def test_a_value_format_on_another_fields_choice_is_refused() -> None:
    data = bundled()
    usage = _fields(data["cds_scope_descriptions"]["cds_usage_1"])
    form = usage["authorization_form_selection_type"]["choices"][0]
    form["usagesegment_format"] = {"id": "electric_usage_net_kwh", "type": "electric_usage"}
    with pytest.raises(CatalogueError, match="usagesegment_format belongs only to"):
        parse_catalogue(data)
