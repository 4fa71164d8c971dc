"""Talking to a CPO: the ``CpoAdapter`` port and its OCPI 2.2.1 Commands implementation over HTTP.

The built-in simulator implements the same port in-process (``simulator.adapter``).
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Protocol

import httpx
from pydantic import ValidationError

from messages.ocpi import CommandResponse, CommandType, OcpiModel, StartSession, StopSession


@dataclass(frozen=True, slots=True)
class CpoEndpoint:
    """How to reach one CPO's Commands receiver."""

    cpo_id: str
    country_code: str
    party_id: str
    commands_url: str  # ends with "/"; the command name is appended (OCPI inserts no slash)
    token: str  # the credentials token we present


class CpoUnreachable(Exception):
    """A technical fault talking to the CPO (network, 5xx, garbled reply): worth retrying."""


class CpoProtocolError(Exception):
    """The CPO answered, but not with an OCPI CommandResponse we can use: not worth retrying blindly."""


class CpoAdapter(Protocol):
    async def start_session(self, cpo: CpoEndpoint, command: StartSession) -> CommandResponse: ...

    async def stop_session(self, cpo: CpoEndpoint, command: StopSession) -> CommandResponse: ...


def ocpi_token_header(token: str) -> str:
    """``Authorization`` value: OCPI 2.2.1 wants the credentials token Base64-encoded."""
    return "Token " + base64.b64encode(token.encode()).decode()


def ocpi_request_headers(token: str, correlation_id: str | None = None) -> dict[str, str]:
    """What every OCPI request of ours carries: the token, a fresh ``X-Request-ID`` and the correlation id
    (the request id when the request starts a conversation)."""
    request_id = str(uuid.uuid4())
    return {
        "Authorization": ocpi_token_header(token),
        "X-Request-ID": request_id,
        "X-Correlation-ID": correlation_id or request_id,
    }


def routed_request_headers(
    cpo: CpoEndpoint, our_party: tuple[str, str], correlation_id: str | None = None
) -> dict[str, str]:
    """A request to a CPO's functional module: ``ocpi_request_headers`` with the routing headers, from our
    party (country code, party id) to the CPO."""
    return {
        **ocpi_request_headers(cpo.token, correlation_id),
        "OCPI-from-country-code": our_party[0],
        "OCPI-from-party-id": our_party[1],
        "OCPI-to-country-code": cpo.country_code,
        "OCPI-to-party-id": cpo.party_id,
    }


class OcpiCpoAdapter:
    """Sends OCPI 2.2.1 commands to a CPO's Commands receiver."""

    def __init__(self, http: httpx.AsyncClient, *, from_country_code: str, from_party_id: str) -> None:
        self._http = http
        self._from = (from_country_code, from_party_id)

    async def start_session(self, cpo: CpoEndpoint, command: StartSession) -> CommandResponse:
        return await self._send(cpo, CommandType.START_SESSION, command)

    async def stop_session(self, cpo: CpoEndpoint, command: StopSession) -> CommandResponse:
        return await self._send(cpo, CommandType.STOP_SESSION, command)

    async def _send(self, cpo: CpoEndpoint, command_type: CommandType, command: OcpiModel) -> CommandResponse:
        headers = routed_request_headers(cpo, self._from)
        try:
            reply = await self._http.post(
                cpo.commands_url + command_type.value,
                content=command.model_dump_json(exclude_none=True),
                headers={**headers, "Content-Type": "application/json"},
            )
        except httpx.HTTPError as error:
            raise CpoUnreachable(f"{command_type} to {cpo.cpo_id}: {error!r}") from error
        if reply.status_code >= 500 or reply.status_code in (408, 429):
            raise CpoUnreachable(f"{command_type} to {cpo.cpo_id}: HTTP {reply.status_code}")
        try:
            envelope = reply.json()
            status_code = int(envelope["status_code"])
        except (ValueError, KeyError, TypeError) as error:
            raise CpoProtocolError(
                f"{command_type} to {cpo.cpo_id}: HTTP {reply.status_code}, no OCPI envelope"
            ) from error
        if status_code >= 3000:
            raise CpoUnreachable(f"{command_type} to {cpo.cpo_id}: OCPI {status_code} {envelope.get('status_message')}")
        if status_code >= 2000 or reply.status_code >= 400:
            raise CpoProtocolError(
                f"{command_type} to {cpo.cpo_id}: HTTP {reply.status_code}, OCPI {status_code} "
                f"{envelope.get('status_message')}"
            )
        try:
            return CommandResponse.model_validate(envelope.get("data"))
        except ValidationError as error:
            raise CpoProtocolError(f"{command_type} to {cpo.cpo_id}: bad CommandResponse: {error}") from error
