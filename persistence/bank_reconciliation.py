"""The bank account in our books against the bank's statements, per currency (``money-in.md`` §6):

book (the ledger's ``platform:bank``) = statement (the latest CLBD of each of our accounts) + in transit,

where in transit is what the books moved that no statement shows yet: payouts the rail reported paid that
no statement entry matched, and entries only a camt.054 carried so far. Also: what was matched, what
waits in suspense, and what demand partners paid (collected).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from domain.collections.matching import Outcome
from domain.collections.postings import BANK
from domain.collections.statements import STATEMENT, Direction
from domain.money import from_minor
from persistence import ledger
from persistence.tables import BankEntryRow, BankMatchRow, BankStatementFileRow, PayoutBatchRow

BOOKED = "BOOKED"
PAID = "PAID"
_MATCHED = (
    Outcome.PAYOUT.value,
    Outcome.PAYOUT_RETURN.value,
    Outcome.PARTNER.value,
    Outcome.ASSIGNED.value,
    Outcome.COLLECTION.value,
    Outcome.COLLECTION_RETURN.value,
)
_COLLECTED = (Outcome.PARTNER.value, Outcome.ASSIGNED.value, Outcome.COLLECTION.value)


@dataclass(frozen=True, slots=True)
class CurrencyReconciliation:
    currency: str
    book_minor: int
    statement_minor: int | None  # None: no statement of this currency yet
    in_transit_minor: int
    matched_minor: int
    unmatched_minor: int
    collected_minor: int

    @property
    def agrees(self) -> bool:
        return self.statement_minor is None or self.book_minor == self.statement_minor + self.in_transit_minor

    def as_json(self) -> dict[str, str | None]:
        def money(minor: int | None) -> str | None:
            return None if minor is None else str(from_minor(minor, self.currency))

        return {
            "book_balance": money(self.book_minor),
            "statement_balance": money(self.statement_minor),
            "in_transit": money(self.in_transit_minor),
            "matched": money(self.matched_minor),
            "unmatched": money(self.unmatched_minor),
        }


@dataclass(frozen=True, slots=True)
class Reconciliation:
    currencies: dict[str, CurrencyReconciliation]
    statements_imported: int

    def as_json(self) -> dict[str, object]:
        return {
            "currencies": {c: r.as_json() for c, r in sorted(self.currencies.items())},
            "statements_imported": self.statements_imported,
            "collected": {c: str(from_minor(r.collected_minor, c)) for c, r in sorted(self.currencies.items())},
        }


def _statement_balances(db: Session) -> dict[str, int]:
    """The latest booked CLBD of each of our accounts, summed per currency."""
    latest: dict[str, tuple[str, int]] = {}
    rows = db.execute(
        select(BankStatementFileRow.iban, BankStatementFileRow.currency, BankStatementFileRow.closing_minor)
        .where(BankStatementFileRow.kind == STATEMENT, BankStatementFileRow.state == BOOKED)
        .order_by(
            BankStatementFileRow.closing_date,
            BankStatementFileRow.sequence_number,
            BankStatementFileRow.key,
        )
    )
    for iban, currency, closing in rows:
        if iban is not None and currency is not None and closing is not None:
            latest[iban] = (currency, closing)
    totals: dict[str, int] = defaultdict(int)
    for currency, closing in latest.values():
        totals[currency] += closing
    return dict(totals)


def _in_transit(db: Session) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    seen = aliased(BankMatchRow)
    unseen_payouts = db.execute(
        select(PayoutBatchRow.currency, func.sum(PayoutBatchRow.amount_minor))
        .outerjoin(seen, (seen.payout_message_id == PayoutBatchRow.message_id) & (seen.outcome == Outcome.PAYOUT.value))
        .where(PayoutBatchRow.state == PAID, seen.key.is_(None))
        .group_by(PayoutBatchRow.currency)
    )
    for currency, total in unseen_payouts:
        totals[currency] -= int(total)
    only_notified = db.execute(
        select(BankEntryRow.currency, BankEntryRow.direction, func.sum(BankEntryRow.amount_minor))
        .where(BankEntryRow.statement_file_key.is_(None))
        .group_by(BankEntryRow.currency, BankEntryRow.direction)
    )
    for currency, direction, total in only_notified:
        totals[currency] += int(total) if direction == Direction.CREDIT.value else -int(total)
    return dict(totals)


def _match_totals(db: Session, outcomes: tuple[str, ...]) -> dict[str, int]:
    rows = db.execute(
        select(BankEntryRow.currency, func.sum(BankMatchRow.amount_minor))
        .join(BankEntryRow, BankEntryRow.key == BankMatchRow.entry_key)
        .where(BankMatchRow.outcome.in_(outcomes))
        .group_by(BankEntryRow.currency)
    )
    return {currency: int(total) for currency, total in rows}


def reconcile(db: Session) -> Reconciliation:
    statements = _statement_balances(db)
    in_transit = _in_transit(db)
    matched = _match_totals(db, _MATCHED)
    suspense = _match_totals(db, (Outcome.SUSPENSE.value,))
    assigned = _match_totals(db, (Outcome.ASSIGNED.value,))
    collected = _match_totals(db, _COLLECTED)
    for currency, taken_back in _match_totals(db, (Outcome.COLLECTION_RETURN.value,)).items():
        collected[currency] = collected.get(currency, 0) - taken_back  # direct debits returned
    currencies = sorted(
        set(statements) | set(matched) | set(suspense) | set(db.scalars(select(BankEntryRow.currency).distinct()))
    )
    imported = int(
        db.scalar(select(func.count()).select_from(BankStatementFileRow).where(BankStatementFileRow.state == BOOKED))
        or 0
    )
    return Reconciliation(
        {
            c: CurrencyReconciliation(
                currency=c,
                book_minor=ledger.account_balance(db, BANK, c),
                statement_minor=statements.get(c),
                in_transit_minor=in_transit.get(c, 0),
                matched_minor=matched.get(c, 0),
                unmatched_minor=suspense.get(c, 0) - assigned.get(c, 0),
                collected_minor=collected.get(c, 0),
            )
            for c in currencies
        },
        imported,
    )


def reconciliation_problems(db: Session) -> list[str]:
    """Every currency with a statement whose book balance is not the statement's plus what is in transit."""
    return [
        f"bank {r.currency}: book {from_minor(r.book_minor, r.currency)} != statement "
        f"{from_minor(r.statement_minor or 0, r.currency)} + in transit {from_minor(r.in_transit_minor, r.currency)}"
        for r in reconcile(db).currencies.values()
        if not r.agrees
    ]
