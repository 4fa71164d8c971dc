"""A CPO we did not write: extrawest-ocpi (PyPI, OCPI 2.2.1 on FastAPI and pydantic v1), driven against our
eMSP by ``tests/e2e/test_ocpi_independent_peer.py``, which runs this script with the Python of a virtualenv
of its own (the library pins pydantic 1 and FastAPI 0.101; ours are newer).

The library serves the CPO side (versions, version details, credentials, commands) and its models and push
code build and send every object; this script supplies what a CPO's own code supplies to it (the storage
behind its ``Crud``, its tokens) and starts what the library leaves to its user: registering with an eMSP
(the library only answers a registration, so the POST of credentials is made here, with its models) and
charging after a START_SESSION (here: a Session ACTIVE, then COMPLETED, then the CDR, all pushed with the
library's ``send_push_request``).

Deviations of extrawest-ocpi 2025.7.16 from OCPI 2.2.1, three worked around here, each where it is:
its CPO version details leave out the Commands module it serves; its Commands receiver answers
``"data": [CommandResponse]`` where the spec has one object; its push appends ``country_code/party_id/id``
to the receiver's URL without the ``/`` between them (the spec's URLs need not end with one). A fourth is
not worked around but sent as the library makes it, and refused: its ``CdrLocation`` model has no
``evse_uid`` (required in 2.2.1), so every CDR it serialises lacks it; the CDR is then posted again with it.

Arguments: ``--port``; ``--versions-url`` (ours) and ``--token-a`` (ours) to register with us, or
``--own-token-a`` to wait for us to register with it (the library answers that registration). The library's
settings come from the environment (``PROTOCOL``, ``OCPI_HOST``, ``COUNTRY_CODE``, ``PARTY_ID``). It writes
one JSON object a line on stdout for the test: ``listening``; ``registered`` (with the token it calls us
with); then, once a line arrives on stdin, ``published`` (what it sent and our answers); ``charged`` (the
session and CDR it sent, our answers); it ends when stdin closes."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn
from py_ocpi.core.adapter import BaseAdapter
from py_ocpi.core.config import settings
from py_ocpi.core.dependencies import get_endpoints
from py_ocpi.core.endpoints.v_2_2_1.utils import cpo_generator
from py_ocpi.core.enums import Action, ModuleID, RoleEnum
from py_ocpi.core.exceptions import AuthorizationOCPIError
from py_ocpi.core.push import send_push_request
from py_ocpi.core.utils import encode_string_base64
from py_ocpi.main import get_application
from py_ocpi.modules.credentials.v_2_2_1.schemas import Credentials, CredentialsRole
from py_ocpi.modules.locations.v_2_2_1.schemas import BusinessDetails
from py_ocpi.modules.versions.enums import VersionNumber
from py_ocpi.modules.versions.v_2_2_1.schemas import InterfaceRole
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

VERSION = VersionNumber.v_2_2_1
LOCATION_ID, EVSE_UID, CONNECTOR_ID, TARIFF_ID = "IND-LOC-1", "IND-EVSE-1", "1", "IND-AC-40"
# What every session here charges: 12.5 kWh at 0.40 EUR/kWh (excl. VAT), 5.00 EUR.
KWH, PRICE_PER_KWH, TOTAL_EXCL_VAT = 12.5, 0.40, 5.00


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def emit(event: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


class Peer:
    """What the CPO's own code keeps: the token it gave the eMSP (B), the token it got (C), its objects."""

    def __init__(self) -> None:
        # The token the eMSP calls it with (token B when it registers, the token C it answers when the eMSP
        # registers with it), and the one it calls the eMSP with.
        self.inbound_token = f"peer-{uuid.uuid4().hex}"
        self.emsp_token: str | None = None
        self.own_token_a: str | None = None  # while it waits for the eMSP to register with it
        self.emsp_endpoints: list[dict[str, Any]] = []
        self.charging: set[asyncio.Task[None]] = set()
        # The version of its tariff it offers: one from yesterday until it publishes a new one.
        self.tariff_version = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)

    def credentials(self, own_url: str) -> Any:
        """Its credentials, in the library's model: the token to call it with, its versions URL, its role."""
        role = CredentialsRole(
            role=RoleEnum.cpo,
            business_details=BusinessDetails(name="Independent Peer B.V."),
            party_id=settings.PARTY_ID,
            country_code=settings.COUNTRY_CODE,
        )
        return Credentials(token=self.inbound_token, url=f"{own_url}/{settings.OCPI_PREFIX}/versions", roles=[role])

    def registered(self, endpoints: list[dict[str, Any]]) -> None:
        """Connected, whoever started it: its token A is spent; the eMSP's endpoints are where it pushes."""
        self.own_token_a = None
        # Deviation 3: the library's push writes f"{url}{country_code}/{party_id}/{id}".
        self.emsp_endpoints = [found | {"url": found["url"].rstrip("/") + "/"} for found in endpoints]
        emit("registered", emsp_token=self.emsp_token, endpoints=endpoints)

    def evse_id(self) -> str:
        return f"{settings.COUNTRY_CODE}*{settings.PARTY_ID}*E1"

    def location(self, now: datetime) -> dict[str, Any]:
        connector = {
            "id": CONNECTOR_ID,
            "standard": "IEC_62196_T2",
            "format": "SOCKET",
            "power_type": "AC_3_PHASE",
            "max_voltage": 400,
            "max_amperage": 32,
            "max_electric_power": 22000,
            "tariff_ids": [TARIFF_ID],
            "last_updated": stamp(now),
        }
        evse = {
            "uid": EVSE_UID,
            "evse_id": self.evse_id(),
            "status": "AVAILABLE",
            "capabilities": ["REMOTE_START_STOP_CAPABLE"],
            "connectors": [connector],
            "last_updated": stamp(now),
        }
        return {
            "country_code": settings.COUNTRY_CODE,
            "party_id": settings.PARTY_ID,
            "id": LOCATION_ID,
            "publish": True,
            "name": "Independent Peer Alexanderplatz",
            "address": "Alexanderplatz 1",
            "city": "Berlin",
            "postal_code": "10178",
            "country": "DEU",
            "coordinates": {"latitude": "52.521918", "longitude": "13.413215"},
            "evses": [evse],
            "time_zone": "Europe/Berlin",
            "last_updated": stamp(now),
        }

    def tariff(self) -> dict[str, Any]:
        return {
            "country_code": settings.COUNTRY_CODE,
            "party_id": settings.PARTY_ID,
            "id": TARIFF_ID,
            "currency": "EUR",
            "type": "REGULAR",
            "elements": [{"price_components": [{"type": "ENERGY", "price": PRICE_PER_KWH, "step_size": 1}]}],
            "last_updated": stamp(self.tariff_version),
        }

    async def push(self, module: ModuleID, object_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """The object through the library's adapter, model and push request; our answer as the test reads it."""
        assert self.emsp_token is not None
        token = f"Token {encode_string_base64(self.emsp_token)}"
        reply: httpx.Response = await send_push_request(
            object_id, data, module, BaseAdapter, token, self.emsp_endpoints, VERSION
        )
        return {"http_status": reply.status_code, "body": reply.json(), "sent": json.loads(reply.request.content)}

    async def post(self, module: ModuleID, data: dict[str, Any]) -> dict[str, Any]:
        """What the library cannot send (deviation 4): posted to the module's receiver as it is."""
        assert self.emsp_token is not None
        url = next(found["url"] for found in self.emsp_endpoints if found["identifier"] == module)
        headers = {"Authorization": f"Token {encode_string_base64(self.emsp_token)}"}
        async with httpx.AsyncClient(timeout=10) as http:
            reply = await http.post(url, json=data, headers=headers)
        return {"http_status": reply.status_code, "body": reply.json(), "sent": data}


class PeerCrud:
    """The storage the library asks for: the one location, and commands accepted at once."""

    peer: Peer

    @classmethod
    async def get(cls, module: ModuleID, role: RoleEnum, object_id: Any, *args: Any, **kwargs: Any) -> Any:
        if module == ModuleID.locations:
            return cls.peer.location(datetime.now(UTC)) if str(object_id).upper() == LOCATION_ID else None
        if module == ModuleID.commands:
            return {"result": "ACCEPTED"}
        return None

    @classmethod
    async def list(cls, module: ModuleID, role: RoleEnum, filters: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        """A page of a Sender list (our pull after registering): its one location, its one tariff."""
        now = datetime.now(UTC).replace(microsecond=0)
        found = {ModuleID.locations: [cls.peer.location(now)], ModuleID.tariffs: [cls.peer.tariff()]}
        objects = found.get(module, [])[filters["offset"] :][: filters["limit"]]
        return objects, len(found.get(module, [])), True

    @classmethod
    async def create(cls, module: ModuleID, role: RoleEnum, data: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        """The eMSP registered with its token A: its token and endpoints kept, ours answered."""
        assert module == ModuleID.credentials_and_registration
        cls.peer.emsp_token = data["credentials"]["token"]
        answer = cls.peer.credentials(f"{settings.PROTOCOL}://{settings.OCPI_HOST}").dict()
        cls.peer.registered(data["endpoints"]["endpoints"])
        return answer

    @classmethod
    async def do(cls, module: ModuleID, role: RoleEnum, action: Action, *args: Any, **kwargs: Any) -> Any:
        if action == Action.get_client_token:
            return cls.peer.emsp_token
        if action == Action.send_command and kwargs.get("command") == "START_SESSION":
            task = asyncio.create_task(charge(cls.peer, args[0]))
            cls.peer.charging.add(task)
            task.add_done_callback(charged)
            return {"result": "ACCEPTED", "timeout": 30}
        return {"result": "NOT_SUPPORTED", "timeout": 0}


class PeerAuthenticator:
    """Who may call this CPO: the eMSP, with token B (the library calls every such token "token C")."""

    peer: Peer

    @classmethod
    async def authenticate(cls, auth_token: str) -> None:
        if auth_token != cls.peer.inbound_token:
            raise AuthorizationOCPIError

    @classmethod
    async def authenticate_credentials(cls, auth_token: str) -> str | dict[str, Any] | None:
        """The library's contract: ``{}`` for a token A (may register), the token for a registered caller."""
        if cls.peer.own_token_a is not None and auth_token == cls.peer.own_token_a:
            return {}
        return auth_token if auth_token == cls.peer.inbound_token else None


def charged(task: asyncio.Task[None]) -> None:
    PeerCrud.peer.charging.discard(task)
    if not task.cancelled() and task.exception() is not None:
        emit("failed", error=repr(task.exception()))


async def charge(peer: Peer, command: dict[str, Any]) -> None:
    """After an accepted START_SESSION: the session ACTIVE, COMPLETED with 12.5 kWh, then its CDR."""
    token = command["token"]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    session_id = f"IND-S-{uuid.uuid4().hex[:12]}"
    session: dict[str, Any] = {
        "country_code": settings.COUNTRY_CODE,
        "party_id": settings.PARTY_ID,
        "id": session_id,
        "start_date_time": stamp(start),
        "kwh": 0,
        "cdr_token": {field: token[field] for field in ("country_code", "party_id", "uid", "type", "contract_id")},
        "auth_method": "COMMAND",
        "authorization_reference": command["authorization_reference"],
        "location_id": command["location_id"],
        "evse_uid": command["evse_uid"],
        "connector_id": command.get("connector_id") or CONNECTOR_ID,
        "currency": "EUR",
        "status": "ACTIVE",
        "last_updated": stamp(start),
    }
    answers = {"active": await peer.push(ModuleID.sessions, session_id, session)}
    await asyncio.sleep(0.5)
    end = datetime.now(UTC).replace(microsecond=0)
    period = {"start_date_time": stamp(start), "dimensions": [{"type": "ENERGY", "volume": KWH}]}
    completed = session | {
        "status": "COMPLETED",
        "end_date_time": stamp(end),
        "kwh": KWH,
        "charging_periods": [period],
        "last_updated": stamp(end),
    }
    answers["completed"] = await peer.push(ModuleID.sessions, session_id, completed)
    location = peer.location(end)
    cdr = {
        "country_code": settings.COUNTRY_CODE,
        "party_id": settings.PARTY_ID,
        "id": f"IND-CDR-{uuid.uuid4().hex[:12]}",
        "start_date_time": stamp(start),
        "end_date_time": stamp(end),
        "session_id": session_id,
        "cdr_token": session["cdr_token"],
        "auth_method": "COMMAND",
        "authorization_reference": command["authorization_reference"],
        "cdr_location": {
            **{field: location[field] for field in ("id", "name", "address", "city", "postal_code", "country")},
            "coordinates": location["coordinates"],
            "evse_uid": EVSE_UID,
            "evse_id": peer.evse_id(),
            "connector_id": CONNECTOR_ID,
            "connector_standard": "IEC_62196_T2",
            "connector_format": "SOCKET",
            "connector_power_type": "AC_3_PHASE",
        },
        "currency": "EUR",
        "tariffs": [peer.tariff()],
        "charging_periods": [period | {"tariff_id": TARIFF_ID}],
        "total_cost": {"excl_vat": TOTAL_EXCL_VAT},
        "total_energy": KWH,
        "total_energy_cost": {"excl_vat": TOTAL_EXCL_VAT},
        "total_time": round((end - start).total_seconds() / 3600, 4),
        "last_updated": stamp(end),
    }
    # As the library writes it, the CDR lacks cdr_location.evse_uid (required in 2.2.1): we refuse it with 2001.
    answers["library_cdr"] = await peer.push(ModuleID.cdrs, cdr["id"], cdr)
    sent = answers["library_cdr"]["sent"]
    answers["cdr"] = await peer.post(
        ModuleID.cdrs, sent | {"cdr_location": sent["cdr_location"] | {"evse_uid": EVSE_UID}}
    )
    emit("charged", session_id=session_id, cdr_id=cdr["id"], answers=answers)


async def register(peer: Peer, http: httpx.AsyncClient, versions_url: str, token_a: str, own_url: str) -> None:
    """OCPI's registration from the CPO's side (credentials §4.1.1): read the eMSP's 2.2.1 endpoints with
    token A, POST our credentials (token B, our versions URL, our role) and keep the token C it answers."""
    token_a_header = {"Authorization": f"Token {encode_string_base64(token_a)}"}
    versions = (await http.get(versions_url, headers=token_a_header)).json()["data"]
    details_url = next(found["url"] for found in versions if found["version"] == VERSION.value)
    endpoints = (await http.get(details_url, headers=token_a_header)).json()["data"]["endpoints"]
    ours = peer.credentials(own_url)
    credentials_url = next(found["url"] for found in endpoints if found["identifier"] == "credentials")
    reply = await http.post(credentials_url, json=ours.dict(), headers=token_a_header, timeout=30)
    emit("registering", http_status=reply.status_code, body=reply.json())
    reply.raise_for_status()
    peer.emsp_token = reply.json()["data"]["token"]
    emsp_token_header = {"Authorization": f"Token {encode_string_base64(peer.emsp_token)}"}
    peer.registered((await http.get(details_url, headers=emsp_token_header)).json()["data"]["endpoints"])


async def command_response_as_one_object(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Deviation 2: the library answers a command with ``"data": [CommandResponse]``; 2.2.1 has one object."""
    response = await call_next(request)
    if request.method != "POST" or "/commands/" not in request.url.path:
        return response
    body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
    envelope = json.loads(body)
    if isinstance(envelope.get("data"), list) and len(envelope["data"]) == 1:
        envelope["data"] = envelope["data"][0]
    return JSONResponse(envelope, status_code=response.status_code, background=response.background)


async def main() -> None:
    arguments = argparse.ArgumentParser()
    arguments.add_argument("--port", type=int, required=True)
    arguments.add_argument("--versions-url", help="the eMSP's, to register with it using --token-a")
    arguments.add_argument("--token-a", help="the eMSP's token A")
    arguments.add_argument("--own-token-a", help="or: wait for the eMSP to register with this token A")
    options = arguments.parse_args()
    peer = Peer()
    peer.own_token_a = options.own_token_a
    PeerCrud.peer = PeerAuthenticator.peer = peer
    modules = [
        ModuleID.credentials_and_registration,
        ModuleID.locations,
        ModuleID.sessions,
        ModuleID.cdrs,
        ModuleID.tariffs,
        ModuleID.commands,
    ]
    app = get_application([VERSION], [RoleEnum.cpo], PeerCrud, modules, PeerAuthenticator)
    # Deviation 1: the library serves Commands for a CPO but leaves it out of its version details.
    app.dependency_overrides[get_endpoints]()[VERSION].append(
        cpo_generator.generate_endpoint(ModuleID.commands, InterfaceRole.receiver)
    )
    app.middleware("http")(command_response_as_one_object)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=options.port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.02)
    emit("listening")
    own_url = f"{settings.PROTOCOL}://{settings.OCPI_HOST}"
    if options.token_a is not None:
        async with httpx.AsyncClient(timeout=10) as http:
            await register(peer, http, options.versions_url, options.token_a, own_url)
    # The test first sees our pull of its lists through; then it asks for the pushes with a line.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    now = datetime.now(UTC).replace(microsecond=0)
    peer.tariff_version = now
    tariff, location = peer.tariff(), peer.location(now)
    answers = {
        "tariff": await peer.push(ModuleID.tariffs, TARIFF_ID, tariff),
        "location": await peer.push(ModuleID.locations, LOCATION_ID, location),
    }
    emit("published", evse_id=peer.evse_id(), location_id=LOCATION_ID, tariff_id=TARIFF_ID, answers=answers)
    # Until the test is done with it: it closes our stdin.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    server.should_exit = True
    await serving


if __name__ == "__main__":
    asyncio.run(main())
