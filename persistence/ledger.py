"""Booking journal entries: idempotent by key, balanced by construction and again by the database."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, bindparam, case, func, insert, select, tuple_
from sqlalchemy.orm import Session

from domain.ledger.entries import JournalEntry
from persistence.db import copy_rows, dialect_insert, insert_new, is_postgresql
from persistence.tables import LedgerAccountRow, LedgerAccountTotalRow, LedgerEntryRow, LedgerPostingRow


class IdempotencyConflict(Exception):
    """The idempotency key was already used for different postings: a bug upstream, never retried away."""


# Built once: every authorisation and every booking looks its accounts up.
_ACCOUNTS = select(LedgerAccountRow.code, LedgerAccountRow.currency, LedgerAccountRow.key).where(
    tuple_(LedgerAccountRow.code, LedgerAccountRow.currency).in_(bindparam("pairs", expanding=True))
)


def account_keys(db: Session, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The accounts of (code, currency) pairs, opened on first use (concurrent openers agree on one)."""
    wanted = set(wanted)
    found = _existing_accounts(db, wanted)
    missing = sorted(wanted - found.keys())
    if missing:  # a running ledger has its accounts: most batches find them all and write nothing
        rows = [{"code": code, "currency": currency} for code, currency in missing]
        db.execute(dialect_insert(db, LedgerAccountRow).on_conflict_do_nothing(), rows)
        found |= _existing_accounts(db, missing)
    return found


