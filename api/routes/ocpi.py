"""OCPI 2.2.1 eMSP interfaces for CPOs: Versions (the list and our 2.2.1 details), the receivers of
Sessions (PUT/PATCH/GET), Tariffs (PUT/DELETE/GET), CDRs (POST, GET) and the Commands result callback. Answers are
OCPI envelopes; a request that reached the OCPI layer gets HTTP 200/201 and an OCPI status code, never an
HTTP error (only bad credentials get 401, routing headers naming another sender 404, a body that is not
JSON we read 400, one over the route's limit 413). Every body is stored with its answer, also the refused
ones. What each message does is in ``services/ocpi``; the transport rules (request ids, trailing slashes)
are ``api/ocpi_transport.py``."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.context import ApiContext
from api.deps import ContextDep, CpoDep, OcpiCallerDep
from api.limits import BodyTooLarge, json_problem_of, read_body
from api.responses import Responses, refusals
from api.schemas import MAX_KEY, OcpiEnvelope
from domain.parties import Cpo
from messages.ocpi import OcpiStatus, ocpi_envelope
from services.ocpi import cdrs, commands, sessions, tariffs
from services.ocpi.forwarding import refuse_unread
from services.ocpi.inbox import CpoMessage, IntakeResult, Kind, Outcome

OCPI_VERSION: Final = "2.2.1"
VERSION_PATH: Final = f"/ocpi/emsp/{OCPI_VERSION}"
router = APIRouter(prefix=VERSION_PATH, tags=["OCPI 2.2.1 (for CPOs)"])
versions_router = APIRouter(prefix="/ocpi", tags=["OCPI 2.2.1 (for CPOs)"])

# Every OCPI module we serve, with our interface's role (version details): a module added is one line here.
# Commands is ours to send: our Sender interface is where CPOs post their CommandResults.
MODULES: Final = (
    ("cdrs", "RECEIVER"),
    ("commands", "SENDER"),
    ("credentials", "SENDER"),  # 2.2.1 advises SENDER for one's own credentials endpoint
    ("locations", "RECEIVER"),
    ("sessions", "RECEIVER"),
    ("tariffs", "RECEIVER"),
    ("tokens", "SENDER"),  # CPOs pull our partners' tokens and authorise them in real time
)

# Body limits per route, in bytes. A Session (PUT) or a CDR carries every charging period: a day-long
# session cut every minute, with its tariffs, stays well under 1 MiB. A tariff is a few price components.
SESSION_BODY_LIMIT = 1 << 20
CDR_BODY_LIMIT = 1 << 20
TARIFF_BODY_LIMIT = 256 << 10
COMMAND_RESULT_BODY_LIMIT = 16 << 10

OCPI_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}}
# Every message that reached the OCPI layer is answered 200 (or 201 when it created something), its OCPI
# status saying whether it was taken; only the transport refuses with an HTTP error.
ANSWERED: Responses = {
    200: {
        "model": OcpiEnvelope,
        "description": "Answered: status 1000, or 2001 naming what is refused, or 3000: stored, please retry",
    }
}
CREATED: Responses = {201: {"model": OcpiEnvelope, "description": "Taken: a new object"}}
UNREAD = {400: "The body is not JSON we read (status 2000)", 413: "The body is over this route's limit (status 2000)"}
BODY_ANSWERS = {**ANSWERED, **refusals(400, 401, 413, 429, ocpi=True, why=UNREAD)}
# A push whose URL names a party that is not the sender's (ocpi-connect.md §3.5).
PARTY_PUSH_ANSWERS = {**BODY_ANSWERS, **refusals(404, ocpi=True, why={404: "Not your party (status 2000)"})}


def envelope(
    status: OcpiStatus | int,
    message: str,
    data: Any = None,
    http_status: int = 200,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ocpi_envelope(status, message, data, timestamp=datetime.now(UTC))
    return JSONResponse(body, status_code=http_status, headers=headers)


async def routed_cpo(caller: CpoDep, request: Request) -> Cpo:
    """The CPO party a message is from, among those the caller's connection carries (ocpi-connect.md §3.5):
    the one its routing headers name as the sender (``OCPI-from-*``; another party's messages are not its
    to send: 404), else the one its URL names, else the connection's own. A URL naming a party outside the
    connection is the module's to refuse (stored, 2001). ``OCPI-to-*`` is us, the only receiver here."""
    own = caller.cpo
    assert own is not None  # current_cpo: a registered connection's CPO
    parties = [party for party in caller.parties if party.active] or [own]
    if "OCPI-from-country-code" in request.headers or "OCPI-from-party-id" in request.headers:
        country_code = request.headers.get("OCPI-from-country-code", own.country_code)
        party_id = request.headers.get("OCPI-from-party-id", own.party_id)
        sender = next((party for party in parties if party.is_party(country_code, party_id)), None)
        if sender is None:
            raise HTTPException(404, f"you are {_named(parties)}, not {country_code}*{party_id}")
        return sender
    url_country_code, url_party_id = request.path_params.get("country_code"), request.path_params.get("party_id")
    if url_country_code is None or url_party_id is None:
        return own
    return next((party for party in parties if party.is_party(url_country_code, url_party_id)), own)


