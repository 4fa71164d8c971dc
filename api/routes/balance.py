"""GET /v1/balance: where the calling demand partner stands in the ledger, per currency."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.deps import ContextDep, DemandPartnerDep
from api.schemas import BalanceRead, CurrencyBalance
from domain.money import from_minor
from persistence.positions import partner_positions

router = APIRouter(prefix="/v1/balance", tags=["balance"])


@router.get("", response_model=BalanceRead, summary="Your balances, holds and available credit")
async def get_balance(partner: DemandPartnerDep, context: ContextDep) -> BalanceRead:
    def load() -> BalanceRead:
        now = datetime.now(UTC)
        with context.reads() as db:
            positions = partner_positions(db, partner.id, partner.billing_currency, now=now)
        return BalanceRead(
            demand_partner_id=partner.id,
            billing_currency=partner.billing_currency,
            as_of=now,
            balances=[
                CurrencyBalance(
                    currency=p.currency,
                    owed=from_minor(p.owed_minor, p.currency),
                    revenue_share=from_minor(p.share_minor, p.currency),
                    held=from_minor(p.held_minor, p.currency),
                    credit_limit=None if p.limit_minor is None else from_minor(p.limit_minor, p.currency),
                    available_credit=None if p.available_minor is None else from_minor(p.available_minor, p.currency),
                )
                for p in positions
            ],
        )

    return await run_in_threadpool(load)
