"""CDS-WG1-02 §3.3-§3.10: the scope catalogue, its default contents, and its validation."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from joserfc.jwk import ECKey, OKPKey, RSAKey

from gridshare.app import create_app
from gridshare.config import Settings
from gridshare.demo.ids import Ids
from gridshare.grants.scopes import (
    CatalogueError,
    FieldValueError,
    RegistrationField,
    load_catalogue,
    parse_catalogue,
)
from tests.grants.catalogue_samples import SAMPLE, bundled, sample_catalogue, with_sample, write

NOW = datetime(2024, 6, 1, 19, 0, tzinfo=UTC)
LA = ZoneInfo("America/Los_Angeles")
SCOPE_FIELDS = {
    "id",
    "type",
    "name",
    "description",
    "documentation",
    "registration_requirements",
    "registration_optional",
    "response_types_supported",
    "grant_types_supported",
    "token_endpoint_auth_methods_supported",
    "code_challenge_methods_supported",
    "coverages_supported",
    "grant_admin_scope",
    "authorization_details_types_supported",
    "authorization_details_fields_supported",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """These tests need no database (the conftest `settings` would create one)."""
    return Settings(data_dir=tmp_path / "data", base_url="http://testserver")


@pytest.fixture
def rendered(settings: Settings) -> dict[str, Any]:
    scopes: dict[str, Any] = load_catalogue(settings).scopes_json(settings)
    return scopes


@pytest.mark.req("WG1-02-3.3.1-a", "WG1-02-3.3.1-b", "WG1-02-3.4-h")
def test_client_admin_scope_is_exactly_as_specified(rendered: dict[str, Any]) -> None:
    admin = rendered["cds_client_admin"]
    assert admin.pop("documentation").startswith("http://testserver/")
    assert admin == {
        "id": "cds_client_admin",
        "type": "cds_client_admin",
        "name": "Client Admin",
        "description": "This scope grants administrative access to the Client management APIs.",
        "registration_requirements": [],
        "registration_optional": [],
        "response_types_supported": [],
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "code_challenge_methods_supported": [],
        "coverages_supported": [],
        "grant_admin_scope": None,
        "authorization_details_types_supported": [],
        "authorization_details_fields_supported": [],
    }


@pytest.mark.req("WG1-02-3.3.2-a", "WG1-02-3.3.2-b", "WG1-02-3.3.2-c", "WG1-02-3.3.2-h")
def test_grant_admin_scope(rendered: dict[str, Any]) -> None:
    scope = rendered["cds_grant_admin_1"]
    assert (scope["type"], scope["name"]) == ("cds_grant_admin", "Grant Admin")
    assert scope["description"] == (
        "This scope grants administrative access to previously created Grants."
    )
    assert scope["grant_types_supported"] == ["client_credentials"]
    assert scope["token_endpoint_auth_methods_supported"] == ["client_secret_basic"]
    assert scope["grant_admin_scope"] is None
    assert scope["authorization_details_types_supported"] == ["cds_grant_admin_1"]
    fields = scope["authorization_details_fields_supported"]
    assert [(f["id"], f["name"]) for f in fields] == [
        ("client_id", "Client Object identifier"),
        ("grant_id", "Grant identifier"),
    ]
    for f in fields:
        # for_types names the scope's own id (the §3.8 subset rule), not "cds_grant_admin".
        assert f["for_types"] == ["cds_grant_admin_1"]
        assert (f["format"], f["is_required"], f["maximum"], f["minimum"]) == (
            "string",
            True,
            1000,
            1,
        )
        assert "default" not in f and "choices" not in f
    for other in rendered.values():
        if other["grant_admin_scope"] is not None:
            assert rendered[other["grant_admin_scope"]]["type"] == "cds_grant_admin"


@pytest.mark.req("WG1-02-3.3.3-b", "WG1-02-3.3.3-c", "WG1-02-3.3.3-d")
def test_server_provided_files_scope(rendered: dict[str, Any]) -> None:
    scope = rendered["cds_server_provided_files_1"]
    assert (scope["type"], scope["name"]) == ("cds_server_provided_files", "Server-Provided Files")
    for key in (
        "registration_requirements",
        "registration_optional",
        "response_types_supported",
        "grant_types_supported",
        "token_endpoint_auth_methods_supported",
        "code_challenge_methods_supported",
        "coverages_supported",
    ):
        assert scope[key] == [], key
    assert scope["grant_admin_scope"] == "cds_grant_admin_1"
    assert scope["authorization_details_types_supported"] == ["cds_server_provided_files_1"]
    [file_id] = scope["authorization_details_fields_supported"]
    assert file_id["id"] == "file_id" and file_id["name"] == "File identifier"
    assert file_id["for_types"] == ["cds_server_provided_files_1"]
    assert (file_id["format"], file_id["is_required"], file_id["maximum"], file_id["minimum"]) == (
        "string",
        True,
        1000,
        1,
    )


@pytest.mark.req("WG1-02-3.4-a", "WG1-02-3.4-b", "WG1-02-3.4-c", "WG1-02-3.4-e", "WG1-02-3.4-f")
def test_the_account_list_scope_takes_customer_authorizations(
    settings: Settings, rendered: dict[str, Any]
) -> None:
    for key, scope in rendered.items():
        assert set(scope) == SCOPE_FIELDS and scope["id"] == key
    accounts = rendered["cds_accounts_1"]
    assert accounts["type"] == "cds_accounts"
    assert accounts["response_types_supported"] == ["code"]
    assert accounts["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert accounts["code_challenge_methods_supported"] == ["S256"]
    assert accounts["grant_admin_scope"] == "cds_grant_admin_1"
    # The demo utility's electric territory (default seed).
    assert accounts["coverages_supported"] == [Ids(1)("cov", "electric")]
    fields = {f["id"]: f for f in accounts["authorization_details_fields_supported"]}
    assert {
        "account_numbers",
        "include_account_numbers",
        "sync_until",
        "authorization_form_selection_type",
        "merge_selection_with",
        "error_if_no_preselections",
        "allow_scope_modifications",
        "jwk",
    } <= set(fields)
    assert [c["id"] for c in fields["authorization_form_selection_type"]["choices"]] == [
        "account_selection"
    ]
    assert fields["jwk"]["default"] is None and fields["jwk"]["format"] == "jwk_or_null"
    assert all(not f["is_required"] for f in fields.values())
    catalogue = load_catalogue(settings)
    for requirement in accounts["registration_requirements"]:
        assert requirement in catalogue.registration_fields


@pytest.mark.req("WG1-02-3.5-a", "WG1-02-3.5-b", "WG1-02-3.6-b")
def test_registration_field_for_the_company_name(settings: Settings) -> None:
    field = load_catalogue(settings).registration_fields_json(settings)["company_name"]
    assert field == {
        "id": "company_name",
        "type": "registration_field",
        "description": "The company name to display on the authorization form.",
        "documentation": "http://testserver/developers/oauth#registration-company_name",
        "field_name": "cds_company_name",
        "format": "string",
        "max_length": 1024,
    }


def test_documentation_paths_become_absolute_and_urls_stay(settings: Settings) -> None:
    catalogue = sample_catalogue()
    scope = catalogue.scopes_json(settings)[SAMPLE]
    assert scope["documentation"] == f"http://testserver/developers/oauth#scope-{SAMPLE}"
    mode = next(f for f in scope["authorization_details_fields_supported"] if f["id"] == "mode")
    assert mode["choices"][0]["documentation"] == "https://docs.example.com/choices#a"
    start = next(f for f in scope["authorization_details_fields_supported"] if f["id"] == "start")
    assert "historical" not in start  # server-only


def test_the_scopes_file_setting_replaces_the_catalogue(tmp_path: Path, settings: Settings) -> None:
    path = write(tmp_path / "scopes.json", with_sample())
    custom = settings.model_copy(update={"scopes_file": path})
    assert SAMPLE in load_catalogue(custom).scopes
    assert SAMPLE not in load_catalogue(settings).scopes


def _break(mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = with_sample()
    mutate(data)
    return data


def _sample(data: dict[str, Any]) -> dict[str, Any]:
    scope: dict[str, Any] = data["cds_scope_descriptions"][SAMPLE]
    return scope


def _sample_field(data: dict[str, Any], fid: str) -> dict[str, Any]:
    return next(
        f for f in _sample(data)["authorization_details_fields_supported"] if f["id"] == fid
    )


def _retype(data: dict[str, Any], details_type: str) -> None:
    _sample(data)["authorization_details_types_supported"] = [details_type]
    for f in _sample(data)["authorization_details_fields_supported"]:
        f["for_types"] = [details_type]


BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], tuple[str, ...]]] = [
    ("no admin scope", lambda d: d["cds_scope_descriptions"].pop("cds_client_admin"), ()),
    (
        "admin changed",
        lambda d: d["cds_scope_descriptions"]["cds_client_admin"].update(name="Admin"),
        ("cds_client_admin", "name"),
    ),
    (
        "key and id differ",
        lambda d: _sample(d).update(id="other"),
        (SAMPLE, "id"),
    ),
    ("missing field", lambda d: _sample(d).pop("coverages_supported"), (SAMPLE, "coverages")),
    ("unknown key", lambda d: _sample(d).update(colour="blue"), (SAMPLE, "colour")),
    ("space in id", lambda d: d["cds_scope_descriptions"].update({"a b": {}}), ("'a b'",)),
    (
        "no grant types",
        lambda d: _sample(d).update(grant_types_supported=[]),
        (SAMPLE, "grant_types_supported"),
    ),
    (
        "plain PKCE",
        lambda d: _sample(d).update(
            response_types_supported=["code"],
            grant_types_supported=["authorization_code"],
            code_challenge_methods_supported=["S256", "plain"],
        ),
        (SAMPLE, "code_challenge_methods_supported"),
    ),
    (
        "unsupported grant type",
        lambda d: _sample(d).update(grant_types_supported=["password"]),
        (SAMPLE, "grant_types_supported"),
    ),
    (
        "grant admin scope of the wrong type",
        lambda d: _sample(d).update(grant_admin_scope="cds_client_admin"),
        (SAMPLE, "grant_admin_scope"),
    ),
    (
        "undefined registration requirement",
        lambda d: _sample(d).update(registration_requirements=["nope"]),
        (SAMPLE, "registration_requirements", "nope"),
    ),
    (
        "optional registration field without default",
        lambda d: _sample(d).update(registration_optional=["company_name"]),
        (SAMPLE, "company_name", "default"),
    ),
    ("type offered twice", lambda d: _retype(d, "cds_accounts_1"), (SAMPLE, "cds_accounts_1")),
    (
        "for_types outside the scope's types",
        lambda d: _sample_field(d, "count").update(for_types=["cds_accounts_1"]),
        (SAMPLE, "count", "for_types"),
    ),
    (
        "unknown format",
        lambda d: _sample_field(d, "count").update(format="float"),
        (SAMPLE, "count", "format"),
    ),
    (
        "limits missing",
        lambda d: _sample_field(d, "label").pop("maximum"),
        (SAMPLE, "label", "maximum"),
    ),
    (
        "limits on a boolean",
        lambda d: _sample_field(d, "flag").update(maximum=1, minimum=0),
        (SAMPLE, "flag", "maximum"),
    ),
    (
        "minimum above maximum",
        lambda d: _sample_field(d, "count").update(minimum=11),
        (SAMPLE, "count", "minimum"),
    ),
    (
        "relative limit with hours on a date",
        lambda d: _sample_field(d, "day").update(maximum="PT5H"),
        (SAMPLE, "day", "maximum"),
    ),
    (
        "historical minimum further back than maximum",
        lambda d: _sample_field(d, "start").update(minimum="P2Y"),
        (SAMPLE, "start", "minimum"),
    ),
    (
        "default outside the limits",
        lambda d: _sample_field(d, "start").update(default="P2Y"),
        (SAMPLE, "start", "default"),
    ),
    (
        "default for a required field",
        lambda d: _sample_field(d, "count").update(is_required=True),
        (SAMPLE, "count", "default"),
    ),
    (
        "choice format without choices",
        lambda d: _sample_field(d, "mode").pop("choices"),
        (SAMPLE, "mode", "choices"),
    ),
    (
        "choice without documentation",
        lambda d: _sample_field(d, "mode")["choices"][0].pop("documentation"),
        (SAMPLE, "mode", "documentation"),
    ),
    (
        "default not among the choices",
        lambda d: _sample_field(d, "mode").update(default="z"),
        (SAMPLE, "mode", "default"),
    ),
    (
        "documentation not a URL",
        lambda d: _sample_field(d, "count").update(documentation="docs page"),
        (SAMPLE, "count", "documentation"),
    ),
    (
        "grant admin field changed",
        lambda d: d["cds_scope_descriptions"]["cds_grant_admin_1"][
            "authorization_details_fields_supported"
        ][0].update(maximum=10),
        ("cds_grant_admin_1", "client_id"),
    ),
    (
        "files scope without grant admin scope",
        lambda d: d["cds_scope_descriptions"]["cds_server_provided_files_1"].update(
            grant_admin_scope=None
        ),
        ("cds_server_provided_files_1", "grant_admin_scope"),
    ),
    (
        "registration field_name without cds_",
        lambda d: d["cds_registration_fields"]["company_name"].update(field_name="company"),
        ("company_name", "field_name"),
    ),
    (
        "registration field_name shadowing a Client Object field",
        lambda d: d["cds_registration_fields"]["company_name"].update(field_name="cds_status"),
        ("company_name", "field_name"),
    ),
    (
        "registration format unknown",
        lambda d: d["cds_registration_fields"]["company_name"].update(format="text"),
        ("company_name", "format"),
    ),
    (
        "max_length on a boolean",
        lambda d: d["cds_registration_fields"]["company_name"].update(format="boolean"),
        ("company_name", "max_length"),
    ),
    (
        "registration type unknown",
        lambda d: d["cds_registration_fields"]["company_name"].update(type="telepathy"),
        ("company_name", "type"),
    ),
    (
        "registration type without a flow here",
        lambda d: d["cds_registration_fields"]["company_name"].update(type="payment_required"),
        ("company_name", "payment_required"),
    ),
]


@pytest.mark.req(
    "WG1-02-3.3.1-a",
    "WG1-02-3.3.2-c",
    "WG1-02-3.4-a",
    "WG1-02-3.4-b",
    "WG1-02-3.4-c",
    "WG1-02-3.4-d",
    "WG1-02-3.4-e",
    "WG1-02-3.4-g",
    "WG1-02-3.5-a",
    "WG1-02-3.5-b",
    "WG1-02-3.5-c",
    "WG1-02-3.6-a",
    "WG1-02-3.6-b",
    "WG1-02-3.7-a",
    "WG1-02-3.8-a",
    "WG1-02-3.8-b",
    "WG1-02-3.8-c",
    "WG1-02-3.8-d",
    "WG1-02-3.8-e",
    "WG1-02-3.8-f",
    "WG1-02-3.9-a",
    "WG1-02-3.10-a",
)
@pytest.mark.parametrize(
    ("mutate", "named"), [(m, n) for _, m, n in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_a_broken_catalogue_names_the_scope_and_the_field(
    mutate: Callable[[dict[str, Any]], None], named: tuple[str, ...]
) -> None:
    with pytest.raises(CatalogueError) as caught:
        parse_catalogue(_break(mutate), source="scopes.json")
    message = str(caught.value)
    assert message.startswith("scopes.json")
    for part in named:
        assert part in message, (part, message)


def test_a_broken_operator_file_stops_the_server_at_startup(
    tmp_path: Path, settings: Settings
) -> None:
    path = write(tmp_path / "scopes.json", _break(lambda d: _sample_field(d, "count").pop("name")))
    with pytest.raises(CatalogueError, match=f"{SAMPLE}.*count.*name"):
        create_app(settings.model_copy(update={"scopes_file": path}))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CatalogueError, match="not readable JSON"):
        create_app(settings.model_copy(update={"scopes_file": tmp_path / "bad.json"}))
    with pytest.raises(CatalogueError, match="cannot read"):
        create_app(settings.model_copy(update={"scopes_file": tmp_path / "none.json"}))


def test_the_bundled_file_is_the_default_catalogue(settings: Settings) -> None:
    catalogue = parse_catalogue(bundled())
    assert catalogue.scopes_json(settings) == load_catalogue(settings).scopes_json(settings)


def _check(fid: str, value: Any) -> Any:
    described = sample_catalogue().scopes[SAMPLE].field(fid)
    assert described is not None
    return described.validate(value, tz=LA, now=NOW)


VALID: list[tuple[str, Any, Any]] = [
    ("count", 10, 10),
    ("price", Decimal("0.10"), Decimal("0.10")),
    ("price", 5, 5),
    ("label", "abcde", "abcde"),
    ("note", None, None),
    ("note", "", ""),
    ("tags", ["ab", "cd", "ef"], ["ab", "cd", "ef"]),
    ("tags", [], []),
    ("numbers", None, None),
    ("flag", False, False),
    ("day", "P1Y", "2025-06-01"),
    ("day", "2024-06-01", "2024-06-01"),
    ("start", "P13M", "2023-05-01T19:00:00Z"),
    ("start", "2024-01-01T00:00:00-08:00", "2024-01-01T08:00:00Z"),
    ("until", "infinite", "infinite"),
    ("until", "P1D", "2024-06-02T19:00:00Z"),
    ("mode", "b", "b"),
    ("maybe", None, None),
    ("kinds", ["b", "a"], ["b", "a"]),
    ("kinds", None, None),
    ("jwk", None, None),
]


@pytest.mark.req("WG1-02-3.8-d", "WG1-02-3.8-e", "WG1-02-3.9-a", "WG1-02-3.9-c", "WG1-02-3.10-a")
@pytest.mark.parametrize(("fid", "value", "expected"), VALID)
def test_valid_values(fid: str, value: Any, expected: Any) -> None:
    assert _check(fid, value) == expected


INVALID: list[tuple[str, Any]] = [
    ("count", 11),
    ("count", 0),
    ("count", True),
    ("count", Decimal("5")),
    ("count", "5"),
    ("price", 0.5),  # a float: decimals are never floats
    ("price", Decimal("100")),
    ("price", Decimal("NaN")),
    ("label", ""),
    ("label", "abcdef"),
    ("label", None),
    ("note", 5),
    ("tags", ["abcd", "efg"]),
    ("tags", "ab"),
    ("tags", [1]),
    ("numbers", []),
    ("flag", "true"),
    ("flag", None),
    ("day", "P2Y"),
    ("day", "2024-05-31"),
    ("day", "infinite"),
    ("day", "P1DT1H"),
    ("start", "P14M"),
    ("until", "2024-06-01T18:59:59Z"),
    ("until", 5),
    ("mode", "z"),
    ("mode", None),
    ("kinds", ["a", "a"]),
    ("kinds", ["c"]),
    ("kinds", "a"),
    ("jwk", "key"),
]


@pytest.mark.req("WG1-02-3.8-d", "WG1-02-3.8-e", "WG1-02-3.9-a", "WG1-02-3.9-b")
@pytest.mark.parametrize(("fid", "value"), INVALID)
def test_invalid_values(fid: str, value: Any) -> None:
    with pytest.raises(FieldValueError, match=fid):
        _check(fid, value)


def _public(key: Any, **extra: Any) -> dict[str, Any]:
    value: dict[str, Any] = key.as_dict(private=False)
    return value | extra


@pytest.mark.req("WG1-02-2-b")
def test_jwk_values_are_public_encryption_keys() -> None:
    ec = ECKey.generate_key("P-256")
    for key in (ec, OKPKey.generate_key("X25519"), RSAKey.generate_key(2048)):
        public = _public(key, use="enc")
        assert _check("jwk", public) == public
    for bad in (
        _public(ec),  # no "use"
        _public(ec, use="sig"),
        ec.as_dict(private=True) | {"use": "enc"},
        _public(OKPKey.generate_key("Ed25519"), use="enc"),  # a signing curve
        {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA", "use": "enc"},
        {"kty": "oct", "k": "c2VjcmV0", "use": "enc"},
    ):
        with pytest.raises(FieldValueError, match="jwk"):
            _check("jwk", bad)


@pytest.mark.filterwarnings("ignore:Key size should be")  # the 1024-bit RSA key
@pytest.mark.req("WG3-2-b", "WG3-7.4.6-c")
def test_jwk_values_are_keys_we_can_encrypt_to() -> None:
    ec = _public(ECKey.generate_key("P-256"), use="enc")
    rsa = RSAKey.generate_key(2048)
    rsa_members = rsa.as_dict(private=True)
    for good in (
        ec | {"alg": "ECDH-ES"},
        ec | {"key_ops": ["deriveKey"]},
        _public(rsa, use="enc", alg="RSA-OAEP", key_ops=["wrapKey"]),
    ):
        assert _check("jwk", good) == good
    for bad, problem in (
        (_public(rsa, use="enc") | {m: rsa_members[m] for m in ("p", "q")}, "private members p, q"),
        (_public(rsa, use="enc") | {"dp": rsa_members["dp"]}, "private members dp"),
        (_public(rsa, use="enc", alg="RSA1_5"), "alg must be one of RSA-OAEP-256, RSA-OAEP"),
        (ec | {"alg": "A256KW"}, "alg must be one of ECDH-ES"),
        (ec | {"key_ops": ["decrypt"]}, "key_ops must allow"),
        (ec | {"key_ops": "deriveKey"}, "key_ops must allow"),
        (_public(RSAKey.generate_key(1024), use="enc"), "at least 2048 bits"),
    ):
        with pytest.raises(FieldValueError, match=f"^jwk: .*{problem}"):
            _check("jwk", bad)


REGISTRATION_VALUES: list[tuple[str, Any, bool]] = [
    ("string", "ok", True),
    ("string", "x" * 11, False),
    ("string", None, False),
    ("string_or_null", None, True),
    ("url", "https://app.example.com/about", True),
    ("url", "ftp://app.example.com", False),
    ("url", "/relative", False),
    ("email", "dev@example.com", True),
    ("email", "dev at example.com", False),
    ("boolean", True, True),
    ("boolean", "yes", False),
    ("boolean_or_null", None, True),
    ("image", base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 8).decode(), True),
    ("image", base64.b64encode(b"\xff\xd8\xff" + b"0" * 8).decode(), True),
    ("image", base64.b64encode(b"GIF89a").decode(), False),
    ("image", base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 100).decode(), False),
    ("image", "not base64!", False),
    ("pdf", base64.b64encode(b"%PDF-1.7 ...").decode(), True),
    ("pdf_or_null", None, True),
    ("pdf", base64.b64encode(b"<html>").decode(), False),
]


@pytest.mark.req("WG1-02-3.5-c", "WG1-02-3.7-a")
@pytest.mark.parametrize(("fmt", "value", "ok"), REGISTRATION_VALUES)
def test_registration_field_formats(fmt: str, value: Any, ok: bool) -> None:
    base = fmt.removesuffix("_or_null")
    field = RegistrationField(
        id="f",
        type="registration_field",
        description="d",
        documentation="/d",
        field_name="cds_f",
        format=fmt,
        max_length={"string": 10, "url": 100, "email": 100}.get(base),
        max_size=50 if base in ("image", "pdf") else None,
    )
    if ok:
        assert field.validate(value) == value
    else:
        with pytest.raises(FieldValueError, match="cds_f"):
            field.validate(value)
