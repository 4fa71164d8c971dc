"""The simulated bank on SQLite and PostgreSQL: its camt.053 statements validate against the XSD, add up,
are numbered per account and open at the previous closing balance; they are read and booked by the
importer `networkcore bank import` uses, the next day's continuing the sequence; and a demo-like cycle
(payouts it settled, partners paying on time, late, partially and with a mistyped reference) reconciles:
book = statement + in transit, and the ledger check passes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from adapters.camt import read_statement, schema_errors
from adapters.iso20022 import CreditTransfer, credit_transfer_file
from cli.seed import DemoPartner, ensure_demand_partner
from domain.collections.statements import check_statement
from domain.invoicing.creditor_reference import creditor_reference
from domain.partners import PostalAddress
from domain.payouts.bank import bank_account
from persistence.bank_reconciliation import reconcile
from persistence.ledger_check import check_ledger
from services import bank
from simulator.bank import BankRefusal, SimulatedBank
from tests.integration.test_bank_statements import (  # noqa: F401  (fixtures)
    _batch,
    invoice,
    new_iban,
    open_minor,
    private_writes,
)

DAY = date(2026, 6, 1)
NOW = datetime(2026, 6, 1, 18, tzinfo=UTC)
OURS = "DE02100500000054540402"


def test_statements_validate_add_up_and_continue_day_after_day(writes: sessionmaker[Session]) -> None:
    ours = new_iban()
    simulated = SimulatedBank(writes, accounts={ours: "EUR"}, opening_balance=Decimal("1000.00"))
    reference = creditor_reference("NC-2026-000042")
    simulated.receive_payment(
        "Roamly B.V.", "NL91ABNA0417164300", "EUR", Decimal("119.00"), DAY, reference=reference, now=NOW
    )
    simulated.receive_payment(
        "Fahrwerk GmbH", "DE75512108001245126199", "EUR", Decimal("0.01"), DAY, text="june", now=NOW
    )

    first = simulated.statement(ours, DAY, now=NOW)
    assert schema_errors(first) == []
    read = read_statement(first)
    assert check_statement(read, {ours: "EUR"}) == "EUR"
    assert (read.sequence_number, read.opening, read.closing, read.closing_date) == (
        1,
        Decimal("1000.00"),
        Decimal("1119.01"),
        DAY,
    )
    credit = read.entries[0]
    assert (credit.bank_transaction_code, credit.booking_date, credit.value_date) == ("PMNT/RCDT/ESCT", DAY, DAY)
    (details,) = credit.transactions
    assert (details.debtor_name, details.debtor_iban, details.structured_references) == (
        "Roamly B.V.",
        "NL91ABNA0417164300",
        (("SCOR", reference),),
    )
    assert read.entries[1].transactions[0].unstructured == "june"
    assert len({e.account_servicer_reference for e in read.entries}) == 2

    assert simulated.statement(ours, DAY, now=NOW + timedelta(hours=1)) == first  # the same day: the same file
    with pytest.raises(BankRefusal, match="statement of 2026-06-01 is out"):
        simulated.receive_payment("Late", "DE75512108001245126199", "EUR", Decimal("1.00"), DAY, now=NOW)
    with pytest.raises(BankRefusal, match="statements go forward"):
        simulated.statement(ours, DAY - timedelta(days=1), now=NOW)
    with pytest.raises(BankRefusal, match="no account in CHF"):
        simulated.receive_payment("Swiss", "CH9300762011623852957", "CHF", Decimal("1.00"), DAY, now=NOW)
    with pytest.raises(BankRefusal, match="more precision"):
        simulated.receive_payment("Odd", "DE75512108001245126199", "EUR", Decimal("1.001"), DAY, now=NOW)

    next_day = DAY + timedelta(days=1)
    simulated.receive_payment("Voyageo", "FR1420041010050500013M02606", "EUR", Decimal("5.00"), next_day, now=NOW)
    second = read_statement(simulated.statement(ours, next_day, now=NOW + timedelta(days=1)))
    assert (second.sequence_number, second.opening, second.closing) == (2, Decimal("1119.01"), Decimal("1124.01"))
    empty = read_statement(simulated.statement(ours, next_day + timedelta(days=1), now=NOW + timedelta(days=2)))
    assert (empty.sequence_number, empty.opening, empty.closing, empty.entries) == (
        3,
        Decimal("1124.01"),
        Decimal("1124.01"),
        (),
    )

    accounts = {ours: "EUR"}
    imported = [
        bank.import_file(writes, simulated.statement(ours, DAY + timedelta(days=n), now=NOW), f"{n}.xml", accounts)
        for n in range(3)
    ]
    assert [(i.state, i.entries, i.warnings) for i in imported] == [
        ("BOOKED", 2, ()),
        ("BOOKED", 1, ()),
        ("BOOKED", 0, ()),
    ]


BERLIN = PostalAddress("Torstrasse", "10119", "Berlin", building_number="49")
ZURICH = PostalAddress("Bahnhofstrasse", "8001", "Zürich", building_number="1")


def _payout(writes: sessionmaker[Session], simulated: SimulatedBank, amount_minor: int) -> str:
    """A payout batch the payout activities paid (the rail said so) and its pain.001, which the bank took."""
    message_id = _batch(writes, "EUR", amount_minor, "PAID")
    transfer = CreditTransfer(
        message_id=message_id,
        created_at=NOW,
        execution_date=DAY,
        debtor=bank_account("NetworkCore GmbH", "DE", OURS, "BELADEBEXXX", BERLIN),
        creditor=bank_account("Stromnetz Laden GmbH", "CH", "CH9300762011623852957", "UBSWCHZH80A", ZURICH),
        currency="EUR",
        amount=Decimal(amount_minor).scaleb(-2),
        remittance="payout",
    )
    simulated.submit(message_id, credit_transfer_file(transfer), now=NOW)
    return message_id


def problems(db: Session) -> list[str]:
    """What ``ledger check`` finds, but for the payouts of ``_batch``, made without sessions to earn them."""
    return [p for p in check_ledger(db).problems if not p.startswith("cpo:cpo-bank-")]


def test_a_billing_cycle_reconciles_book_with_statement_and_in_transit(
    private_writes: sessionmaker[Session],  # noqa: F811
) -> None:
    writes = private_writes
    dp = DemoPartner("dp-cycle", "Cycle Fleet GmbH", "DE", "DE281045677", "EUR", "k-cycle")
    with writes.begin() as db:
        ensure_demand_partner(db, dp, {"credit": {"limit": "1000", "session_cap": "80"}}, now=NOW)
    payer = "DE75512108001245126199"
    (on_time, a), (late, b), (partial, c), (mistyped, d) = (
        invoice(writes, dp.id, n) for n in (10000, 2000, 3000, 4000)
    )
    simulated = SimulatedBank(writes, accounts={OURS: "EUR"})
    _payout(writes, simulated, 5000)
    # Paid per the rail's report, settled by the bank the next day: in transit until then.
    _payout(writes, SimulatedBank(writes, accounts={OURS: "EUR"}, delay=timedelta(days=1)), 700)

    def pay(amount_minor: int, on: date, **quoting: str) -> None:
        simulated.receive_payment(
            "Cycle Fleet GmbH", payer, "EUR", Decimal(amount_minor).scaleb(-2), on, now=NOW, **quoting
        )

    pay(a, DAY, reference=creditor_reference(on_time))
    pay(c - 1000, DAY, reference=creditor_reference(partial))
    pay(d, DAY, text=f"invoice {creditor_reference(mistyped)[:-1]}X")
    pay(b, DAY + timedelta(days=1), reference=creditor_reference(late))
    accounts = {OURS: "EUR"}

    first = bank.import_file(writes, simulated.statement(OURS, DAY, now=NOW), "day1.xml", accounts)
    assert first.by_outcome == {"PAYOUT": 1, "PARTNER": 2, "SUSPENSE": 1}
    assert (open_minor(writes, dp.id, on_time), open_minor(writes, dp.id, partial)) == (0, 1000)
    with writes() as db:
        report = reconcile(db).currencies["EUR"]
        assert problems(db) == []
    opening = 25_000_000
    assert report.statement_minor == opening - 5000 + a + (c - 1000) + d
    assert report.in_transit_minor == -700  # the rail said paid, no statement shows it yet
    assert report.book_minor == report.statement_minor + report.in_transit_minor
    assert report.unmatched_minor == d

    (waiting,) = bank.unmatched(writes)
    bank.assign(writes, waiting.entry_key, dp.id, invoice_number=mistyped)
    second = bank.import_file(
        writes, simulated.statement(OURS, DAY + timedelta(days=1), now=NOW + timedelta(days=1)), "day2.xml", accounts
    )
    assert (second.by_outcome, second.warnings) == ({"PAYOUT": 1, "PARTNER": 1}, ())
    assert [open_minor(writes, dp.id, n) for n in (on_time, late, partial, mistyped)] == [0, 0, 1000, 0]
    with writes() as db:
        report = reconcile(db).currencies["EUR"]
        assert problems(db) == []
    assert (report.in_transit_minor, report.unmatched_minor) == (0, 0)
    assert report.book_minor == report.statement_minor == opening - 5700 + a + b + (c - 1000) + d
    assert report.collected_minor == a + b + (c - 1000) + d
