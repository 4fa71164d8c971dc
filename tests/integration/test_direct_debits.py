"""SEPA Direct Debit on SQLite and PostgreSQL: the daily run builds one validated pain.008 and never a second
(idempotency), settlement moves the receivable to cash in transit, the statement's batch credit clears it to
the bank, a pain.002 reject reverses it, an AM04 return is re-presented once (new EndToEndId, same mandate),
an MD01 return blocks the mandate, and a return after the payout it funded leaves the payout paid, reopens
the receivable and keeps the books balanced and reconciled. Partners and IBANs are the test's own; amounts
of shared accounts are compared as differences."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from activities.collections import Collector
from adapters.camt import schema_errors
from adapters.pain008 import validate_direct_debit_file
from cli.seed import DemoPartner, ensure_demand_partner
from domain.collections.direct_debit import CASH_IN_TRANSIT
from domain.collections.postings import BANK
from domain.ledger.accounts import AccountKind, demand_partner
from domain.partners import PostalAddress
from persistence import bank_statements, ledger
from persistence.bank_reconciliation import reconciliation_problems
from persistence.ledger_check import check_ledger
from persistence.tables import InvoiceRow, PayoutBatchRow, SddCollectionRow, SddFileRow, SddMandateRow
from services import bank, direct_debits
from simulator.direct_debits import SimulatedDirectDebitBank
from tests.camt import Ntry, Tx, camt053
from tests.integration.test_bank_statements import _batch, invoice, new_iban, private_writes, ref
from tests.integration.test_error_type_migration import schema_differences
from tests.unit.adapters.test_pain008 import CREDITOR

__all__ = ["private_writes"]  # the fixture, used here too

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
RETURN_CODE = "PMNT/IDDT/UPDD"


@pytest.fixture
def writes(private_writes: sessionmaker[Session]) -> sessionmaker[Session]:
    """Each test's own database: its statements are of made-up accounts, partial by design (a return
    without the credit before it), which the ledger check of other tests sharing a database must not see."""
    return private_writes


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def dd_partner(writes: sessionmaker[Session], *, scheme: str = "B2B") -> tuple[str, str]:
    """A demand partner whose contract says DIRECT_DEBIT, with an active mandate: its id and UMR."""
    suffix = uuid.uuid4().hex[:8]
    dp = DemoPartner(
        f"dp-dd-{suffix}",
        "Debit Test B.V.",
        "NL",
        "NL812345678B01",
        "EUR",
        f"k-{suffix}",
        address=PostalAddress("Keizersgracht", "1015 CJ", "Amsterdam", "1"),
    )
    terms = {"credit": {"limit": "1000", "session_cap": "80"}, "collection": {"method": "DIRECT_DEBIT"}}
    with writes.begin() as db:
        ensure_demand_partner(db, dp, terms, now=NOW)
    umr = f"NC-{suffix.upper()}"
    direct_debits.add_mandate(
        writes,
        partner_id=dp.id,
        mandate_id=umr,
        signed_on=date(2026, 1, 5),
        scheme=scheme,
        iban="NL91ABNA0417164300",
        bic=None,
        clock=lambda: NOW,
    )
    return dp.id, umr


def collector(writes: sessionmaker[Session], tmp_path: Path) -> Collector:
    return direct_debits.collector(
        writes, outbox=tmp_path / "out", inbox=tmp_path / "in", creditor=CREDITOR, creditor_id="DE98ZZZ09999999999"
    )


def collection(writes: sessionmaker[Session], number: str, attempt: int = 1) -> SddCollectionRow | None:
    with writes() as db:
        return db.scalars(
            select(SddCollectionRow)
            .join(InvoiceRow, InvoiceRow.key == SddCollectionRow.invoice_key)
            .where(InvoiceRow.number == number, SddCollectionRow.attempt == attempt)
        ).first()


def due_date(writes: sessionmaker[Session], number: str) -> date:
    with writes() as db:
        due = db.scalars(select(InvoiceRow.due_date).where(InvoiceRow.number == number)).one()
        assert due is not None
        return due


def balance(writes: sessionmaker[Session], account: str) -> int:
    with writes() as db:
        return ledger.account_balance(db, account, "EUR")


def open_minor(writes: sessionmaker[Session], partner_id: str, number: str) -> int:
    with writes() as db:
        (found,) = [i for i in bank_statements.open_invoices(db, "EUR", partner_id=partner_id) if i.number == number]
        return found.open_minor


def batch_total(writes: sessionmaker[Session], payment_information_id: str) -> int:
    with writes() as db:
        rows = db.scalars(
            select(SddCollectionRow.amount_minor).where(
                SddCollectionRow.payment_information_id == payment_information_id
            )
        ).all()
        return sum(rows)


def returned_entry(e2e: str, reason: str, booked: date | None = None) -> Ntry:
    """The debtor's bank takes 119.00 back: a debit with the reason, on our collection's EndToEndId."""
    return Ntry(
        "119.00",
        ref(),
        direction="DBIT",
        code=RETURN_CODE,
        booked=(booked or NOW.date()).isoformat(),
        txs=(Tx(amount="119.00", end_to_end_id=e2e, return_reason=reason),),
    )


def money(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def statement(iban: str, *entries: Ntry, sequence: int = 1, opening: str = "0.00") -> bytes:
    return camt053(
        iban, "EUR", list(entries), sequence=sequence, opening=opening, message_id=f"S-{uuid.uuid4().hex[:8]}"
    )


def collect_and_credit(
    writes: sessionmaker[Session], tmp_path: Path, partner_id: str, net_minor: int = 10000
) -> tuple[str, SddCollectionRow, str]:
    """An invoice collected: presented, settled on its due date and credited (by the batch's PmtInfId) on
    a statement of our own IBAN; the invoice number, its collection and that IBAN."""
    number, _ = invoice(writes, partner_id, net_minor)
    due = due_date(writes, number)
    run = collector(writes, tmp_path)
    run.run(due - timedelta(days=1), now=at(due - timedelta(days=1)))
    run.run(due, now=at(due))
    found = collection(writes, number)
    assert found is not None
    assert found.payment_information_id is not None
    ours = new_iban()
    credit = Ntry(
        money(batch_total(writes, found.payment_information_id)),
        ref(),
        code="PMNT/RCDD/ESDD",
        batch=found.payment_information_id,
        booked=due.isoformat(),
    )
    done = bank.import_file(writes, statement(ours, credit), "credit.xml", {ours: "EUR"}, clock=lambda: at(due))
    assert done.by_outcome == {"COLLECTION": 1}
    return number, found, ours


def test_a_run_builds_one_valid_file_settles_on_the_date_and_the_batch_credit_clears_transit(
    writes: sessionmaker[Session], tmp_path: Path
) -> None:
    partner_id, umr = dd_partner(writes)
    number, total = invoice(writes, partner_id, 10000)
    assert total == 11900
    due = due_date(writes, number)
    receivable = demand_partner(partner_id, AccountKind.RECEIVABLE)
    before = {a: balance(writes, a) for a in (receivable, CASH_IN_TRANSIT, BANK)}
    run = collector(writes, tmp_path)

    too_early = run.run(due - timedelta(days=2), now=at(due - timedelta(days=2)))
    assert collection(writes, number) is None, f"not due yet: {too_early}"
    first = run.run(due - timedelta(days=1), now=at(due - timedelta(days=1)))
    found = collection(writes, number)
    assert found is not None
    assert (found.state, found.collection_date, found.sequence_type, found.amount_minor) == (
        "SUBMITTED",
        due,
        "RCUR",
        11900,
    )
    assert found.end_to_end_id.startswith("NCDD")
    (message_id,) = first.files
    assert message_id in first.sent
    sent = (tmp_path / "out" / f"{message_id}.xml").read_bytes()
    validate_direct_debit_file(sent)
    assert found.end_to_end_id.encode() in sent
    assert umr.encode() in sent
    assert b"<SeqTp>RCUR</SeqTp>" in sent
    assert b"<Cd>B2B</Cd>" in sent

    again = run.run(due - timedelta(days=1), now=at(due - timedelta(days=1)))  # a retry of the same day
    assert again.files == []
    assert again.sent == []
    with writes() as db:
        assert db.scalars(select(SddFileRow.state).where(SddFileRow.message_id == message_id)).one() == "SENT"
    assert balance(writes, CASH_IN_TRANSIT) == before[CASH_IN_TRANSIT], "nothing posted before the date"

    settled = run.run(due, now=at(due))
    assert settled.settled >= 1
    assert balance(writes, receivable) - before[receivable] == -11900
    assert balance(writes, CASH_IN_TRANSIT) - before[CASH_IN_TRANSIT] == 11900
    assert open_minor(writes, partner_id, number) == 0, "collected: not open for a transfer"
    with writes() as db:
        mandate = db.scalars(select(SddMandateRow).where(SddMandateRow.mandate_id == umr)).one()
        assert mandate.last_collection_on == due

    transit = balance(writes, CASH_IN_TRANSIT)
    assert found.payment_information_id is not None
    batch = batch_total(writes, found.payment_information_id)
    ours = new_iban()
    credit = Ntry(money(batch), ref(), code="PMNT/RCDD/ESDD", batch=found.payment_information_id)
    done = bank.import_file(writes, statement(ours, credit), "credit.xml", {ours: "EUR"}, clock=lambda: at(due))
    assert done.by_outcome == {"COLLECTION": 1}
    assert balance(writes, CASH_IN_TRANSIT) == transit - batch
    assert balance(writes, BANK) - before[BANK] == batch
    credited = collection(writes, number)
    assert credited is not None
    assert credited.state == "CREDITED"
    again_import = bank.import_file(  # the same entry in another file
        writes, statement(ours, credit, sequence=2), "again.xml", {ours: "EUR"}, clock=lambda: at(due)
    )
    assert (again_import.already_booked, again_import.by_outcome) == (1, {})
    assert balance(writes, BANK) - before[BANK] == batch
    with writes() as db:
        assert reconciliation_problems(db) == []


def test_am04_is_re_presented_once_with_a_new_end_to_end_id(writes: sessionmaker[Session], tmp_path: Path) -> None:
    partner_id, umr = dd_partner(writes)
    number, first, ours = collect_and_credit(writes, tmp_path, partner_id)
    receivable = demand_partner(partner_id, AccountKind.RECEIVABLE)
    due = first.collection_date
    assert due is not None
    owed, in_bank = balance(writes, receivable), balance(writes, BANK)
    back = returned_entry(first.end_to_end_id, "AM04", booked=due + timedelta(days=2))
    returned_on = at(due + timedelta(days=2))
    done = bank.import_file(
        writes, statement(ours, back, sequence=2), "am04.xml", {ours: "EUR"}, clock=lambda: returned_on
    )
    assert done.by_outcome == {"COLLECTION_RETURN": 1}
    again = collection(writes, number)
    assert again is not None
    assert (again.state, again.reason_code) == ("RETURNED", "AM04")
    assert "re-presented" in (again.reason or "")
    assert balance(writes, receivable) - owed == 11900, "the receivable reopens"
    assert balance(writes, BANK) - in_bank == -11900
    assert open_minor(writes, partner_id, number) == 11900
    flags = direct_debits.flagged_partners(direct_debits.collections(writes, partner_id))
    assert "AM04" in flags[partner_id]

    run = collector(writes, tmp_path)
    result = run.run(returned_on.date(), now=returned_on)
    second = collection(writes, number, attempt=2)
    assert second is not None
    assert second.state == "SUBMITTED"
    assert second.end_to_end_id != first.end_to_end_id
    assert second.mandate_key == first.mandate_key
    (message_id,) = result.files
    assert second.end_to_end_id.encode() in (tmp_path / "out" / f"{message_id}.xml").read_bytes()

    assert second.collection_date is not None
    run.run(second.collection_date, now=at(second.collection_date))
    back_again = returned_entry(second.end_to_end_id, "AM04")
    bank.import_file(writes, statement(ours, back_again, sequence=3), "am04b.xml", {ours: "EUR"}, clock=lambda: NOW)
    last = collection(writes, number, attempt=2)
    assert last is not None
    assert last.state == "RETURNED"
    assert "re-presented" not in (last.reason or "")
    later = returned_on + timedelta(days=10)
    run.run(later.date(), now=later)
    assert collection(writes, number, attempt=3) is None, "re-presented once only"
    with writes() as db:
        assert db.scalars(select(SddMandateRow.status).where(SddMandateRow.mandate_id == umr)).one() == "ACTIVE"


def test_md01_blocks_the_mandate_and_nothing_more_is_collected(writes: sessionmaker[Session], tmp_path: Path) -> None:
    partner_id, umr = dd_partner(writes, scheme="CORE")
    number, first, ours = collect_and_credit(writes, tmp_path, partner_id)
    back = returned_entry(first.end_to_end_id, "MD01")
    bank.import_file(writes, statement(ours, back, sequence=2), "md01.xml", {ours: "EUR"}, clock=lambda: NOW)
    with writes() as db:
        mandate = db.scalars(select(SddMandateRow).where(SddMandateRow.mandate_id == umr)).one()
        assert mandate.status == "BLOCKED"
        assert "MD01" in (mandate.status_reason or "")
    assert collection(writes, number, attempt=2) is None
    next_number, _ = invoice(writes, partner_id, 2000)
    due = due_date(writes, next_number)
    result = collector(writes, tmp_path).run(due, now=at(due))
    assert collection(writes, next_number) is None
    assert any(next_number in note and "no active mandate" in note for note in result.notes)


def test_a_pain002_reject_reverses_the_transit_posting(writes: sessionmaker[Session], tmp_path: Path) -> None:
    partner_id, _ = dd_partner(writes)
    settled_number, _ = invoice(writes, partner_id, 10000)
    submitted_number, _ = invoice(writes, partner_id, 5000)
    due = due_date(writes, settled_number)
    receivable = demand_partner(partner_id, AccountKind.RECEIVABLE)
    run = collector(writes, tmp_path)
    result = run.run(due - timedelta(days=1), now=at(due - timedelta(days=1)))
    (message_id,) = result.files
    owed = balance(writes, receivable)
    run.run(due, now=at(due))  # both settled
    assert balance(writes, receivable) - owed == -(11900 + 5950)
    a, b = collection(writes, settled_number), collection(writes, submitted_number)
    assert a is not None
    assert b is not None
    report = (
        '<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">'
        f"<CstmrPmtStsRpt><GrpHdr><MsgId>R-{uuid.uuid4().hex[:8]}</MsgId><CreDtTm>2026-06-01T10:00:00</CreDtTm>"
        f"</GrpHdr><OrgnlGrpInfAndSts><OrgnlMsgId>{message_id}</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.08"
        "</OrgnlMsgNmId><GrpSts>PART</GrpSts></OrgnlGrpInfAndSts><OrgnlPmtInfAndSts>"
        f"<OrgnlPmtInfId>{a.payment_information_id}</OrgnlPmtInfId><TxInfAndSts>"
        f"<OrgnlEndToEndId>{a.end_to_end_id}</OrgnlEndToEndId><TxSts>RJCT</TxSts>"
        "<StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf></TxInfAndSts></OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>"
    ).encode()
    done = direct_debits.import_status(writes, report, clock=lambda: at(due))
    assert done.known
    assert done.status == "PART"
    rejected = collection(writes, settled_number)
    assert rejected is not None
    assert (rejected.state, rejected.reason_code) == ("REJECTED", "AC04")
    assert balance(writes, receivable) - owed == -5950, "the rejected one is owed again, the other stays collected"
    again = direct_debits.import_status(writes, report, clock=lambda: at(due))  # the same report twice
    assert balance(writes, receivable) - owed == -5950
    assert "changes nothing" in again.outcomes[0]
    with writes() as db:
        assert db.scalars(select(SddMandateRow.status).where(SddMandateRow.key == a.mandate_key)).one() == "BLOCKED"
    with writes() as db:
        assert ledger.entry_postings(db, f"sdd:{a.end_to_end_id}:rejected") is not None


def test_a_return_after_the_payout_it_funded(private_writes: sessionmaker[Session], tmp_path: Path) -> None:
    writes = private_writes
    partner_id, _ = dd_partner(writes)
    paid = _batch(writes, "EUR", 8000, "PAID")  # the CPO was paid from what the debit brought in
    number, first, ours = collect_and_credit(writes, tmp_path, partner_id)
    receivable = demand_partner(partner_id, AccountKind.RECEIVABLE)
    owed = balance(writes, receivable)
    back = returned_entry(first.end_to_end_id, "MD06")
    second = statement(ours, back, sequence=2, opening="119.00")  # the first statement closed at 119.00
    bank.import_file(writes, second, "md06.xml", {ours: "EUR"}, clock=lambda: NOW)
    with writes() as db:
        assert db.scalars(select(PayoutBatchRow.state).where(PayoutBatchRow.message_id == paid)).one() == "PAID"
        payee = db.scalars(select(PayoutBatchRow.payee).where(PayoutBatchRow.message_id == paid)).one()
        # The helper's batch carries no items (it has no sessions): the payout check says so, nothing else.
        problems = [p for p in check_ledger(db).problems if payee not in p]
        assert problems == []
        assert ledger.account_balance(db, CASH_IN_TRANSIT, "EUR") == 0
    assert balance(writes, receivable) - owed == 11900
    assert open_minor(writes, partner_id, number) == 11900
    returned = collection(writes, number)
    assert returned is not None
    assert (returned.state, returned.reason_code) == ("RETURNED", "MD06")


def test_an_invoice_is_collected_once(writes: sessionmaker[Session], tmp_path: Path) -> None:
    partner_id, _ = dd_partner(writes)
    number, _ = invoice(writes, partner_id, 3000)
    due = due_date(writes, number)
    with writes.begin() as db:
        from persistence import direct_debits as stored

        stored.plan(db, due, now=at(due))
        stored.plan(db, due, now=at(due))  # a retried plan inserts nothing
    with writes() as db:
        rows = db.scalars(
            select(SddCollectionRow)
            .join(InvoiceRow, InvoiceRow.key == SddCollectionRow.invoice_key)
            .where(InvoiceRow.number == number)
        ).all()
        assert len(rows) == 1


def test_a_transfer_partner_is_never_debited(writes: sessionmaker[Session], tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:8]
    dp = DemoPartner(f"dp-tr-{suffix}", "Transfer", "DE", "DE281045677", "EUR", f"k-{suffix}")
    with writes.begin() as db:
        ensure_demand_partner(db, dp, {"credit": {"limit": "1000", "session_cap": "80"}}, now=NOW)
    number, _ = invoice(writes, dp.id, 3000)
    due = due_date(writes, number)
    collector(writes, tmp_path).run(due, now=at(due))
    assert collection(writes, number) is None


@pytest.mark.parametrize("what", ["sdd_"])
def test_the_direct_debit_tables_are_as_the_migration_made_them(engine: Engine, what: str) -> None:
    assert [d for d in schema_differences(engine) if what in d or "bank_matches" in d] == []


def test_the_simulated_bank_credits_on_the_date_returns_am04_once_and_is_paid_the_second_time(
    writes: sessionmaker[Session], tmp_path: Path
) -> None:
    partner_id, umr = dd_partner(writes)
    number, _ = invoice(writes, partner_id, 10000)
    due = due_date(writes, number)
    simulated = SimulatedDirectDebitBank(tmp_path / "out", returns={umr: ["AM04"]})
    run = collector(writes, tmp_path)
    ours = CREDITOR.iban
    receivable = demand_partner(partner_id, AccountKind.RECEIVABLE)

    def day(on: date) -> None:
        """One day of the demo: the run, then the bank's notification of the day imported."""
        run.run(on, now=at(on))
        document = simulated.notification(ours, on, on, message_id=f"SIM-{uuid.uuid4().hex[:10]}")
        if document is not None:
            assert schema_errors(document) == []
            bank.import_file(writes, document, f"{on}.xml", {ours: "EUR"}, clock=lambda: at(on))

    owed = balance(writes, receivable)
    for offset in range(-1, 4):  # returned on day 2, re-presented by the run of day 3
        day(due + timedelta(days=offset))
    first = collection(writes, number)
    assert first is not None
    assert (first.state, first.reason_code) == ("RETURNED", "AM04")
    second = collection(writes, number, attempt=2)
    assert second is not None
    assert second.state == "SUBMITTED"
    assert second.collection_date is not None
    for offset in range(0, 4):
        day(second.collection_date + timedelta(days=offset))
    paid = collection(writes, number, attempt=2)
    assert paid is not None
    assert paid.state == "CREDITED", "the re-presentation is paid"
    assert balance(writes, receivable) - owed == -11900
    assert open_minor(writes, partner_id, number) == 0
    assert collection(writes, number, attempt=3) is None
    assert partner_id not in direct_debits.flagged_partners(direct_debits.collections(writes, partner_id))
