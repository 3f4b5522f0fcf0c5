"""CDS-WG3-01 §8 Clients: the Client Object's `cds_purposes` (§8.1), changing them (§8.2) and the
§8.3 Purpose Object Format; also the §5.1 `purposes` registration field format.

A Client Object's `cds_purposes` holds two kinds of Purpose:
- the server's defaults (`settings.default_purposes`), on every Client Object that has a scope
  offering the `purpose` authorization details field (§7.4.4). They are read from the settings
  whenever a Client Object is shown, so a Client cannot remove or change them (§8.2);
- the Client's own, stored on the Client row (`Client.purposes`: id -> name, content, related_uri,
  related_name). Their ids are made by the server (`p` + 16 hex digits).

`scopes_supported` is never stored: it is the Client Object's scopes whose catalogue entry offers
the `purpose` field, so it follows the object's scope (§8.2: the server assigns it).

Checks (§8.3, plus limits that keep one Client from filling the database or the form): `name`
1-200 characters; `content` 1-5000 characters with at least one that is not whitespace (line
breaks allowed); `related_uri` null or an absolute http(s) URL of at most 500 characters;
`related_name` null, or when `related_uri` is set 1-200 characters, not blank, on one line. At most
20 Purposes of the Client's own. Unknown fields are ignored (the Client's own copy is rebuilt from
the known ones).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from gridshare.config import Settings
from gridshare.grants.secrets import new_id

if TYPE_CHECKING:
    from gridshare.grants.scopes import Catalogue
    from gridshare.store.tables.clients import Client

PURPOSE_FIELD: Final = "purpose"
"""The Purpose Identifier authorization details field (CDS-WG3-01 §7.4.4)."""
MAX_NAME: Final = 200
MAX_CONTENT: Final = 5000
MAX_URL: Final = 500
MAX_RELATED_NAME: Final = 200
MAX_OWN: Final = 20
"""The most Purposes a Client Object may hold besides the server's defaults."""
ID_PREFIX: Final = "p"

Stored = dict[str, dict[str, Any]]
"""A Client's own Purposes as stored: id -> name, content, related_uri, related_name."""


class PurposeError(ValueError):
    """A submitted Purpose object (or `cds_purposes` value) is not valid (§8.3)."""


def check_purpose(value: Any, where: str = "Purpose") -> dict[str, Any]:
    """The §8.3 fields a Client may write (name, content, related_uri, related_name), checked;
    `id`, `scopes_supported` and unknown fields are left for the caller. Raises PurposeError."""
    if not isinstance(value, dict):
        raise PurposeError(f"{where} must be a Purpose object (CDS-WG3-01 §8.3)")
    name = value.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise PurposeError(f"{where}: name must be a string of 1 to {MAX_NAME} characters")
    content = value.get("content")
    if not isinstance(content, str) or not content.strip():
        raise PurposeError(f"{where}: content must hold at least one non-whitespace character")
    if len(content) > MAX_CONTENT:
        raise PurposeError(f"{where}: content is longer than {MAX_CONTENT} characters")
    related_uri = value.get("related_uri")
    if related_uri is not None and (
        not isinstance(related_uri, str) or len(related_uri) > MAX_URL or not _is_url(related_uri)
    ):
        raise PurposeError(
            f"{where}: related_uri must be null or an absolute http(s) URL (≤{MAX_URL})"
        )
    related_name = value.get("related_name")
    if related_uri is None:
        if related_name is not None and not isinstance(related_name, str):
            raise PurposeError(f"{where}: related_name must be a string or null")
        related_name = None
    elif (
        not isinstance(related_name, str)
        or not related_name.strip()
        or len(related_name) > MAX_RELATED_NAME
        or "\n" in related_name
        or "\r" in related_name
    ):
        raise PurposeError(
            f"{where}: with a related_uri, related_name must be one line of 1 to "
            f"{MAX_RELATED_NAME} characters, not blank"
        )
    return {
        "name": name,
        "content": content,
        "related_uri": related_uri,
        "related_name": related_name,
    }


def check_registration_value(value: Any, field_name: str) -> list[dict[str, Any]]:
    """A `purposes` registration field value (§5.1): a non-empty list of Purpose objects, each
    with `id` "" and `scopes_supported` []. Returns the checked Purposes (the §8.3 fields)."""
    if not isinstance(value, list) or not value:
        raise PurposeError(f"{field_name} must be a list of one or more Purpose objects (§5.1)")
    if len(value) > MAX_OWN:
        raise PurposeError(f"{field_name}: at most {MAX_OWN} Purposes")
    checked = []
    for index, item in enumerate(value):
        where = f"{field_name}[{index}]"
        purpose = check_purpose(item, where)
        if item.get("id") != "" or item.get("scopes_supported") != []:
            raise PurposeError(f'{where}: id must be "" and scopes_supported [] (§5.1)')
        checked.append(purpose)
    return checked


def added(stored: Stored, new: list[dict[str, Any]]) -> Stored:
    """`stored` plus the checked Purposes `new`, each under a new server-made id."""
    result = dict(stored)
    for purpose in new:
        result[_new_id(result)] = purpose
    return result


def server_defaults(settings: Settings) -> Stored:
    """The server's default Purposes by id, checked (a bad setting raises PurposeError)."""
    return {
        default.id: check_purpose(default.model_dump(), f"default Purpose {default.id!r}")
        for default in settings.default_purposes
    }


