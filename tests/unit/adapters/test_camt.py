"""The camt reader: the hand-written fixtures are XSD-valid and read field by field; anything that is not
a valid camt.053/.054.001.08 is refused before it is read."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.camt import read_statement, schema_errors
from domain.collections.statements import NOTIFICATION, STATEMENT, Direction, StatementRefused, check_statement
from tests.camt import Ntry, Tx, camt053, camt054

FIXTURES = Path(__file__).parents[2] / "fixtures" / "camt"
OURS = {"DE02100500000054540402": "EUR", "CH5604835012345678009": "CHF"}


@pytest.mark.parametrize("name", ["statement.camt053.xml", "notification.camt054.xml"])
def test_the_fixtures_are_valid_against_the_iso_schemas(name: str) -> None:
    assert schema_errors((FIXTURES / name).read_bytes()) == []


def test_builder_files_are_valid_too() -> None:
    entry = Ntry(
        "10.00",
        "R1",
        txs=(Tx(amount="10.00", scor=("RF18539007547034",), ustrd="x", debtor_iban="NL91ABNA0417164300"),),
    )
    assert schema_errors(camt053("DE02100500000054540402", "EUR", [entry])) == []
    assert schema_errors(camt054("DE02100500000054540402", "EUR", [entry])) == []


def test_a_statement_is_read_field_by_field() -> None:
    statement = read_statement((FIXTURES / "statement.camt053.xml").read_bytes())
    assert (statement.kind, statement.iban, statement.currency, statement.sequence_number) == (
        STATEMENT,
        "DE02100500000054540402",
        "EUR",
        152,
    )
    assert (statement.opening, statement.closing, statement.closing_date) == (
        Decimal("1000.00"),
        Decimal("1119.00"),
        date(2026, 6, 1),
    )
    receipt, payout, pending, returned = statement.entries
    assert (receipt.amount, receipt.direction, receipt.booked, receipt.account_servicer_reference) == (
        Decimal("119.00"),
        Direction.CREDIT,
        True,
        "BANKREF-0001",
    )
    assert receipt.bank_transaction_code == "PMNT/RCDT/ESCT"
    (tx,) = receipt.transactions
    assert tx.structured_references == (("SCOR", "RF18539007547034"),)
    assert (tx.debtor_name, tx.debtor_iban) == ("Fleet Charging Co", "NL91ABNA0417164300")
    assert payout.batch_payment_information_id == "NCP-20260601-ABCDEF123456"
    assert payout.transactions[0].end_to_end_id == "NCP-20260601-ABCDEF123456"
    assert not pending.booked
    assert (returned.bank_transaction_code, returned.transactions[0].return_reason) == ("PMNT/ICDT/RRTN", "AC04")
    assert check_statement(statement, OURS) == "EUR"


def test_a_notification_keeps_each_transaction_of_a_collective_entry() -> None:
    notification = read_statement((FIXTURES / "notification.camt054.xml").read_bytes())
    assert (notification.kind, notification.opening, notification.closing) == (NOTIFICATION, None, None)
    (entry,) = notification.entries
    first, second = entry.lines()
    assert (first.amount, first.structured_references) == (Decimal("200.00"), (("QRR", "210000000003139471430009017"),))
    assert (second.amount, second.unstructured) == (
        Decimal("100.50"),
        "Invoice NC-2026-000123 and rf18 5390 0754 7034 thanks",
    )
    assert check_statement(notification, OURS) == "CHF"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b"this is not xml", "not XML"),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"/>', "not a camt.053.001.08"),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt/></Document>',
            "not a valid camt message",
        ),
        (b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>', "namespace"),
    ],
)
def test_what_is_not_a_valid_camt_file_is_refused(document: bytes, reason: str) -> None:
    with pytest.raises(StatementRefused, match=reason):
        read_statement(document)


def test_foreign_account_wrong_currency_and_unbalanced_statements_are_refused() -> None:
    entry = Ntry("10.00", "R1")
    foreign = read_statement(camt053("DE89370400440532013000", "EUR", [entry]))
    with pytest.raises(StatementRefused, match="not one of ours"):
        check_statement(foreign, OURS)
    francs = read_statement(camt053("DE02100500000054540402", "CHF", [entry]))
    with pytest.raises(StatementRefused, match="kept in EUR"):
        check_statement(francs, OURS)
    unbalanced = read_statement(camt053("DE02100500000054540402", "EUR", [entry], opening="5.00", closing="14.99"))
    with pytest.raises(
        StatementRefused, match=r"does not add up: opening 5.00 \+ booked entries 10.00 != closing 14.99"
    ):
        check_statement(unbalanced, OURS)


def test_amounts_finer_than_the_currency_are_refused() -> None:
    statement = read_statement(camt053("DE02100500000054540402", "EUR", [Ntry("1.005", "R1")], closing="1.005"))
    with pytest.raises(StatementRefused, match="finer than the currency"):
        check_statement(statement, OURS)


@pytest.mark.parametrize("name", ["statement.camt053.xml", "notification.camt054.xml"])
def test_the_one_pass_reader_and_the_entry_by_entry_reader_agree(name: str) -> None:
    """A file whose text carries the one-pass reader's private-use mark is read entry by entry: both ways
    give the same entries (here the mark is put in the message id, which no entry reads)."""
    document = (FIXTURES / name).read_bytes()
    marked_text = document.replace(b"<MsgId>", "<MsgId>\ue000".encode(), 1)
    assert read_statement(marked_text).entries == read_statement(document).entries


def test_texts_carrying_the_private_use_marks_are_read_as_they_are() -> None:
    tricky = "pay \ue000F RF18539007547034 \ue000U\ue000E now"
    entry = Ntry("10.00", "R1", txs=(Tx(amount="10.00", scor=("RF18539007547034",), ustrd=tricky),))
    (read,) = read_statement(camt053("DE02100500000054540402", "EUR", [entry])).entries
    (tx,) = read.transactions
    assert (tx.unstructured, tx.structured_references) == (tricky, (("SCOR", "RF18539007547034"),))
    assert (read.amount, read.account_servicer_reference) == (Decimal("10.00"), "R1")


@pytest.mark.parametrize("written", ["\ue000", "&#xE000;", "&#57344;"])
def test_a_mark_written_as_a_character_reference_is_found_too(written: str) -> None:
    entry = Ntry("10.00", "R1", txs=(Tx(amount="10.00", ustrd="a MARK b"),))
    document = camt053("DE02100500000054540402", "EUR", [entry]).replace(b"MARK", f"{written}U{written}F".encode())
    (read,) = read_statement(document).entries
    assert read.transactions[0].unstructured == "a \ue000U\ue000F b"
