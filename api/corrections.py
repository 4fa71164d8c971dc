"""Starting a settled session's correction workflow: once per correction, whoever asks again."""

from __future__ import annotations

import contextlib
from typing import Any

from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from messages.corrections import CorrectionRequest
from workflows import search_attributes as sa
from workflows.corrections import SettlementCorrectionWorkflow


async def start_correction(client: Client, task_queue: str, request: CorrectionRequest) -> None:
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(sa.DEMAND_PARTNER, request.demand_partner_id),
        SearchAttributePair(sa.CPO, request.cpo_id),
        SearchAttributePair(sa.CHARGER_COUNTRY, request.country),
        SearchAttributePair(sa.NEEDS_ATTENTION, False),
    ]
    what = [f"reverses settlement {request.reverses_generation}"] if request.reverses_generation is not None else []
    if request.settles_generation is not None:
        what.append(f"settles it again as settlement {request.settles_generation}")
    # Started before (and maybe finished): a repeated credit CDR or decision changes nothing.
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            SettlementCorrectionWorkflow.run,
            request,
            id=request.workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            search_attributes=TypedSearchAttributes(pairs),
            static_summary=f"Correction of session {request.session_id} ({request.cause.value})",
            static_details=f"Session `session-{request.session_id}` · {' and '.join(what)} · CDR key {request.cdr_key}",
        )