def _existing_accounts(db: Session, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    pairs = sorted(wanted)
    if not pairs:
        return {}
    return {(code, currency): key for code, currency, key in db.execute(_ACCOUNTS, {"pairs": pairs})}


def account_key(db: Session, code: str, currency: str) -> int:
    """The account of ``code`` in ``currency``, opened on first use."""
    return account_keys(db, [(code, currency)])[(code, currency)]


def _postings_of(db: Session, entry_keys: Iterable[int]) -> dict[int, list[tuple[str, str, int]]]:
    rows = db.execute(
        select(
            LedgerPostingRow.entry_key, LedgerAccountRow.code, LedgerPostingRow.currency, LedgerPostingRow.amount_minor
        )
        .join(LedgerAccountRow, LedgerAccountRow.key == LedgerPostingRow.account_key)
        .where(LedgerPostingRow.entry_key.in_(list(entry_keys)))
    ).all()
    postings: dict[int, list[tuple[str, str, int]]] = {}
    for entry_key, code, currency, amount in rows:
        postings.setdefault(entry_key, []).append((code, currency, amount))
    return {key: sorted(found) for key, found in postings.items()}


def _wanted(entry: JournalEntry) -> list[tuple[str, str, int]]:
    return sorted((p.account, p.currency, p.amount_minor) for p in entry.postings)


def post_batch(db: Session, entries: Sequence[JournalEntry], *, now: datetime) -> list[tuple[int, bool]]:
    """Book ``entries`` in the caller's transaction, in a handful of statements whatever their number.
    Returns (entry key, whether it was booked now) per entry: an idempotency key already booked returns
    that entry and books nothing; booked with other postings, it raises ``IdempotencyConflict``. A
    concurrent writer of the same key waits on the unique index and then finds it booked."""
    if not entries:
        return []
    assert len({e.key for e in entries}) == len(entries), "one entry per idempotency key in a batch"
    accounts = account_keys(db, ((p.account, p.currency) for e in entries for p in e.postings))
    # executemany with RETURNING: one cached statement, sent as multi-row INSERTs by SQLAlchemy.
    inserted = insert_new(
        db,
        LedgerEntryRow,
        [{"idempotency_key": e.key, "posting_count": len(e.postings), "created_at": now} for e in entries],
        unique="idempotency_key",
        returning=("idempotency_key", "key"),
    )
    new: dict[str, int] = dict(inserted)
    _insert_postings(
        db,
        [
            (new[e.key], accounts[(p.account, p.currency)], p.currency, p.amount_minor)
            for e in entries
            if e.key in new
            for p in e.postings
        ],
    )
    already = [e.key for e in entries if e.key not in new]
    existing = dict(
        db.execute(
            select(LedgerEntryRow.idempotency_key, LedgerEntryRow.key).where(
                LedgerEntryRow.idempotency_key.in_(already)
            )
        ).all()
        if already
        else []
    )
    booked = _postings_of(db, existing.values()) if existing else {}
    for entry in entries:
        if entry.key not in new and booked.get(existing[entry.key]) != _wanted(entry):
            raise IdempotencyConflict(f"{entry.key} was booked with other postings")
    return [(new[e.key], True) if e.key in new else (existing[e.key], False) for e in entries]


def _insert_postings(db: Session, rows: list[tuple[int, int, str, int]]) -> None:
    if not rows:
        return
    if is_postgresql(db):
        copy_rows(db, "ledger_postings", ("entry_key", "account_key", "currency", "amount_minor"), rows)
        return
    db.execute(
        insert(LedgerPostingRow),
        [{"entry_key": e, "account_key": a, "currency": c, "amount_minor": m} for e, a, c, m in rows],
    )


def post(db: Session, entry: JournalEntry, *, now: datetime) -> tuple[int, bool]:
    """Book one entry (see ``post_batch``)."""
    return post_batch(db, [entry], now=now)[0]


def _kept_balance() -> ColumnElement[int]:
    """An account's balance from its kept total rows (see ``LedgerAccountTotalRow``)."""
    return func.coalesce(func.sum(LedgerAccountTotalRow.debits_minor - LedgerAccountTotalRow.credits_minor), 0)


# Built once: every authorisation reads the partner's balance.
_BALANCE = (
    select(_kept_balance())
    .join(LedgerAccountRow, LedgerAccountRow.key == LedgerAccountTotalRow.account_key)
    .where(LedgerAccountRow.code == bindparam("code"), LedgerAccountRow.currency == bindparam("currency"))
)


def account_balance(db: Session, code: str, currency: str) -> int:
    """The account's debits less its credits, read from its few kept total rows whatever its history."""
    return int(db.scalar(_BALANCE, {"code": code, "currency": currency}) or 0)


def currency_totals(db: Session) -> dict[str, int]:
    """Every currency's accounts summed over the whole ledger: all zero when the books balance."""
    rows = db.execute(
        select(LedgerAccountRow.currency, _kept_balance())
        .join(LedgerAccountTotalRow, LedgerAccountTotalRow.account_key == LedgerAccountRow.key)
        .group_by(LedgerAccountRow.currency)
    ).all()
    return {currency: int(total) for currency, total in rows}


def balances(db: Session, party: str | None = None) -> list[tuple[str, str, int]]:
    """(account code, currency, balance) of every account with postings, or of one party's (``dp:<id>``)."""
    query = (
        select(LedgerAccountRow.code, LedgerAccountRow.currency, _kept_balance())
        .join(LedgerAccountTotalRow, LedgerAccountTotalRow.account_key == LedgerAccountRow.key)
        .group_by(LedgerAccountRow.code, LedgerAccountRow.currency)
        .order_by(LedgerAccountRow.code, LedgerAccountRow.currency)
    )
    if party is not None:
        query = query.where(LedgerAccountRow.code.startswith(f"{party}:", autoescape=True))
    return [(code, currency, int(total)) for code, currency, total in db.execute(query)]


def kept_total_problems(db: Session) -> list[str]:
    """Accounts whose kept debits or credits differ from the sums of their postings: none, if the triggers held.
    Reads every posting: for ``ledger check``, never on a hot path."""
    positive = case((LedgerPostingRow.amount_minor > 0, LedgerPostingRow.amount_minor), else_=0)
    negative = case((LedgerPostingRow.amount_minor < 0, -LedgerPostingRow.amount_minor), else_=0)
    posted = {
        account: (int(debits), int(credits))
        for account, debits, credits in db.execute(
            select(LedgerPostingRow.account_key, func.sum(positive), func.sum(negative)).group_by(
                LedgerPostingRow.account_key
            )
        )
    }
    kept = {
        account: (int(debits), int(credits))
        for account, debits, credits in db.execute(
            select(
                LedgerAccountTotalRow.account_key,
                func.sum(LedgerAccountTotalRow.debits_minor),
                func.sum(LedgerAccountTotalRow.credits_minor),
            ).group_by(LedgerAccountTotalRow.account_key)
        )
    }
    nothing = (0, 0)
    wrong = sorted(a for a in posted.keys() | kept.keys() if posted.get(a, nothing) != kept.get(a, nothing))
    if not wrong:
        return []
    names = dict(
        db.execute(
            select(LedgerAccountRow.key, LedgerAccountRow.code + " " + LedgerAccountRow.currency).where(
                LedgerAccountRow.key.in_(wrong)
            )
        ).all()
    )
    problems = []
    for account in wrong:
        (kept_debits, kept_credits), (debits, credits) = kept.get(account, nothing), posted.get(account, nothing)
        problems.append(
            f"account {names[account]}: kept totals debits {kept_debits}, credits {kept_credits}; "
            f"its postings sum to debits {debits}, credits {credits}"
        )
    return problems


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
    return None if entry is None else _postings_of(db, [entry]).get(entry, [])


def entry_count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(LedgerEntryRow)) or 0)
