"""The simulator's OCPI 2.2.1 CPO Commands receiver (``networkcore simulator``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from adapters.cpo import ocpi_token_header
from messages.ocpi import CommandType, OcpiStatus, StartSession, StopSession, ocpi_envelope
from simulator.config import SimulatorConfig
from simulator.engine import CpoSimulator


def _envelope(status: OcpiStatus, message: str, data: Any = None, http_status: int = 200) -> JSONResponse:
    return JSONResponse(ocpi_envelope(status, message, data, timestamp=datetime.now(UTC)), status_code=http_status)


def create_app(config: SimulatorConfig) -> FastAPI:
    # Accept our token Base64-encoded (2.2.1) or raw (older peers).
    parties: dict[str, tuple[str, str]] = {}
    for cpo in config.cpos:
        party = (cpo.country_code, cpo.party_id)
        parties[ocpi_token_header(cpo.token_from_emsp)] = party
        parties[f"Token {cpo.token_from_emsp}"] = party

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=10) as http:
            app.state.simulator = CpoSimulator(config, http)
            yield
            await app.state.simulator.aclose()

    app = FastAPI(title="NetworkCore CPO simulator", lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/ocpi/cpo/2.2.1/commands/{command}")
    async def receive_command(
        command: str, request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        party = parties.get(authorization or "")
        if party is None:
            return _envelope(OcpiStatus.CLIENT_ERROR, "unknown credentials token", http_status=401)
        simulator: CpoSimulator = request.app.state.simulator
        body = await request.body()
        try:
            if command == CommandType.START_SESSION:
                response = await simulator.start_session(party, StartSession.model_validate_json(body))
            elif command == CommandType.STOP_SESSION:
                response = await simulator.stop_session(party, StopSession.model_validate_json(body))
            else:
                return _envelope(OcpiStatus.CLIENT_ERROR, f"{command} is not supported by the simulator")
        except ValidationError as error:
            return _envelope(OcpiStatus.INVALID_PARAMETERS, str(error))
        return _envelope(OcpiStatus.SUCCESS, "Success", response.model_dump(mode="json", exclude_none=True))

    return app
