"""The ASGI application factory: one engine, the faces' routers, JSON errors."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.exceptions import HTTPException

from gridshare import __version__
from gridshare.beckn import documents_form as beckn_forms
from gridshare.beckn import endpoint as beckn_endpoint
from gridshare.beckn import routes as beckn_routes
from gridshare.cds import (
    accounts,
    aggregations,
    billsections,
    billstatements,
    coverage,
    eacs,
    meterdevices,
    server_metadata,
    servicecontracts,
    servicepoints,
    usage_segments,
)
from gridshare.config import Settings
from gridshare.espi import admin as espi_admin
from gridshare.espi import custodian as espi_custodian
from gridshare.espi import dmd
from gridshare.espi import routes as espi_routes
from gridshare.grants.scopes import load_catalogue
from gridshare.oauth import (
    authorize,
    clients_api,
    credentials_api,
    files_api,
    grants_api,
    introspect,
    messages_api,
    metadata,
    par,
    registration,
    revoke,
    token,
)
from gridshare.store.db import make_engine, session_factory
from gridshare.web import (
    apps,
    consent,
    demo_mail,
    desk,
    developer_docs,
    developers,
    downloads,
    login,
    outcome,
    pages,
    receipts,
)

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or Settings()
    engine = engine or make_engine(settings.sqlalchemy_url)
    app = FastAPI(
        title=f"gridshare — {settings.utility_name}",
        version=__version__,
        description="CDS, Green Button Connect My Data and Beckn/DEG for one utility.",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    load_catalogue(settings)  # a broken scope catalogue stops the server here
    app.include_router(server_metadata.router)
    app.include_router(coverage.router)
    app.include_router(pages.router)
    app.include_router(metadata.router)
    app.include_router(registration.router)
    app.include_router(developer_docs.router)
    app.include_router(grants_api.router)
    app.include_router(files_api.router)
    app.include_router(clients_api.router)
    app.include_router(credentials_api.router)
    app.include_router(messages_api.router)
    app.include_router(token.router)
    app.include_router(introspect.router)
    app.include_router(revoke.router)
    app.include_router(accounts.router)
    app.include_router(aggregations.router)
    app.include_router(eacs.router)
    app.include_router(billstatements.router)
    app.include_router(billsections.router)
    app.include_router(servicecontracts.router)
    app.include_router(servicepoints.router)
    app.include_router(meterdevices.router)
    app.include_router(usage_segments.router)
    app.include_router(espi_admin.router)
    app.include_router(espi_routes.router)
    app.include_router(espi_custodian.router)
    app.include_router(beckn_routes.router)
    app.include_router(beckn_forms.router)
    app.include_router(beckn_endpoint.router)
    for face in (
        authorize,
        par,
        login,
        consent,
        outcome,
        receipts,
        apps,
        downloads,
        dmd,
        demo_mail,
        developers,
        desk,
    ):
        app.include_router(face.router)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    return app


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = (
        exc.detail
        if isinstance(exc.detail, dict)
        else {"error": _error_code(exc.status_code), "error_description": str(exc.detail)}
    )
    return JSONResponse(detail, status_code=exc.status_code, headers=exc.headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
    )
    return JSONResponse(
        {"error": "invalid_request", "error_description": problems}, status_code=400
    )


def _error_code(status: int) -> str:
    return {
        400: "invalid_request",
        401: "invalid_token",
        403: "insufficient_scope",
        404: "not_found",
        405: "method_not_allowed",
        413: "request_too_large",
        429: "too_many_requests",
    }.get(status, "server_error")
