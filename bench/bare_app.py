"""The baseline of `bench.accounts_load`: a bare Starlette app answering `GET` on the Accounts
API's path with fixed bytes, served by uvicorn with the settings `gridshare serve` uses.

`GRIDSHARE_BENCH_BODY` names the file holding the body (an accounts page `gridshare serve`
returned); the factory reads it once. Run:
`GRIDSHARE_BENCH_BODY=page.json python -m uvicorn --factory bench.bare_app:create --port 8001`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gridshare import urls

BODY_FILE: Final = "GRIDSHARE_BENCH_BODY"


def create() -> Starlette:
    body = Path(os.environ[BODY_FILE]).read_bytes()

    async def page(request: Request) -> Response:
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route(urls.ACCOUNTS, page)])
