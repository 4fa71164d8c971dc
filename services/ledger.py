"""The books: the ledger check, account balances, and releasing credit holds past their expiry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from persistence import holds, ledger
from persistence.db import SessionFactory
from persistence.ledger_check import LedgerReport, check_ledger
from persistence.ledger_check_runs import LedgerCheckRun, latest_run


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """Positive, the party owes us (debit); negative, we owe the party (credit)."""

    account: str
    currency: str
    balance_minor: int


@dataclass(frozen=True, slots=True)
class Books:
    check: LedgerReport
    balances: list[AccountBalance]


def _balances(rows: list[tuple[str, str, int]]) -> list[AccountBalance]:
    return [AccountBalance(code, currency, balance) for code, currency, balance in rows]


def check_books(reads: SessionFactory) -> LedgerReport:
    with reads() as db:
        return check_ledger(db)


def last_check(reads: SessionFactory) -> LedgerCheckRun | None:
    """The worker's latest periodic check; None before the first."""
    with reads() as db:
        return latest_run(db)


def account_balances(reads: SessionFactory, party: str | None = None) -> list[AccountBalance]:
    """Every account's balance, or one party's (``dp:<id>``, ``cpo:<id>``, ``platform``)."""
    with reads() as db:
        return _balances(ledger.balances(db, party))


def books(reads: SessionFactory) -> Books:
    """The check and every balance, read together."""
    with reads() as db:
        return Books(check_ledger(db), _balances(ledger.balances(db)))


def expire_holds(writes: SessionFactory) -> int:
    """Release the credit holds past their expiry; how many."""
    with writes.begin() as db:
        return holds.expire_holds(db, now=datetime.now(UTC))
