"""CDS-WG3-01 §4 Scenarios: `GRIDSHARE_SCENARIOS` decides which scopes the catalogue offers."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.grants.scenarios import SCENARIOS, ScenarioError, enabled
from gridshare.grants.scopes import load_catalogue
from tests.grants.catalogue_samples import bundled, write

ADMIN = {"cds_client_admin", "cds_grant_admin_1", "cds_server_provided_files_1"}
UNNAMED = {"cds_accounts_1"}
"""Account List (§6.1.4): no Scenario lists it, so it is offered whatever is enabled."""


def _offered(settings: Settings, scenarios: str) -> set[str]:
    return set(load_catalogue(settings.model_copy(update={"scenarios": scenarios})).scopes)


def test_there_are_twelve_scenarios_and_all_is_the_default(settings: Settings) -> None:
    assert len(SCENARIOS) == 12
    assert [s.section for s in SCENARIOS.values()] == [f"§4.{i}" for i in range(1, 13)]
    assert Settings.model_fields["scenarios"].default == "all"
    assert _offered(settings, "all") == set(bundled()["cds_scope_descriptions"])


@pytest.mark.req("WG3-4.1-a", "WG3-4.2-a", "WG3-4.4-a", "WG3-4.5-a", "WG3-4.6-a")
@pytest.mark.req("WG3-4.7-a", "WG3-4.8-a", "WG3-4.9-a", "WG3-4.10-a", "WG3-4.11-a", "WG3-4.12-a")
def test_each_scenario_offers_the_scopes_it_requires(settings: Settings) -> None:
    by_type = {s["type"]: key for key, s in bundled()["cds_scope_descriptions"].items()}
    for scenario_id, scenario in SCENARIOS.items():
        offered = _offered(settings, scenario_id)
        wanted = {by_type[t] for t in scenario.scope_types}
        assert offered == ADMIN | UNNAMED | wanted, scenario_id


@pytest.mark.req("WG3-4.1-a", "WG3-4.3-a")
def test_usage_and_billing_self_access_is_the_union_of_both(settings: Settings) -> None:
    both = _offered(settings, "usage_self_access, billing_self_access")
    assert both == _offered(settings, "usage_billing_self_access")
    assert "cds_query_bill_sections_1" in both and "cds_query_usage_1" in both
    assert "cds_usage_1" not in both  # a Customer consent scope of another Scenario


def test_metadata_lists_only_the_enabled_scenarios_scopes(
    settings: Settings, engine: Engine
) -> None:
    custom = settings.model_copy(update={"scenarios": "customer_tariffs"})
    metadata = TestClient(create_app(custom, engine)).get("/.well-known/oauth-authorization-server")
    body = metadata.json()
    assert set(body["scopes_supported"]) == ADMIN | UNNAMED | {"cds_rate_plan_1"}
    assert set(body["cds_scope_descriptions"]) == set(body["scopes_supported"])
    assert "cds_usagesegments_api" not in body  # no offered scope includes usage


def test_no_scenario_leaves_the_scopes_no_scenario_names(settings: Settings) -> None:
    assert _offered(settings, "") == ADMIN | UNNAMED


def test_the_filter_applies_to_an_operators_file_too(tmp_path: Path, settings: Settings) -> None:
    custom = settings.model_copy(
        update={"scopes_file": write(tmp_path / "s.json", bundled()), "scenarios": "meter_data"}
    )
    assert set(load_catalogue(custom).scopes) == ADMIN | UNNAMED | {
        "cds_service_contracts_1",
        "cds_meters_1",
        "cds_usage_1",
    }


def test_an_unknown_scenario_stops_the_server_naming_the_valid_ids(
    settings: Settings, engine: Engine
) -> None:
    with pytest.raises(ScenarioError) as raised:
        enabled("meter_data,usage_selfaccess")
    message = str(raised.value)
    assert "usage_selfaccess" in message
    for scenario_id in ("all", *SCENARIOS):
        assert scenario_id in message
    custom = settings.model_copy(update={"scenarios": "nope"})
    with pytest.raises(ScenarioError, match="unknown scenario nope"):
        create_app(custom, engine)
