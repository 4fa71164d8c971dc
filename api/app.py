"""``create_app``: the FastAPI application, built from an ``ApiContext`` (tests) or from Settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client.exposition import choose_encoder
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from temporalio.service import RPCError, RPCStatusCode

from api.backpressure import BacklogReading, BackpressurePolicy, SessionStartBackpressure, watch_backlog
from api.context import ApiContext
from api.metrics import ApiMetrics, RequestMetrics
from api.ocpi_transport import OcpiTransport, ocpi_ids
from api.rate_limits import RateLimitPolicy, RateLimits
from api.refusals import is_ocpi_path, unavailable
from api.responses import refusals
from api.routes import (
    balance,
    disputes,
    invoices,
    locations,
    ocpi,
    ocpi_credentials,
    ocpi_locations,
    ocpi_tokens,
    partners,
    payouts,
    quotes,
    reminders,
    sessions,
    tokens,
)
from api.routes.ocpi import envelope
from messages.ocpi import OcpiStatus
from persistence.outages import DATABASE_UNAVAILABLE
from services.readiness import database_reachable

log = logging.getLogger(__name__)

DESCRIPTION = """
NetworkCore clears and settles EV charging sessions between demand partners and charge point operators.

* **Demand partners** authenticate with `Authorization: Bearer <API key>` and use `/v1/...`.
* **CPOs** authenticate with `Authorization: Token <base64 credentials token>` and use the OCPI 2.2.1
  eMSP receiver interfaces under `/ocpi/emsp/2.2.1/...`.
"""


def create_app(
    context: ApiContext | None = None,
    *,
    context_factory: Callable[[], Awaitable[tuple[ApiContext, Callable[[], Awaitable[None]]]]] | None = None,
    rate_limits: RateLimitPolicy | None = None,
    backpressure: BackpressurePolicy | None = None,
) -> FastAPI:
    """Either hand in a ready ``context`` or a factory that builds one (and a closer) at startup. With
    ``rate_limits`` and ``backpressure`` it protects itself (``api/rate_limits.py``, ``api/backpressure.py``)."""
    assert (context is None) != (context_factory is None), "give exactly one of context or context_factory"
    metrics = ApiMetrics()
    backlog = BacklogReading()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        close = None
        if context is not None:
            built = context
        else:
            assert context_factory is not None
            built, close = await context_factory()
        app.state.context = built
        metrics.watch_database(built.reads)
        watcher = None
        if backpressure is not None:
            watcher = asyncio.create_task(watch_backlog(built, backpressure, backlog))
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            if close is not None:
                await close()

    app = FastAPI(title="NetworkCore", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    # The last added runs first. The rate limits refuse before anything else runs, so a flood's refusals
    # cost the least (they are not in the request metrics); the backpressure before anything is read.
    if backpressure is not None:
        app.add_middleware(SessionStartBackpressure, policy=backpressure, reading=backlog)
    app.add_middleware(RequestMetrics, metrics=metrics)
    if rate_limits is not None:
        app.add_middleware(RateLimits, policy=rate_limits)
    # Outermost: every OCPI answer, a rate limit's or the backpressure's too, carries the request's ids.
    app.add_middleware(OcpiTransport)
    app.include_router(sessions.router)
    app.include_router(locations.router)
    app.include_router(quotes.router)
    app.include_router(balance.router)
    app.include_router(invoices.router)
    app.include_router(reminders.router)
    app.include_router(payouts.router)
    app.include_router(disputes.router)
    app.include_router(partners.router)
    app.include_router(tokens.router)
    app.include_router(ocpi.versions_router)
    app.include_router(ocpi.router)
    app.include_router(ocpi_credentials.router)
    app.include_router(ocpi_locations.router)
    app.include_router(ocpi_tokens.router)

    @app.get("/health", tags=["ops"], summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/health/ready",
        tags=["ops"],
        summary="Readiness: the database answers (and which it is: a digest of its name)",
        response_model=dict[str, str],
        responses=refusals(why={503: "The database is unavailable; retry after Retry-After seconds"}),
    )
    async def ready(request: Request) -> Response:
        context: ApiContext = request.app.state.context
        if await run_in_threadpool(database_reachable, context.reads):
            return JSONResponse({"status": "ready", "database": context.database})
        return unavailable(request.url.path, "database unavailable")

    @app.get(
        "/metrics",
        tags=["ops"],
        summary="Prometheus metrics (text format); no key, no personal data",
        # Response (no media type of its own), so that the 503 is documented as the JSON it is.
        response_class=Response,
        responses={
            200: {
                "description": "The Prometheus text exposition (0.0.4), or OpenMetrics when the scraper accepts it",
                "content": {
                    "text/plain": {"schema": {"type": "string"}},
                    "application/openmetrics-text": {"schema": {"type": "string"}},
                },
            },
            **refusals(why={503: "The database does not answer (sessions are counted there)"}),
        },
    )
    async def prometheus_metrics(request: Request) -> Response:
        # The format the scraper asks for (Prometheus text 0.0.4 unless it accepts OpenMetrics), as the
        # client library's own server answers. Collecting counts sessions in the database: off the loop.
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        body = await run_in_threadpool(encode, metrics.registry)
        return Response(body, headers={"Content-Type": content_type})

    generate_document = app.openapi

    def document() -> dict[str, Any]:
        """FastAPI declares 422 for every route with parameters; an OCPI route answers a request that does
        not fit with the envelope, HTTP 200 and status 2001 (``invalid_request`` below)."""
        generated = generate_document()
        for path, operations in generated["paths"].items():
            if is_ocpi_path(path):
                for operation in operations.values():
                    operation["responses"].pop("422", None)
        return generated

    app.openapi = document  # type: ignore[method-assign]

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if is_ocpi_path(request.url.path):
            return envelope(OcpiStatus.CLIENT_ERROR, str(error.detail), http_status=error.status_code)
        return await http_exception_handler(request, error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        if is_ocpi_path(request.url.path):
            return envelope(OcpiStatus.INVALID_PARAMETERS, str(error.errors()))
        return await request_validation_exception_handler(request, error)

    async def database_unavailable(request: Request, error: Exception) -> Response:
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, error)
        return unavailable(request.url.path, "database unavailable; please retry")

    for fault in DATABASE_UNAVAILABLE:
        app.add_exception_handler(fault, database_unavailable)

    @app.exception_handler(RPCError)
    async def temporal_error(request: Request, error: RPCError) -> Response:
        if error.status not in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            return await unexpected(request, error)
        log.warning("Temporal unavailable on %s %s: %s", request.method, request.url.path, error)
        return unavailable(request.url.path, "workflow service unavailable; please retry")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if is_ocpi_path(request.url.path):
            # Answered outside the middlewares (Starlette's last resort): the ids are added here.
            return envelope(
                OcpiStatus.SERVER_ERROR,
                "internal error; please retry",
                http_status=500,
                headers=ocpi_ids(request.scope),
            )
        return JSONResponse({"detail": "internal error"}, status_code=500)

    return app
