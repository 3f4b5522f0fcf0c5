"""CDS-WG1-02 §9 Server-Provided Files API: list, describe and download shared files.

Every call needs a Grant Admin access token (§3.3.2) bound to Server-Provided Files Grants
(§3.3.3): the token endpoint issues one for a Grant the client found on the Grants API. A missing,
expired or revoked token is 401 `invalid_token`; any other token (a `cds_client_admin` one, a
customer-data one) is 403 `insufficient_scope` (RFC 6750 §3.1). The token reaches the files
named by its Grants' `enabled_authorization_details` (`grants.files.files_for_token`); any other
file is 404, as if it did not exist.

Listing (§9.2): newest `modified` first, paged with `api.pagination`, `file_ids` filter
(space-separated; blank is 400). A file's `uri` (§9.3) gives its object, its `download_uri` (§9.4)
its bytes with `Content-Type` = `mime_type` and `Content-Disposition: attachment`.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from gridshare import urls
from gridshare.api.bearer import BearerDep
from gridshare.api.errors import OAuthError, insufficient_scope
from gridshare.api.pagination import CursorQuery, Order, paginate, where_listed
from gridshare.config import Settings
from gridshare.grants.files import FileAccess, file_sizes, files_for_token, files_scope_ids
from gridshare.grants.scopes import load_catalogue
from gridshare.http import SessionDep, SettingsDep
from gridshare.oauth.responses import NO_STORE, json_response, listing
from gridshare.store.tables.messages import ServerFile
from gridshare.timefmt import rfc3339

router = APIRouter(tags=["CDS-WG1-02 Server-Provided Files API"])

ORDER = Order(ServerFile.modified, ServerFile.file_id)


def files_access(settings: SettingsDep, session: SessionDep, bearer: BearerDep) -> FileAccess:
    """The files the bearer token reaches, or 403 for a token not meant for this API."""
    catalogue = load_catalogue(settings)
    access = files_for_token(session, catalogue, bearer.token)
    if access is None:
        admin_scopes = sorted(
            {
                grant_admin
                for scope_id in files_scope_ids(catalogue)
                if (grant_admin := catalogue.scopes[scope_id].grant_admin_scope) is not None
            }
        )
        raise insufficient_scope(" ".join(admin_scopes) or "cds_grant_admin")
    return access


FilesAccessDep = Annotated[FileAccess, Depends(files_access)]


@router.get(urls.FILES, summary="List Server-Provided Files (CDS-WG1-02 §9.2)")
def list_files(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    access: FilesAccessDep,
    file_ids: Annotated[
        str | None, Query(description="Space-separated file ids: list only these (§9.2).")
    ] = None,
    cursor: CursorQuery = None,
) -> Response:
    query = (
        select(ServerFile)
        .options(defer(ServerFile.data))
        .where(ServerFile.file_id.in_(access.file_ids))
    )
    query = where_listed(query, (("file_ids", file_ids, ServerFile.file_id),))
    page = paginate(session, settings, request, query, ORDER, cursor=cursor)
    sizes = file_sizes(session, [stored.file_id for stored in page.items])
    files = [file_json(settings, stored, sizes[stored.file_id]) for stored in page.items]
    return json_response(listing("files", files, page))


@router.get(urls.FILES + "/{file_id}", summary="Retrieve a Server-Provided File (CDS-WG1-02 §9.3)")
def get_file(
    settings: SettingsDep, session: SessionDep, access: FilesAccessDep, file_id: str
) -> Response:
    stored = _reachable(session, access, file_id)
    body = file_json(settings, stored, file_sizes(session, [file_id])[file_id])
    return json_response(body)


@router.get(
    urls.FILES + "/{file_id}/download",
    summary="Download a Server-Provided File's data (CDS-WG1-02 §9.4)",
)
def download_file(session: SessionDep, access: FilesAccessDep, file_id: str) -> Response:
    stored = _reachable(session, access, file_id)
    return Response(
        stored.data,
        media_type=stored.mime_type,
        headers={"Content-Disposition": content_disposition(stored.name), **NO_STORE},
    )


def file_json(settings: Settings, stored: ServerFile, size: int) -> dict[str, Any]:
    """The Server-Provided File object (§9.1)."""
    uri = settings.url(f"{urls.FILES}/{quote(stored.file_id, safe='')}")
    return {
        "file_id": stored.file_id,
        "uri": uri,
        "created": rfc3339(stored.created),
        "modified": rfc3339(stored.modified),
        "mime_type": stored.mime_type,
        "size": size,
        "name": stored.name,
        "description": stored.description,
        "download_uri": f"{uri}/download",
    }


def content_disposition(name: str) -> str:
    """`attachment` with the file name (RFC 6266): plain when ASCII, else also as UTF-8."""
    if name.isascii():
        return f'attachment; filename="{name}"'
    fallback = name.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _reachable(session: Session, access: FileAccess, file_id: str) -> ServerFile:
    stored = session.get(ServerFile, file_id) if file_id in access.file_ids else None
    if stored is None:
        raise OAuthError(
            "not_found", f"no server-provided file {file_id!r} is shared through this token", 404
        )
    return stored
