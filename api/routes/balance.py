"""GET /v1/balance: where the calling demand partner stands in the ledger, per currency."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.deps import ContextDep, DemandPartnerDep
from api.responses import refusals
from api.schemas import BalanceRead, CurrencyBalance, OverdueRead
from domain.money import from_minor
from services.balances import partner_balance

router = APIRouter(prefix="/v1/balance", tags=["balance"])


@router.get(
    "", response_model=BalanceRead, responses=refusals(401), summary="Your balances, holds and available credit"
)
async def get_balance(partner: DemandPartnerDep, context: ContextDep) -> BalanceRead:
    balance = await run_in_threadpool(partner_balance, context.reads, partner)
    return BalanceRead(
        demand_partner_id=partner.id,
        billing_currency=partner.billing_currency,
        as_of=balance.as_of,
        balances=[
            CurrencyBalance(
                currency=p.currency,
                owed=from_minor(p.owed_minor, p.currency),
                revenue_share=from_minor(p.share_minor, p.currency),
                held=from_minor(p.held_minor, p.currency),
                credit_limit=None if p.limit_minor is None else from_minor(p.limit_minor, p.currency),
                available_credit=None if p.available_minor is None else from_minor(p.available_minor, p.currency),
            )
            for p in balance.positions
        ],
        overdue=[
            OverdueRead(currency=currency, amount=from_minor(amount, currency), oldest_due_date=oldest)
            for currency, (amount, oldest) in sorted(balance.overdue.by_currency.items())
        ],
        new_sessions_blocked=balance.overdue.blocked,
    )
