"""OCPI 2.2.1 eMSP receiver interfaces for CPOs: Sessions (PUT/PATCH), Tariffs (PUT/DELETE), CDRs (POST,
GET) and the Commands result callback. Answers are OCPI envelopes; a request that reached the OCPI layer
gets HTTP 200/201 and an OCPI status code, never an HTTP error (only bad credentials get 401, unparsable
JSON 400). What each message does is in ``services/ocpi``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import ContextDep, CpoDep
from messages.ocpi import OcpiStatus, ocpi_envelope
from services.ocpi import cdrs, commands, sessions, tariffs
from services.ocpi.inbox import IntakeResult

router = APIRouter(prefix="/ocpi/emsp/2.2.1", tags=["OCPI 2.2.1 (for CPOs)"])

OCPI_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}}


def envelope(
    status: OcpiStatus | int,
    message: str,
    data: Any = None,
    http_status: int = 200,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ocpi_envelope(status, message, data, timestamp=datetime.now(UTC))
    return JSONResponse(body, status_code=http_status, headers=headers)


def _answer(result: IntakeResult) -> JSONResponse:
    headers = {"Location": result.location} if result.location else None
    return envelope(result.status, result.message, http_status=result.http_status, headers=headers)


async def _body(request: Request) -> bytes | JSONResponse:
    body = await request.body()
    try:
        json.loads(body)
    except ValueError:
        # The transport layer: not JSON at all is an HTTP 400 (OCPI status_codes).
        return envelope(OcpiStatus.CLIENT_ERROR, "the body is not valid JSON", http_status=400)
    return body


@router.put("/sessions/{country_code}/{party_id}/{session_id}", openapi_extra=OCPI_BODY, summary="Session PUT")
async def put_ocpi_session(
    country_code: str, party_id: str, session_id: str, request: Request, cpo: CpoDep, context: ContextDep
) -> Response:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    return _answer(await sessions.receive_put(context, cpo, (country_code, party_id, session_id), body))


@router.patch("/sessions/{country_code}/{party_id}/{session_id}", openapi_extra=OCPI_BODY, summary="Session PATCH")
async def patch_ocpi_session(
    country_code: str, party_id: str, session_id: str, request: Request, cpo: CpoDep, context: ContextDep
) -> Response:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    return _answer(await sessions.receive_patch(context, cpo, (country_code, party_id, session_id), body))


@router.put("/tariffs/{country_code}/{party_id}/{tariff_id}", openapi_extra=OCPI_BODY, summary="Tariff PUT")
async def put_ocpi_tariff(
    country_code: str, party_id: str, tariff_id: str, request: Request, cpo: CpoDep, context: ContextDep
) -> Response:
    """A new version of the CPO's official public price, validated strictly (2001 names the field)."""
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    return _answer(await tariffs.receive_put(context, cpo, (country_code, party_id, tariff_id), body))


@router.delete("/tariffs/{country_code}/{party_id}/{tariff_id}", summary="Tariff DELETE")
async def delete_ocpi_tariff(
    country_code: str, party_id: str, tariff_id: str, cpo: CpoDep, context: ContextDep
) -> Response:
    path = (country_code, party_id, tariff_id)
    return _answer(await tariffs.receive_delete(context, cpo, path, datetime.now(UTC)))


@router.post("/cdrs", openapi_extra=OCPI_BODY, summary="CDR POST")
async def post_ocpi_cdr(request: Request, cpo: CpoDep, context: ContextDep) -> Response:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    return _answer(await cdrs.receive_cdr(context, cpo, body, context.public_base_url))


@router.get("/cdrs/{key}", summary="A CDR we accepted, as received")
async def get_ocpi_cdr(key: int, cpo: CpoDep, context: ContextDep) -> Response:
    def load() -> str | None:
        with context.reads() as db:
            return cdrs.cdr_as_received(db, cpo, key)

    body = await run_in_threadpool(load)
    if body is None:
        return envelope(OcpiStatus.CLIENT_ERROR, "no such CDR", http_status=404)
    return envelope(OcpiStatus.SUCCESS, "Success", data=json.loads(body))


@router.post("/commands/{command}/{session_id}", openapi_extra=OCPI_BODY, summary="CommandResult callback")
async def post_ocpi_command_result(
    command: str, session_id: str, request: Request, cpo: CpoDep, context: ContextDep
) -> Response:
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    return _answer(await commands.receive_command_result(context, cpo, command, session_id, body))
