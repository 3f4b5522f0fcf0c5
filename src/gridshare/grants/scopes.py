"""CDS-WG1-02 §3.3-§3.10: the scope catalogue (Scope Descriptions, Registration Fields,
Authorization Details Fields and their Choices), loaded from operator-editable JSON.

The file (`grants/scopes.json`, or `GRIDSHARE_SCOPES_FILE`) has the shape of the metadata it feeds:
`{"cds_scope_descriptions": {id: ScopeDescription}, "cds_registration_fields": {id: Field}}`.
It is validated when loaded; a broken file raises `CatalogueError` naming the scope and field.

Differences from the published objects:
- `documentation` may be a path on this server (`/developers/oauth#...`); it is made absolute with
  `settings.url()` when rendered.
- An Authorization Details Field of a date or datetime format may carry `"historical": true`
  (server-only, never rendered): relative values then count backward from now, and `maximum` is the
  furthest back (§3.8; CDS-WG3-01 §7.3 `segment_start`, `start_date`, `statement_date_start`).

Formats (§3.9) plus three that CDS-WG3-01 uses without defining (see docs/spec-decisions.md):
`string_list_or_null` (a `string_list` or null, limits as for `string_list`), `choice_or_null`
(a choice id or null) and `choice_list_or_null` (a list of distinct choice ids, or null).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, RSAKey

from gridshare.config import Settings
from gridshare.grants import consent_scopes, direct_scopes, durations, scenarios
from gridshare.grants.durations import INFINITE, DurationError, Kind
from gridshare.grants.purposes import (
    PURPOSE_FIELD,
    PurposeError,
    check_registration_value,
    default_choices,
)
from gridshare.store.db import utcnow

DEFAULT_FILE: Final = Path(__file__).with_name("scopes.json")

CLIENT_ADMIN: Final = "cds_client_admin"
GRANT_ADMIN_TYPE: Final = "cds_grant_admin"
FILES_TYPE: Final = "cds_server_provided_files"

SUPPORTED_RESPONSE_TYPES: Final = ("code",)
SUPPORTED_GRANT_TYPES: Final = ("authorization_code", "refresh_token", "client_credentials")
SUPPORTED_AUTH_METHODS: Final = ("client_secret_basic",)

FIELD_FORMATS: Final = frozenset(
    {
        "int",
        "decimal",
        "string",
        "string_or_null",
        "string_list",
        "string_list_or_null",
        "boolean",
        "relative_or_absolute_date",
        "relative_or_absolute_datetime",
        "choice",
        "choice_or_null",
        "choice_list_or_null",
        "jwk_or_null",
    }
)
LIMITED_FORMATS: Final = frozenset(
    {
        "int",
        "decimal",
        "string",
        "string_or_null",
        "string_list",
        "string_list_or_null",
        "relative_or_absolute_date",
        "relative_or_absolute_datetime",
    }
)
"""Formats whose field objects must state `maximum` and `minimum` (§3.8)."""
CHOICE_FORMATS: Final = frozenset({"choice", "choice_or_null", "choice_list_or_null"})
DATE_KINDS: Final[dict[str, Kind]] = {
    "relative_or_absolute_date": "date",
    "relative_or_absolute_datetime": "datetime",
}

REGISTRATION_FORMATS: Final = frozenset(
    f"{base}{suffix}"
    for base in ("string", "url", "email", "boolean", "image", "pdf", "purposes")
    for suffix in ("", "_or_null")
)
"""§3.7 formats, plus CDS-WG3-01 §5.1 `purposes` and `purposes_or_null`."""
REGISTRATION_TYPES: Final = frozenset(
    {
        "registration_field",
        "internal_review",
        "payment_required",
        "email_verification",
        "sso_verification",
        "pdf_form",
        "online_form",
    }
)
SUPPORTED_REGISTRATION_TYPES: Final = frozenset({"registration_field", "internal_review"})
"""The other §3.6 types need a payment, verification or form flow this server does not run."""

CLIENT_OBJECT_FIELDS: Final = frozenset(
    {
        "cds_created",
        "cds_modified",
        "cds_client_uri",
        "cds_status",
        "cds_status_options",
        "cds_server_metadata",
        "cds_default_scope",
        "cds_default_redirect_uri",
        "cds_default_authorization_details",
        "cds_purposes",
    }
)
"""Client Object fields (§5.1, CDS-WG3-01 §8.1) a registration field_name must not shadow."""

VALUE_TYPES_FIELD: Final = "include_usage_segment_value_types"
"""CDS-WG3-01 §7.2.8.1: its choices carry `usagesegment_format` (§5.2), no other choices do."""
VALUE_TYPES: Final = frozenset(
    {
        "electric_usage",
        "electric_demand",
        "electric_supply_mix",
        "water_usage",
        "natural_gas_usage",
        "fuel_oil_usage",
        "cost",
        "meter_readings",
    }
)
"""CDS-WG3-01 §10.8.5 Value Types: a `usagesegment_format` `type` must be one of them, since the
server metadata's `cds_usagesegments_additional_value_types` is empty (§5)."""

