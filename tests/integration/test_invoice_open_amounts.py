"""The open amounts of issued platform invoices are kept by the database (migration 0034), on SQLite and
PostgreSQL: set when an invoice is issued (a statement draft too, when it is issued later), moved by payments
(bank allocations, COPYed in bulk by an import on PostgreSQL; changed or deleted by hand), credit notes and
direct debits collected and returned; a transaction that rolls back moves nothing; the migration backfills
them and goes down and up; ``ledger check`` names a kept amount that is wrong."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, delete, inspect, select, update
from sqlalchemy.orm import Session, sessionmaker

from domain.invoicing.creditor_reference import creditor_reference
from domain.invoicing.documents import PLATFORM_ISSUER
from persistence import invoices
from persistence.db import make_engine, make_session_factory
from persistence.dunning import open_amount_problems
from persistence.ledger_check import check_ledger
from persistence.migrate import alembic_config, upgrade
from persistence.tables import BankAllocationRow, InvoiceOpenAmountRow, InvoiceRow
from services import bank
from tests.camt import Ntry, Tx, camt053
from tests.einvoice_documents import ISSUING
from tests.integration.test_bank_statements import money, new_iban, private_writes, ref
from tests.integration.test_debited_invoices import overdue
from tests.integration.test_direct_debits import at, collect_and_credit, dd_partner, returned_entry, statement
from tests.integration.test_dunning import DUE, ISSUED_AT, add_partner, issue, pay
from tests.integration.test_error_type_migration import database_at, schema_differences
from tests.integration.test_holds import new_session
from tests.integration.test_invoices import CPO, PLATFORM, line_for

__all__ = ["private_writes"]  # the fixture, used here too


def kept(writes: sessionmaker[Session], number: str) -> int | None:
    """The invoice's kept open amount; None without a kept row."""
    with writes() as db:
        return db.scalar(
            select(InvoiceOpenAmountRow.open_minor)
            .join(InvoiceRow, InvoiceRow.key == InvoiceOpenAmountRow.invoice_key)
            .where(InvoiceRow.number == number)
        )


def key_of(writes: sessionmaker[Session], number: str) -> int:
    with writes() as db:
        return db.scalars(select(InvoiceRow.key).where(InvoiceRow.number == number)).one()


def no_problems(writes: sessionmaker[Session]) -> None:
    with writes() as db:
        assert open_amount_problems(db) == []


def credit(writes: sessionmaker[Session], number: str, net_minor: int) -> None:
    """A credit note cancelling ``net_minor`` of the invoice's line."""
    with writes.begin() as db:
        original = db.scalars(select(InvoiceRow).where(InvoiceRow.number == number)).one()
        assert original.session_id is not None
        invoices.issue_credit_note(
            db,
            original=original,
            line=line_for(original.session_id, net_minor),
            generation=1,
            supplier=PLATFORM,
            customer=CPO,
            now=ISSUED_AT + timedelta(days=2),
            issuing=ISSUING,
        )


def test_issued_then_paid_in_part_in_full_and_credited(writes: sessionmaker[Session]) -> None:
    partner_id = add_partner(writes)
    paid, _ = issue(writes, partner_id, 10000)
    credited, _ = issue(writes, partner_id, 5000)
    assert (kept(writes, paid), kept(writes, credited)) == (11900, 5950)
    pay(writes, paid, 11800)  # a euro short: a bank import, its allocations COPYed on PostgreSQL
    assert kept(writes, paid) == 100
    pay(writes, paid, 100)
    assert kept(writes, paid) == 0
    credit(writes, credited, 2000)  # 20.00 + 3.80 VAT back
    assert kept(writes, credited) == 3570
    assert [number for number, _ in overdue(writes, partner_id, DUE + timedelta(days=1))] == [credited]
    no_problems(writes)


