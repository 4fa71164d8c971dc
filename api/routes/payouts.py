"""GET /v1/payouts: the calling demand partner's payouts (its revenue share, netted against what it owes),
newest first, and where it stands per currency, with what of its payable waits for funds and why."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.deps import ContextDep, DemandPartnerDep
from api.responses import refusals
from api.schemas import PayoutList, PayoutPosition, PayoutSummary, PayoutWaiting
from domain.money import from_minor
from services.payouts import partner_payouts

router = APIRouter(prefix="/v1/payouts", tags=["payouts"])


@router.get(
    "",
    response_model=PayoutList,
    responses=refusals(401),
    summary="Your payouts, newest first, and your position per currency",
)
async def list_payouts(partner: DemandPartnerDep, context: ContextDep) -> PayoutList:
    found = await run_in_threadpool(partner_payouts, context.reads, partner.id, floors=context.bank_floors)
    return PayoutList(
        payouts=[
            PayoutSummary(
                id=b.message_id,
                currency=b.currency,
                amount=from_minor(b.amount_minor, b.currency),
                netted=from_minor(b.netted_minor, b.currency),
                state=b.state,
                reason=b.reason,
                sessions=b.sessions,
                iban=b.iban,
                created_at=b.created_at,
                settled_at=b.settled_at,
            )
            for b in found.batches
        ],
        positions=[
            PayoutPosition(
                currency=p.currency,
                earned=from_minor(p.earned_minor, p.currency),
                netted=from_minor(p.netted_minor, p.currency),
                paid=from_minor(p.paid_minor, p.currency),
                in_transit=from_minor(p.pending_minor, p.currency),
                payable=from_minor(p.payable_minor, p.currency),
                waiting=[
                    PayoutWaiting(reason=reason.value, amount=from_minor(amount, p.currency))
                    for reason, amount in sorted(found.waiting_of(p).items())
                ],
            )
            for p in found.positions
        ],
    )
