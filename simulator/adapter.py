"""The simulator as an in-process ``CpoAdapter``: commands reach it directly, without HTTP."""

from __future__ import annotations

from adapters.cpo import CpoEndpoint
from messages.ocpi import CommandResponse, StartSession, StopSession
from simulator.engine import CpoSimulator


class SimulatorCpoAdapter:
    def __init__(self, simulator: CpoSimulator) -> None:
        self._simulator = simulator

    async def start_session(self, cpo: CpoEndpoint, command: StartSession) -> CommandResponse:
        return await self._simulator.start_session((cpo.country_code, cpo.party_id), command)

    async def stop_session(self, cpo: CpoEndpoint, command: StopSession) -> CommandResponse:
        return await self._simulator.stop_session((cpo.country_code, cpo.party_id), command)
