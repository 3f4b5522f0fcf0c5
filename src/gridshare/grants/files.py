"""CDS-WG1-02 §3.3.3 Server-Provided Files Scope, and the files a token reaches (§9).

The operator stores a file (`add_file`) and shares it with a Client Object (`share_file`): a
server-created Grant whose scope is the Client Object's `cds_server_provided_files`-type scope id
and whose `authorization_details` name the file, `[{"type": <scope id>, "file_id": ...}]`
(§3.3.3-a). No code or token is ever issued for such a Grant directly: the client reaches its
files with a Grant Admin token (§3.3.2), a token bound to the Grant's id (§3.3.3-f).

`files_for_token` answers which files a token reaches: those named in the
`enabled_authorization_details` of its Grants that still give access, so closing or narrowing a
Grant takes its files away at once (§8.2, §8.6).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridshare.config import Settings
from gridshare.grants.grants import create_grant, grant_uri
from gridshare.grants.messages import changelog
from gridshare.grants.scopes import FILES_TYPE, Catalogue, load_catalogue
from gridshare.grants.secrets import new_id
from gridshare.grants.tokens import grant_gives_access
from gridshare.store.db import utcnow
from gridshare.store.tables.clients import Client
from gridshare.store.tables.grants import Grant, Token
from gridshare.store.tables.messages import ServerFile

MAX_NAME: Final = 255
_MIME_TYPE: Final = re.compile(r"[A-Za-z0-9][\w!#$&^.+-]{0,62}/[A-Za-z0-9][\w!#$&^.+-]{0,62}")


class FileError(ValueError):
    """A file cannot be stored or shared as asked; the message says why."""


@dataclass(frozen=True)
class FileAccess:
    """What a Grant Admin token for Server-Provided Files Grants reaches (§9.2-§9.4)."""

    grant_ids: frozenset[str]
    file_ids: frozenset[str]


def add_file(
    session: Session, *, name: str, mime_type: str, data: bytes, description: str = ""
) -> ServerFile:
    """Store a file the Server will share; `name` includes its extension (§9.1)."""
    if not name or len(name) > MAX_NAME or any(c in name for c in '/\\"') or not name.isprintable():
        raise FileError(
            f"a file name is 1 to {MAX_NAME} printable characters without / \\ or quotes"
        )
    if not _MIME_TYPE.fullmatch(mime_type):
        raise FileError(f"{mime_type!r} is not a MIME type such as application/pdf (RFC 6838)")
    now = utcnow()
    stored = ServerFile(
        file_id=new_id("f"),
        created=now,
        modified=now,
        mime_type=mime_type.lower(),
        name=name,
        description=description,
        data=data,
    )
    session.add(stored)
    session.flush()
    return stored


def files_scope_ids(catalogue: Catalogue) -> frozenset[str]:
    """The ids of the catalogue's Server-Provided Files scopes."""
    return frozenset(
        scope_id for scope_id, scope in catalogue.scopes.items() if scope.type == FILES_TYPE
    )


def share_file(
    session: Session,
    settings: Settings,
    *,
    file_id: str,
    client_id: str,
    catalogue: Catalogue | None = None,
) -> Grant:
    """Create the server-created Grant sharing `file_id` with the Client Object `client_id`
    (§3.3.3-a) and tell the client's registration about it in a Message (§6)."""
    if session.get(ServerFile, file_id) is None:
        raise FileError(f"there is no server-provided file {file_id!r}")
    client = session.get(Client, client_id)
    if client is None:
        raise FileError(f"there is no Client Object {client_id!r}")
    catalogue = catalogue or load_catalogue(settings)
    files_scopes = files_scope_ids(catalogue)
    scope_id = next((s for s in client.scope.split() if s in files_scopes), None)
    if scope_id is None:
        raise FileError(
            f"Client Object {client_id!r} is not registered for a Server-Provided Files scope "
            f"(its scope is {client.scope!r}); share files with the one that is"
        )
    grant = create_grant(
        session,
        client_id=client_id,
        scope=scope_id,
        authorization_details=[{"type": scope_id, "file_id": file_id}],
        customer_id=None,
        status="active",
    )
    session.flush()
    changelog(
        session,
        client.registration_id,
        "A file was shared with you",
        f"Grant {grant.grant_id} gives Client Object {client_id} the server-provided file "
        f"{file_id}; obtain a Grant Admin access token for this Grant to download it.",
        related_uri=grant_uri(settings, grant.grant_id),
        related_type="grant",
    )
    return grant


def files_for_token(
    session: Session, catalogue: Catalogue, token: Token, now: datetime | None = None
) -> FileAccess | None:
    """The files `token` reaches through its Server-Provided Files Grants, or None when it is not
    bound to any such Grant (so it is not a token for this API at all)."""
    files_scopes = files_scope_ids(catalogue)
    client = session.get(Client, token.client_id)
    if not token.grant_ids or client is None:
        return None
    rows = session.execute(
        select(Grant, Client.registration_id)
        .join(Client, Client.client_id == Grant.client_id)
        .where(Grant.grant_id.in_(token.grant_ids))
    ).all()
    grants = [
        grant
        for grant, registration_id in rows
        if registration_id == client.registration_id and _granted_types(grant) & files_scopes
    ]
    if not grants:
        return None
    now = now or utcnow()
    file_ids = {
        entry["file_id"]
        for grant in grants
        if grant_gives_access(grant, now)
        for entry in grant.enabled_authorization_details
        if _is_file_entry(entry, files_scopes)
    }
    return FileAccess(frozenset(g.grant_id for g in grants), frozenset(file_ids))


def file_sizes(session: Session, file_ids: Collection[str]) -> dict[str, int]:
    """Each file's size in bytes, without loading the files."""
    if not file_ids:
        return {}
    rows = session.execute(
        select(ServerFile.file_id, func.length(ServerFile.data)).where(
            ServerFile.file_id.in_(file_ids)
        )
    )
    return {file_id: int(size) for file_id, size in rows}


def _granted_types(grant: Grant) -> set[str]:
    types = {e.get("type") for e in grant.authorization_details if isinstance(e, dict)}
    return set(grant.scope.split()) | {t for t in types if isinstance(t, str)}


def _is_file_entry(entry: Any, files_scopes: frozenset[str]) -> bool:
    return (
        isinstance(entry, dict)
        and entry.get("type") in files_scopes
        and isinstance(entry.get("file_id"), str)
    )
