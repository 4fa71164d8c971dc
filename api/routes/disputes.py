"""Disputes, for operators: price discrepancies flagged at clearing, and the decisions taken on them.

``GET /v1/disputes`` lists what is open and what was decided; ``POST /v1/disputes/{session_id}`` records a
decision (who and when are the operator's key and the clock) and, when the price changes, starts the
session's correction (``services/disputes.py``)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Response
from starlette.concurrency import run_in_threadpool

from api.deps import ContextDep, OperatorDep
from api.responses import OPERATORS_401, refusals
from api.schemas import DisputeDecision, DisputeDecisionIn, DisputeList, OpenDispute
from persistence.disputes import DisputeRecord
from services.disputes import DisputeRefused, Ruling, decide_and_correct, disputes

router = APIRouter(prefix="/v1/disputes", tags=["disputes (operators)"])


def _decision(record: DisputeRecord, correction_workflow_id: str | None) -> DisputeDecision:
    return DisputeDecision(
        session_id=record.session_id,
        settlement=record.generation,
        decision=record.decision,
        currency=record.currency,
        official=record.official_excl_vat,
        claimed=record.claimed_excl_vat,
        agreed=record.agreed_excl_vat,
        note=record.note,
        decided_by=record.decided_by,
        decided_at=record.decided_at,
        correction=correction_workflow_id,
    )


@router.get(
    "",
    response_model=DisputeList,
    responses=refusals(401, 403, why=OPERATORS_401),
    summary="Open price discrepancies and the latest decisions",
)
async def list_disputes(_: OperatorDep, context: ContextDep) -> DisputeList:
    def load() -> DisputeList:
        with context.reads() as db:
            listed = disputes(db)
        return DisputeList(
            open=[
                OpenDispute(
                    session_id=dispute.session_id,
                    cpo_id=dispute.cpo_id or "",
                    settlement=dispute.generation,
                    currency=dispute.currency,
                    official=dispute.official_excl_vat,
                    claimed=dispute.claimed_excl_vat,
                    note=dispute.clearing_note,
                )
                for dispute in listed.open
            ],
            decided=[_decision(record, None) for record in listed.decided],
        )

    return await run_in_threadpool(load)


@router.post(
    "/{session_id}",
    response_model=DisputeDecision,
    status_code=201,
    responses={
        **refusals(
            400,
            401,
            403,
            404,
            409,
            422,
            why={
                **OPERATORS_401,
                404: "No such session",
                409: "Nothing to decide, or decided otherwise already; the detail names who decided",
                422: "The amount is refused (ADJUST: above zero, at the currency's minor unit, within the "
                "contract's maximum claim); the detail names it",
            },
        ),
        200: {"model": DisputeDecision, "description": "The same decision was recorded before: the record"},
    },
    summary="Decide a session's price discrepancy: ACCEPT the CPO's claim, REJECT it, or ADJUST to an amount",
)
async def decide_dispute(
    session_id: str, body: DisputeDecisionIn, operator: OperatorDep, context: ContextDep, response: Response
) -> DisputeDecision:
    try:
        decided = await decide_and_correct(
            context, Ruling(session_id, body.decision, body.amount, body.note, operator, datetime.now(UTC))
        )
    except DisputeRefused as refused:
        raise HTTPException(refused.status, str(refused)) from refused
    if decided.replayed:
        response.status_code = 200
    return _decision(decided.dispute, decided.correction_workflow_id)
