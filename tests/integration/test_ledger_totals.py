"""Kept account totals and pending holds on both databases: they follow every way postings and holds are
written, hot accounts take concurrent sessions without a deadlock, migration 0030 backfills them, and
`ledger check` names an account whose kept totals are wrong."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, insert, inspect, select, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from domain.ledger.entries import JournalEntry, Posting
from persistence import holds, ledger
from persistence.db import make_engine, make_session_factory
from persistence.ledger_check import check_ledger
from persistence.migrate import alembic_config, upgrade
from persistence.tables import (
    DemandPartnerRow,
    LedgerAccountRow,
    LedgerAccountTotalRow,
    LedgerEntryRow,
    LedgerHoldResolutionRow,
    LedgerHoldRow,
    LedgerPendingHoldRow,
    LedgerPostingRow,
)
from tests.integration.test_error_type_migration import database_at, schema_differences

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def kept(db: Session, code: str, currency: str = "EUR") -> tuple[int, int]:
    """The account's kept debits and credits, over all its shard rows."""
    debits, credits = db.execute(
        select(func.sum(LedgerAccountTotalRow.debits_minor), func.sum(LedgerAccountTotalRow.credits_minor))
        .join(LedgerAccountRow, LedgerAccountRow.key == LedgerAccountTotalRow.account_key)
        .where(LedgerAccountRow.code == code, LedgerAccountRow.currency == currency)
    ).one()
    return int(debits or 0), int(credits or 0)


def charge(key: str, partner: str, cpo: str, amount: int) -> JournalEntry:
    """A session's capture: the partner owes ``amount``, the CPO is owed it less 100 of commission."""
    return JournalEntry(
        key,
        (
            Posting(f"dp:{partner}:receivable", "EUR", amount),
            Posting(f"cpo:{cpo}:payable", "EUR", -(amount - 100)),
            Posting("platform:commission", "EUR", -100),
        ),
    )


def test_kept_totals_follow_post_batch_and_plain_inserts(writes: sessionmaker[Session]) -> None:
    """``post_batch`` COPYs postings on PostgreSQL and inserts them by executemany on SQLite; a plain
    INSERT of several rows (executemany on both) is kept alike."""
    partner, cpo = f"dp-{uuid.uuid4().hex[:8]}", f"cpo-{uuid.uuid4().hex[:8]}"
    with writes.begin() as db:
        ledger.post_batch(db, [charge(f"totals-{uuid.uuid4()}", partner, cpo, a) for a in (1250, 3000)], now=NOW)
    with writes.begin() as db:
        entry = LedgerEntryRow(idempotency_key=f"raw-{uuid.uuid4()}", posting_count=2, created_at=NOW)
        db.add(entry)
        db.flush()
        receivable = ledger.account_key(db, f"dp:{partner}:receivable", "EUR")
        payable = ledger.account_key(db, f"cpo:{cpo}:payable", "EUR")
        db.execute(
            insert(LedgerPostingRow),
            [
                {"entry_key": entry.key, "account_key": receivable, "currency": "EUR", "amount_minor": -4000},
                {"entry_key": entry.key, "account_key": payable, "currency": "EUR", "amount_minor": 4000},
            ],
        )
    with writes() as db:
        assert kept(db, f"dp:{partner}:receivable") == (4250, 4000)
        assert kept(db, f"cpo:{cpo}:payable") == (4000, 4050)
        assert ledger.account_balance(db, f"dp:{partner}:receivable", "EUR") == 250
        assert ledger.account_balance(db, f"cpo:{cpo}:payable", "EUR") == -50
        assert ledger.account_balance(db, f"dp:{partner}:never-posted", "EUR") == 0
        assert ledger.balances(db, f"dp:{partner}") == [(f"dp:{partner}:receivable", "EUR", 250)]
        assert all(total == 0 for total in ledger.currency_totals(db).values())
        assert ledger.kept_total_problems(db) == []


def test_an_entry_refused_at_commit_leaves_no_total(writes: sessionmaker[Session]) -> None:
    code = f"probe-{uuid.uuid4()}"

    def book_unbalanced() -> None:
        with writes.begin() as db:
            account = LedgerAccountRow(code=code, currency="EUR")
            entry = LedgerEntryRow(idempotency_key=f"raw-{uuid.uuid4()}", posting_count=2, created_at=NOW)
            db.add_all([account, entry])
            db.flush()
            db.execute(
                insert(LedgerPostingRow),
                [
                    {"entry_key": entry.key, "account_key": account.key, "currency": "EUR", "amount_minor": a}
                    for a in (100, -99)
                ],
            )

    with pytest.raises(DatabaseError, match="does not balance"):
        book_unbalanced()
    with writes() as db:
        assert kept(db, code) == (0, 0)


