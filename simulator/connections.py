"""The simulated CPOs' OCPI credentials, as a CPO's back end keeps them: per CPO the token B it gave the
eMSP (the eMSP calls it with B), the token C the eMSP gave it (it calls the eMSP with C), the eMSP's
versions list, its party and its 2.2.1 endpoints. Kept in a JSON file when one is configured (the dev
stack's restarts need them), in memory otherwise."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, TypeAdapter

from messages.ocpi_credentials import Endpoint


class NotConnected(Exception):
    """The CPO has no working connection to the eMSP (never registered, or it lacks the module)."""


class EmspConnection(BaseModel):
    token_b: str  # what the eMSP calls us with
    versions_url: str  # the eMSP's versions list
    token_c: str | None = None  # what we call the eMSP with; None while registering
    # While a credentials PUT of ours waits for its answer, the eMSP may still call with the B it replaces.
    replaced_token_b: str | None = None
    emsp_country_code: str = ""
    emsp_party_id: str = ""
    endpoints: list[Endpoint] = []

    def receiver(self, module: str) -> str:
        """The URL of the eMSP's interface for ``module`` that we push to."""
        return endpoint_url(self.endpoints, module, "RECEIVER")


def endpoint_url(endpoints: list[Endpoint], module: str, role: str | None = None) -> str:
    """The URL of the module's interface (in ``role``, or either), without a trailing slash."""
    for endpoint in endpoints:
        if endpoint.identifier == module and role in (None, endpoint.role):
            return endpoint.url.rstrip("/")
    raise NotConnected(f"the eMSP lists no {module} {role or 'interface'}")


_CONNECTIONS = TypeAdapter(dict[str, EmspConnection])


class ConnectionStore:
    """Connections by the CPO's party (``de-stn``)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._connections: dict[str, EmspConnection] = {}
        if path is not None and path.exists():
            self._connections = _CONNECTIONS.validate_json(path.read_bytes())

    def get(self, party: str) -> EmspConnection | None:
        return self._connections.get(party)

    def registered(self, party: str) -> EmspConnection:
        connection = self.registered_or_none(party)
        if connection is None:
            raise NotConnected(f"{party} is not registered with the eMSP")
        return connection

    def registered_or_none(self, party: str) -> EmspConnection | None:
        connection = self._connections.get(party)
        return connection if connection is not None and connection.token_c is not None else None

    def party_of_token(self, token: str) -> str | None:
        """The CPO whose token B this is."""
        return next((party for party, c in self._connections.items() if token in (c.token_b, c.replaced_token_b)), None)

    def put(self, party: str, connection: EmspConnection | None) -> None:
        if connection is None:
            self._connections.pop(party, None)
        else:
            self._connections[party] = connection
        if self._path is not None:
            # Whole or not at all: a crash while writing must not lose every CPO's tokens.
            written = self._path.with_suffix(".tmp")
            written.write_bytes(_CONNECTIONS.dump_json(self._connections, indent=2))
            os.replace(written, self._path)