def purpose_scopes(catalogue: Catalogue, scope: str) -> list[str]:
    """The scopes of `scope` (a scope string) that offer the `purpose` field."""
    return [
        scope_id
        for scope_id in scope.split()
        if (described := catalogue.get(scope_id)) is not None
        and described.field(PURPOSE_FIELD) is not None
    ]


def purposes_for(
    settings: Settings, catalogue: Catalogue, scope: str, stored: Stored
) -> dict[str, dict[str, Any]]:
    """The `cds_purposes` of a Client Object with this scope and these own Purposes (§8.1): the
    server's defaults (when a scope offers `purpose`) then the Client's own, as §8.3 objects."""
    scopes = purpose_scopes(catalogue, scope)
    own = {k: v for k, v in stored.items() if k not in settings_ids(settings)}
    everything = (server_defaults(settings) if scopes else {}) | own
    result = {}
    for purpose_id, purpose in everything.items():
        body: dict[str, Any] = {
            "id": purpose_id,
            "name": purpose["name"],
            "content": purpose["content"],
            "related_uri": purpose["related_uri"],
        }
        if purpose["related_name"] is not None:
            body["related_name"] = purpose["related_name"]
        body["scopes_supported"] = list(scopes)
        result[purpose_id] = body
    return result


def client_purposes(
    settings: Settings, catalogue: Catalogue, client: Client
) -> dict[str, dict[str, Any]]:
    """The Client Object's `cds_purposes` (§8.1)."""
    return purposes_for(settings, catalogue, client.scope, client.purposes)


def usable(purposes: Mapping[str, Mapping[str, Any]]) -> dict[str, frozenset[str]]:
    """Purpose id -> the scopes whose `purpose` field may name it (§7.4.4)."""
    return {key: frozenset(value["scopes_supported"]) for key, value in purposes.items()}


def usable_for(
    settings: Settings, catalogue: Catalogue, client: Client
) -> dict[str, frozenset[str]]:
    """What `resolve_request` needs to check a request's `purpose` for this Client Object."""
    return usable(client_purposes(settings, catalogue, client))


def settings_ids(settings: Settings) -> frozenset[str]:
    return frozenset(default.id for default in settings.default_purposes)


def is_default(settings: Settings, purpose_id: str) -> bool:
    """Whether the Purpose is one of the server's defaults (not written by the Client)."""
    return purpose_id in settings_ids(settings)


def modified(settings: Settings, stored: Stored, submitted: Any) -> Stored:
    """The Client's own Purposes after a Client Object update sends `submitted` (§8.2).

    - null or left out: no Purposes of the Client's own (CDS-WG1-02 §5.5: a modifiable field
      left out goes back to its server default, which is the defaults alone);
    - entries under a default's id are ignored (defaults cannot be changed or removed);
    - an entry under a known id replaces that Purpose's name, content and links (its `id` and
      `scopes_supported` values are ignored);
    - an entry under any other key is a new Purpose with a server-made id;
    - a Purpose of the Client's own that is not sent is removed.
    Raises PurposeError (nothing is changed then).
    """
    if submitted is None:
        return {}
    if not isinstance(submitted, dict):
        raise PurposeError("cds_purposes must be an object of Purpose objects by id (§8.1)")
    defaults = settings_ids(settings)
    kept: Stored = {}
    new: list[dict[str, Any]] = []
    for key, value in submitted.items():
        if key in defaults:
            continue
        purpose = check_purpose(value, f"cds_purposes[{key!r}]")
        if key in stored:
            kept[key] = purpose
        else:
            new.append(purpose)
    if len(kept) + len(new) > MAX_OWN:
        raise PurposeError(f"cds_purposes: at most {MAX_OWN} Purposes besides the server's")
    return added(kept, new)


def shown(
    settings: Settings,
    catalogue: Catalogue,
    client: Client,
    details: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """The Purposes a request's (or a Grant's) `purpose` fields name, in request order, each once
    with the scopes that name it: what the Purpose Component shows (CDS-WG3-01 §9.2.2.4) and the
    receipt keeps (§9.4). `by_client` is false only for the server's defaults. A purpose the Client
    no longer has is left out (a resolved request names only current ones)."""
    available = client_purposes(settings, catalogue, client)
    found: dict[str, dict[str, Any]] = {}
    for entry in details:
        purpose_id = entry.get(PURPOSE_FIELD)
        owner = catalogue.scope_for_type(str(entry.get("type")))
        if not isinstance(purpose_id, str) or purpose_id not in available or owner is None:
            continue
        if purpose_id in found:
            found[purpose_id]["scopes"].append(owner.id)
            continue
        purpose = available[purpose_id]
        found[purpose_id] = {
            "id": purpose_id,
            "scopes": [owner.id],
            "content": purpose["content"],
            "related_uri": purpose["related_uri"],
            "related_name": purpose.get("related_name"),
            "by_client": not is_default(settings, purpose_id),
        }
    return list(found.values())


def _new_id(taken: Mapping[str, Any]) -> str:
    while True:
        candidate = new_id(ID_PREFIX)
        if candidate not in taken:
            return candidate


def _is_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and not any(c.isspace() for c in value)
    )


def default_choices(settings: Settings) -> list[dict[str, Any]]:
    """The `purpose` field's choices in the public Server Metadata (§7.4.4): the server's default
    Purposes, each documented on the server's documentation page."""
    return [
        {
            "id": default.id,
            "name": default.name,
            "description": default.content,
            "documentation": settings.documentation,
        }
        for default in settings.default_purposes
    ]
