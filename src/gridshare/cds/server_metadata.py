"""CDS-WG1-01 §3 Metadata Endpoint (and §5 Server Migration for the seed-era path).

`GET /.well-known/cds-server-metadata.json` answers the §3.2 Metadata Object, publicly and
without authentication (§8.1), with CDS-WG1-02 §3.1's `oauth` capability and `oauth_metadata`
URL. Its `created` and `updated` come from the published-document record: `updated` moves only
when the content changes (for instance the utility's name, or a capability that a coverage entry
adds, §3.2). The 2024 seed-era path redirects here permanently (§5).
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from gridshare import urls
from gridshare.cds.coverage import COVERAGE_PATH
from gridshare.cds.http_cache import public_document
from gridshare.config import Settings
from gridshare.http import SessionDep, SettingsDep
from gridshare.timefmt import rfc3339
from gridshare.utility.coverage import COVERAGE_CAPABILITY, entry_capabilities, publish_document

METADATA_PATH: Final = "/.well-known/cds-server-metadata.json"
SEED_ERA_PATH: Final = "/.well-known/carbon-data-spec.json"
DOCUMENT_NAME: Final = "cds-server-metadata"
"""The name under which the metadata's digest and dates are kept (PublishedDocument)."""
METADATA_VERSION: Final = "v1"
OAUTH_CAPABILITY: Final = "oauth"
"""Client Registration via OAuth (CDS-WG1-02 §3.1), announced with `oauth_metadata`."""

router = APIRouter(tags=["CDS server metadata"])


@router.get(METADATA_PATH, summary="CDS server metadata (CDS-WG1-01 §3)")
def server_metadata(request: Request, settings: SettingsDep, session: SessionDep) -> Response:
    body = orjson.dumps(metadata(settings, session))
    session.commit()
    return public_document(request, body, "application/json")


@router.get(SEED_ERA_PATH, summary="Moved to the CDS server metadata (CDS-WG1-01 §5)")
def seed_era_metadata(settings: SettingsDep) -> RedirectResponse:
    return RedirectResponse(settings.url(METADATA_PATH), status_code=301)


def metadata(settings: Settings, session: Session) -> dict[str, Any]:
    """The §3.2 Metadata Object, publishing its current content (the caller commits)."""
    head = {
        "cds_metadata_version": METADATA_VERSION,
        "cds_metadata_url": settings.url(METADATA_PATH),
    }
    content: dict[str, Any] = {
        "name": settings.utility_name,
        "description": settings.utility_description,
        "website": settings.website,
        "documentation": settings.documentation,
        "support": settings.support,
        "capabilities": list(
            dict.fromkeys([COVERAGE_CAPABILITY, OAUTH_CAPABILITY, *entry_capabilities(session)])
        ),
        "coverage": settings.url(COVERAGE_PATH),
        "oauth_metadata": settings.url(urls.AS_METADATA),
    }
    created, updated = publish_document(
        session, DOCUMENT_NAME, orjson.dumps(head | content, option=orjson.OPT_SORT_KEYS)
    )
    return {**head, "created": rfc3339(created), "updated": rfc3339(updated), **content}
