"""The workflows the doors start: a charging session (a partner's ``POST /v1/sessions``) and a correction
of a settled session (a credit or re-issued CDR, a dispute decision). Both are started at most once per
id, whoever asks again; the payout workflows are started by the payout sweep (``activities/payouts.py``).
Ids come from ``messages/workflow_ids.py``."""

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

from domain.sessions.lifecycle import SessionStage
from messages.corrections import CorrectionRequest
from messages.sessions import ChargingSessionInput
from messages.workflow_ids import session_workflow_id
from workflows import search_attributes as sa
from workflows.corrections import SettlementCorrectionWorkflow
from workflows.sessions import ChargingSessionWorkflow


def _attributes(demand_partner_id: str, cpo_id: str | None, country: str | None) -> list[SearchAttributePair[Any]]:
    pairs: list[SearchAttributePair[Any]] = [SearchAttributePair(sa.DEMAND_PARTNER, demand_partner_id)]
    if cpo_id is not None and country is not None:
        pairs += [SearchAttributePair(sa.CPO, cpo_id), SearchAttributePair(sa.CHARGER_COUNTRY, country)]
    return [*pairs, SearchAttributePair(sa.NEEDS_ATTENTION, False)]


async def start_session(
    client: Client, task_queue: str, session: ChargingSessionInput, *, cpo_id: str | None, country: str | None
) -> None:
    """The session's workflow; the CPO and country are known when the EVSE is."""
    pairs = [
        *_attributes(session.demand_partner_id, cpo_id, country),
        SearchAttributePair(sa.SESSION_STAGE, SessionStage.STARTING.value),
    ]
    # Already started (and maybe finished): the retry is answered with the same session.
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            ChargingSessionWorkflow.run,
            session,
            id=session_workflow_id(session.session_id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            # A finished session is never run again; re-processing goes through reset.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(pairs),
            static_summary=f"Session {session.session_id} · {session.demand_partner_id} · EVSE {session.evse_id}"
            + (f" · {cpo_id} ({country})" if cpo_id else ""),
        )


async def start_correction(client: Client, task_queue: str, request: CorrectionRequest) -> None:
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
            search_attributes=TypedSearchAttributes(
                _attributes(request.demand_partner_id, request.cpo_id, request.country)
            ),
            static_summary=f"Correction of session {request.session_id} ({request.cause.value})",
            static_details=f"Session `{session_workflow_id(request.session_id)}` · {' and '.join(what)}"
            f" · CDR key {request.cdr_key}",
        )
