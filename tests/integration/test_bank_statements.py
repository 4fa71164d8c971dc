"""Bank statements on SQLite and PostgreSQL: matching and booking (partial, over, several invoices, a
mistyped reference to suspense and then assigned), idempotency (the same file twice, the same entry in a
.053 and a .054, a crash between storing and booking), refusals that book nothing, our payouts seen before
and after the rail's report and returned, the reconciliation to the cent, and the ledger check catching a
disagreement. Each test keeps to its own IBAN (and currency where whole balances are asserted)."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from cli.seed import DemoPartner, ensure_demand_partner
from domain.collections.postings import BANK, SUSPENSE
from domain.invoicing.creditor_reference import creditor_reference
from domain.ledger.accounts import AccountKind, demand_partner
from domain.ledger.entries import JournalEntry, Posting
from domain.payouts.batches import Payee, PayeeKind, instruction_entry, paid_entry
from persistence import bank_statements, invoices, ledger
from persistence.bank_reconciliation import reconcile, reconciliation_problems
from persistence.db import make_engine, make_session_factory
from persistence.ledger_check import check_ledger
from persistence.migrate import upgrade
from persistence.tables import (
    BankAllocationRow,
    BankEntryRow,
    BankMatchRow,
    BankStatementFileRow,
    DemandPartnerRow,
    PayoutBatchRow,
)
from services import bank
from tests.camt import Ntry, Tx, camt053, camt054
from tests.conftest import _fresh_postgres
from tests.einvoice_documents import ISSUING
from tests.integration.test_error_type_migration import schema_differences
from tests.integration.test_holds import new_session
from tests.integration.test_invoices import CPO, PLATFORM, line_for

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def new_iban() -> str:
    return f"DE{random.randrange(10, 99)}{random.randrange(10**17, 10**18)}"


def ref() -> str:
    return f"B{uuid.uuid4().hex[:20].upper()}"


@pytest.fixture
def private_writes(database_url: str, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A database of the test's own, on the same backend: for tests that leave the books in a state the
    ledger check of other tests must not see (a bank account booked by hand, batches without sessions)."""
    urls = iter([f"sqlite:///{tmp_path / 'bank.db'}"]) if database_url.startswith("sqlite") else _fresh_postgres()
    for url in urls:
        upgrade(url)
        engine = make_engine(url)
        try:
            yield make_session_factory(engine)
        finally:
            engine.dispose()


@pytest.fixture
def partner(writes: sessionmaker[Session]) -> tuple[str, str]:
    """A demand partner and the IBAN it pays from."""
    suffix = uuid.uuid4().hex[:8]
    iban = new_iban()
    dp = DemoPartner(f"dp-bank-{suffix}", "Bank test", "DE", "DE281045677", "EUR", f"k-{suffix}")
    with writes.begin() as db:
        ensure_demand_partner(db, dp, {"credit": {"limit": "1000", "session_cap": "80"}}, now=NOW)
        db.get_one(DemandPartnerRow, dp.id).iban = iban
    return dp.id, iban


def invoice(writes: sessionmaker[Session], partner_id: str, net_minor: int, at: datetime = NOW) -> tuple[str, int]:
    """An issued EUR invoice to the partner (on ``at``, due 14 days later): its number and total (19 % VAT)."""
    session_id = new_session(writes, partner_id)
    with writes.begin() as db:
        row = invoices.issue_invoice(
            db,
            issuer="platform",
            series=f"BK{uuid.uuid4().hex[:6].upper()}",
            recipient=f"dp:{partner_id}",
            supplier=PLATFORM,
            customer=CPO,
            line=line_for(session_id, net_minor),
            self_billing=False,
            now=at,
            issuing=ISSUING,
        )
        assert row.number is not None
        assert row.net_minor is not None
        assert row.vat_minor is not None
        return row.number, row.net_minor + row.vat_minor


def open_minor(writes: sessionmaker[Session], partner_id: str, number: str) -> int:
    with writes() as db:
        (found,) = [i for i in bank_statements.open_invoices(db, "EUR", partner_id=partner_id) if i.number == number]
        return found.open_minor


def balance(writes: sessionmaker[Session], account: str, currency: str = "EUR") -> int:
    with writes() as db:
        return ledger.account_balance(db, account, currency)


