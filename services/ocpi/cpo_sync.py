"""Pulling a CPO's Locations and Tariffs after it registers (ocpi-connect.md §3.2, §5): a ``CpoSyncWorkflow``
pulls each Sender list whole, and each module is imported here in one transaction, every object through
the code that handles its PUT (validated the same way, ``last_updated`` ordering included, so a push that
arrived meanwhile and is newer wins, and every object stored in the inbox with its answer).

An invalid object is refused on its own and the rest of its module is imported: one bad object of a CPO
must not keep all its chargers away (OCPI has no way to answer a pull with a refusal, so the inbox keeps
the object with its reason for ops and the CPO). A pull that fails is imported not at all."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from domain.parties import Cpo
from messages.cpo_sync import CpoSyncInput, CpoSyncResult, ModuleImport, SyncedModule
from messages.ocpi import OcpiStatus, ocpi_json
from messages.workflow_ids import cpo_sync_workflow_id
from services.ocpi import locations, tariffs
from services.ocpi.inbox import Inbox, IntakeResult, Kind
from workflows.cpo_sync import CpoSyncWorkflow

log = logging.getLogger(__name__)

KEY_MISSING = "not an object with string country_code, party_id and id"
# What a PUT that changed something is answered (Inbox.accept's default); a success saying anything else
# changed nothing: older than, or the same as, what we hold.
APPLIED_MESSAGE = "Success"


def import_pulled(db: Session, cpo: Cpo, module: SyncedModule, objects: Sequence[Any]) -> ModuleImport:
    """Every object of the module's list as a PUT of it: what was stored, refused, or older than ours."""
    stored = refused = stale = 0
    for found in objects:
        answer = _put(db, cpo, module, found)
        if answer.status != OcpiStatus.SUCCESS:
            refused += 1
        elif answer.message == APPLIED_MESSAGE:
            stored += 1
        else:
            stale += 1
    return ModuleImport(module=module, pulled=len(objects), stored=stored, refused=refused, stale=stale)


def _put(db: Session, cpo: Cpo, module: SyncedModule, found: Any) -> IntakeResult:
    # Its numbers were read as Decimal (prices never pass through a float) and are written as the CPO wrote them.
    body = ocpi_json(found).encode()
    key = _key(found)
    if module is SyncedModule.LOCATIONS:
        if key is None:
            return Inbox(db, cpo, Kind.LOCATION_PUT, "", body).reject(KEY_MISSING)
        return locations.put(db, cpo, key, body)
    if key is None:
        return Inbox(db, cpo, Kind.TARIFF_PUT, "", body).reject(KEY_MISSING)
    return tariffs.put_tariff(db, cpo, key, body)


def _key(found: Any) -> tuple[str, str, str] | None:
    """The URL a PUT of the object would have had: its country code, party id and id."""
    if not isinstance(found, dict):
        return None
    parts = (found.get("country_code"), found.get("party_id"), found.get("id"))
    if not all(isinstance(part, str) for part in parts):
        return None
    return (str(parts[0]), str(parts[1]), str(parts[2]))


async def start_cpo_sync(
    client: Client, task_queue: str, sync: CpoSyncInput
) -> WorkflowHandle[CpoSyncWorkflow, CpoSyncResult]:
    """The CPO's sync: a running one is joined, an ended one lets a new one start."""
    return await client.start_workflow(
        CpoSyncWorkflow.run,
        sync,
        id=cpo_sync_workflow_id(sync.cpo_id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        static_summary=f"Pull of {sync.cpo_id}'s Locations and Tariffs",
    )


async def start_sync_after_registration(client: Client, task_queue: str, cpo_id: str) -> None:
    """Called once the registration is committed: the CPO is registered whatever happens here."""
    try:
        await start_cpo_sync(client, task_queue, CpoSyncInput(cpo_id=cpo_id))
    except Exception:
        # Temporal away, or anything else: the registration stands; ops start the pull by hand.
        log.exception("%s registered, its pull not started: run `partners sync-cpo --cpo %s`", cpo_id, cpo_id)
