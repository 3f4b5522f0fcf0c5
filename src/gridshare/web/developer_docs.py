"""Developer documentation the CDS-WG1-02 §3.2 metadata links to: `service_documentation`
(scopes, authorization details fields and registration fields, each with its own anchor, which
the catalogue's `documentation` URLs point at), `op_policy_uri` and `op_tos_uri`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from gridshare import urls
from gridshare.grants.scopes import load_catalogue
from gridshare.http import SettingsDep
from gridshare.store.jsontext import dumps

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


@router.get(urls.DEVELOPER_DOCS, response_class=HTMLResponse)
def developer_docs(request: Request, settings: SettingsDep) -> HTMLResponse:
    context = {
        "settings": settings,
        "catalogue": load_catalogue(settings),
        "urls": urls,
        "show": _json,
    }
    return templates.TemplateResponse(request, "oauth_docs.html", context)


@router.get(urls.POLICY, response_class=HTMLResponse)
def policy(request: Request, settings: SettingsDep) -> HTMLResponse:
    return templates.TemplateResponse(request, "oauth_policy.html", {"settings": settings})


@router.get(urls.TERMS, response_class=HTMLResponse)
def terms(request: Request, settings: SettingsDep) -> HTMLResponse:
    context = {"settings": settings, "urls": urls}
    return templates.TemplateResponse(request, "oauth_terms.html", context)


def _json(value: Any) -> str:
    """A catalogue value as JSON text (decimals exact)."""
    return dumps(value)
