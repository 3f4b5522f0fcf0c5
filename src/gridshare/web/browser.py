"""What the Customer-facing pages share: templates, form bodies, cookies and CSRF tokens.

Forms post `application/x-www-form-urlencoded` bodies of at most `FORM_LIMIT` bytes and
`FORM_FIELDS` fields (else 415, 413 or 400; the authorization form's lists can be long). Every
POST form carries a CSRF token: before login a double-submit token (a random cookie whose value
the form repeats, compared in constant time); after login the session's own token
(`LoginSession.csrf_token`). Cookies are `HttpOnly`, `SameSite=Lax`, and `Secure` when the
server's base URL is https.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import parse_qsl

from fastapi import Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from gridshare.config import Settings
from gridshare.grants.secrets import new_secret, same

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

FORM_LIMIT: Final = 256 * 1024
FORM_FIELDS: Final = 5000
FORM_TYPE: Final = "application/x-www-form-urlencoded"
CSRF_COOKIE: Final = "gridshare_csrf"
PAGE_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex",
}
"""Pages of the authorization flow are never cached, framed, indexed or named in a Referer."""


class Form(dict[str, str]):
    """A posted form: the first value of each field, and `all(name)` for repeated fields (the
    ticked checkboxes of a list)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__()
        self.pairs = pairs
        for name, value in pairs:
            self.setdefault(name, value)

    def all(self, name: str) -> list[str]:
        return [value for field, value in self.pairs if field == name]


async def read_form(request: Request) -> Form:
    """The posted form."""
    media_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media_type != FORM_TYPE:
        raise HTTPException(415, f"post the form as {FORM_TYPE}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT:
            raise HTTPException(413, f"the form is larger than {FORM_LIMIT} bytes")
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, max_num_fields=FORM_FIELDS)
    except (UnicodeDecodeError, ValueError) as error:
        raise HTTPException(400, "the form body is not URL-encoded") from error
    return Form(pairs)


FormDep = Annotated[Form, Depends(read_form)]


def page(
    request: Request,
    settings: Settings,
    template: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page of the authorization flow (no caching, framing, indexing or Referer)."""
    return templates.TemplateResponse(
        request,
        template,
        {"settings": settings, **context},
        status_code=status_code,
        headers=PAGE_HEADERS,
    )


def notice(
    request: Request, settings: Settings, status_code: int, title: str, message: str
) -> HTMLResponse:
    """A short page telling the visitor what happened and what to do."""
    return page(request, settings, "notice.html", status_code, title=title, message=message)


def set_cookie(response: Response, settings: Settings, name: str, value: str) -> None:
    """A browser-session cookie for the whole site."""
    response.set_cookie(
        name,
        value,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
    )


def clear_cookie(response: Response, settings: Settings, name: str) -> None:
    response.delete_cookie(
        name,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
    )


def csrf_token(request: Request) -> str:
    """The visitor's double-submit token: the cookie's value, or a new one to set."""
    current = request.cookies.get(CSRF_COOKIE, "")
    return current if len(current) >= 43 else new_secret()


def csrf_ok(request: Request, form: dict[str, str]) -> bool:
    """Whether the form repeats the visitor's double-submit cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    return len(cookie) >= 43 and same(cookie, form.get("csrf_token", ""))


def local_path(value: str | None, fallback: str = "/") -> str:
    """`value` if it is a path on this site (never another site: no open redirect)."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(character) < 0x21 or ord(character) == 0x7F for character in value)
    ):
        return fallback
    return value
