"""The connection desk: the utility's staff move connection orders along (DEG Connections guide
v1.1, connection-status PENDING -> IN_PROGRESS -> COMPLETED or FAILED, or CANCELLED).

- `GET DESK_ORDERS` lists orders, newest first (`?status=` keeps one status);
  `GET DESK_ORDERS/{id}` shows one with its history, ratings, and a form offering only the
  statuses it may move to, a reason and the connection details (`utility.desk`);
  `POST DESK_ORDERS/{id}/advance` makes the change as `staff:<name>` (`utility.orders.advance`,
  which announces it to the requester through the outbox). A move the status does not allow is
  shown on the order's page and writes nothing.
- Staff log in at `DESK_LOGIN` with a staff account (`gridshare staff add NAME`), not a customer's.
  Desk sessions are customers' kind (`api.login_session.LoginSessions`, started and ended as in
  `web/login.py`) in their own table and cookie (`DESK_SESSIONS`), since a customer's
  `LoginSession` belongs to a customer: 256 random bits in the cookie, only their hash stored, a
  new session at every login, `settings.session_minutes` after the last page, the same back-off
  after failed logins (keyed `staff:<name>`). The login form carries the
  double-submit CSRF token, the desk's forms the session's own token (`web/browser.py`).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from gridshare.api.login_session import LoginSessions
from gridshare.config import Settings
from gridshare.grants.secrets import same
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.db import utcnow
from gridshare.store.tables.staff import StaffSession, StaffUser
from gridshare.utility import desk, order_documents, orders, staff
from gridshare.web.browser import (
    PAGE_HEADERS,
    FormDep,
    csrf_ok,
    local_path,
    notice,
    page,
)
from gridshare.web.login import backoffs, end_session, login_page, start_session
from gridshare.web.wording import local_time

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

DESK: Final = "/desk"
DESK_LOGIN: Final = f"{DESK}/login"
DESK_LOGOUT: Final = f"{DESK}/logout"
DESK_ORDERS: Final = f"{DESK}/orders"
SESSION_COOKIE: Final = "gridshare_desk"
DESK_SESSIONS: Final = LoginSessions(StaffSession, SESSION_COOKIE)
LIST_LIMIT: Final = 200
EXPIRED: Final = "This form had expired. Go back, reload the page and try again."


@router.get(DESK)
def desk_home() -> Response:
    return RedirectResponse(DESK_ORDERS, 303, headers=PAGE_HEADERS)


@router.get(DESK_LOGIN, response_class=HTMLResponse)
def login_form(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    next_path: Annotated[str | None, Query(alias="next")] = None,
) -> Response:
    return _login_page(request, session, settings, 200, _next(next_path))


@router.post(DESK_LOGIN, response_class=HTMLResponse)
def log_in(request: Request, session: SessionDep, settings: SettingsDep, form: FormDep) -> Response:
    next_path, name = _next(form.get("next")), form.get("name", "").strip()
    if not csrf_ok(request, form):
        message = "This form had expired. Please try again."
        return _login_page(request, session, settings, 400, next_path, name, message)
    per_user, per_address = backoffs(request)
    user_key = f"staff:{name.lower()}"
    address_key = request.client.host if request.client else "?"
    wait = max(per_user.wait(user_key) or 0, per_address.wait(address_key) or 0)
    if wait:
        log.warning("desk login for %r from %s held back %.0f s", name, address_key, wait)
        message = f"Too many failed attempts. Please try again in {int(wait) + 1} seconds."
        return _login_page(request, session, settings, 429, next_path, name, message)
    user = staff.verify(session, name, form.get("password", ""))
    if user is None:
        per_user.failed(user_key)
        per_address.failed(address_key)
        message = "The name or password is not right."
        return _login_page(request, session, settings, 401, next_path, name, message)
    per_user.succeeded(user_key)
    return _start(request, session, settings, user, next_path)


@router.post(DESK_LOGOUT)
def log_out(
    request: Request, session: SessionDep, settings: SettingsDep, form: FormDep
) -> Response:
    return end_session(request, session, settings, form, DESK_SESSIONS, DESK_LOGIN, EXPIRED)


@router.get(DESK_ORDERS, response_class=HTMLResponse)
def order_list(
    request: Request, session: SessionDep, settings: SettingsDep, status: str | None = None
) -> Response:
    login = DESK_SESSIONS.current(session, settings, request)
    if login is None:
        return _to_login(session, request)
    chosen = status or None
    try:
        found = orders.listing(session, chosen, LIST_LIMIT)
        status_code, message = 200, None
    except orders.OrderError as error:
        found, status_code, message, chosen = [], 400, str(error), None
    rows = [
        {
            "id": order.id,
            "created": local_time(settings, order.created),
            "status": order.status,
            "item": order.item_name,
            "customer": order.customer_name,
            "requester": order.requester,
            "total": f"{order.total} {order.currency}",
        }
        for order in found
    ]
    session.commit()
    return page(
        request,
        settings,
        "desk_orders.html",
        status_code,
        **_frame(login),
        orders=rows,
        statuses=orders.STATUSES,
        status=chosen,
        message=message,
        limit=LIST_LIMIT,
    )


@router.get(f"{DESK_ORDERS}/{{order_id}}", response_class=HTMLResponse)
def order_page(
    request: Request, session: SessionDep, settings: SettingsDep, order_id: str
) -> Response:
    login = DESK_SESSIONS.current(session, settings, request)
    if login is None:
        return _to_login(session, request)
    return _order_page(request, session, settings, login, order_id, 200)


@router.get(f"{DESK_ORDERS}/{{order_id}}/documents/{{document_id}}")
def order_document(
    request: Request, session: SessionDep, settings: SettingsDep, order_id: str, document_id: int
) -> Response:
    """One submitted document of the order, as an attachment (never shown inline)."""
    login = DESK_SESSIONS.current(session, settings, request)
    if login is None:
        return _to_login(session, request)
    order = orders.find(session, order_id)
    kept = order_documents.of_submission(session, order.submission_id if order else None)
    found = next((d for d in kept if d.id == document_id), None)
    session.commit()
    if found is None:
        return notice(request, settings, 404, "Not found", "There is no such document.")
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in found.filename)
    return Response(
        found.data,
        media_type=found.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


@router.post(f"{DESK_ORDERS}/{{order_id}}/advance", response_class=HTMLResponse)
def advance_order(
    request: Request, session: SessionDep, settings: SettingsDep, order_id: str, form: FormDep
) -> Response:
    login = DESK_SESSIONS.current(session, settings, request)
    if login is None:
        return _to_login(session, request, f"{DESK_ORDERS}/{order_id}")
    if not same(form.get("csrf_token", ""), login.csrf_token):
        session.commit()
        return notice(request, settings, 400, "Please try again", EXPIRED)
    order = orders.find(session, order_id, lock=True)
    if order is None:
        session.commit()
        return notice(request, settings, 404, "Not found", f"There is no order {order_id}.")
    filled = {code: form.get(f"detail.{code}", "") for code in desk.DETAIL_CODES}
    entered = {"to": form.get("to", ""), "reason": form.get("reason", ""), "details": filled}
    try:
        details = desk.checked_details({code: v for code, v in filled.items() if v.strip()})
        reason = desk.checked_reason(form.get("reason"))
        orders.advance(
            session,
            order,
            form.get("to", ""),
            actor=staff.actor(login.staff_name),
            reason=reason,
            details=details,
        )
    except orders.OrderError as error:
        session.rollback()
        return _order_page(request, session, settings, login, order_id, 409, str(error), entered)
    session.commit()
    return RedirectResponse(f"{DESK_ORDERS}/{order_id}", 303, headers=PAGE_HEADERS)


def _order_page(
    request: Request,
    session: Session,
    settings: Settings,
    login: StaffSession,
    order_id: str,
    status_code: int,
    message: str | None = None,
    entered: dict[str, Any] | None = None,
) -> Response:
    order = orders.find(session, order_id)
    if order is None:
        session.commit()
        return notice(request, settings, 404, "Not found", f"There is no order {order_id}.")
    history = [
        {
            "at": local_time(settings, event.at),
            "from": event.from_status,
            "to": event.to_status,
            "actor": event.actor,
            "reason": event.reason,
        }
        for event in orders.events(session, order.id)
    ]
    ratings = orders.ratings(session, order.id)
    documents = order_documents.of_submission(session, order.submission_id)
    context = {
        **_frame(login),
        "order": order,
        "created": local_time(settings, order.created),
        "updated": local_time(settings, order.updated),
        "history": history,
        "ratings": [(local_time(settings, r.at), r) for r in ratings],
        "documents": [(d, f"{DESK_ORDERS}/{order.id}/documents/{d.id}") for d in documents],
        "next_statuses": orders.NEXT[order.status],
        "detail_codes": desk.DETAIL_CODES,
        "detail_max": desk.DETAIL_MAX,
        "reason_max": desk.REASON_MAX,
        "action": f"{DESK_ORDERS}/{order.id}/advance",
        "message": message,
        "entered": entered or {"to": "", "reason": "", "details": {}},
    }
    session.commit()
    return page(request, settings, "desk_order.html", status_code, **context)


def _frame(login: StaffSession) -> dict[str, Any]:
    """What every desk page shows: who is logged in, the logout form and the list's link."""
    return {
        "staff_name": login.staff_name,
        "csrf_token": login.csrf_token,
        "logout_path": DESK_LOGOUT,
        "orders_path": DESK_ORDERS,
    }