def test_a_statement_draft_is_kept_once_issued_with_what_was_credited_before(writes: sessionmaker[Session]) -> None:
    partner_id = add_partner(writes)
    series = f"ST{uuid.uuid4().hex[:6].upper()}"
    first, second = new_session(writes, partner_id), new_session(writes, partner_id)
    with writes.begin() as db:
        for session_id, net_minor in ((first, 2000), (second, 3000)):
            draft = invoices.add_to_statement(
                db,
                issuer=PLATFORM_ISSUER,
                series=series,
                recipient=f"dp:{partner_id}",
                period="2026-05",
                line=line_for(session_id, net_minor),
                now=ISSUED_AT,
            )
        # The first session's line is cancelled before the statement is issued: the credit note takes it back.
        invoices.issue_credit_note(
            db,
            original=draft,
            line=line_for(first, 2000),
            generation=1,
            supplier=PLATFORM,
            customer=CPO,
            now=ISSUED_AT,
            issuing=ISSUING,
        )
    with writes() as db:
        assert db.get(InvoiceOpenAmountRow, draft.key) is None  # a draft is no open item yet
    with writes.begin() as db:
        number = invoices.issue_statement(
            db, draft.key, supplier=PLATFORM, customer=CPO, now=ISSUED_AT, issuing=ISSUING
        ).number
    assert number is not None
    assert kept(writes, number) == 5950 - 2380
    no_problems(writes)


def test_allocations_of_one_import_copied_in_bulk(private_writes: sessionmaker[Session]) -> None:
    writes = private_writes
    partner_id = add_partner(writes)
    numbers = [issue(writes, partner_id, 10000)[0] for _ in range(4)]
    ours = new_iban()
    paying = [11900, 11900, 5000, 1]
    entries = [
        Ntry(money(amount), ref(), txs=(Tx(amount=money(amount), scor=(creditor_reference(number),)),))
        for number, amount in zip(numbers, paying, strict=True)
    ]
    done = bank.import_file(writes, camt053(ours, "EUR", entries), "bulk.xml", {ours: "EUR"}, clock=lambda: ISSUED_AT)
    assert done.by_outcome == {"PARTNER": 4}, done
    assert [kept(writes, number) for number in numbers] == [0, 0, 6900, 11899]
    no_problems(writes)


def test_allocations_changed_or_deleted_by_hand_move_the_amount(private_writes: sessionmaker[Session]) -> None:
    writes = private_writes
    partner_id = add_partner(writes)
    first, _ = issue(writes, partner_id, 10000)
    second, _ = issue(writes, partner_id, 10000)
    pay(writes, first, 5000)
    with writes.begin() as db:
        db.execute(update(BankAllocationRow).values(amount_minor=4000))
    assert kept(writes, first) == 7900
    second_key = key_of(writes, second)
    with writes.begin() as db:  # the payment was the second invoice's
        db.execute(update(BankAllocationRow).values(invoice_key=second_key))
    assert (kept(writes, first), kept(writes, second)) == (11900, 7900)
    with writes.begin() as db:
        db.execute(delete(BankAllocationRow))
    assert (kept(writes, first), kept(writes, second)) == (11900, 11900)
    no_problems(writes)


def test_a_direct_debit_collected_then_returned(private_writes: sessionmaker[Session], tmp_path: Path) -> None:
    writes = private_writes
    partner_id, _ = dd_partner(writes)
    number, first, ours = collect_and_credit(writes, tmp_path, partner_id)
    assert kept(writes, number) == 0
    assert first.collection_date is not None
    later = first.collection_date + timedelta(days=30)
    back = returned_entry(first.end_to_end_id, "MD06")
    done = bank.import_file(
        writes, statement(ours, back, sequence=2), "md06.xml", {ours: "EUR"}, clock=lambda: at(later)
    )
    assert done.by_outcome == {"COLLECTION_RETURN": 1}
    assert kept(writes, number) == 11900
    no_problems(writes)


