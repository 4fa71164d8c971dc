"""Pulling one of a CPO's Sender lists (Locations or Tariffs) and importing it: the pull is whole or an
error (``adapters/ocpi_pages.py``), the import one transaction, so a module is imported entirely or not at
all. A pull that fails is a technical fault, retried by the workflow's policy; a CPO that is not registered
is a non-retryable refusal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from adapters.cpo import CpoEndpoint
from adapters.ocpi_pages import pulled_objects
from adapters.token_cipher import TokenCipher
from domain.parties import Cpo
from messages.cpo_sync import ModuleImport, ModulePull, SyncedModule
from persistence import ocpi_connections as connections
from persistence.parties import as_cpo
from persistence.tables import CpoRow, OcpiEndpointRow

CPO_NOT_REGISTERED = "CpoNotRegistered"
# How a pulled list is stored: services/ocpi/cpo_sync.py's import_pulled, injected by the worker (the
# service layer sits above the activities).
PulledImport = Callable[[Session, Cpo, SyncedModule, Sequence[Any]], ModuleImport]


class CpoSyncActivities:
    def __init__(
        self,
        writes: sessionmaker[Session],
        http: httpx.AsyncClient,
        *,
        our_party: tuple[str, str],
        import_pulled: PulledImport,
        token_cipher: TokenCipher,
    ) -> None:
        self._writes = writes
        self._http = http
        self._our_party = our_party
        self._import_pulled = import_pulled
        self._token_cipher = token_cipher

    @activity.defn
    async def pull_module(self, pull: ModulePull) -> ModuleImport:
        """The CPO's list of the module, every page, imported in one transaction; nothing asked when the
        CPO offers no Sender interface for it."""
        source = await asyncio.to_thread(self._sender, pull)
        if source is None:
            return ModuleImport(module=pull.module, offered=False)
        endpoint, list_url = source
        objects = [found async for found in pulled_objects(self._http, endpoint, list_url, self._our_party)]
        return await asyncio.to_thread(self._import, pull, objects)

    def _sender(self, pull: ModulePull) -> tuple[CpoEndpoint, str] | None:
        """How to reach the CPO, and its Sender list of the module, from its registration."""
        with self._writes() as db:
            cpo = db.get_one(CpoRow, pull.cpo_id)
            connection = connections.connection_of(db, cpo.id)
            if connection is None or connection.state != connections.ConnectionState.REGISTERED:
                raise ApplicationError(f"{cpo.id} is not registered", type=CPO_NOT_REGISTERED, non_retryable=True)
            list_url = db.scalars(
                select(OcpiEndpointRow.url).where(
                    OcpiEndpointRow.connection_key == connection.key,
                    OcpiEndpointRow.identifier == pull.module.value,
                    OcpiEndpointRow.role == "SENDER",
                )
            ).first()
            if list_url is None:
                return None
            # The token is revealed for this activity's own calls; it is never part of its result.
            token = self._token_cipher.reveal(cpo.outbound_token)
            return CpoEndpoint(cpo.id, cpo.country_code, cpo.party_id, cpo.commands_url, token), list_url

    def _import(self, pull: ModulePull, objects: Sequence[Any]) -> ModuleImport:
        with self._writes.begin() as db:
            cpo = as_cpo(db.get_one(CpoRow, pull.cpo_id))
            return self._import_pulled(db, cpo, pull.module, objects)