def _named(parties: list[Cpo]) -> str:
    return " or ".join(f"{party.country_code}*{party.party_id}" for party in parties)


# The functional modules' caller; configuration modules (versions) take no routing headers.
RoutedCpoDep = Annotated[Cpo, Depends(routed_cpo)]


def _held(load: Callable[[], str | None], unknown: str) -> Response:
    """Our copy of a CPO's object (for a CPO recovering from a failed PATCH: GET, then PUT when we hold
    none; or a CDR it reads at its ``Location``): ``load`` gives its JSON text, spliced in as ``data`` so its
    numbers stay the JSON numbers they are, never read as floats; an object we hold none of under this key
    is 404 (OCPI transport_and_format: GET of an unknown object)."""
    held = load()
    if held is None:
        return envelope(OcpiStatus.CLIENT_ERROR, unknown, http_status=404)
    rest = ocpi_envelope(OcpiStatus.SUCCESS, "Success", timestamp=datetime.now(UTC))
    del rest["data"]
    return Response('{"data": ' + held + ", " + json.dumps(rest)[1:], media_type="application/json")


def ocpi_answer(result: IntakeResult) -> JSONResponse:
    headers = {"Location": result.location} if result.location else {}
    if result.retry_after_s is not None:
        headers["Retry-After"] = str(result.retry_after_s)
    return envelope(result.status, result.message, result.data, http_status=result.http_status, headers=headers)


async def receive_body(
    request: Request,
    context: ApiContext,
    cpo: Cpo,
    unread: tuple[Kind, str, int],
    intake: Callable[[bytes], Awaitable[IntakeResult]],
) -> Response:
    """Read the body (the CPO is already authenticated) within the route's limit and hand it to ``intake``
    when it is JSON we read; otherwise store it, as far as it was read, with its refusal: 413 over the
    limit, 400 not JSON (OCPI status_codes: the transport layer)."""
    kind, object_id, limit = unread
    try:
        body = await read_body(request, limit)
    except BodyTooLarge as too_large:
        message = CpoMessage(cpo, kind, object_id, too_large.received)
        refusal = await refuse_unread(
            context, message, outcome=Outcome.TOO_LARGE, problem=str(too_large), http_status=413
        )
        return ocpi_answer(refusal)
    problem = await json_problem_of(body)
    if problem is not None:
        message = CpoMessage(cpo, kind, object_id, body)
        refusal = await refuse_unread(context, message, outcome=Outcome.UNREADABLE, problem=problem, http_status=400)
        return ocpi_answer(refusal)
    return ocpi_answer(await intake(body))


@router.put(
    "/sessions/{country_code}/{party_id}/{session_id}",
    openapi_extra=OCPI_BODY,
    responses={**PARTY_PUSH_ANSWERS, **CREATED},
    summary="Session PUT",
)
async def put_ocpi_session(
    country_code: str, party_id: str, session_id: str, request: Request, cpo: RoutedCpoDep, context: ContextDep
) -> Response:
    path = (country_code, party_id, session_id)
    unread = (Kind.SESSION_PUT, session_id, SESSION_BODY_LIMIT)
    return await receive_body(
        request, context, cpo, unread, lambda body: sessions.receive_put(context, cpo, path, body)
    )


@router.patch(
    "/sessions/{country_code}/{party_id}/{session_id}",
    openapi_extra=OCPI_BODY,
    responses=PARTY_PUSH_ANSWERS,
    summary="Session PATCH",
)
async def patch_ocpi_session(
    country_code: str, party_id: str, session_id: str, request: Request, cpo: RoutedCpoDep, context: ContextDep
) -> Response:
    path = (country_code, party_id, session_id)
    unread = (Kind.SESSION_PATCH, session_id, SESSION_BODY_LIMIT)
    return await receive_body(
        request, context, cpo, unread, lambda body: sessions.receive_patch(context, cpo, path, body)
    )


HELD_ANSWERS: Responses = {
    200: {"model": OcpiEnvelope, "description": "Our copy, status 1000"},
    **refusals(401, 404, 429, ocpi=True, why={404: "We hold no such object of yours (status 2000)"}),
}


@router.get("/sessions/{country_code}/{party_id}/{session_id}", responses=HELD_ANSWERS, summary="Session GET")
async def get_ocpi_session(
    country_code: str, party_id: str, session_id: str, cpo: RoutedCpoDep, context: ContextDep
) -> Response:
    def load() -> str | None:
        with context.reads() as db:
            return sessions.held_session(db, cpo, (country_code, party_id, session_id))

    return await run_in_threadpool(_held, load, "unknown session")


