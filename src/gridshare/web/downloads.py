"""Download My Data (Green Button FB 2): the logged-in Customer's form.

The Customer picks the days and a format; the file itself is served by `espi/dmd.py` (Green
Button XML, or CSV). A problem with the request comes back here as a `problem` code shown in
words, never as text taken from the address.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gridshare import urls
from gridshare.api.login_session import current_login, login_url
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.db import utcnow
from gridshare.web.browser import PAGE_HEADERS, page

router = APIRouter(tags=["Customer pages"])

PROBLEMS: Final = {
    "dates": "Give both dates as calendar dates.",
    "order": "The first day must not be after the last day.",
    "range": "Choose fewer days (the most one download covers is shown below).",
    "format": "Choose Green Button XML or CSV.",
}
"""The `problem` codes `espi/dmd.py` sends the Customer back with, in words."""


@router.get(urls.DOWNLOAD, response_class=HTMLResponse)
def download_form(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    login = current_login(session, settings, request)
    session.commit()
    if login is None:
        return RedirectResponse(login_url(urls.DOWNLOAD), 303, headers=PAGE_HEADERS)
    today = utcnow().astimezone(settings.tz).date()
    params = request.query_params
    return page(
        request,
        settings,
        "download.html",
        action=urls.DOWNLOAD_FILE,
        start=params.get("start") or (today - timedelta(days=30)).isoformat(),
        end=params.get("end") or (today - timedelta(days=1)).isoformat(),
        error=PROBLEMS.get(params.get("problem", "")),
        max_days=settings.download_max_days,
        timezone=settings.timezone,
        apps_path=urls.CONNECTED_APPS,
    )
