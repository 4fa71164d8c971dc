"""OCPI 2.2.1 eMSP receiver interfaces for CPOs: Sessions (PUT/PATCH), CDRs (POST, GET) and the Commands
result callback. Answers are OCPI envelopes; a request that reached the OCPI layer gets HTTP 200/201
and an OCPI status code, never an HTTP error (only bad credentials get 401, unparsable JSON 400)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.service import RPCError, RPCStatusCode

from adapters.structured_logs import bind_session
from api.context import ApiContext, workflow_id
from api.deps import ContextDep, CpoDep
from api.ocpi_intake import (
    IntakeResult,
    delete_tariff,
    flag_closed_session,
    mark_forwarded,
    patch_session,
    post_cdr,
    post_command_result,
    put_session,
    put_tariff,
)
from domain.parties import Cpo
from messages.ocpi import OcpiStatus, ocpi_envelope
from messages.sessions import CdrArrived, CommandResultReported, CpoSessionReported
from persistence.tables import CdrRow
from services.workflow_starts import start_correction
from workflows.sessions import ChargingSessionWorkflow

log = logging.getLogger(__name__)
router = APIRouter(prefix="/ocpi/emsp/2.2.1", tags=["OCPI 2.2.1 (for CPOs)"])

OCPI_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}}


def envelope(
    status: OcpiStatus | int,
    message: str,
    data: Any = None,
    http_status: int = 200,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(ocpi_envelope(status, message, data), status_code=http_status, headers=headers)


async def _body(request: Request) -> bytes | JSONResponse:
    body = await request.body()
    try:
        json.loads(body)
    except ValueError:
        # The transport layer: not JSON at all is an HTTP 400 (OCPI status_codes).
        return envelope(OcpiStatus.CLIENT_ERROR, "the body is not valid JSON", http_status=400)
    return body


async def _signal(context: ApiContext, result: IntakeResult) -> bool:
    """Forward what the workflow must know. Returns False when the workflow has already ended."""
    assert result.signal is not None
    assert result.our_session_id is not None
    handle = context.temporal.get_workflow_handle(workflow_id(result.our_session_id))
    signal = result.signal
    try:
        if isinstance(signal, CpoSessionReported):
            await handle.signal(ChargingSessionWorkflow.cpo_session_reported, signal)
        elif isinstance(signal, CommandResultReported):
            await handle.signal(ChargingSessionWorkflow.command_result_reported, signal)
        else:
            assert isinstance(signal, CdrArrived)
            await handle.signal(ChargingSessionWorkflow.cdr_arrived, signal)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def _handle(
    context: ApiContext,
    intake: Callable[[Session], IntakeResult],
    *,
    what: str,
    after_signal: Callable[[Session], None] | None = None,
) -> JSONResponse:
    def run() -> IntakeResult:
        with context.sessions.begin() as db:
            return intake(db)

    result = await run_in_threadpool(run)
    if result.our_session_id is not None:
        bind_session(result.our_session_id)
    log.info("OCPI %s: %d %s", what, result.status, result.message, extra={"ocpi_status": int(result.status)})
    if result.correction is not None:
        try:
            await start_correction(context.temporal, context.task_queue, result.correction)
        except RPCError as error:
            # Stored with its correction PENDING: the CPO's retry (a duplicate) starts it again.
            log.warning("correction %s not started: %s", result.correction.workflow_id, error)
            return envelope(OcpiStatus.SERVER_ERROR, "stored, but not yet processed; please retry")
    if result.signal is not None:
        try:
            delivered = await _signal(context, result)
        except RPCError as error:
            # Stored, but the workflow could not be told: ask the CPO to retry, which re-sends the signal.
            log.warning("signal for %s not delivered: %s", result.our_session_id, error)
            return envelope(OcpiStatus.SERVER_ERROR, "stored, but not yet processed; please retry")
        session_id = result.our_session_id
        assert session_id is not None

        def settle(db: Session) -> None:
            if not delivered:
                flag_closed_session(db, session_id, what)
            if after_signal is not None:
                after_signal(db)

        def commit() -> None:
            with context.sessions.begin() as db:
                settle(db)

        await run_in_threadpool(commit)
    headers = {"Location": result.location} if result.location else None
    return envelope(result.status, result.message, http_status=result.http_status, headers=headers)


async def _session_message(
    intake_fn: Callable[[Session, Cpo, tuple[str, str, str], bytes], IntakeResult],
    path: tuple[str, str, str],
    request: Request,
    cpo: Cpo,
    context: ApiContext,
) -> Response:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    holder: dict[str, IntakeResult] = {}

    def intake(db: Session) -> IntakeResult:
        holder["result"] = intake_fn(db, cpo, path, body)
        return holder["result"]

    def forwarded(db: Session) -> None:
        signal = holder["result"].signal
        assert isinstance(signal, CpoSessionReported)
        mark_forwarded(db, path, signal.status)

    return await _handle(context, intake, what="Session", after_signal=forwarded)


@router.put("/sessions/{country_code}/{party_id}/{session_id}", openapi_extra=OCPI_BODY, summary="Session PUT")
async def put_ocpi_session(
    country_code: str, party_id: str, session_id: str, request: Request, cpo: CpoDep, context: ContextDep
) -> Response:
    return await _session_message(put_session, (country_code, party_id, session_id), request, cpo, context)


@router.patch("/sessions/{country_code}/{party_id}/{session_id}", openapi_extra=OCPI_BODY, summary="Session PATCH")
async def patch_ocpi_session(
    country_code: str, party_id: str, session_id: str, request: Request, cpo: CpoDep, context: ContextDep
) -> Response:
    return await _session_message(patch_session, (country_code, party_id, session_id), request, cpo, context)


@router.put("/tariffs/{country_code}/{party_id}/{tariff_id}", openapi_extra=OCPI_BODY, summary="Tariff PUT")
async def put_ocpi_tariff(
    country_code: str, party_id: str, tariff_id: str, request: Request, cpo: CpoDep, context: ContextDep
) -> Response:
    """A new version of the CPO's official public price, validated strictly (2001 names the field)."""
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    path = (country_code, party_id, tariff_id)
    return await _handle(context, lambda db: put_tariff(db, cpo, path, body), what="Tariff")