@router.put(
    "/tariffs/{country_code}/{party_id}/{tariff_id}",
    openapi_extra=OCPI_BODY,
    responses={**PARTY_PUSH_ANSWERS, **CREATED},
    summary="Tariff PUT",
)
async def put_ocpi_tariff(
    country_code: str, party_id: str, tariff_id: str, request: Request, cpo: RoutedCpoDep, context: ContextDep
) -> Response:
    """A new version of the CPO's official public price, validated strictly (2001 names the field)."""
    path = (country_code, party_id, tariff_id)
    unread = (Kind.TARIFF_PUT, tariff_id, TARIFF_BODY_LIMIT)
    return await receive_body(request, context, cpo, unread, lambda body: tariffs.receive_put(context, cpo, path, body))


@router.delete(
    "/tariffs/{country_code}/{party_id}/{tariff_id}",
    responses={**ANSWERED, **refusals(401, 404, 429, ocpi=True, why={404: "Not your party (status 2000)"})},
    summary="Tariff DELETE",
)
async def delete_ocpi_tariff(
    country_code: str, party_id: str, tariff_id: str, cpo: RoutedCpoDep, context: ContextDep
) -> Response:
    path = (country_code, party_id, tariff_id)
    return ocpi_answer(await tariffs.receive_delete(context, cpo, path, datetime.now(UTC)))


@router.get("/tariffs/{country_code}/{party_id}/{tariff_id}", responses=HELD_ANSWERS, summary="Tariff GET")
async def get_ocpi_tariff(
    country_code: str, party_id: str, tariff_id: str, cpo: RoutedCpoDep, context: ContextDep
) -> Response:
    def load() -> str | None:
        with context.reads() as db:
            return tariffs.held_tariff(db, cpo, (country_code, party_id, tariff_id))

    return await run_in_threadpool(_held, load, "unknown tariff")


@router.post(
    "/cdrs",
    openapi_extra=OCPI_BODY,
    responses={
        **BODY_ANSWERS,
        503: {
            **BODY_ANSWERS[503],
            "description": "Unavailable for now, or the CDR of a session a driver started that we are still "
            "authorising (status 3000; the CDR is stored): send it again after Retry-After seconds",
        },
        201: {
            "model": OcpiEnvelope,
            "description": "Accepted: stored, and the session is cleared with it",
            "headers": {
                "Location": {
                    "description": "Where the CPO reads the CDR back (GET /cdrs/{key})",
                    "required": True,
                    "schema": {"type": "string"},
                }
            },
        },
    },
    summary="CDR POST",
)
async def post_ocpi_cdr(request: Request, cpo: RoutedCpoDep, context: ContextDep) -> Response:
    unread = (Kind.CDR, "?", CDR_BODY_LIMIT)
    return await receive_body(
        request, context, cpo, unread, lambda body: cdrs.receive_cdr(context, cpo, body, context.public_base_url)
    )


@router.get(
    "/cdrs/{key}",
    responses={**ANSWERED, **refusals(401, 404, 429, ocpi=True, why={404: "No such CDR of yours"})},
    summary="A CDR we accepted, as received",
)
async def get_ocpi_cdr(key: int, cpo: RoutedCpoDep, context: ContextDep) -> Response:
    def load() -> str | None:
        if not 1 <= key <= MAX_KEY:
            return None
        with context.reads() as db:
            return cdrs.cdr_as_received(db, cpo, key)

    return await run_in_threadpool(_held, load, "no such CDR")


@router.post(
    "/commands/{command}/{session_id}",
    openapi_extra=OCPI_BODY,
    responses=BODY_ANSWERS,
    summary="CommandResult callback",
)
async def post_ocpi_command_result(
    command: str, session_id: str, request: Request, cpo: RoutedCpoDep, context: ContextDep
) -> Response:
    unread = (Kind.COMMAND_RESULT, f"{command}/{session_id}", COMMAND_RESULT_BODY_LIMIT)
    return await receive_body(
        request,
        context,
        cpo,
        unread,
        lambda body: commands.receive_command_result(context, cpo, command, session_id, body),
    )


VERSIONS_ANSWERS: Responses = {
    200: {"model": OcpiEnvelope, "description": "Answered, status 1000"},
    **refusals(401, 429, ocpi=True),
}


@versions_router.get("/versions", responses=VERSIONS_ANSWERS, summary="Versions: the OCPI versions we speak")
async def get_ocpi_versions(_: OcpiCallerDep, context: ContextDep) -> Response:
    return envelope(
        OcpiStatus.SUCCESS, "Success", data=[{"version": OCPI_VERSION, "url": context.public_base_url + VERSION_PATH}]
    )


@router.get("", responses=VERSIONS_ANSWERS, summary="Version details: our 2.2.1 modules and their URLs")
async def get_ocpi_version_details(_: OcpiCallerDep, context: ContextDep) -> Response:
    base = context.public_base_url + VERSION_PATH
    endpoints = [{"identifier": module, "role": role, "url": f"{base}/{module}"} for module, role in MODULES]
    return envelope(OcpiStatus.SUCCESS, "Success", data={"version": OCPI_VERSION, "endpoints": endpoints})
