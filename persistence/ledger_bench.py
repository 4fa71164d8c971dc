"""Scratch data for ``networkcore bench``'s authorisation latency: a demand partner, and a long history on its
accounts (postings on its receivable, settled holds on its credit-hold account), inserted by single
INSERT ... SELECT statements in a throw-away database only. The database's triggers run on every row as for
any booking: entries balance, kept totals and pending holds are kept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CTE, ColumnElement, Engine, Integer, String, case, cast, insert, literal, null, select, true
from sqlalchemy.orm import Session

from domain.ledger.holds import HoldState
from persistence.ledger import account_key
from persistence.tables import (
    DemandPartnerRow,
    LedgerEntryRow,
    LedgerHoldResolutionRow,
    LedgerHoldRow,
    LedgerPostingRow,
    UtcDateTime,
)


def add_partner(db: Session, partner_id: str, currency: str, *, now: datetime) -> None:
    db.add(
        DemandPartnerRow(
            id=partner_id,
            name=partner_id,
            legal_entity=partner_id,
            country="DE",
            billing_currency=currency,
            created_at=now,
        )
    )
    db.flush()


def _numbers(name: str, count: int, first: int = 1) -> tuple[CTE, ColumnElement[int]]:
    """A recursive CTE counting ``first``..``first + count - 1`` (PostgreSQL and SQLite alike), and its column."""
    numbers = select(literal(first, Integer).label("n")).cte(name, recursive=True)
    numbers = numbers.union_all(select(numbers.c.n + 1).where(numbers.c.n < first + count - 1))
    return numbers, numbers.c.n


def book_history(
    db: Session, code: str, currency: str, postings: int, *, entry_size: int = 10, prefix: str, now: datetime
) -> None:
    """``postings`` postings on the account ``code``, in entries of ``entry_size`` postings that charge and pay
    back the same amount in turn: the account's history grows, its balance stays where it was."""
    assert entry_size % 2 == 0, "a charge and its payment back, in turn"
    assert postings % entry_size == 0, "whole entries"
    account = account_key(db, code, currency)
    entries, entry = _numbers("entries", postings // entry_size)
    db.execute(
        insert(LedgerEntryRow).from_select(
            ["idempotency_key", "posting_count", "created_at"],
            select(
                literal(prefix, String) + cast(entry, String),
                literal(entry_size, Integer),
                literal(now, UtcDateTime()),
            ).select_from(entries),
        )
    )
    lines, line = _numbers("lines", entry_size, first=0)
    amount = LedgerEntryRow.key % 5000 + 100
    db.execute(
        insert(LedgerPostingRow).from_select(
            ["entry_key", "account_key", "currency", "amount_minor"],
            select(
                LedgerEntryRow.key,
                literal(account, Integer),
                literal(currency, String),
                case((line % 2 == 0, amount), else_=-amount),
            )
            .select_from(LedgerEntryRow)
            .join(lines, true())
            .where(LedgerEntryRow.idempotency_key.startswith(prefix))
            .order_by(LedgerEntryRow.key, line),
        )
    )


def settle_holds(
    db: Session, code: str, currency: str, holds: int, *, amount_minor: int, prefix: str, now: datetime
) -> None:
    """``holds`` holds on the credit-hold account ``code``, each voided at once: a long history of sessions."""
    account = account_key(db, code, currency)
    numbers, number = _numbers("holds", holds)
    db.execute(
        insert(LedgerHoldRow).from_select(
            ["idempotency_key", "session_id", "account_key", "currency", "amount_minor", "created_at", "expires_at"],
            select(
                literal(prefix, String) + cast(number, String),
                literal(prefix, String) + cast(number, String),
                literal(account, Integer),
                literal(currency, String),
                literal(amount_minor, Integer),
                literal(now, UtcDateTime()),
                literal(now, UtcDateTime()),
            ).select_from(numbers),
        )
    )
    db.execute(
        insert(LedgerHoldResolutionRow).from_select(
            ["hold_key", "state", "posted_minor", "entry_key", "resolved_at"],
            select(
                LedgerHoldRow.key,
                literal(HoldState.VOIDED.value, String),
                literal(0, Integer),
                null(),
                literal(now, UtcDateTime()),
            ).where(LedgerHoldRow.idempotency_key.startswith(prefix)),
        )
    )


def vacuum(engine: Engine) -> None:
    """PostgreSQL: what autovacuum does after a bulk load (dead index entries gone, statistics fresh), done now
    so that it does not run during the timing. SQLite keeps no statistics unless asked, nor dead rows."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")
