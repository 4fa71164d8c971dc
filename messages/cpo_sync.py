"""What a CPO's sync workflow takes and gives: the CPO, and per module what its pull brought in."""

from __future__ import annotations

from enum import StrEnum

from messages.sessions import Payload


class SyncedModule(StrEnum):
    """The CPO's Sender lists we pull, in this order (OCPI module identifiers)."""

    LOCATIONS = "locations"
    TARIFFS = "tariffs"


class CpoSyncInput(Payload):
    cpo_id: str
    # How often one module's pull is tried before the sync reports it failed; an input so tests can shorten it.
    pull_attempts: int = 4


class ModulePull(Payload):
    cpo_id: str
    module: SyncedModule


class ModuleImport(Payload):
    """One module's pull: how many objects the CPO's list had, and what became of them."""

    module: SyncedModule
    offered: bool = True  # False: the CPO has no Sender interface for it, nothing was asked
    pulled: int = 0
    stored: int = 0  # applied, as a PUT of it would be
    refused: int = 0  # invalid: stored in the inbox with the reason, the rest imported
    stale: int = 0  # older than (or the same as) what we hold, e.g. a push that came in meanwhile
    failure: str | None = None  # the pull failed after every attempt: nothing of the module imported


class CpoSyncResult(Payload):
    cpo_id: str
    modules: list[ModuleImport]

    @property
    def failed(self) -> bool:
        return any(module.failure is not None for module in self.modules)
