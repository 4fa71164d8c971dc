"""``create_app``: the FastAPI application, built from an ``ApiContext`` (tests) or from Settings."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from api.context import ApiContext
from api.routes import balance, invoices, ocpi, payouts, sessions
from api.routes.ocpi import envelope
from messages.ocpi import OcpiStatus

log = logging.getLogger(__name__)

DESCRIPTION = """
NetworkCore clears and settles EV charging sessions between demand partners and charge point operators.

* **Demand partners** authenticate with `Authorization: Bearer <API key>` and use `/v1/...`.
* **CPOs** authenticate with `Authorization: Token <base64 credentials token>` and use the OCPI 2.2.1
  eMSP receiver interfaces under `/ocpi/emsp/2.2.1/...`.
"""


def _is_ocpi(request: Request) -> bool:
    return request.url.path.startswith("/ocpi/")


def create_app(
    context: ApiContext | None = None,
    *,
    context_factory: Callable[[], Awaitable[tuple[ApiContext, Callable[[], Awaitable[None]]]]] | None = None,
) -> FastAPI:
    """Either hand in a ready ``context`` or a factory that builds one (and a closer) at startup."""
    assert (context is None) != (context_factory is None), "give exactly one of context or context_factory"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if context is not None:
            app.state.context = context
            yield
            return
        assert context_factory is not None
        built, close = await context_factory()
        app.state.context = built
        try:
            yield
        finally:
            await close()

    app = FastAPI(title="NetworkCore", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.include_router(sessions.router)
    app.include_router(balance.router)
    app.include_router(invoices.router)
    app.include_router(payouts.router)
    app.include_router(ocpi.router)

    @app.get("/health", tags=["ops"], summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if _is_ocpi(request):
            return envelope(OcpiStatus.CLIENT_ERROR, str(error.detail), http_status=error.status_code)
        return await http_exception_handler(request, error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        if _is_ocpi(request):
            return envelope(OcpiStatus.INVALID_PARAMETERS, str(error.errors()))
        return await request_validation_exception_handler(request, error)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if _is_ocpi(request):
            return envelope(OcpiStatus.SERVER_ERROR, "internal error; please retry", http_status=500)
        return JSONResponse({"detail": "internal error"}, status_code=500)

    return app
