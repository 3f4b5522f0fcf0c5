"""Public pages the server metadata links to: the home page (`website`) and support (`support`).

CDS-WG1-01 §3.2 requires `website` and `support` URLs; by default they point here. Pages use no
external assets.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from gridshare.http import SettingsDep

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


@router.get("/", response_class=HTMLResponse)
def home(request: Request, settings: SettingsDep) -> HTMLResponse:
    return templates.TemplateResponse(request, "home.html", {"settings": settings})


@router.get("/support", response_class=HTMLResponse)
def support(request: Request, settings: SettingsDep) -> HTMLResponse:
    return templates.TemplateResponse(request, "support.html", {"settings": settings})
