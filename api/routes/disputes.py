"""Disputes, for operators: price discrepancies flagged at clearing, and the decisions taken on them.

``GET /v1/disputes`` lists what is open and what was decided; ``POST /v1/disputes/{session_id}`` records a
decision (who and when are the operator's key and the clock) and, when the price changes, starts the
session's correction."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Response
from starlette.concurrency import run_in_threadpool

from api.deps import ContextDep, OperatorDep
from api.disputes import Decided, DisputeRefused, decide, decisions, open_disputes
from api.schemas import DisputeDecision, DisputeDecisionIn, DisputeList, OpenDispute
from persistence.tables import DisputeRow
from services.workflow_starts import start_correction

router = APIRouter(prefix="/v1/disputes", tags=["disputes (operators)"])


def _decision(row: DisputeRow, correction_workflow_id: str | None) -> DisputeDecision:
    return DisputeDecision(
        session_id=row.session_id,
        settlement=row.generation,
        decision=row.decision,
        currency=row.currency,
        official=row.official_excl_vat,
        claimed=row.claimed_excl_vat,
        agreed=row.agreed_excl_vat,
        note=row.note,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        correction=correction_workflow_id,
    )


@router.get("", response_model=DisputeList, summary="Open price discrepancies and the latest decisions")
async def list_disputes(_: OperatorDep, context: ContextDep) -> DisputeList:
    def load() -> DisputeList:
        with context.reads() as db:
            return DisputeList(
                open=[
                    OpenDispute(
                        session_id=session.id,
                        cpo_id=session.cpo_id or "",
                        settlement=clearing.generation,
                        currency=clearing.currency,
                        official=clearing.total_excl_vat,
                        claimed=clearing.claimed_excl_vat,
                        note=str(clearing.report.get("note", "")),
                    )
                    for session, clearing in open_disputes(db)
                ],
                decided=[_decision(row, None) for row in decisions(db)],
            )

    return await run_in_threadpool(load)


@router.post(
    "/{session_id}",
    response_model=DisputeDecision,
    status_code=201,
    responses={404: {"description": "no such session"}, 409: {"description": "nothing to decide, or decided"}},
    summary="Decide a session's price discrepancy: ACCEPT the CPO's claim, REJECT it, or ADJUST to an amount",
)
async def decide_dispute(
    session_id: str, body: DisputeDecisionIn, operator: OperatorDep, context: ContextDep, response: Response
) -> DisputeDecision:
    def record() -> tuple[Decided, DisputeDecision]:
        with context.sessions.begin() as db:
            decided = decide(
                db,
                session_id,
                body.decision,
                amount=body.amount,
                note=body.note,
                operator=operator,
                now=datetime.now(UTC),
            )
            correction = None if decided.correction is None else decided.correction.workflow_id
            return decided, _decision(decided.dispute, correction)

    try:
        decided, answer = await run_in_threadpool(record)
    except DisputeRefused as refused:
        raise HTTPException(refused.status, str(refused)) from refused
    if decided.replayed:
        response.status_code = 200
    if decided.correction is not None:
        # Recorded with its correction PENDING; repeating the same decision starts it if this fails.
        await start_correction(context.temporal, context.task_queue, decided.correction)
    return answer