def _start(
    request: Request, session: Session, settings: Settings, user: StaffUser, next_path: str
) -> Response:
    """A new desk session for `user` (the browser's previous one is deleted)."""
    response = start_session(
        request, session, settings, DESK_SESSIONS, next_path, utcnow(), staff_name=user.name
    )
    log.info("staff member %s logged in to the desk", user.name)
    return response


def _to_login(session: Session, request: Request, next_path: str | None = None) -> Response:
    session.commit()  # an expired session found on the way is deleted
    query = request.url.query
    target = next_path or (f"{request.url.path}?{query}" if query else request.url.path)
    return RedirectResponse(
        f"{DESK_LOGIN}?{urlencode({'next': target})}", 303, headers=PAGE_HEADERS
    )


def _login_page(
    request: Request,
    session: Session,
    settings: Settings,
    status_code: int,
    next_path: str,
    name: str = "",
    message: str | None = None,
) -> Response:
    no_staff = not staff.any_staff(session)
    return login_page(
        request,
        settings,
        "desk_login.html",
        503 if no_staff else status_code,
        next_path=next_path,
        name=name,
        message=message,
        login_path=DESK_LOGIN,
        no_staff=no_staff,
    )


def _next(value: str | None) -> str:
    """Where a login returns: a desk page, else the order list."""
    path = local_path(value, DESK_ORDERS)
    return path if path.startswith(f"{DESK}/") and path != DESK_LOGIN else DESK_ORDERS