def test_a_transaction_that_rolls_back_leaves_the_amounts_as_they_were(writes: sessionmaker[Session]) -> None:
    partner_id = add_partner(writes)
    number, _ = issue(writes, partner_id, 10000)
    another_session = new_session(writes, partner_id)
    with writes() as db:
        original = db.scalars(select(InvoiceRow).where(InvoiceRow.number == number)).one()
        assert original.session_id is not None
        invoices.issue_credit_note(
            db,
            original=original,
            line=line_for(original.session_id, 10000),
            generation=1,
            supplier=PLATFORM,
            customer=CPO,
            now=ISSUED_AT,
            issuing=ISSUING,
        )
        invoices.issue_invoice(
            db,
            issuer=PLATFORM_ISSUER,
            series=f"RB{uuid.uuid4().hex[:6].upper()}",
            recipient=f"dp:{partner_id}",
            supplier=PLATFORM,
            customer=CPO,
            line=line_for(another_session, 500),
            self_billing=False,
            now=ISSUED_AT,
            issuing=ISSUING,
        )
        db.rollback()  # the activity died before its commit
    assert kept(writes, number) == 11900
    with writes() as db:
        recipient = InvoiceOpenAmountRow.recipient == f"dp:{partner_id}"
        assert db.scalars(select(InvoiceOpenAmountRow.open_minor).where(recipient)).all() == [11900]


def test_the_open_amounts_table_is_as_the_migration_made_it(engine: Engine) -> None:
    assert [d for d in schema_differences(engine) if "invoice_open_amounts" in d] == []


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def own_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own at head: the test migrates it down and up, or corrupts it."""
    yield from database_at(request.param, tmp_path, "head")


def test_migration_0034_backfills_the_amounts_and_goes_down_and_up(own_database: str) -> None:
    url = own_database
    engine = make_engine(url)
    writes = make_session_factory(engine)
    partner_id = add_partner(writes)
    paid, _ = issue(writes, partner_id, 10000)
    credited, _ = issue(writes, partner_id, 5000)
    untouched, _ = issue(writes, partner_id, 1000)
    pay(writes, paid, 4000)
    credit(writes, credited, 5000)
    engine.dispose()

    command.downgrade(alembic_config(url), "0033")
    engine = make_engine(url)
    assert "invoice_open_amounts" not in inspect(engine).get_table_names()
    writes = make_session_factory(engine)
    pay(writes, paid, 900)  # no trigger is left behind to write into a table that is gone
    engine.dispose()

    upgrade(url, "0034")
    engine = make_engine(url)
    writes = make_session_factory(engine)
    assert [kept(writes, number) for number in (paid, credited, untouched)] == [7000, 0, 1190]
    pay(writes, paid, 7000)  # the triggers are back
    assert kept(writes, paid) == 0
    no_problems(writes)
    engine.dispose()


def test_ledger_check_names_a_kept_amount_that_is_wrong(own_database: str) -> None:
    engine = make_engine(own_database)
    writes = make_session_factory(engine)
    partner_id = add_partner(writes)
    wrong, _ = issue(writes, partner_id, 10000)
    missing, _ = issue(writes, partner_id, 10000)
    wrong_key, missing_key = key_of(writes, wrong), key_of(writes, missing)
    with writes.begin() as db:
        kept_row = InvoiceOpenAmountRow
        db.execute(update(kept_row).where(kept_row.invoice_key == wrong_key).values(open_minor=11901))
        db.execute(delete(kept_row).where(kept_row.invoice_key == missing_key))
    with writes() as db:
        problems = check_ledger(db).problems
    engine.dispose()
    assert (
        f"invoice {wrong}: 11901 minor units open as kept (for dp:{partner_id}, due {DUE}), "
        f"11900 from its credit notes, payments and direct debits (for dp:{partner_id}, due {DUE})"
    ) in problems
    assert f"invoice {missing} has no kept open amount (11900 minor units open)" in problems
