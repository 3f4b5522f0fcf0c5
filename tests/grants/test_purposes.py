"""Purposes (CDS-WG3-01 §8): the Purpose object checks (§8.3), the `purposes` registration
format (§5.1), a Client Object's `cds_purposes` and their modification (§8.1, §8.2), and the
`purpose` authorization details field (§7.4.4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gridshare.config import DefaultPurpose, Settings
from gridshare.grants import purposes
from gridshare.grants.authorization_details import InvalidAuthorizationDetails, resolve_request
from gridshare.grants.scopes import (
    DEFAULT_FILE,
    CatalogueError,
    FieldValueError,
    RegistrationField,
    load_catalogue,
    parse_catalogue,
)
from gridshare.store.db import utcnow

ACCOUNTS = "cds_accounts_1"
USAGE = "cds_usage_1"
GOOD = {"name": "Audit", "content": "To score your home.\n  Nothing else.", "related_uri": None}
DEFAULT = DefaultPurpose(id="default-01", name="Default", content="Any purpose the app has.")


@pytest.fixture
def with_default(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, base_url="http://testserver", default_purposes=(DEFAULT,))


@pytest.mark.req("WG3-8.3-a")
def test_a_purpose_keeps_its_line_breaks_and_needs_words() -> None:
    assert purposes.check_purpose(GOOD)["content"] == GOOD["content"]
    linked = GOOD | {"related_uri": "https://a.example/terms", "related_name": "Our terms"}
    assert purposes.check_purpose(linked)["related_name"] == "Our terms"
    assert purposes.check_purpose(GOOD | {"related_name": "unused"})["related_name"] is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"content": " \n\t "}, "non-whitespace"),
        ({"content": None}, "non-whitespace"),
        ({"content": "x" * (purposes.MAX_CONTENT + 1)}, "longer than"),
        ({"name": ""}, "name"),
        ({"related_uri": "javascript:alert(1)", "related_name": "x"}, "related_uri"),
        ({"related_uri": "https://a.example/"}, "related_name"),
        ({"related_uri": "https://a.example/", "related_name": "  "}, "related_name"),
        ({"related_uri": "https://a.example/", "related_name": "two\nlines"}, "related_name"),
    ],
)
@pytest.mark.req("WG3-8.3-a")
def test_a_bad_purpose_is_refused(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(purposes.PurposeError, match=problem):
        purposes.check_purpose(GOOD | change)


@pytest.mark.req("WG3-5.1-a")
def test_the_purposes_registration_formats() -> None:
    field = RegistrationField(
        id="p",
        type="registration_field",
        description="d",
        documentation="/d",
        field_name="cds_p",
        format="purposes",
    )
    submitted = [GOOD | {"id": "", "scopes_supported": []}]
    assert field.validate(submitted) == submitted
    for bad in ([], [GOOD | {"id": "x", "scopes_supported": []}], [GOOD | {"id": ""}], None):
        with pytest.raises(FieldValueError):
            field.validate(bad)
    nullable = RegistrationField(
        id="p",
        type="registration_field",
        description="d",
        documentation="/d",
        field_name="cds_p",
        format="purposes_or_null",
    )
    assert nullable.validate(None) is None


@pytest.mark.req("WG3-8.1-a")
def test_defaults_and_own_purposes_with_the_scopes_that_offer_the_field(
    with_default: Settings,
) -> None:
    catalogue = load_catalogue(with_default)
    own = purposes.added({}, [purposes.check_purpose(GOOD)])
    (own_id,) = own
    assert own_id.startswith("p") and len(own_id) == 17
    shown = purposes.purposes_for(with_default, catalogue, f"{ACCOUNTS} {USAGE}", own)
    assert list(shown) == ["default-01", own_id]
    assert shown[own_id] == {
        "id": own_id,
        "name": "Audit",
        "content": GOOD["content"],
        "related_uri": None,
        "scopes_supported": [ACCOUNTS, USAGE],
    }
    assert shown["default-01"]["scopes_supported"] == [ACCOUNTS, USAGE]
    assert purposes.purposes_for(with_default, catalogue, "cds_client_admin", {}) == {}


@pytest.mark.req("WG3-8.2-a", "WG3-8.2-b", "WG3-8.2-c")
def test_a_modification_keeps_defaults_ids_and_removes_what_is_left_out(
    with_default: Settings,
) -> None:
    stored = purposes.added({}, [purposes.check_purpose(GOOD)] * 2)
    first, second = stored
    submitted = {
        "default-01": {"id": "default-01", "name": "x", "content": "changed"},
        first: GOOD | {"id": "other", "content": "Edited.", "scopes_supported": ["cds_x"]},
        "new": GOOD | {"id": "new", "content": "Brand new.", "scopes_supported": ["cds_x"]},
    }
    result = purposes.modified(with_default, stored, submitted)
    assert second not in result and "default-01" not in result and "new" not in result
    assert result[first]["content"] == "Edited."
    (new_id,) = set(result) - {first}
    assert result[new_id]["content"] == "Brand new." and "scopes_supported" not in result[new_id]
    assert purposes.modified(with_default, stored, None) == {}
    with pytest.raises(purposes.PurposeError, match="at most"):
        purposes.modified(with_default, {}, {str(i): GOOD for i in range(purposes.MAX_OWN + 1)})
    with pytest.raises(purposes.PurposeError):
        purposes.modified(with_default, stored, [GOOD])


def _resolve(settings: Settings, purpose: Any, usable: dict[str, frozenset[str]]) -> Any:
    return resolve_request(
        load_catalogue(settings),
        scope=None,
        details=[{"type": ACCOUNTS, "purpose": purpose}],
        allowed_scopes={ACCOUNTS, USAGE},
        settings=settings,
        now=utcnow(),
        purposes=usable,
    )


@pytest.mark.req("WG3-7.4.4-a", "WG3-7.4.4-b")
def test_a_request_names_one_of_the_clients_purposes_for_that_scope(settings: Settings) -> None:
    usable = {"mine": frozenset({ACCOUNTS}), "usage-only": frozenset({USAGE})}
    resolved = _resolve(settings, "mine", usable)
    assert resolved.authorization_details[0]["purpose"] == "mine"
    assert _resolve(settings, None, usable).authorization_details[0]["purpose"] is None
    for bad in ("usage-only", "unknown", 7):
        with pytest.raises(InvalidAuthorizationDetails, match="purpose"):
            _resolve(settings, bad, usable)
    with pytest.raises(InvalidAuthorizationDetails, match="none does"):
        _resolve(settings, "mine", {})


@pytest.mark.req("WG3-7.4.4-a", "WG3-7.4.4-b")
def test_the_catalogue_offers_purpose_on_consent_scopes_with_the_defaults_as_choices(
    settings: Settings, with_default: Settings
) -> None:
    catalogue = load_catalogue(settings)
    for scope in catalogue.scopes.values():
        described = scope.field("purpose")
        assert (described is not None) == bool(scope.response_types_supported), scope.id
        if described is not None:
            assert (described.format, described.is_required, described.default) == (
                "choice_or_null",
                False,
                None,
            )
            assert described.to_json(settings)["choices"] == []
    choices = catalogue.scopes[USAGE].field("purpose").to_json(with_default)["choices"]  # type: ignore[union-attr]
    assert choices == [
        {
            "id": "default-01",
            "name": "Default",
            "description": "Any purpose the app has.",
            "documentation": with_default.documentation,
        }
    ]


@pytest.mark.req("WG3-7.4.4-a")
def test_the_catalogue_refuses_purpose_where_it_cannot_apply() -> None:
    data = json.loads(DEFAULT_FILE.read_text(encoding="utf-8"))
    scopes = data["cds_scope_descriptions"]
    field = next(
        f for f in scopes[USAGE]["authorization_details_fields_supported"] if f["id"] == "purpose"
    )
    with_choices = json.loads(json.dumps(data))
    for f in with_choices["cds_scope_descriptions"][USAGE][
        "authorization_details_fields_supported"
    ]:
        if f["id"] == "purpose":
            f["choices"] = [{"id": "a", "name": "a", "description": "a", "documentation": "/a"}]
    with pytest.raises(CatalogueError, match="Client's Purposes"):
        parse_catalogue(with_choices)
    on_admin = json.loads(json.dumps(data))
    grant_admin = on_admin["cds_scope_descriptions"]["cds_grant_admin_1"]
    grant_admin["authorization_details_fields_supported"].append(
        field | {"for_types": grant_admin["authorization_details_types_supported"]}
    )
    with pytest.raises(CatalogueError, match="response_types_supported"):
        parse_catalogue(on_admin)