def money(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def test_partial_over_mistyped_then_assigned_and_the_same_file_twice(
    writes: sessionmaker[Session], partner: tuple[str, str]
) -> None:
    partner_id, _ = partner
    (first, first_total), (second, second_total) = invoice(writes, partner_id, 10000), invoice(writes, partner_id, 5000)
    assert (first_total, second_total) == (11900, 5950)
    ours = new_iban()
    receivable = demand_partner(partner_id, AccountKind.RECEIVABLE)
    credit = demand_partner(partner_id, AccountKind.CREDIT_BALANCE)
    receivable_before = balance(writes, receivable)
    statement = camt053(
        ours,
        "EUR",
        [
            Ntry("40.00", ref(), txs=(Tx(amount="40.00", scor=(creditor_reference(first),)),)),
            Ntry("80.00", ref(), txs=(Tx(amount="80.00", ustrd=f"Invoice {first.lower()}"),)),  # 79.00 open: 1.00 over
            Ntry(
                "59.50",
                ref(),
                txs=(Tx(amount="59.50", scor=("RF00" + first.replace("-", "")[:10],), debtor_iban=new_iban()),),
            ),
            Ntry("12.00", ref(), status="PDNG"),
        ],
        opening="100.00",
    )
    done = bank.import_file(writes, statement, "june.xml", {ours: "EUR"}, clock=clock)
    assert (done.state, done.entries, done.not_booked, done.by_outcome) == (
        "BOOKED",
        3,
        1,
        {"PARTNER": 2, "SUSPENSE": 1},
    )
    assert open_minor(writes, partner_id, first) == 0
    assert open_minor(writes, partner_id, second) == 5950
    assert balance(writes, receivable) - receivable_before == -11900
    assert balance(writes, credit) == -100
    with writes() as db:
        (waiting,) = [line for line in bank_statements.unmatched(db) if line.iban == ours]
        rules = sorted(db.scalars(select(BankMatchRow.rule).join(BankEntryRow).where(BankEntryRow.iban == ours)))
    assert rules == ["invoice.number_in_text", "invoice.structured_reference", "suspense"]
    assert waiting.amount_minor == 5950
    entries_before = _entry_count(writes)

    again = bank.import_file(writes, statement, "june-copy.xml", {ours: "EUR"}, clock=clock)
    assert again.already_imported
    assert _entry_count(writes) == entries_before

    moved = bank.assign(writes, waiting.entry_key, partner_id, invoice_number=second, clock=clock)
    assert [line.amount_minor for line in moved] == [5950]
    assert open_minor(writes, partner_id, second) == 0
    assert balance(writes, receivable) - receivable_before == -17850
    with writes() as db:
        assert [line for line in bank_statements.unmatched(db) if line.iban == ours] == []
    with pytest.raises(bank.AssignmentRefused, match="nothing in suspense"):
        bank.assign(writes, waiting.entry_key, partner_id, clock=clock)


def _entry_count(writes: sessionmaker[Session]) -> int:
    with writes() as db:
        return ledger.entry_count(db)


def test_several_invoices_by_payer_iban_and_the_same_entry_in_a_054_and_a_053(
    writes: sessionmaker[Session], partner: tuple[str, str]
) -> None:
    partner_id, payer_iban = partner
    (first, a), (second, b) = invoice(writes, partner_id, 2000), invoice(writes, partner_id, 3000)
    ours = new_iban()
    entry = Ntry(money(a + b), ref(), txs=(Tx(amount=money(a + b), debtor_iban=payer_iban, ustrd="june"),))
    notified = bank.import_file(writes, camt054(ours, "EUR", [entry]), "n.xml", {ours: "EUR"}, clock=clock)
    assert (notified.entries, notified.by_outcome) == (1, {"PARTNER": 1})
    assert (open_minor(writes, partner_id, first), open_minor(writes, partner_id, second)) == (0, 0)
    with writes() as db:  # only a notification carried it so far: in transit until a statement does
        assert db.scalars(select(BankEntryRow.statement_file_key).where(BankEntryRow.iban == ours)).one() is None
    stated = bank.import_file(writes, camt053(ours, "EUR", [entry]), "s.xml", {ours: "EUR"}, clock=clock)
    assert (stated.state, stated.entries, stated.already_booked) == ("BOOKED", 0, 1)
    with writes() as db:
        row = db.scalars(select(BankEntryRow).where(BankEntryRow.iban == ours)).one()
        assert row.statement_file_key is not None


def test_two_files_paying_the_same_invoices_imported_at_once_apply_each_payment_once(
    database_url: str, writes: sessionmaker[Session], partner: tuple[str, str]
) -> None:
    """Two imports at the same moment: a notification and a statement carrying the same entries, and a
    second account's statement paying the same invoices again. Each entry is booked once, each invoice is
    paid exactly once, and what was paid twice waits as the partner's credit."""
    partner_id, _ = partner
    issued = [invoice(writes, partner_id, 1000 + 10 * i) for i in range(15)]
    totals = sum(total for _, total in issued)
    receivable = demand_partner(partner_id, AccountKind.RECEIVABLE)
    credit = demand_partner(partner_id, AccountKind.CREDIT_BALANCE)
    receivable_before, credit_before = balance(writes, receivable), balance(writes, credit)
    ours, second_account = new_iban(), new_iban()

    def payments() -> list[Ntry]:
        return [
            Ntry(money(total), ref(), txs=(Tx(amount=money(total), scor=(creditor_reference(number),)),))
            for number, total in issued
        ]

    first_payments = payments()
    files = [
        (camt054(ours, "EUR", first_payments), ours),
        (camt053(ours, "EUR", first_payments), ours),
        (camt053(second_account, "EUR", payments()), second_account),
    ]
    engines = [make_engine(database_url) for _ in files]
    start = threading.Barrier(len(files))
    done: list[bank.Imported] = []
    errors: list[BaseException] = []

    def run(engine: Engine, content: bytes, iban: str) -> None:
        try:
            start.wait()
            done.append(
                bank.import_file(
                    make_session_factory(engine), content, f"{uuid.uuid4().hex}.xml", {iban: "EUR"}, clock=clock
                )
            )
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=(engine, content, iban))
        for engine, (content, iban) in zip(engines, files, strict=True)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for engine in engines:
            engine.dispose()
    assert errors == []
    assert sorted((d.entries, d.already_booked) for d in done) == [(0, 15), (15, 0), (15, 0)]
    assert all(open_minor(writes, partner_id, number) == 0 for number, _ in issued)
    assert balance(writes, receivable) - receivable_before == -totals
    assert balance(writes, credit) - credit_before == -totals
    with writes() as db:
        entries = db.scalars(select(BankEntryRow).where(BankEntryRow.iban.in_([ours, second_account]))).all()
        allocated = db.scalar(
            select(func.sum(BankAllocationRow.amount_minor)).where(
                BankAllocationRow.entry_key.in_([e.key for e in entries])
            )
        )
    assert len(entries) == 30
    assert allocated == totals


