"""The simulator's HTTP side (``networkcore simulator``): every simulated CPO is an OCPI 2.2.1 CPO platform
of its own under ``/cpo/{cc}-{pid}/ocpi`` (versions, 2.2.1 details, credentials GET and the POST of an eMSP
registering with a token A it was given, the Locations and Tariffs Sender lists, the Commands receiver),
and its back office is ``/admin`` (register with the eMSP with its token A, or give it one, update its
credentials, send a CDR as the CPO, play a driver tapping a token at a charger, the transport violations it
counted).

Every OCPI answer is the envelope and echoes ``X-Request-ID`` and ``X-Correlation-ID``; an unknown token is
401. The eMSP calls a CPO with the token B that CPO gave it when it registered."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import urlencode

import httpx
from fastapi import FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, TypeAdapter, ValidationError, model_validator

from messages.ocpi import (
    CommandType,
    OcpiStatus,
    StartSession,
    StopSession,
    TokenType,
    UtcDateTime,
    ocpi_envelope,
)
from messages.ocpi_credentials import Credentials
from simulator.config import SimCpo, SimulatorConfig
from simulator.connections import ConnectionStore, NotConnected
from simulator.engine import AuthorisationUnanswered, CpoSimulator, NoSuchCharger
from simulator.objects import ocpi_locations
from simulator.registration import (
    RegistrationFailed,
    accept_registration,
    invite,
    register,
    routed_headers,
    update,
)
from simulator.transport_check import TransportChecker

OCPI_VERSION: Final = "2.2.1"
# Objects per page of its Sender lists: small, so that a pull of a demo CPO follows next links.
PAGE_LIMIT: Final = 1
# Its modules and its interfaces' roles (version details). Credentials under both roles, as 2.2.1's
# examples list it; sessions and CDRs it only pushes.
MODULES: Final = (
    ("credentials", "SENDER"),
    ("credentials", "RECEIVER"),
    ("locations", "SENDER"),
    ("tariffs", "SENDER"),
    ("commands", "RECEIVER"),
)
_MOMENT = TypeAdapter(UtcDateTime)


class Registration(BaseModel):
    versions_url: str  # the eMSP's versions list
    token: str  # the token A it issued


class Tap(BaseModel):
    """A driver at a charger: the EVSE (its uid or its EVSE id) and the token presented."""

    evse_uid: str | None = None
    evse_id: str | None = None
    uid: str = Field(min_length=1, max_length=36)  # an RFID card's uid, or a Plug & Charge car's eMA-ID
    type: TokenType = TokenType.RFID

    @model_validator(mode="after")
    def _one_evse(self) -> Tap:
        if (self.evse_uid is None) == (self.evse_id is None):
            raise ValueError("name the EVSE by evse_uid or by evse_id")
        return self


class CredentialsUpdate(BaseModel):
    versions_url: str | None = None  # where the eMSP's versions list is now, if it moved


def _envelope(
    status: OcpiStatus, message: str, data: Any = None, http_status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ocpi_envelope(status, message, data, timestamp=datetime.now(UTC))
    return JSONResponse(body, status_code=http_status, headers=headers)


def _presented_token(authorization: str | None) -> str | None:
    """The token of ``Authorization: Token ...``: Base64-encoded (2.2.1) or raw (older peers)."""
    if authorization is None or not authorization.startswith("Token "):
        return None
    sent = authorization.removeprefix("Token ").strip()
    try:
        return base64.b64decode(sent, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return sent


def _page(request: Request, objects: list[dict[str, Any]]) -> JSONResponse:
    """One page of a Sender list: ``offset``, ``limit``, ``date_from``/``date_to`` on ``last_updated``; the
    pagination headers; a next link while more remain."""
    try:
        offset = int(request.query_params.get("offset", "0"))
        limit = min(int(request.query_params.get("limit", str(PAGE_LIMIT))), PAGE_LIMIT)
        date_from, date_to = (
            None if (text := request.query_params.get(name)) is None else _MOMENT.validate_python(text)
            for name in ("date_from", "date_to")
        )
    except (ValueError, ValidationError) as error:
        return _envelope(OcpiStatus.INVALID_PARAMETERS, f"pagination: {error}")
    if offset < 0 or limit < 1:
        return _envelope(OcpiStatus.INVALID_PARAMETERS, "pagination: offset from 0, limit from 1")
    matching = [
        found
        for found in objects
        if (date_from is None or _MOMENT.validate_python(found["last_updated"]) >= date_from)
        and (date_to is None or _MOMENT.validate_python(found["last_updated"]) < date_to)
    ]
    page = matching[offset : offset + limit]
    headers = {"X-Total-Count": str(len(matching)), "X-Limit": str(PAGE_LIMIT)}
    if offset + len(page) < len(matching):
        kept = [(n, v) for n, v in request.query_params.multi_items() if n not in ("offset", "limit")]
        query = urlencode([*kept, ("offset", str(offset + len(page))), ("limit", str(limit))])
        headers["Link"] = f'<{request.url.replace(query=query)}>; rel="next"'
    return _envelope(OcpiStatus.SUCCESS, "Success", page, headers=headers)


def create_app(config: SimulatorConfig, store: ConnectionStore | None = None) -> FastAPI:
    """``store``: the CPOs' credentials (tests keep one per database across stacks); by default the
    configured state file's, or in memory."""
    cpos = {cpo.party: cpo for cpo in config.cpos}
    connections = store or ConnectionStore(None if config.state_file is None else Path(config.state_file))
    checker = TransportChecker()

    def versions_url(cpo: SimCpo) -> str:
        return f"{config.public_url}/cpo/{cpo.party}/ocpi/versions"

    def details_url(cpo: SimCpo) -> str:
        return f"{config.public_url}/cpo/{cpo.party}/ocpi/{OCPI_VERSION}"

    def simulated(party: str) -> SimCpo:
        cpo = cpos.get(party.lower())
        if cpo is None:
            raise HTTPException(404, f"no simulated CPO {party}")
        return cpo

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=30, event_hooks={"response": [checker]}) as http:
            app.state.http = http
            app.state.simulator = CpoSimulator(config, http, connections)
            yield
            await app.state.simulator.aclose()

    app = FastAPI(title="NetworkCore CPO simulator", lifespan=lifespan)

    @app.middleware("http")
    async def echo_ids(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request_id = request.headers.get("X-Request-ID") or str(uuid.uuid4())
        response = await call_next(request)
        response.headers["X-Request-ID"] = request_id
        response.headers["X-Correlation-ID"] = request.headers.get("X-Correlation-ID") or request_id
        return response

    def caller(party: str, authorization: str | None) -> SimCpo | None:
        """The CPO addressed, if the token is the one its registration gave the eMSP."""
        cpo = cpos.get(party.lower())
        token = _presented_token(authorization)
        if cpo is None or token is None or connections.party_of_token(token) != cpo.party:
            return None
        return cpo

    def unknown_token() -> JSONResponse:
        return _envelope(OcpiStatus.CLIENT_ERROR, "unknown credentials token", http_status=401)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/cpo/{party}/ocpi/versions")
    async def versions(party: str, authorization: Annotated[str | None, Header()] = None) -> JSONResponse:
        cpo = caller(party, authorization)
        if cpo is None:
            return unknown_token()
        return _envelope(OcpiStatus.SUCCESS, "Success", [{"version": OCPI_VERSION, "url": details_url(cpo)}])

    @app.get(f"/cpo/{{party}}/ocpi/{OCPI_VERSION}")
    async def version_details(party: str, authorization: Annotated[str | None, Header()] = None) -> JSONResponse:
        cpo = caller(party, authorization)
        if cpo is None:
            return unknown_token()
        base = details_url(cpo)
        endpoints = [{"identifier": module, "role": role, "url": f"{base}/{module}"} for module, role in MODULES]
        return _envelope(OcpiStatus.SUCCESS, "Success", {"version": OCPI_VERSION, "endpoints": endpoints})

    @app.get(f"/cpo/{{party}}/ocpi/{OCPI_VERSION}/credentials")
    async def credentials(party: str, authorization: Annotated[str | None, Header()] = None) -> JSONResponse:
        cpo = caller(party, authorization)
        token = _presented_token(authorization)
        if cpo is None or token is None:
            return unknown_token()
        role = {"role": "CPO", "business_details": {"name": cpo.name}}
        role |= {"party_id": cpo.party_id, "country_code": cpo.country_code}
        # The caller's own token, as OCPI's GET returns it (it is the one the caller uses).
        return _envelope(OcpiStatus.SUCCESS, "Success", {"token": token, "url": versions_url(cpo), "roles": [role]})

    @app.post(f"/cpo/{{party}}/ocpi/{OCPI_VERSION}/credentials")
    async def credentials_registration(
        party: str, request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        """The eMSP registers with us (flow S) with the token A our operator gave it."""
        cpo = caller(party, authorization)
        if cpo is None:
            return unknown_token()
        if connections.registered_or_none(cpo.party) is not None:
            return _envelope(OcpiStatus.CLIENT_ERROR, "registered already: PUT to update", http_status=405)
        try:
            theirs = Credentials.model_validate_json(await request.body())
        except ValidationError as error:
            return _envelope(OcpiStatus.INVALID_PARAMETERS, str(error))
        try:
            ours = await accept_registration(request.app.state.http, connections, cpo, versions_url(cpo), theirs)
        except RegistrationFailed as failed:
            return _envelope(OcpiStatus.UNABLE_TO_USE_CLIENT_API, str(failed))
        return _envelope(OcpiStatus.SUCCESS, "Success", ours.model_dump(mode="json", exclude_none=True))

    @app.get(f"/cpo/{{party}}/ocpi/{OCPI_VERSION}/locations")
    async def locations(
        party: str, request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        cpo = caller(party, authorization)
        return unknown_token() if cpo is None else _page(request, ocpi_locations(cpo))

    @app.get(f"/cpo/{{party}}/ocpi/{OCPI_VERSION}/tariffs")
    async def tariffs(
        party: str, request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        cpo = caller(party, authorization)
        return unknown_token() if cpo is None else _page(request, cpo.tariffs())

    @app.post(f"/cpo/{{party}}/ocpi/{OCPI_VERSION}/commands/{{command}}")
    async def receive_command(
        party: str, command: str, request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        cpo = caller(party, authorization)
        if cpo is None:
            return unknown_token()
        simulator: CpoSimulator = request.app.state.simulator
        body = await request.body()
        key = (cpo.country_code, cpo.party_id)
        try:
            if command == CommandType.START_SESSION:
                response = await simulator.start_session(key, StartSession.model_validate_json(body))
            elif command == CommandType.STOP_SESSION:
                response = await simulator.stop_session(key, StopSession.model_validate_json(body))
            else:
                return _envelope(OcpiStatus.CLIENT_ERROR, f"{command} is not supported by the simulator")
        except ValidationError as error:
            return _envelope(OcpiStatus.INVALID_PARAMETERS, str(error))
        return _envelope(OcpiStatus.SUCCESS, "Success", response.model_dump(mode="json", exclude_none=True))

    # --- the CPOs' back office ---------------------------------------------------------------------

    @app.get("/admin/cpos")
    async def registrations() -> dict[str, Any]:
        """Per CPO: registered or not, and the eMSP versions list it is registered with."""
        found = {party: connections.get(party) for party in cpos}
        return {
            party: {"registered": c is not None and c.token_c is not None, "versions_url": c and c.versions_url}
            for party, c in found.items()
        }

    @app.post("/admin/cpos/{party}/register")
    async def register_with_emsp(party: str, registration: Registration, request: Request) -> dict[str, Any]:
        """The CPO's operator pastes the eMSP's versions URL and token A: register, then publish the
        tariffs and locations; answered once they are all stored."""
        cpo = simulated(party)
        try:
            published = await register(
                request.app.state.http,
                connections,
                cpo,
                versions_url(cpo),
                registration.versions_url,
                registration.token,
            )
        except RegistrationFailed as failed:
            raise HTTPException(502, str(failed)) from failed
        return {
            "cpo": f"{cpo.country_code}*{cpo.party_id}",
            "tariffs": published.tariffs,
            "locations": published.locations,
        }

    @app.post("/admin/cpos/{party}/invite")
    async def invite_emsp(party: str) -> dict[str, str]:
        """A token A and our versions URL, for the eMSP to register with us (``partners connect-cpo``)."""
        cpo = simulated(party)
        return {"token": invite(connections, cpo), "versions_url": versions_url(cpo)}

    @app.post("/admin/cpos/{party}/update")
    async def update_credentials(party: str, moved: CredentialsUpdate, request: Request) -> dict[str, str]:
        """Credentials PUT: new tokens both ways, our versions URL (where the simulator listens now)."""
        cpo = simulated(party)
        try:
            await update(request.app.state.http, connections, cpo, versions_url(cpo), moved.versions_url)
        except NotConnected as missing:
            raise HTTPException(409, str(missing)) from missing
        except RegistrationFailed as failed:
            raise HTTPException(502, str(failed)) from failed
        return {"cpo": f"{cpo.country_code}*{cpo.party_id}", "state": "updated"}

    @app.post("/admin/cpos/{party}/cdrs")
    async def send_cdr(party: str, request: Request) -> Response:
        """Send a CDR the operator wrote (a credit, a correction) as the CPO; the eMSP's answer."""
        cpo = simulated(party)
        try:
            connection = connections.registered(cpo.party)
            url = connection.receiver("cdrs")
        except NotConnected as missing:
            raise HTTPException(409, str(missing)) from missing
        http: httpx.AsyncClient = request.app.state.http
        reply = await http.post(url, content=await request.body(), headers=routed_headers(cpo, connection))
        return Response(reply.content, status_code=reply.status_code, media_type="application/json")

    @app.post("/admin/cpos/{party}/tap")
    async def tap_token(party: str, tap: Tap, request: Request) -> dict[str, Any]:
        """A driver taps a card (or a car authenticates itself) at an EVSE: the eMSP's real-time answer and,
        when ALLOWED, the session started on it (charged and reported to its CDR like a remote start)."""
        cpo = simulated(party)
        simulator: CpoSimulator = request.app.state.simulator
        evse_ref = tap.evse_uid or tap.evse_id
        assert evse_ref is not None, "checked by Tap"
        try:
            outcome = await simulator.tap((cpo.country_code, cpo.party_id), evse_ref, tap.uid, tap.type)
        except NoSuchCharger as missing:
            raise HTTPException(404, str(missing)) from missing
        except NotConnected as missing:
            raise HTTPException(409, str(missing)) from missing
        except AuthorisationUnanswered as unanswered:
            raise HTTPException(502, str(unanswered)) from unanswered
        return {
            "status_code": outcome.status_code,
            "status_message": outcome.message,
            "allowed": outcome.allowed,
            "session_id": outcome.session_id,
            "authorization_reference": outcome.authorization_reference,
        }

    @app.get("/admin/violations")
    async def violations() -> dict[str, Any]:
        """The transport rules the eMSP's answers broke: how many, and the latest."""
        return {"count": checker.count, "latest": checker.latest}

    return app
