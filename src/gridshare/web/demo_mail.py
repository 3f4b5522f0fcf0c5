"""The demo's mailbox: email captured instead of sent (`settings.mail_capture`, set by
`gridshare demo`). Not found unless capture is on, so a real server never shows it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from gridshare import urls
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.tables.mail import CapturedMail
from gridshare.web.browser import notice, page

router = APIRouter(include_in_schema=False)

SHOWN = 100


@router.get(urls.DEMO_MAIL, response_class=HTMLResponse)
def demo_mail(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    if not settings.mail_capture:
        return notice(request, settings, 404, "Not found", "There is no such page.")
    mail = session.scalars(select(CapturedMail).order_by(CapturedMail.id.desc()).limit(SHOWN)).all()
    return page(request, settings, "demo_mail.html", mail=mail)