@pytest.mark.parametrize(
    ("account_currency", "statement", "reason"),
    [
        ("EUR", lambda ours: camt053(new_iban(), "EUR", [Ntry("1.00", ref())]), "is not one of ours"),
        ("CHF", lambda ours: camt053(ours, "EUR", [Ntry("1.00", ref())]), "is kept in CHF"),
        ("EUR", lambda ours: camt053(ours, "EUR", [Ntry("1.00", ref())], closing="2.00"), "does not add up"),
        ("EUR", lambda ours: b"<not-camt/>", "not a camt.053.001.08"),
    ],
)
def test_refused_files_are_stored_with_the_reason_and_book_nothing(
    writes: sessionmaker[Session], account_currency: str, statement: object, reason: str
) -> None:
    ours = new_iban()
    content = statement(ours) + f"<!-- {uuid.uuid4()} -->".encode()  # type: ignore[operator]
    entries_before = _entry_count(writes)
    done = bank.import_file(writes, content, "bad.xml", {ours: account_currency}, clock=clock)
    assert done.state == "REFUSED"
    assert reason in (done.refusal or "")
    assert _entry_count(writes) == entries_before
    with writes() as db:
        row = bank_statements.file_by_sha256(db, done.sha256)
        assert (row.state, row.content) == ("REFUSED", content)
        assert reason in (row.refusal or "")
        assert db.scalars(select(BankEntryRow).where(BankEntryRow.file_key == row.key)).all() == []


def test_a_crash_between_storing_and_booking_is_completed_by_the_next_import(writes: sessionmaker[Session]) -> None:
    ours = new_iban()
    content = camt053(ours, "EUR", [Ntry("7.00", ref())])
    digest = bank.store(writes, content, "crash.xml", now=NOW)  # the process dies here
    with writes() as db:
        assert bank_statements.file_by_sha256(db, digest).state == "STORED"
    done = bank.import_file(writes, content, "crash.xml", {ours: "EUR"}, clock=clock)
    assert (done.state, done.entries, done.already_imported) == ("BOOKED", 1, False)


def _batch(writes: sessionmaker[Session], currency: str, amount_minor: int, state: str) -> str:
    """A payout batch as the payout activities leave it: instructed, and paid when the rail said so."""
    message_id = f"NCP-T-{uuid.uuid4().hex[:12].upper()}"
    payee = Payee(PayeeKind.CPO, f"cpo-bank-{uuid.uuid4().hex[:6]}")
    with writes.begin() as db:
        db.add(
            PayoutBatchRow(
                idempotency_key=f"release-{message_id}",
                message_id=message_id,
                payee=str(payee),
                currency=currency,
                amount_minor=amount_minor,
                netted_minor=0,
                iban="CH9300762011623852957",
                rail="simulated",
                state=state,
                document="<Document/>",
                created_at=NOW,
            )
        )
        # The payable the batch pays (as a settlement would have credited it), then the instruction.
        ledger.post(
            db,
            JournalEntry(
                f"test-earned-{message_id}",
                (
                    Posting("platform:commission", currency, amount_minor),
                    Posting(payee.payable_account, currency, -amount_minor),
                ),
            ),
            now=NOW,
        )
        ledger.post(db, instruction_entry(f"release-{message_id}:instructed", payee, currency, amount_minor), now=NOW)
        if state == "PAID":
            ledger.post(db, paid_entry(f"release-{message_id}:paid", currency, amount_minor), now=NOW)
    return message_id


