"""Corrections of a settled session, as the API asks for them (a credit or re-issued CDR, a dispute
decision): recorded PENDING in the caller's transaction, then their workflow started, once per correction
whoever asks again."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from messages.corrections import CorrectionCause, CorrectionRequest, CorrectionState
from persistence.tables import SessionRow, SettlementCorrectionRow
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


def new_correction(
    session: SessionRow,
    cause: CorrectionCause,
    *,
    cdr_key: int,
    reverses_generation: int | None = None,
    settles_generation: int | None = None,
) -> CorrectionRequest:
    assert session.cpo_id is not None, "a settled session knows its CPO"
    assert session.country is not None, "and its charger's country"
    return CorrectionRequest(
        session_id=session.id,
        demand_partner_id=session.demand_partner_id,
        cpo_id=session.cpo_id,
        country=session.country,
        cause=cause,
        reverses_generation=reverses_generation,
        settles_generation=settles_generation,
        cdr_key=cdr_key,
    )


def correction_request(session: SessionRow, row: SettlementCorrectionRow) -> CorrectionRequest:
    assert row.cdr_key is not None, "every correction names its CDR"
    return new_correction(
        session,
        CorrectionCause(row.cause),
        reverses_generation=row.reverses_generation,
        settles_generation=row.settles_generation,
        cdr_key=row.cdr_key,
    )


def correction_in_progress(db: Session, session_id: str) -> SettlementCorrectionRow | None:
    return db.scalar(
        select(SettlementCorrectionRow).where(
            SettlementCorrectionRow.session_id == session_id,
            SettlementCorrectionRow.state != CorrectionState.DONE.value,
        )
    )


def request_correction(db: Session, request: CorrectionRequest, *, dispute_key: int | None = None) -> CorrectionRequest:
    """Record the correction (PENDING) in the caller's transaction; the caller starts its workflow."""
    db.add(
        SettlementCorrectionRow(
            workflow_id=request.workflow_id,
            session_id=request.session_id,
            cause=request.cause.value,
            reverses_generation=request.reverses_generation,
            settles_generation=request.settles_generation,
            cdr_key=request.cdr_key,
            dispute_key=dispute_key,
            state=CorrectionState.PENDING.value,
            requested_at=datetime.now(UTC),
        )
    )
    db.flush()
    return request