@router.delete("/tariffs/{country_code}/{party_id}/{tariff_id}", summary="Tariff DELETE")
async def delete_ocpi_tariff(
    country_code: str, party_id: str, tariff_id: str, cpo: CpoDep, context: ContextDep
) -> Response:
    path = (country_code, party_id, tariff_id)
    return await _handle(context, lambda db: delete_tariff(db, cpo, path, datetime.now(UTC)), what="Tariff")


@router.post("/cdrs", openapi_extra=OCPI_BODY, summary="CDR POST")
async def post_ocpi_cdr(request: Request, cpo: CpoDep, context: ContextDep) -> Response:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    return await _handle(context, lambda db: post_cdr(db, cpo, body, context.public_base_url), what="CDR")


@router.get("/cdrs/{key}", summary="A CDR we accepted, as received")
async def get_ocpi_cdr(key: int, cpo: CpoDep, context: ContextDep) -> Response:
    def load() -> CdrRow | None:
        with context.reads() as db:
            row = db.get(CdrRow, key)
            return (
                row
                if row is not None and (row.country_code, row.party_id) == (cpo.country_code, cpo.party_id)
                else None
            )

    row = await run_in_threadpool(load)
    if row is None:
        return envelope(OcpiStatus.CLIENT_ERROR, "no such CDR", http_status=404)
    return envelope(OcpiStatus.SUCCESS, "Success", data=json.loads(row.body))


@router.post("/commands/{command}/{session_id}", openapi_extra=OCPI_BODY, summary="CommandResult callback")
async def post_ocpi_command_result(
    command: str, session_id: str, request: Request, cpo: CpoDep, context: ContextDep
) -> Response:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    return await _handle(
        context, lambda db: post_command_result(db, cpo, command, session_id, body), what="CommandResult"
    )
