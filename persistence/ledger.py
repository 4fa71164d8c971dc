"""Booking journal entries: idempotent by key, balanced by construction and again by the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.ledger.entries import JournalEntry
from persistence.tables import LedgerAccountRow, LedgerEntryRow, LedgerPostingRow


class IdempotencyConflict(Exception):
    """The idempotency key was already used for different postings: a bug upstream, never retried away."""


def account_key(db: Session, code: str, currency: str) -> int:
    """The account of ``code`` in ``currency``, opened on first use."""
    found = db.scalar(
        select(LedgerAccountRow.key).where(LedgerAccountRow.code == code, LedgerAccountRow.currency == currency)
    )
    if found is not None:
        return found
    try:
        with db.begin_nested():
            row = LedgerAccountRow(code=code, currency=currency)
            db.add(row)
        return row.key
    except IntegrityError:  # another writer created it first
        return db.scalars(
            select(LedgerAccountRow.key).where(LedgerAccountRow.code == code, LedgerAccountRow.currency == currency)
        ).one()


def _postings_of(db: Session, entry_key: int) -> list[tuple[str, str, int]]:
    rows = db.execute(
        select(LedgerAccountRow.code, LedgerPostingRow.currency, LedgerPostingRow.amount_minor)
        .join(LedgerAccountRow, LedgerAccountRow.key == LedgerPostingRow.account_key)
        .where(LedgerPostingRow.entry_key == entry_key)
    ).all()
    return sorted((code, currency, amount) for code, currency, amount in rows)


def post(db: Session, entry: JournalEntry, *, now: datetime) -> tuple[int, bool]:
    """Book ``entry`` in the caller's transaction. Returns (entry key, whether it was booked now): the same
    idempotency key again returns the entry already booked, and never books twice."""
    existing = db.scalar(select(LedgerEntryRow.key).where(LedgerEntryRow.idempotency_key == entry.key))
    wanted = sorted((p.account, p.currency, p.amount_minor) for p in entry.postings)
    if existing is None:
        try:
            with db.begin_nested():
                row = LedgerEntryRow(idempotency_key=entry.key, posting_count=len(entry.postings), created_at=now)
                db.add(row)
                db.flush()
                db.execute(
                    insert(LedgerPostingRow),
                    [
                        {
                            "entry_key": row.key,
                            "account_key": account_key(db, p.account, p.currency),
                            "currency": p.currency,
                            "amount_minor": p.amount_minor,
                        }
                        for p in entry.postings
                    ],
                )
            return row.key, True
        except IntegrityError:
            existing = db.scalar(select(LedgerEntryRow.key).where(LedgerEntryRow.idempotency_key == entry.key))
            if existing is None:
                raise
    if _postings_of(db, existing) != wanted:
        raise IdempotencyConflict(f"{entry.key} was booked with other postings")
    return existing, False


def account_balance(db: Session, code: str, currency: str) -> int:
    return int(
        db.scalar(
            select(func.coalesce(func.sum(LedgerPostingRow.amount_minor), 0))
            .join(LedgerAccountRow, LedgerAccountRow.key == LedgerPostingRow.account_key)
            .where(LedgerAccountRow.code == code, LedgerAccountRow.currency == currency)
        )
        or 0
    )


def currency_totals(db: Session) -> dict[str, int]:
    """Every currency's postings summed over the whole ledger: all zero when the books balance."""
    rows = db.execute(
        select(LedgerPostingRow.currency, func.sum(LedgerPostingRow.amount_minor)).group_by(LedgerPostingRow.currency)
    ).all()
    return {currency: int(total) for currency, total in rows}


def balances(db: Session, party: str | None = None) -> list[tuple[str, str, int]]:
    """(account code, currency, balance) of every account with postings, or of one party's (``dp:<id>``)."""
    query = (
        select(LedgerAccountRow.code, LedgerAccountRow.currency, func.sum(LedgerPostingRow.amount_minor))
        .join(LedgerPostingRow, LedgerPostingRow.account_key == LedgerAccountRow.key)
        .group_by(LedgerAccountRow.code, LedgerAccountRow.currency)
        .order_by(LedgerAccountRow.code, LedgerAccountRow.currency)
    )
    if party is not None:
        query = query.where(LedgerAccountRow.code.startswith(f"{party}:", autoescape=True))
    return [(code, currency, int(total)) for code, currency, total in db.execute(query)]


def unbalanced_entries(db: Session) -> list[tuple[str, str, int]]:
    """(idempotency key, currency, sum) of every entry that does not balance: none, if the triggers held."""
    rows = db.execute(
        select(LedgerEntryRow.idempotency_key, LedgerPostingRow.currency, func.sum(LedgerPostingRow.amount_minor))
        .join(LedgerPostingRow, LedgerPostingRow.entry_key == LedgerEntryRow.key)
        .group_by(LedgerEntryRow.idempotency_key, LedgerPostingRow.currency)
        .having(func.sum(LedgerPostingRow.amount_minor) != 0)
    ).all()
    return [(key, currency, int(total)) for key, currency, total in rows]


def entry_postings(db: Session, idempotency_key: str) -> list[tuple[str, str, int]] | None:
    """The (account code, currency, amount) postings of the entry booked under the key, or None."""
    entry = db.scalar(select(LedgerEntryRow.key).where(LedgerEntryRow.idempotency_key == idempotency_key))
    return None if entry is None else _postings_of(db, entry)


def entry_count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(LedgerEntryRow)) or 0)
