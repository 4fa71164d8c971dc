"""The ledger on both databases: balanced or refused, booked once per idempotency key, never changed."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from domain.ledger.entries import JournalEntry, Posting
from persistence import ledger
from persistence.tables import LedgerAccountRow, LedgerEntryRow, LedgerPostingRow

NOW = datetime(2026, 6, 1, tzinfo=UTC)


# Not a demo CPO: the e2e stack shares this database, and its payout checks reconcile the demo CPOs' payables.
LEDGER_TEST_CPO = "cpo-xx-ldg"


def capture(key: str, amount: int = 1250, cpo: str = LEDGER_TEST_CPO) -> JournalEntry:
    return JournalEntry(
        key,
        (
            Posting("dp:dp-roamly:receivable", "EUR", amount),
            Posting(f"cpo:{cpo}:payable", "EUR", -(amount - 100)),
            Posting("platform:commission", "EUR", -100),
        ),
    )


def test_an_entry_is_booked_once_per_idempotency_key(writes: sessionmaker[Session]) -> None:
    key = f"session-{uuid.uuid4()}:revenue-share"
    with writes.begin() as db:
        first, booked = ledger.post(db, capture(key), now=NOW)
        assert booked
    with writes.begin() as db:
        again, booked_again = ledger.post(db, capture(key), now=NOW)
    assert (again, booked_again) == (first, False)
    with writes() as db:
        assert all(total == 0 for total in ledger.currency_totals(db).values())
    with writes.begin() as db, pytest.raises(ledger.IdempotencyConflict):
        ledger.post(db, capture(key, amount=9999), now=NOW)


def test_the_database_refuses_an_unbalanced_entry_at_commit(writes: sessionmaker[Session]) -> None:
    def book_unbalanced() -> None:
        with writes.begin() as db:
            account = LedgerAccountRow(code=f"probe-{uuid.uuid4()}", currency="EUR")
            entry = LedgerEntryRow(idempotency_key=f"raw-{uuid.uuid4()}", posting_count=2, created_at=NOW)
            db.add_all([account, entry])
            db.flush()
            db.execute(
                insert(LedgerPostingRow),
                [
                    {"entry_key": entry.key, "account_key": account.key, "currency": "EUR", "amount_minor": 100},
                    {"entry_key": entry.key, "account_key": account.key, "currency": "EUR", "amount_minor": -99},
                ],
            )

    with pytest.raises(DatabaseError, match="does not balance"):
        book_unbalanced()
    with writes() as db:
        assert all(total == 0 for total in ledger.currency_totals(db).values())


def test_postings_are_never_changed(writes: sessionmaker[Session]) -> None:
    with writes.begin() as db:
        ledger.post(db, capture(f"session-{uuid.uuid4()}:capture"), now=NOW)
    with pytest.raises(DatabaseError, match="immutable"), writes.begin() as db:
        db.execute(update(LedgerPostingRow).values(amount_minor=1))


def test_two_workers_posting_the_same_key_at_once_book_one_entry(engine: Engine, writes: sessionmaker[Session]) -> None:
    key = f"session-{uuid.uuid4()}:race"
    cpo = f"cpo-{uuid.uuid4()}"
    start = threading.Barrier(2)
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            with writes.begin() as db:
                results.append(ledger.post(db, capture(key, cpo=cpo), now=NOW))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(booked for _, booked in results) == [False, True]
    assert len({entry for entry, _ in results}) == 1
    with writes() as db:
        assert ledger.account_balance(db, f"cpo:{cpo}:payable", "EUR") == -1150  # booked once, not twice


def _raw_entry(db: Session, amounts: list[int], declared: int) -> int:
    account = LedgerAccountRow(code=f"probe-{uuid.uuid4()}", currency="EUR")
    entry = LedgerEntryRow(idempotency_key=f"raw-{uuid.uuid4()}", posting_count=declared, created_at=NOW)
    db.add_all([account, entry])
    db.flush()
    db.execute(
        insert(LedgerPostingRow),
        [{"entry_key": entry.key, "account_key": account.key, "currency": "EUR", "amount_minor": a} for a in amounts],
    )
    return entry.key


def test_a_committed_entry_never_gains_a_posting(writes: sessionmaker[Session]) -> None:
    with writes.begin() as db:
        entry = _raw_entry(db, [100, -100], declared=2)
        account = db.scalars(select(LedgerPostingRow.account_key).where(LedgerPostingRow.entry_key == entry)).first()
    with pytest.raises(DatabaseError, match="entries are immutable"), writes.begin() as db:
        db.execute(
            insert(LedgerPostingRow).values(entry_key=entry, account_key=account, currency="EUR", amount_minor=5)
        )
    with writes() as db:
        assert all(total == 0 for total in ledger.currency_totals(db).values())


def test_postgres_refuses_an_entry_with_fewer_postings_than_it_declares(
    writes: sessionmaker[Session], database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite checks an entry when its last declared posting arrives; ledger check finds the rest")
    with pytest.raises(DatabaseError, match="declares 3 postings but has 2"), writes.begin() as db:
        _raw_entry(db, [100, -100], declared=3)