def test_payouts_before_and_after_the_rail_a_return_and_the_reconciliation_to_the_cent(
    private_writes: sessionmaker[Session],
) -> None:
    writes = private_writes
    currency, ours = "SEK", new_iban()
    sent = _batch(writes, currency, 25000, "SENT")  # the statement comes before the pain.002
    reported = _batch(writes, currency, 7000, "PAID")  # the pain.002 came first
    unseen = _batch(writes, currency, 1234, "PAID")  # paid per pain.002, on no statement yet
    returned = _batch(writes, currency, 3000, "PAID")
    statement = camt053(
        ours,
        currency,
        [
            Ntry(
                "250.00", ref(), direction="DBIT", code="PMNT/ICDT/ESCT", txs=(Tx(amount="250.00", end_to_end_id=sent),)
            ),
            Ntry("70.00", ref(), direction="DBIT", code="PMNT/ICDT/ESCT", batch=reported),
            Ntry("30.00", ref(), direction="DBIT", code="PMNT/ICDT/ESCT", txs=(Tx(end_to_end_id=returned),)),
            Ntry("30.00", ref(), code="PMNT/ICDT/RRTN", txs=(Tx(end_to_end_id=returned, return_reason="AC04"),)),
            Ntry("12.34", ref(), txs=(Tx(ustrd="who is this"),)),
        ],
        opening="1000.00",
    )
    done = bank.import_file(writes, statement, "sek.xml", {ours: currency}, clock=clock)
    assert done.by_outcome == {"PAYOUT": 3, "PAYOUT_RETURN": 1, "SUSPENSE": 1}
    with writes() as db:
        states = {
            b.message_id: (b.state, b.reason)
            for b in db.scalars(select(PayoutBatchRow).where(PayoutBatchRow.currency == currency))
        }
        assert states[sent][0] == states[reported][0] == states[unseen][0] == "PAID"
        assert states[returned][0] == "REJECTED"
        assert "AC04" in (states[returned][1] or "")
        assert ledger.entry_postings(db, f"release-{sent}:paid") is not None
        payee = db.scalars(select(PayoutBatchRow.payee).where(PayoutBatchRow.message_id == returned)).one()
        assert ledger.account_balance(db, Payee.parse(payee).payable_account, currency) == -3000  # owed again
        report = reconcile(db)
        assert reconciliation_problems(db) == []
    # Opening 1000.00 - 250 - 70 - 30 + 30 + 12.34 = 692.34 on the statement; the books also paid 12.34.
    assert report.as_json()["currencies"][currency] == {  # type: ignore[index]
        "book_balance": "680.00",
        "statement_balance": "692.34",
        "in_transit": "-12.34",
        "matched": "380.00",
        "unmatched": "12.34",
    }
    assert report.currencies[currency].collected_minor == 0
    assert balance(writes, SUSPENSE, currency) == -1234
    assert balance(writes, BANK, currency) == 68000


def test_the_ledger_check_catches_a_bank_account_that_disagrees(private_writes: sessionmaker[Session]) -> None:
    writes = private_writes
    currency, ours = "NOK", new_iban()
    bank.import_file(
        writes,
        camt053(ours, currency, [Ntry("5.00", ref())], opening="10.00"),
        "nok.xml",
        {ours: currency},
        clock=clock,
    )
    with writes() as db:
        assert reconciliation_problems(db) == []
    with writes.begin() as db:  # someone books the bank account by hand
        ledger.post(
            db,
            JournalEntry(
                f"by-hand-{uuid.uuid4()}",
                (Posting(BANK, currency, 100), Posting("platform:commission", currency, -100)),
            ),
            now=NOW,
        )
    with writes() as db:
        expected = "bank NOK: book 16.00 != statement 15.00 + in transit 0.00"
        assert expected in reconciliation_problems(db)
        assert expected in check_ledger(db).problems
        assert db.scalars(select(BankStatementFileRow.state).where(BankStatementFileRow.iban == ours)).one() == "BOOKED"


def test_the_bank_tables_are_as_the_migration_made_them(engine: Engine) -> None:
    assert [d for d in schema_differences(engine) if "bank_" in d] == []
