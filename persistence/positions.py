"""Where a demand partner stands, per currency: what it owes, what it is owed, what its holds reserve,
and how much credit is left under its contract in force."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.ledger import accounts
from domain.ledger.accounts import AccountCode, AccountKind
from domain.ledger.holds import limit_minor
from domain.sessions.authorisation import in_force
from domain.settlement.contracts import ContractTermsInvalid, credit_terms
from persistence import ledger, repositories
from persistence.tables import ContractRow, LedgerAccountRow, LedgerPendingHoldRow


@dataclass(frozen=True, slots=True)
class PartnerPosition:
    currency: str
    owed_minor: int  # receivable: the partner owes us
    share_minor: int  # revenue share payable: we owe the partner
    held_minor: int  # reserved by pending credit holds
    limit_minor: int | None  # the contract's credit limit, in the billing currency only

    @property
    def available_minor(self) -> int | None:
        return None if self.limit_minor is None else self.limit_minor - self.owed_minor - self.held_minor


def partner_positions(db: Session, partner_id: str, billing_currency: str, *, now: datetime) -> list[PartnerPosition]:
    amounts: dict[tuple[str, AccountKind], int] = {}
    for code, currency, balance in ledger.balances(db, f"dp:{partner_id}"):
        amounts[(currency, AccountCode.parse(code).kind)] = balance
    hold_code = accounts.demand_partner(partner_id, AccountKind.CREDIT_HOLD)
    held = dict(
        db.execute(
            select(LedgerAccountRow.currency, func.sum(LedgerPendingHoldRow.amount_minor))
            .join(LedgerAccountRow, LedgerAccountRow.key == LedgerPendingHoldRow.account_key)
            .where(LedgerAccountRow.code == hold_code, LedgerPendingHoldRow.expires_at > now)
            .group_by(LedgerAccountRow.currency)
        ).all()
    )
    limit = _credit_limit_minor(db, partner_id, billing_currency, now)
    currencies = sorted({currency for currency, _ in amounts} | set(held) | {billing_currency})
    return [
        PartnerPosition(
            currency=currency,
            owed_minor=amounts.get((currency, AccountKind.RECEIVABLE), 0),
            share_minor=-amounts.get((currency, AccountKind.REVENUE_SHARE_PAYABLE), 0),
            held_minor=int(held.get(currency, 0)),
            limit_minor=limit if currency == billing_currency else None,
        )
        for currency in currencies
    ]


def _credit_limit_minor(db: Session, partner_id: str, currency: str, now: datetime) -> int | None:
    contract = in_force(repositories.contract_versions(db, "DEMAND_PARTNER", partner_id), now)
    if contract is None:
        return None
    try:
        limit = credit_terms(db.get_one(ContractRow, contract.key).terms).limit
    except ContractTermsInvalid:
        return None
    return limit_minor(limit, currency)