def test_sessions_booking_hot_accounts_at_once_neither_deadlock_nor_lose_a_cent(
    writes: sessionmaker[Session], database_url: str
) -> None:
    """Eight workers book captures and payouts at once, every one on the same commission, VAT and bank
    accounts, in different orders and batch sizes; on PostgreSQL the hot accounts spread over shard rows."""
    run = uuid.uuid4().hex[:8]
    commission, vat, bank = (f"platform:{name}-{run}" for name in ("commission", "vat", "bank"))
    workers, rounds = 8, 12
    errors: list[BaseException] = []
    start = threading.Barrier(workers)

    def entries(worker: int, round_: int) -> list[JournalEntry]:
        receivable = f"dp:hot-{run}-{worker}:receivable"
        capture = (
            Posting(receivable, "EUR", 1190),
            Posting(commission, "EUR", -1000),
            Posting(vat, "EUR", -190),
        )
        payment = (Posting(bank, "EUR", 1190), Posting(receivable, "EUR", -1190))
        batch = [JournalEntry(f"hot-{run}-{worker}-{round_}:capture", capture[:: 1 if worker % 2 else -1])]
        if round_ % 3 == 0:  # now and then the partner's payment too, in the same transaction
            batch.append(JournalEntry(f"hot-{run}-{worker}-{round_}:paid", payment))
        return batch

    def worker(index: int) -> None:
        try:
            start.wait()
            for round_ in range(rounds):
                with writes.begin() as db:
                    ledger.post_batch(db, entries(index, round_), now=NOW)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    payments = workers * len(range(0, rounds, 3))
    with writes() as db:
        assert kept(db, commission) == (0, 1000 * workers * rounds)
        assert kept(db, vat) == (0, 190 * workers * rounds)
        assert kept(db, bank) == (1190 * payments, 0)
        assert ledger.account_balance(db, f"dp:hot-{run}-0:receivable", "EUR") == 1190 * (rounds - payments // workers)
        assert ledger.kept_total_problems(db) == []
        shards = db.scalars(
            select(func.count())
            .select_from(LedgerAccountTotalRow)
            .join(LedgerAccountRow, LedgerAccountRow.key == LedgerAccountTotalRow.account_key)
            .where(LedgerAccountRow.code == commission)
        ).one()
    # SQLite has one writer at a time and one row per account; PostgreSQL spreads transactions over 16.
    assert shards == 1 if database_url.startswith("sqlite") else 1 < shards <= 16


BALANCED = st.lists(
    st.tuples(st.sampled_from(range(4)), st.sampled_from(range(4)), st.integers(1, 10**9)).filter(
        lambda t: t[0] != t[1]
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=15, deadline=None)
@given(transfers=BALANCED, batch=st.integers(1, 5))
def test_kept_totals_are_the_sums_of_any_transfers(
    writes: sessionmaker[Session], transfers: list[tuple[int, int, int]], batch: int
) -> None:
    """Transfers between four accounts, booked in batches of any size: each account's kept debits and
    credits are what was debited and credited to it."""
    run = uuid.uuid4().hex[:8]
    codes = [f"prop-{run}:{i}" for i in range(4)]
    entries = [
        JournalEntry(f"prop-{run}-{n}", (Posting(codes[debit], "EUR", amount), Posting(codes[credit], "EUR", -amount)))
        for n, (debit, credit, amount) in enumerate(transfers)
    ]
    for start in range(0, len(entries), batch):
        with writes.begin() as db:
            ledger.post_batch(db, entries[start : start + batch], now=NOW)
    with writes() as db:
        for i, code in enumerate(codes):
            debits = sum(amount for debit, _, amount in transfers if debit == i)
            credits = sum(amount for _, credit, amount in transfers if credit == i)
            assert kept(db, code) == (debits, credits)
            assert ledger.account_balance(db, code, "EUR") == debits - credits


def test_only_pending_holds_are_listed_and_held(writes: sessionmaker[Session]) -> None:
    partner = f"dp-pending-{uuid.uuid4().hex[:8]}"
    with writes.begin() as db:
        db.add(
            DemandPartnerRow(
                id=partner, name="P", legal_entity="P", country="DE", billing_currency="EUR", created_at=NOW
            )
        )
    sessions = [str(uuid.uuid4()) for _ in range(4)]
    for n, session_id in enumerate(sessions):
        with writes.begin() as db:
            expires = NOW + timedelta(hours=1 if n == 3 else 48)
            holds.place_hold(db, holds.HoldRequest(session_id, partner, "EUR", 1000 * (n + 1), 10**6, expires), now=NOW)
    with writes.begin() as db:
        holds.capture_hold(db, sessions[0], captured_minor=500, entry=None, now=NOW)
        holds.void_hold(db, sessions[1], now=NOW)
    with writes.begin() as db:  # the last one expires when the partner's next hold is placed
        later = NOW + timedelta(hours=2)
        request = holds.HoldRequest(str(uuid.uuid4()), partner, "EUR", 5000, 10**6, later + timedelta(days=2))
        account = holds.place_hold(db, request, now=later).account_key
    with writes() as db:
        listed = db.scalars(
            select(LedgerPendingHoldRow.amount_minor).where(LedgerPendingHoldRow.account_key == account)
        )
        assert sorted(listed) == [3000, 5000]
        assert holds.held_minor(db, account) == 8000
        assert holds.pending_hold_problems(db) == []


def test_the_totals_tables_are_as_the_migration_made_them(engine: Engine) -> None:
    assert [d for d in schema_differences(engine) if "ledger_account_totals" in d or "ledger_pending_holds" in d] == []


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_at_0028(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_at(request.param, tmp_path, "0028")


def _hold_at_0028(db: Session, key: str, account: int, amount: int, *, resolved: bool) -> None:
    hold = db.scalar(
        insert(LedgerHoldRow)
        .values(
            idempotency_key=key,
            session_id=key,
            account_key=account,
            currency="EUR",
            amount_minor=amount,
            created_at=NOW,
            expires_at=NOW,
        )
        .returning(LedgerHoldRow.key)
    )
    if resolved:
        db.execute(
            insert(LedgerHoldResolutionRow).values(hold_key=hold, state="VOIDED", posted_minor=0, resolved_at=NOW)
        )


def test_migration_0030_backfills_totals_and_pending_holds_and_goes_down_and_up(database_at_0028: str) -> None:
    url = database_at_0028
    engine = make_engine(url)
    writes = make_session_factory(engine)
    with writes.begin() as db:
        ledger.post_batch(db, [charge(f"old-{n}", "dp-old", "cpo-old", 1000 + n) for n in range(5)], now=NOW)
        account = ledger.account_key(db, "dp:dp-old:credit_hold", "EUR")
        _hold_at_0028(db, "hold-open", account, 700, resolved=False)
        _hold_at_0028(db, "hold-done", account, 900, resolved=True)
    engine.dispose()

    upgrade(url, "0030")

    engine = make_engine(url)
    with make_session_factory(engine)() as db:
        assert kept(db, "dp:dp-old:receivable") == (5010, 0)
        assert kept(db, "cpo:cpo-old:payable") == (0, 4510)
        assert kept(db, "platform:commission") == (0, 500)
        assert ledger.kept_total_problems(db) == []
        assert holds.held_minor(db, account) == 700
        assert holds.pending_hold_problems(db) == []
    engine.dispose()
    command.downgrade(alembic_config(url), "0028")
    engine = make_engine(url)
    assert not {"ledger_account_totals", "ledger_pending_holds"} & set(inspect(engine).get_table_names())
    engine.dispose()
    upgrade(url, "0030")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_writes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A database of its own: the test corrupts it."""
    for url in database_at(request.param, tmp_path, "head"):
        engine = make_engine(url)
        yield make_session_factory(engine)
        engine.dispose()


def test_ledger_check_names_an_account_whose_kept_totals_are_wrong(fresh_writes: sessionmaker[Session]) -> None:
    with fresh_writes.begin() as db:
        ledger.post(db, charge("session-1:capture", "dp-1", "cpo-1", 1250), now=NOW)
        db.add(
            DemandPartnerRow(
                id="dp-1", name="P", legal_entity="P", country="DE", billing_currency="EUR", created_at=NOW
            )
        )
        db.flush()
        holds.place_hold(db, holds.HoldRequest("s-1", "dp-1", "EUR", 800, 10**6, NOW + timedelta(days=1)), now=NOW)
    with fresh_writes() as db:
        assert check_ledger(db).problems == []
    with fresh_writes.begin() as db:
        receivable = ledger.account_key(db, "dp:dp-1:receivable", "EUR")
        db.execute(
            update(LedgerAccountTotalRow)
            .where(LedgerAccountTotalRow.account_key == receivable)
            .values(credits_minor=LedgerAccountTotalRow.credits_minor + 1)
        )
        db.execute(update(LedgerPendingHoldRow).values(amount_minor=80))
    with fresh_writes() as db:
        problems = check_ledger(db).problems
        hold_key = db.scalar(select(LedgerPendingHoldRow.hold_key))
    assert problems == [
        "EUR does not sum to zero: -1 minor units",
        "account dp:dp-1:receivable EUR: kept totals debits 1250, credits 1; "
        "its postings sum to debits 1250, credits 0",
        f"hold {hold_key} of session s-1 is listed as pending with other amounts",
    ]