JWK_ENCRYPTION_CURVES: Final = {"EC": {"P-256", "P-384", "P-521"}, "OKP": {"X25519", "X448"}}
JWK_ENCRYPTION_ALGORITHMS: Final[dict[str, tuple[str, ...]]] = {
    "EC": ("ECDH-ES+A256KW", "ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW"),
    "OKP": ("ECDH-ES+A256KW", "ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW"),
    "RSA": ("RSA-OAEP-256", "RSA-OAEP"),
}
"""CDS-WG3-01 §7.4.6: the JWE `alg` values we encrypt with, by `kty`; the first is used unless
the key's own `alg` names another of its row (RSA1_5 is never used)."""
JWK_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
"""RFC 7518 §6.2.2, §6.3.2, §6.4 and RFC 8037 §2: members only a private or secret key has."""
JWK_ENCRYPTION_OPS: Final = frozenset({"encrypt", "wrapKey", "deriveKey", "deriveBits"})
"""RFC 7517 §4.3 `key_ops` values that let a public key encrypt (or agree) a content key."""
RSA_MINIMUM_BITS: Final = 2048
"""RFC 7518 §4.2 and §4.3: RSA keys for RSA-OAEP must be at least 2048 bits."""

_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,100}")
"""RFC 6749 §3.3 scope-token characters (no spaces, quotes or backslashes)."""
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class CatalogueError(ValueError):
    """The scope catalogue file is invalid; the message names the scope and field."""


class FieldValueError(ValueError):
    """A submitted value does not fit its field's format, limits or choices."""


@dataclass(frozen=True)
class Choice:
    """An Authorization Details Field Choice (§3.10); `extra` keeps extension fields."""

    id: str
    name: str
    description: str
    documentation: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self, settings: Settings) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "documentation": absolute(settings, self.documentation),
            **self.extra,
        }


class _NoDefault:
    """The marker for a field object without `default` (null is a default of its own)."""

    def __repr__(self) -> str:
        return "NO_DEFAULT"


_NO_DEFAULT: Final[Any] = _NoDefault()


@dataclass(frozen=True)
class FieldDescription:
    """An Authorization Details Field (§3.8)."""

    id: str
    name: str
    description: str
    documentation: str
    for_types: tuple[str, ...]
    format: str
    is_required: bool
    default: Any = _NO_DEFAULT
    maximum: Any = None
    minimum: Any = None
    choices: tuple[Choice, ...] = ()
    historical: bool = False

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT

    @property
    def choice_ids(self) -> frozenset[str]:
        return frozenset(choice.id for choice in self.choices)

    def validate(self, value: Any, *, tz: ZoneInfo, now: datetime) -> Any:
        """`value` checked against format, choices and limits, with dates made absolute.

        Raises FieldValueError. Decimals must arrive as `Decimal` (parse JSON with
        `parse_float=Decimal`); floats are refused (§3.9).
        """
        return _VALIDATORS[self.format](self, value, tz, now)

    def to_json(self, settings: Settings) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "documentation": absolute(settings, self.documentation),
            "for_types": list(self.for_types),
            "format": self.format,
            "is_required": self.is_required,
        }
        if self.has_default:
            body["default"] = self.default
        if self.maximum is not None:
            body["maximum"] = self.maximum
            body["minimum"] = self.minimum
        if self.choices:
            body["choices"] = [choice.to_json(settings) for choice in self.choices]
        if self.id == PURPOSE_FIELD:
            body["choices"] = default_choices(settings)
        return body


@dataclass(frozen=True)
class ScopeDescription:
    """A Scope Description (§3.4)."""

    id: str
    type: str
    name: str
    description: str
    documentation: str
    registration_requirements: tuple[str, ...]
    registration_optional: tuple[str, ...]
    response_types_supported: tuple[str, ...]
    grant_types_supported: tuple[str, ...]
    token_endpoint_auth_methods_supported: tuple[str, ...]
    code_challenge_methods_supported: tuple[str, ...]
    coverages_supported: tuple[str, ...]
    grant_admin_scope: str | None
    authorization_details_types_supported: tuple[str, ...]
    authorization_details_fields_supported: tuple[FieldDescription, ...]

    def field(self, field_id: str) -> FieldDescription | None:
        for candidate in self.authorization_details_fields_supported:
            if candidate.id == field_id:
                return candidate
        return None

    def fields_for(self, details_type: str) -> tuple[FieldDescription, ...]:
        """The fields an authorization_details entry of `details_type` may carry (§3.8)."""
        return tuple(
            f for f in self.authorization_details_fields_supported if details_type in f.for_types
        )

    def to_json(self, settings: Settings) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "name": self.name,
            "description": self.description,
            "documentation": absolute(settings, self.documentation),
            "registration_requirements": list(self.registration_requirements),
            "registration_optional": list(self.registration_optional),
            "response_types_supported": list(self.response_types_supported),
            "grant_types_supported": list(self.grant_types_supported),
            "token_endpoint_auth_methods_supported": list(
                self.token_endpoint_auth_methods_supported
            ),
            "code_challenge_methods_supported": list(self.code_challenge_methods_supported),
            "coverages_supported": list(self.coverages_supported),
            "grant_admin_scope": self.grant_admin_scope,
            "authorization_details_types_supported": list(
                self.authorization_details_types_supported
            ),
            "authorization_details_fields_supported": [
                f.to_json(settings) for f in self.authorization_details_fields_supported
            ],
        }


