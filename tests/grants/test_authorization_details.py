"""RFC 9396 authorization_details checked against CDS-WG1-02 §3.8-§3.9 fields."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from joserfc.jwk import ECKey

from gridshare.config import Settings
from gridshare.grants.authorization_details import (
    InvalidAuthorizationDetails,
    InvalidScope,
    Requested,
    encryption_keys,
    for_grant,
    parse_authorization_details,
    resolve_request,
)
from gridshare.grants.scopes import Catalogue, load_catalogue, parse_catalogue
from gridshare.store.jsontext import orjson_default
from tests.grants.catalogue_samples import SAMPLE, sample_catalogue, sample_scope, with_sample

NOW = datetime(2024, 6, 1, 19, 0, tzinfo=UTC)  # noon in Los Angeles
GRANT_ADMIN = "cds_grant_admin_1"
ACCOUNTS = "cds_accounts_1"
BILLS = "cds_bill_statements_1"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """These tests need no database (the conftest `settings` would create one)."""
    return Settings(data_dir=tmp_path / "data", base_url="http://testserver")


@pytest.fixture
def catalogue() -> Catalogue:
    return sample_catalogue()


def _resolve(
    catalogue: Catalogue,
    settings: Settings,
    scope: str | None = None,
    details: str | None = None,
    allowed: set[str] | None = None,
) -> Requested:
    return resolve_request(
        catalogue,
        scope=scope,
        details=parse_authorization_details(details),
        allowed_scopes=allowed if allowed is not None else set(catalogue.scopes),
        settings=settings,
        now=NOW,
    )


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("{not json", "not JSON"),
        ('{"type": "x"}', "JSON array"),
        ('["x"]', "JSON object"),
        ("[{}]", "string type"),
        ('[{"type": 5}]', "string type"),
        ('[{"type": ""}]', "string type"),
        ('[{"type": "x", "n": NaN}]', "not JSON"),
    ],
)
def test_malformed_authorization_details(raw: str, problem: str) -> None:
    with pytest.raises(InvalidAuthorizationDetails, match=problem) as caught:
        parse_authorization_details(raw)
    assert caught.value.error == "invalid_authorization_details"


def test_absent_authorization_details_are_empty() -> None:
    assert parse_authorization_details(None) == parse_authorization_details("  ") == []


@pytest.mark.req("WG1-02-3.4-b")
def test_unknown_or_unregistered_types_are_refused(
    catalogue: Catalogue, settings: Settings
) -> None:
    with pytest.raises(InvalidAuthorizationDetails, match="unknown authorization_details type"):
        _resolve(catalogue, settings, details='[{"type": "cds_accounts"}]')  # the scope's type
    with pytest.raises(InvalidAuthorizationDetails, match="not registered"):
        _resolve(catalogue, settings, details=f'[{{"type": "{ACCOUNTS}"}}]', allowed={SAMPLE})


def test_scope_strings_name_known_allowed_scopes(catalogue: Catalogue, settings: Settings) -> None:
    with pytest.raises(InvalidScope, match="unknown scope") as caught:
        _resolve(catalogue, settings, scope="cds_usage_9")
    assert caught.value.error == "invalid_scope"
    with pytest.raises(InvalidScope, match="not registered"):
        _resolve(catalogue, settings, scope=ACCOUNTS, allowed={SAMPLE})
    with pytest.raises(InvalidScope, match="no scope"):
        _resolve(catalogue, settings, scope="  ")


@pytest.mark.req("WG1-02-3.8-b", "WG1-02-3.8-c")
def test_fields_must_belong_to_the_type(catalogue: Catalogue, settings: Settings) -> None:
    with pytest.raises(InvalidAuthorizationDetails, match="unsupported field colour"):
        _resolve(catalogue, settings, details=f'[{{"type": "{SAMPLE}", "colour": "red"}}]')
    with pytest.raises(InvalidAuthorizationDetails, match="unsupported field file_id"):
        _resolve(catalogue, settings, details=f'[{{"type": "{SAMPLE}", "file_id": "f1"}}]')


@pytest.mark.req("WG1-02-3.8-b")
def test_for_types_limit_a_field_to_some_of_a_scopes_types(settings: Settings) -> None:
    scope = sample_scope(authorization_details_types_supported=[SAMPLE, "gridshare_sample_1b"])
    scope["authorization_details_fields_supported"][0]["for_types"] = ["gridshare_sample_1b"]
    data = with_sample()
    data["cds_scope_descriptions"][SAMPLE] = scope
    catalogue = parse_catalogue(data)
    both = _resolve(
        catalogue,
        settings,
        details=f'[{{"type": "gridshare_sample_1b", "count": 2}}, {{"type": "{SAMPLE}"}}]',
    )
    assert both.scope == SAMPLE
    assert both.authorization_details[0] == {"type": "gridshare_sample_1b", "count": 2}
    assert "count" not in both.authorization_details[1]
    with pytest.raises(InvalidAuthorizationDetails, match="unsupported field count"):
        _resolve(catalogue, settings, details=f'[{{"type": "{SAMPLE}", "count": 2}}]')


@pytest.mark.req("WG1-02-3.8-c", "WG1-02-3.3.2-d")
def test_required_fields(catalogue: Catalogue, settings: Settings) -> None:
    with pytest.raises(InvalidAuthorizationDetails, match="grant_id is required"):
        _resolve(catalogue, settings, details=f'[{{"type": "{GRANT_ADMIN}", "client_id": "c1"}}]')
    with pytest.raises(InvalidAuthorizationDetails, match="client_id is required"):
        _resolve(catalogue, settings, scope=GRANT_ADMIN)
    with pytest.raises(InvalidAuthorizationDetails, match="client_id must be 1 to 1000"):
        entry = {"type": GRANT_ADMIN, "client_id": "x" * 1001, "grant_id": "g"}
        _resolve(catalogue, settings, details=json.dumps([entry]))


@pytest.mark.req("WG1-02-3.8-c", "WG1-02-3.9-c")
def test_defaults_are_materialised_for_scope_only_requests(
    catalogue: Catalogue, settings: Settings
) -> None:
    requested = _resolve(catalogue, settings, scope=f"{SAMPLE} cds_client_admin")
    assert requested.scope == f"{SAMPLE} cds_client_admin"
    assert requested.authorization_details == [
        {
            "type": SAMPLE,
            "count": 5,
            "price": Decimal("1.50"),
            "label": "x",
            "note": None,
            "tags": [],
            "numbers": None,
            "flag": True,
            "day": "2024-06-01",
            "start": "2023-05-01T19:00:00Z",
            "until": "infinite",
            "mode": "a",
            "maybe": None,
            "kinds": ["a"],
            "jwk": None,
            "merge_selection_with": None,
        }
    ]


@pytest.mark.req("WG1-02-3.3.2-d", "WG1-02-3.3.3-e")
def test_an_entry_overrides_its_scope_in_the_scope_string(
    catalogue: Catalogue, settings: Settings
) -> None:
    entry = {"type": GRANT_ADMIN, "client_id": "c1", "grant_id": "g1"}
    requested = _resolve(catalogue, settings, scope=GRANT_ADMIN, details=json.dumps([entry]))
    assert requested == Requested(GRANT_ADMIN, [entry])
    files = [{"type": "cds_server_provided_files_1", "file_id": f} for f in ("f1", "f2")]
    requested = _resolve(
        catalogue,
        settings,
        scope="cds_server_provided_files_1 cds_client_admin",
        details=json.dumps(files),
    )
    assert requested.scopes == ["cds_server_provided_files_1", "cds_client_admin"]
    assert requested.authorization_details == files
    only_details = _resolve(catalogue, settings, details=json.dumps(files[:1]))
    assert only_details == Requested("cds_server_provided_files_1", files[:1])


@pytest.mark.req("WG1-02-3.8-c", "WG1-02-3.8-d", "WG1-02-3.8-e", "WG1-02-3.9-c")
def test_given_values_are_checked_and_durations_made_absolute(
    catalogue: Catalogue, settings: Settings
) -> None:
    entry = {"type": SAMPLE, "count": 7, "start": "P1M", "until": "P30DT2H", "day": "P3D"}
    [resolved] = _resolve(catalogue, settings, details=json.dumps([entry])).authorization_details
    assert resolved["count"] == 7
    assert resolved["start"] == "2024-05-01T19:00:00Z"
    assert resolved["until"] == "2024-07-01T21:00:00Z"
    assert resolved["day"] == "2024-06-04"
    for field_id, bad in [("count", 11), ("start", "P2Y"), ("mode", "z"), ("kinds", ["z"])]:
        with pytest.raises(InvalidAuthorizationDetails, match=f"{SAMPLE}: {field_id}"):
            _resolve(catalogue, settings, details=json.dumps([{"type": SAMPLE, field_id: bad}]))


@pytest.mark.req("WG1-02-3.9-c")
def test_relative_dates_follow_cds_timezone(catalogue: Catalogue, settings: Settings) -> None:
    late = settings.model_copy(update={"timezone": "Pacific/Kiritimati"})  # UTC+14
    entry = json.dumps([{"type": SAMPLE, "day": "P0D"}])
    assert _resolve(catalogue, settings, details=entry).authorization_details[0]["day"] == (
        "2024-06-01"
    )
    assert _resolve(catalogue, late, details=entry).authorization_details[0]["day"] == (
        "2024-06-02"
    )


@pytest.mark.req("WG1-02-3.9-b")
def test_decimals_keep_every_digit(catalogue: Catalogue, settings: Settings) -> None:
    raw = f'[{{"type": "{SAMPLE}", "price": 12.345678901234567890123}}]'
    [resolved] = _resolve(catalogue, settings, details=raw).authorization_details
    assert resolved["price"] == Decimal("12.345678901234567890123")
    assert isinstance(resolved["price"], Decimal)
    encoded = orjson.dumps(resolved, default=orjson_default)
    assert b'"price":12.345678901234567890123' in encoded
    with pytest.raises(InvalidAuthorizationDetails, match="price"):
        _resolve(catalogue, settings, details=f'[{{"type": "{SAMPLE}", "price": 1e3}}]')


@pytest.mark.req("WG1-02-2-b")
def test_one_jwk_for_the_whole_request(settings: Settings) -> None:
    catalogue = load_catalogue(settings)
    key = ECKey.generate_key("P-256").as_dict(private=False) | {"use": "enc"}
    other = ECKey.generate_key("P-256").as_dict(private=False) | {"use": "enc"}
    single = _resolve(catalogue, settings, details=json.dumps([{"type": ACCOUNTS, "jwk": key}]))
    assert single.authorization_details[0]["jwk"] == key
    two_scopes = parse_catalogue(with_sample())
    with pytest.raises(InvalidAuthorizationDetails, match="same jwk"):
        _resolve(
            two_scopes,
            settings,
            details=json.dumps([{"type": ACCOUNTS, "jwk": key}, {"type": SAMPLE, "jwk": other}]),
        )
    with pytest.raises(InvalidAuthorizationDetails, match="jwk"):
        bad = key | {"use": "sig"}
        _resolve(catalogue, settings, details=json.dumps([{"type": ACCOUNTS, "jwk": bad}]))


@pytest.mark.req("WG3-7.4.6-b", "WG3-7.4.6-c")
def test_a_jwk_is_checked_when_requested(settings: Settings) -> None:
    key = ECKey.generate_key("P-256")
    public = key.as_dict(private=False) | {"use": "enc"}
    two_scopes = parse_catalogue(with_sample())
    with pytest.raises(InvalidAuthorizationDetails, match="same jwk"):
        # the sample scope's jwk defaults to null: a key and a null differ too
        _resolve(
            two_scopes,
            settings,
            details=json.dumps([{"type": ACCOUNTS, "jwk": public}, {"type": SAMPLE}]),
        )
    catalogue = load_catalogue(settings)
    private = key.as_dict(private=True) | {"use": "enc"}
    for bad, problem in ((private, "private members d"), (public | {"alg": "RSA1_5"}, "alg")):
        with pytest.raises(InvalidAuthorizationDetails, match=f"{ACCOUNTS}: jwk: .*{problem}"):
            _resolve(catalogue, settings, details=json.dumps([{"type": ACCOUNTS, "jwk": bad}]))


@pytest.mark.req("WG3-7.4.6-d")
def test_encryption_keys_are_the_distinct_non_null_jwks() -> None:
    key = ECKey.generate_key("P-256").as_dict(private=False) | {"use": "enc"}
    reordered = dict(reversed(list(key.items())))
    other = ECKey.generate_key("P-256").as_dict(private=False) | {"use": "enc"}
    assert encryption_keys([]) == ()
    assert encryption_keys([{"type": ACCOUNTS, "jwk": None}, {"type": BILLS}]) == ()
    entries = [{"type": ACCOUNTS, "jwk": key}, {"type": BILLS, "jwk": reordered}]
    assert encryption_keys(entries) == (key,)
    assert encryption_keys([*entries, {"type": SAMPLE, "jwk": other}]) == (key, other)


@pytest.mark.req("WG3-7.4.2-b")
def test_merge_selection_with_names_another_merging_scope(settings: Settings) -> None:
    catalogue = load_catalogue(settings)
    merged: Any = [
        {"type": ACCOUNTS, "merge_selection_with": BILLS},
        {"type": BILLS, "merge_selection_with": ACCOUNTS},
    ]
    assert _resolve(catalogue, settings, details=json.dumps(merged)).scopes == [ACCOUNTS, BILLS]
    with pytest.raises(InvalidAuthorizationDetails, match="another requested scope"):
        _resolve(catalogue, settings, details=json.dumps(merged[:1]))
    with pytest.raises(InvalidAuthorizationDetails, match="must name a merge"):
        _resolve(catalogue, settings, scope=BILLS, details=json.dumps(merged[:1]))


@pytest.mark.req("WG3-7.4.2-c")
def test_merged_scopes_must_share_selection_type_and_preselections(settings: Settings) -> None:
    catalogue = load_catalogue(settings)

    def merge(first: dict[str, Any], second: dict[str, Any]) -> Any:
        pair = [
            {"type": ACCOUNTS, "merge_selection_with": second["type"]} | first,
            {"merge_selection_with": ACCOUNTS} | second,
        ]
        return _resolve(catalogue, settings, details=json.dumps(pair))

    with pytest.raises(InvalidAuthorizationDetails, match="authorization_form_selection_type"):
        merge({}, {"type": "cds_service_contracts_1"})
    same_type = {
        "type": "cds_service_contracts_1",
        "authorization_form_selection_type": "account_selection",
    }
    assert merge({}, same_type).scopes == [ACCOUNTS, "cds_service_contracts_1"]
    with pytest.raises(InvalidAuthorizationDetails, match="account_numbers differs"):
        merge({"account_numbers": ["1"]}, {"type": BILLS, "account_numbers": ["2"]})
    assert merge({"account_numbers": ["1"]}, {"type": BILLS, "account_numbers": ["1"]})
    with pytest.raises(InvalidAuthorizationDetails, match="contract_numbers is supported by only"):
        merge({}, {"type": BILLS, "contract_numbers": ["9"]})


def test_a_customer_grant_keeps_what_was_granted_not_the_form_controls(settings: Settings) -> None:
    catalogue = load_catalogue(settings)
    entry = {"type": ACCOUNTS, "account_numbers": ["1234-5"], "include_account_programs": True}
    requested = _resolve(catalogue, settings, details=json.dumps([entry]))
    assert requested.authorization_details[0]["account_numbers"] == ["1234-5"]
    granted = for_grant(catalogue, requested)
    assert granted.authorization_details == [
        {
            "type": ACCOUNTS,
            "include_account_numbers": True,
            "include_account_details": True,
            "include_account_programs": True,
            "include_aggregations": False,
            "sync_until": "infinite",
            "purpose": None,
            "jwk": None,
        }
    ]
    admin = _resolve(
        catalogue,
        settings,
        scope=GRANT_ADMIN,
        details=json.dumps([{"type": GRANT_ADMIN, "client_id": "c", "grant_id": "g"}]),
    )
    assert for_grant(catalogue, admin) == admin
