"""Pages for Client developers the CDS-WG1-02 §3.2 metadata links to: `cds_human_registration`
(how to register, for those who cannot call the registration endpoint) and `cds_test_accounts`
(the sandbox test customers a sandbox Client may ask for authorization, §5.2).

The test accounts are the `is_test` customers, with their own `description`. Their password is
shown only where it is the documented demo convention `demo-<username>` (docs/demo.md) and the
stored hash confirms it; nothing is stored for this page. A test customer with any other password
is left out (a developer could not log in as it). `Accept: application/json` gets
`{"test_accounts": [{"username", "password", "description"}]}`.
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select

from gridshare import urls
from gridshare.http import SessionDep, SettingsDep
from gridshare.store.tables.customers import Customer
from gridshare.utility.customers import verify_password
from gridshare.web.browser import templates

router = APIRouter(include_in_schema=False)


@router.get(urls.HUMAN_REGISTRATION, response_class=HTMLResponse)
def human_registration(request: Request, settings: SettingsDep) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "developers.html", {"settings": settings, "urls": urls}
    )


@router.get(urls.TEST_ACCOUNTS, response_class=HTMLResponse)
def test_accounts(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    customers = session.scalars(
        select(Customer).where(Customer.is_test.is_(True)).order_by(Customer.username)
    ).all()
    accounts = [
        {"username": c.username, "password": password, "description": c.description or ""}
        for c in customers
        if (password := documented_password(c.username, c.password_hash)) is not None
    ]
    if _wants_json(request.headers.get("accept", "")):
        return JSONResponse({"test_accounts": accounts}, headers={"Vary": "Accept"})
    return templates.TemplateResponse(
        request,
        "test_accounts.html",
        {"settings": settings, "accounts": accounts, "urls": urls},
        headers={"Vary": "Accept"},
    )


@lru_cache(maxsize=1024)
def documented_password(username: str, password_hash: str) -> str | None:
    """`demo-<username>` if that is the password `password_hash` was made from."""
    candidate = f"demo-{username}"
    return candidate if verify_password(candidate, password_hash) else None


def _wants_json(accept: str) -> bool:
    """JSON when the client asks for it and does not prefer HTML."""
    types = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    return "application/json" in types and (
        "text/html" not in types or types.index("application/json") < types.index("text/html")
    )