@dataclass(frozen=True)
class RegistrationField:
    """A Registration Field (§3.5-§3.7)."""

    id: str
    type: str
    description: str
    documentation: str
    field_name: str | None = None
    format: str | None = None
    default: Any = _NO_DEFAULT
    max_length: int | None = None
    max_size: int | None = None

    @property
    def has_default(self) -> bool:
        """A default marks a registration field as optional (§3.5)."""
        return self.default is not _NO_DEFAULT

    def validate(self, value: Any) -> Any:
        """`value` checked against this field's §3.7 format; raises FieldValueError."""
        assert self.format is not None  # only registration_field entries are submitted
        base = self.format.removesuffix("_or_null")
        if value is None:
            if base != self.format:
                return None
            raise FieldValueError(f"{self.field_name} must not be null")
        if base == "boolean":
            if not isinstance(value, bool):
                raise FieldValueError(f"{self.field_name} must be true or false")
            return value
        if base == "purposes":
            try:
                check_registration_value(value, str(self.field_name))
            except PurposeError as error:
                raise FieldValueError(str(error)) from error
            return value
        if not isinstance(value, str):
            raise FieldValueError(f"{self.field_name} must be a string")
        if base in ("image", "pdf"):
            _check_file(self, value, base)
            return value
        if self.max_length is not None and len(value) > self.max_length:
            raise FieldValueError(f"{self.field_name} is longer than {self.max_length} characters")
        if base == "url" and not is_url(value):
            raise FieldValueError(f"{self.field_name} must be an absolute http(s) URL")
        if base == "email" and not _EMAIL.fullmatch(value):
            raise FieldValueError(f"{self.field_name} must be an email address")
        return value

    def to_json(self, settings: Settings) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "description": self.description,
            "documentation": absolute(settings, self.documentation),
        }
        optional = {
            "field_name": self.field_name,
            "format": self.format,
            "max_length": self.max_length,
            "max_size": self.max_size,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if self.has_default:
            body["default"] = self.default
        return body


@dataclass(frozen=True)
class Catalogue:
    """Every scope the server offers for CDS registration, and the registration fields."""

    scopes: dict[str, ScopeDescription]
    registration_fields: dict[str, RegistrationField]

    def get(self, scope_id: str) -> ScopeDescription | None:
        return self.scopes.get(scope_id)

    def scope_for_type(self, details_type: str) -> ScopeDescription | None:
        """The scope whose `authorization_details_types_supported` lists `details_type`."""
        for scope in self.scopes.values():
            if details_type in scope.authorization_details_types_supported:
                return scope
        return None

    def scopes_json(self, settings: Settings) -> dict[str, Any]:
        """The `cds_scope_descriptions` map (§3.2)."""
        return {scope_id: s.to_json(settings) for scope_id, s in self.scopes.items()}

    def registration_fields_json(self, settings: Settings) -> dict[str, Any]:
        """The `cds_registration_fields` map (§3.2)."""
        return {key: f.to_json(settings) for key, f in self.registration_fields.items()}


def load_catalogue(settings: Settings) -> Catalogue:
    """The catalogue in `settings.scopes_file` (or the bundled one), read once per process, with
    the scopes the enabled CDS-WG3-01 §4 Scenarios offer (`settings.scenarios`, see `scenarios`).

    `create_app` calls it at startup, so a broken file or an unknown Scenario id stops the server
    there (`CatalogueError`, `ScenarioError`); an edited file takes effect at the next start.
    """
    return _offered(
        (settings.scopes_file or DEFAULT_FILE).resolve(), scenarios.enabled(settings.scenarios)
    )


@lru_cache(maxsize=8)
def _offered(path: Path, scenario_ids: tuple[str, ...]) -> Catalogue:
    catalogue = _load(path)
    return replace(
        catalogue,
        scopes={
            key: scope
            for key, scope in catalogue.scopes.items()
            if scenarios.offers(scope.type, scenario_ids)
        },
    )


@lru_cache(maxsize=8)
def _load(path: Path) -> Catalogue:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogueError(f"scope catalogue {path}: cannot read it ({error})") from error
    try:
        data = json.loads(text, parse_float=Decimal)
    except ValueError as error:
        raise CatalogueError(f"scope catalogue {path}: not readable JSON ({error})") from error
    return parse_catalogue(data, source=str(path))


def parse_catalogue(data: Any, *, source: str = "scope catalogue") -> Catalogue:
    """Validate catalogue JSON (already parsed with `parse_float=Decimal`)."""
    where = _Where(source)
    body = where.object(data, {"cds_scope_descriptions", "cds_registration_fields"}, set())
    fields_map = where.object(body["cds_registration_fields"], set(), None)
    registration_fields = {
        key: _registration_field(where.at(f"registration field {key!r}"), key, value)
        for key, value in fields_map.items()
    }
    scopes_map = where.object(body["cds_scope_descriptions"], set(), None)
    scopes = {
        key: _scope(where.at(f"scope {key!r}"), key, value) for key, value in scopes_map.items()
    }
    _check_catalogue(where, scopes, registration_fields)
    return Catalogue(scopes, registration_fields)


def absolute(settings: Settings, url: str) -> str:
    """A documentation URL from the catalogue: paths on this server become absolute."""
    return settings.url(url) if url.startswith("/") else url


def is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


# --- loading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Where:
    """Where in the file we are, for error messages."""

    path: str

    def at(self, step: str) -> _Where:
        return _Where(f"{self.path}: {step}")

    def fail(self, problem: str) -> CatalogueError:
        return CatalogueError(f"{self.path}: {problem}")

    def object(self, value: Any, required: set[str], optional: set[str] | None) -> dict[str, Any]:
        """A JSON object with the `required` keys and (unless `optional` is None) no others."""
        if not isinstance(value, dict):
            raise self.fail("must be a JSON object")
        missing = sorted(required - value.keys())
        if missing:
            raise self.fail(f"missing {', '.join(missing)}")
        if optional is not None:
            unknown = sorted(value.keys() - required - optional)
            if unknown:
                raise self.fail(f"unknown field {', '.join(unknown)}")
        return value

    def text(self, body: dict[str, Any], key: str) -> str:
        value = body[key]
        if not isinstance(value, str) or not value:
            raise self.fail(f"{key} must be a non-empty string")
        return value

    def url(self, body: dict[str, Any], key: str) -> str:
        value = self.text(body, key)
        if not (value.startswith("/") or is_url(value)):
            raise self.fail(f"{key} must be a path on this server or an http(s) URL")
        return value

    def strings(
        self, body: dict[str, Any], key: str, allowed: tuple[str, ...] = ()
    ) -> tuple[str, ...]:
        value = body[key]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(f"{key} must be a list of strings")
        if len(set(value)) != len(value):
            raise self.fail(f"{key} lists a value twice")
        if allowed and not set(value) <= set(allowed):
            raise self.fail(f"{key} may only hold {', '.join(allowed)}")
        return tuple(value)

    def flag(self, body: dict[str, Any], key: str) -> bool:
        value = body[key]
        if not isinstance(value, bool):
            raise self.fail(f"{key} must be true or false")
        return value

    def count(self, body: dict[str, Any], key: str) -> int | None:
        value = body.get(key)
        if value is not None and (type(value) is not int or value < 0):
            raise self.fail(f"{key} must be a non-negative integer")
        return value


_SCOPE_KEYS: Final = {
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
_FIELD_KEYS: Final = {
    "id",
    "name",
    "description",
    "documentation",
    "for_types",
    "format",
    "is_required",
}
_FIELD_OPTIONAL: Final = {"default", "maximum", "minimum", "choices", "historical"}
_CHOICE_KEYS: Final = {"id", "name", "description", "documentation"}
_REGISTRATION_KEYS: Final = {"id", "type", "description", "documentation"}
_REGISTRATION_OPTIONAL: Final = {"field_name", "format", "default", "max_length", "max_size"}


def _scope(where: _Where, key: str, value: Any) -> ScopeDescription:
    body = where.object(value, _SCOPE_KEYS, set())
    if body["id"] != key:
        raise where.fail(f"id {body['id']!r} must equal its key (§3.4)")
    if not _SCOPE_TOKEN.fullmatch(key):
        raise where.fail("id must be an OAuth scope token: no spaces, quotes or backslashes")
    grant_admin = body["grant_admin_scope"]
    if grant_admin is not None and not isinstance(grant_admin, str):
        raise where.fail("grant_admin_scope must be a scope id or null")
    types = where.strings(body, "authorization_details_types_supported")
    fields = body["authorization_details_fields_supported"]
    if not isinstance(fields, list):
        raise where.fail("authorization_details_fields_supported must be a list")
    parsed = tuple(
        _field(where.at(_field_label(i, item)), item, types) for i, item in enumerate(fields)
    )
    ids = [f.id for f in parsed]
    if len(set(ids)) != len(ids):
        raise where.fail("authorization_details_fields_supported lists a field id twice")
    if PURPOSE_FIELD in ids and not body["response_types_supported"]:
        raise where.fail(
            f"{PURPOSE_FIELD} is offered only where response_types_supported is not empty "
            "(CDS-WG3-01 §7.4.4)"
        )
    scope = ScopeDescription(
        id=key,
        type=where.text(body, "type"),
        name=where.text(body, "name"),
        description=where.text(body, "description"),
        documentation=where.url(body, "documentation"),
        registration_requirements=where.strings(body, "registration_requirements"),
        registration_optional=where.strings(body, "registration_optional"),
        response_types_supported=where.strings(
            body, "response_types_supported", SUPPORTED_RESPONSE_TYPES
        ),
        grant_types_supported=where.strings(body, "grant_types_supported", SUPPORTED_GRANT_TYPES),
        token_endpoint_auth_methods_supported=where.strings(
            body, "token_endpoint_auth_methods_supported", SUPPORTED_AUTH_METHODS
        ),
        code_challenge_methods_supported=where.strings(body, "code_challenge_methods_supported"),
        coverages_supported=where.strings(body, "coverages_supported"),
        grant_admin_scope=grant_admin,
        authorization_details_types_supported=types,
        authorization_details_fields_supported=parsed,
    )
    _check_scope_rules(where, scope)
    return scope


def _check_scope_rules(where: _Where, scope: ScopeDescription) -> None:
    """§3.4 rules, and the fixed values of §3.3.1-§3.3.3."""
    grants = set(scope.grant_types_supported)
    if not grants and scope.type != FILES_TYPE:  # §3.3.3 files scopes list none (§3.4-d)
        raise where.fail("grant_types_supported must list at least one grant type (§3.4)")
    if "authorization_code" in grants:
        if set(scope.code_challenge_methods_supported) != {"S256"}:
            raise where.fail('code_challenge_methods_supported must be ["S256"] (§3.4)')
    elif scope.code_challenge_methods_supported:
        raise where.fail("code_challenge_methods_supported must be [] without authorization_code")
    if scope.response_types_supported and "authorization_code" not in grants:
        raise where.fail("response type code needs the authorization_code grant type")
    if "authorization_code" in grants and not scope.response_types_supported:
        raise where.fail("the authorization_code grant type needs response type code")
    if grants and not scope.token_endpoint_auth_methods_supported:
        raise where.fail("token_endpoint_auth_methods_supported must not be empty")
    fixed: dict[str, Any] = {}
    if scope.type == CLIENT_ADMIN or scope.id == CLIENT_ADMIN:
        fixed = {
            "id": CLIENT_ADMIN,
            "type": CLIENT_ADMIN,
            "name": "Client Admin",
            "description": "This scope grants administrative access to the Client management APIs.",
            **_ADMIN_SHAPE,
            "authorization_details_types_supported": (),
            "authorization_details_fields_supported": (),
        }
    elif scope.type == GRANT_ADMIN_TYPE:
        fixed = {
            "name": "Grant Admin",
            "description": "This scope grants administrative access to previously created Grants.",
            **_ADMIN_SHAPE,
            "authorization_details_types_supported": (scope.id,),
        }
        _check_id_fields(where, scope, _GRANT_ADMIN_FIELDS)
    elif scope.type == FILES_TYPE:
        if scope.name != "Server-Provided Files" and not scope.name.startswith(
            "Server-Provided Files: "
        ):
            raise where.fail('name must be "Server-Provided Files" or start with it and ": "')
        fixed = {
            "registration_requirements": (),
            "registration_optional": (),
            "response_types_supported": (),
            "grant_types_supported": (),
            "token_endpoint_auth_methods_supported": (),
            "code_challenge_methods_supported": (),
            "coverages_supported": (),
            "authorization_details_types_supported": (scope.id,),
        }
        if scope.grant_admin_scope is None:
            raise where.fail("grant_admin_scope must name a Grant Admin scope (§3.3.3)")
        _check_id_fields(where, scope, {"file_id": "File identifier"})
    for key, expected in fixed.items():
        if getattr(scope, key) != expected:
            raise where.fail(f"{key} must be {_show(expected)} for type {scope.type} (§3.3)")
    wg3 = consent_scopes.problems(scope) or direct_scopes.problems(scope)
    if wg3:
        raise where.fail(f"{wg3[0]} (CDS-WG3-01)")


_ADMIN_SHAPE: Final[dict[str, Any]] = {
    "registration_requirements": (),
    "registration_optional": (),
    "response_types_supported": (),
    "grant_types_supported": ("client_credentials",),
    "token_endpoint_auth_methods_supported": ("client_secret_basic",),
    "code_challenge_methods_supported": (),
    "coverages_supported": (),
    "grant_admin_scope": None,
}
_GRANT_ADMIN_FIELDS: Final = {
    "client_id": "Client Object identifier",
    "grant_id": "Grant identifier",
}


def _check_id_fields(where: _Where, scope: ScopeDescription, names: dict[str, str]) -> None:
    """§3.3.2/§3.3.3: exactly these required string fields (1..1000) for the scope's own type."""
    found = {f.id: f for f in scope.authorization_details_fields_supported}
    if set(found) != set(names):
        raise where.fail(
            f"authorization_details_fields_supported must be exactly {', '.join(names)} (§3.3)"
        )
    for field_id, name in names.items():
        f = found[field_id]
        if (f.name, f.format, f.is_required, f.has_default, f.maximum, f.minimum, f.choices) != (
            name,
            "string",
            True,
            False,
            1000,
            1,
            (),
        ) or f.for_types != (scope.id,):
            raise where.fail(
                f"field {field_id} must be named {name!r}, format string, required, no default, "
                f"maximum 1000, minimum 1, for_types [{scope.id!r}] (§3.3)"
            )


def _field_label(index: int, item: Any) -> str:
    """How an error names a field object: by its id when it has one."""
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        return f"field {item['id']!r}"
    return f"field {index}"


def _field(where: _Where, value: Any, types: tuple[str, ...]) -> FieldDescription:
    body = where.object(value, _FIELD_KEYS, _FIELD_OPTIONAL)
    field_id = where.text(body, "id")
    fmt = body["format"]
    if fmt not in FIELD_FORMATS:
        raise where.fail(f"format {fmt!r} is not one of {', '.join(sorted(FIELD_FORMATS))}")
    for_types = where.strings(body, "for_types")
    if not for_types or not set(for_types) <= set(types):
        raise where.fail(
            "for_types must be a non-empty subset of authorization_details_types_supported (§3.8)"
        )
    is_required = where.flag(body, "is_required")
    historical = body.get("historical", False)
    if not isinstance(historical, bool) or (historical and fmt not in DATE_KINDS):
        raise where.fail("historical (true/false) applies only to date and datetime formats")
    choices = _choices(where, body, fmt)
    maximum, minimum = _limits(where, body, fmt, historical)
    description = FieldDescription(
        id=field_id,
        name=where.text(body, "name"),
        description=where.text(body, "description"),
        documentation=where.url(body, "documentation"),
        for_types=for_types,
        format=fmt,
        is_required=is_required,
        maximum=maximum,
        minimum=minimum,
        choices=choices,
        historical=historical,
    )
    if "default" in body:
        if is_required:
            raise where.fail("a required field has no default (§3.8)")
        try:
            description.validate(body["default"], tz=ZoneInfo("UTC"), now=utcnow())
        except FieldValueError as error:
            raise where.fail(f"default: {error}") from error
        description = replace(description, default=body["default"])
    return description


def _choices(where: _Where, body: dict[str, Any], fmt: str) -> tuple[Choice, ...]:
    if body["id"] == PURPOSE_FIELD:
        if fmt != "choice_or_null" or body["is_required"] is not False or "choices" in body:
            raise where.fail(
                f"{PURPOSE_FIELD} has format choice_or_null, is_required false and no choices: "
                "its choices are the Client's Purposes (CDS-WG3-01 §7.4.4)"
            )
        return ()
    if fmt not in CHOICE_FORMATS:
        if "choices" in body:
            raise where.fail(f"choices apply only to {', '.join(sorted(CHOICE_FORMATS))}")
        return ()
    items = body.get("choices")
    if not isinstance(items, list) or not items:
        raise where.fail("choices must list at least one choice (§3.8)")
    choices = []
    for i, item in enumerate(items):
        at = where.at(f"choice {i}")
        choice = at.object(item, _CHOICE_KEYS, None)
        choices.append(
            Choice(
                id=at.text(choice, "id"),
                name=at.text(choice, "name"),
                description=at.text(choice, "description"),
                documentation=at.url(choice, "documentation"),
                extra={k: v for k, v in choice.items() if k not in _CHOICE_KEYS},
            )
        )
    if len({c.id for c in choices}) != len(choices):
        raise where.fail("choices repeat an id")
    value_types = body["id"] == VALUE_TYPES_FIELD
    for parsed in choices:
        usage_format = parsed.extra.get("usagesegment_format")
        if value_types and not (
            isinstance(usage_format, dict)
            and isinstance(usage_format.get("id"), str)
            and isinstance(usage_format.get("type"), str)
        ):
            raise where.fail(
                f"choice {parsed.id!r} needs a usagesegment_format object with id and type "
                "(CDS-WG3-01 §5.2)"
            )
        value_type = usage_format.get("type") if isinstance(usage_format, dict) else None
        if value_types and value_type not in VALUE_TYPES:
            raise where.fail(
                f"choice {parsed.id!r}: usagesegment_format type {value_type!r} is not "
                f"one of {', '.join(sorted(VALUE_TYPES))} (CDS-WG3-01 §10.8.5)"
            )
        if not value_types and "usagesegment_format" in parsed.extra:
            raise where.fail(f"usagesegment_format belongs only to {VALUE_TYPES_FIELD} choices")
    return tuple(choices)


def _limits(where: _Where, body: dict[str, Any], fmt: str, historical: bool) -> tuple[Any, Any]:
    if fmt not in LIMITED_FORMATS:
        if "maximum" in body or "minimum" in body:
            raise where.fail(f"maximum and minimum do not apply to format {fmt}")
        return None, None
    if "maximum" not in body or "minimum" not in body:
        raise where.fail(f"format {fmt} needs maximum and minimum (§3.8)")
    maximum, minimum = body["maximum"], body["minimum"]
    if fmt in DATE_KINDS:
        now = utcnow()
        try:
            high = durations.resolve(
                _text(maximum), DATE_KINDS[fmt], tz=ZoneInfo("UTC"), now=now, past=historical
            )
            low = durations.resolve(
                _text(minimum), DATE_KINDS[fmt], tz=ZoneInfo("UTC"), now=now, past=historical
            )
        except DurationError as error:
            raise where.fail(f"maximum/minimum: {error}") from error
        if durations.further(low, high, past=historical):
            raise where.fail("minimum lies further than maximum (§3.8)")
        return maximum, minimum
    for name, limit in (("maximum", maximum), ("minimum", minimum)):
        numeric = fmt in ("int", "decimal")
        valid = (
            (numeric and limit == INFINITE)
            or (type(limit) is int and limit >= 0)
            or (fmt == "decimal" and isinstance(limit, Decimal))
        )
        if not valid:
            kind = "a number or infinite" if numeric else "a non-negative integer length"
            raise where.fail(f"{name} must be {kind} for format {fmt}")
    if _number(minimum) > _number(maximum):
        raise where.fail("minimum is larger than maximum")
    return maximum, minimum


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise DurationError(f"{value!r} is not a string")
    return value


def _number(limit: Any) -> Decimal:
    return Decimal("Infinity") if limit == INFINITE else Decimal(limit)


def _registration_field(where: _Where, key: str, value: Any) -> RegistrationField:
    body = where.object(value, _REGISTRATION_KEYS, _REGISTRATION_OPTIONAL)
    if body["id"] != key:
        raise where.fail(f"id {body['id']!r} must equal its key (§3.5)")
    kind = body["type"]
    if kind not in REGISTRATION_TYPES:
        raise where.fail(f"type {kind!r} is not one of {', '.join(sorted(REGISTRATION_TYPES))}")
    if kind not in SUPPORTED_REGISTRATION_TYPES:
        raise where.fail(f"type {kind} needs a flow this server does not offer yet")
    fmt = body.get("format")
    field_name = body.get("field_name")
    if kind == "registration_field":
        if not isinstance(field_name, str) or not field_name.startswith("cds_"):
            raise where.fail("field_name must be a string starting with cds_ (§3.5)")
        if field_name in CLIENT_OBJECT_FIELDS:
            raise where.fail(f"field_name {field_name} is already a Client Object field (§5.1)")
        if fmt not in REGISTRATION_FORMATS:
            raise where.fail(f"format must be one of {', '.join(sorted(REGISTRATION_FORMATS))}")
    elif field_name is not None or fmt is not None or "default" in body:
        raise where.fail("field_name, format and default belong to registration_field entries")
    base = (fmt or "").removesuffix("_or_null")
    max_length, max_size = where.count(body, "max_length"), where.count(body, "max_size")
    if max_length is not None and base not in ("string", "url", "email"):
        raise where.fail("max_length applies to string, url and email formats (§3.5)")
    if max_size is not None and base not in ("image", "pdf"):
        raise where.fail("max_size applies to image and pdf formats (§3.5)")
    registration = RegistrationField(
        id=key,
        type=kind,
        description=where.text(body, "description"),
        documentation=where.url(body, "documentation"),
        field_name=field_name,
        format=fmt,
        max_length=max_length,
        max_size=max_size,
    )
    if "default" in body:
        try:
            registration.validate(body["default"])
        except FieldValueError as error:
            raise where.fail(f"default: {error}") from error
        registration = replace(registration, default=body["default"])
    return registration


def _check_catalogue(
    where: _Where, scopes: dict[str, ScopeDescription], fields: dict[str, RegistrationField]
) -> None:
    if CLIENT_ADMIN not in scopes:
        raise where.fail(f"the {CLIENT_ADMIN} scope is required (§4.1)")
    owner: dict[str, str] = {}
    names: dict[str, str] = {}
    for scope in scopes.values():
        at = where.at(f"scope {scope.id!r}")
        if scope.grant_admin_scope is not None:
            target = scopes.get(scope.grant_admin_scope)
            if target is None or target.type != GRANT_ADMIN_TYPE:
                raise at.fail(
                    f"grant_admin_scope {scope.grant_admin_scope!r} must be a scope of type "
                    f"{GRANT_ADMIN_TYPE} (§3.4)"
                )
        for details_type in scope.authorization_details_types_supported:
            if details_type in owner:
                raise at.fail(
                    f"authorization details type {details_type!r} is also offered by scope "
                    f"{owner[details_type]!r}"
                )
            owner[details_type] = scope.id
        for list_name in ("registration_requirements", "registration_optional"):
            for field_id in getattr(scope, list_name):
                registration = fields.get(field_id)
                if registration is None:
                    raise at.fail(f"{list_name} names {field_id!r}, not in cds_registration_fields")
                if list_name == "registration_optional" and not registration.has_default:
                    raise at.fail(f"optional registration field {field_id!r} needs a default")
    for registration in fields.values():
        if registration.field_name is None:
            continue
        other = names.setdefault(registration.field_name, registration.id)
        if other != registration.id:
            raise where.fail(
                f"registration fields {other!r} and {registration.id!r} share a field_name"
            )


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return json.dumps(list(value))
    return json.dumps(value)


# --- values (§3.9) ------------------------------------------------------------------------------


def _check_file(registration: RegistrationField, value: str, base: str) -> None:
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise FieldValueError(f"{registration.field_name} must be Base64") from error
    if registration.max_size is not None and len(data) > registration.max_size:
        raise FieldValueError(
            f"{registration.field_name} is larger than {registration.max_size} bytes"
        )
    if base == "image" and not data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
        raise FieldValueError(f"{registration.field_name} must be a PNG or JPEG image")
    if base == "pdf" and not data.startswith(b"%PDF-"):
        raise FieldValueError(f"{registration.field_name} must be a PDF document")


Validator = Callable[[FieldDescription, Any, ZoneInfo, datetime], Any]


def _nullable(check: Validator) -> Validator:
    def validate(f: FieldDescription, value: Any, tz: ZoneInfo, now: datetime) -> Any:
        return None if value is None else check(f, value, tz, now)

    return validate


def _number_value(f: FieldDescription, value: Any, _tz: ZoneInfo, _now: datetime) -> Any:
    if isinstance(value, bool) or not (
        type(value) is int or (f.format == "decimal" and isinstance(value, Decimal))
    ):
        raise FieldValueError(f"{f.id} must be {'an integer' if f.format == 'int' else 'a number'}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise FieldValueError(f"{f.id} must be a finite number")
    if not _number(f.minimum) <= value <= _number(f.maximum):
        raise FieldValueError(f"{f.id} must lie between {f.minimum} and {f.maximum}")
    return value


def _string_value(f: FieldDescription, value: Any, _tz: ZoneInfo, _now: datetime) -> Any:
    if not isinstance(value, str):
        raise FieldValueError(f"{f.id} must be a string")
    if not f.minimum <= len(value) <= f.maximum:
        raise FieldValueError(f"{f.id} must be {f.minimum} to {f.maximum} characters long")
    return value


def _string_list_value(f: FieldDescription, value: Any, _tz: ZoneInfo, _now: datetime) -> Any:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FieldValueError(f"{f.id} must be a list of strings")
    if not f.minimum <= sum(len(v) for v in value) <= f.maximum:
        raise FieldValueError(
            f"{f.id}: its strings together must be {f.minimum} to {f.maximum} characters long"
        )
    return value


def _boolean_value(f: FieldDescription, value: Any, _tz: ZoneInfo, _now: datetime) -> Any:
    if not isinstance(value, bool):
        raise FieldValueError(f"{f.id} must be true or false")
    return value


def _date_value(f: FieldDescription, value: Any, tz: ZoneInfo, now: datetime) -> Any:
    kind = DATE_KINDS[f.format]
    if not isinstance(value, str):
        raise FieldValueError(f"{f.id} must be a {kind}, a relative {kind} or infinite")
    try:
        point = durations.resolve(value, kind, tz=tz, now=now, past=f.historical)
        high = durations.resolve(f.maximum, kind, tz=tz, now=now, past=f.historical)
        low = durations.resolve(f.minimum, kind, tz=tz, now=now, past=f.historical)
    except DurationError as error:
        raise FieldValueError(f"{f.id}: {error}") from error
    if not durations.within(point, low, high, past=f.historical):
        raise FieldValueError(
            f"{f.id} {value!r} lies outside the allowed range: from {f.minimum} to {f.maximum}"
            + (" back" if f.historical else "")
        )
    return point.text


def _choice_value(f: FieldDescription, value: Any, _tz: ZoneInfo, _now: datetime) -> Any:
    if value not in f.choice_ids:
        raise FieldValueError(f"{f.id} must be one of {', '.join(sorted(f.choice_ids))}")
    return value


def _choice_list_value(f: FieldDescription, value: Any, _tz: ZoneInfo, _now: datetime) -> Any:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FieldValueError(f"{f.id} must be a list of choice ids")
    unknown = sorted(set(value) - f.choice_ids)
    if unknown:
        raise FieldValueError(
            f"{f.id}: {', '.join(unknown)} not among {', '.join(sorted(f.choice_ids))}"
        )
    if len(set(value)) != len(value):
        raise FieldValueError(f"{f.id} lists a choice twice")
    return value


def encryption_jwk_problem(value: Any) -> str | None:
    """Why `value` is not a JWK Public Encryption Key (§2) we can encrypt to (CDS-WG3-01 §7.4.6):
    a public key (no private members) with `use` "enc", a supported `kty`/`crv`, an `alg` (if
    any) we use and `key_ops` (if any) that allow encryption; None when it is one."""
    if not isinstance(value, dict):
        return "must be a JWK object or null"
    if value.get("use") != "enc":
        return 'must have "use": "enc" (an encryption key)'
    private = sorted(JWK_PRIVATE_MEMBERS.intersection(value))
    if private:
        return f"must be a public key (it holds private members {', '.join(private)})"
    kty = value.get("kty")
    algorithms = JWK_ENCRYPTION_ALGORITHMS.get(kty) if isinstance(kty, str) else None
    if algorithms is None or (
        kty != "RSA" and value.get("crv") not in JWK_ENCRYPTION_CURVES[str(kty)]
    ):
        return "supported encryption keys are EC P-256/P-384/P-521, RSA, OKP X25519/X448"
    if "alg" in value and value["alg"] not in algorithms:
        return f"a {kty} key's alg must be one of {', '.join(algorithms)}"
    key_ops = value.get("key_ops")
    if key_ops is not None and (
        not isinstance(key_ops, list) or not JWK_ENCRYPTION_OPS.intersection(key_ops)
    ):
        return f"key_ops must allow one of {', '.join(sorted(JWK_ENCRYPTION_OPS))}"
    try:
        key = JWKRegistry.import_key(value)
    except (JoseError, ValueError, TypeError, KeyError) as error:
        return f"is not a valid JWK: {error}"
    if isinstance(key, RSAKey) and key.public_key.key_size < RSA_MINIMUM_BITS:
        return f"an RSA key must have at least {RSA_MINIMUM_BITS} bits"
    return None


def _jwk_value(f: FieldDescription, value: Any, _tz: ZoneInfo, _now: datetime) -> Any:
    problem = encryption_jwk_problem(value)
    if problem is not None:
        raise FieldValueError(f"{f.id}: {problem}")
    return value


_VALIDATORS: Final[dict[str, Validator]] = {
    "int": _number_value,
    "decimal": _number_value,
    "string": _string_value,
    "string_or_null": _nullable(_string_value),
    "string_list": _string_list_value,
    "string_list_or_null": _nullable(_string_list_value),
    "boolean": _boolean_value,
    "relative_or_absolute_date": _date_value,
    "relative_or_absolute_datetime": _date_value,
    "choice": _choice_value,
    "choice_or_null": _nullable(_choice_value),
    "choice_list_or_null": _nullable(_choice_list_value),
    "jwk_or_null": _nullable(_jwk_value),
}
