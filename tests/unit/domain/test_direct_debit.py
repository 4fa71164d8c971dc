"""SEPA Direct Debit in the pure domain: mandate checks naming the field, the 36-month lapse, sequence types,
the reason-code table, the collection rules of the statement matcher, and the ledger entries' invariants."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.collections.direct_debit import (
    CASH_IN_TRANSIT,
    Mandate,
    MandateStatus,
    SequenceType,
    checked_creditor_id,
    checked_mandate,
    collection_date,
    credit_entry,
    end_to_end_id,
    is_due,
    reason_action,
    reject_entry,
    representation_allowed,
    return_entry,
    settlement_entry,
)
from domain.collections.matching import Book, CollectionRef, Line, Outcome, Rule, match_line
from domain.collections.methods import CollectionMethod, CollectionTermsInvalid, collection_method
from domain.collections.postings import BANK
from domain.collections.statements import Direction
from domain.ledger.accounts import AccountKind, demand_partner
from domain.ledger.entries import balances
from domain.partners import FieldInvalid

TODAY = date(2026, 6, 1)
IBAN = "NL91ABNA0417164300"


def mandate(**changes: object) -> Mandate:
    fields: dict[str, object] = {
        "partner_id": "dp-a",
        "mandate_id": "NC-MNDT-0001",
        "signed_on": date(2026, 5, 1),
        "scheme": "b2b",
        "iban": "NL91 ABNA 0417 1643 00",
        "bic": None,
        "today": TODAY,
    }
    fields.update(changes)
    return checked_mandate(**fields)  # type: ignore[arg-type]


def test_a_good_mandate_is_normalised() -> None:
    m = checked_mandate(
        partner_id="dp-a",
        mandate_id=" NC-MNDT-0001 ",
        signed_on=TODAY,
        scheme="core",
        iban="NL91 ABNA 0417 1643 00",
        bic="ABNANL2A",
        today=TODAY,
    )
    assert (m.mandate_id, m.scheme.value, m.iban, m.bic) == ("NC-MNDT-0001", "CORE", IBAN, "ABNANL2A")
    assert m.status == MandateStatus.ACTIVE
    assert m.sequence_type == SequenceType.RECURRING


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"iban": "NL91ABNA0417164301"}, "iban", "not a valid IBAN"),
        ({"iban": "BR1800360305000010009795493C1"}, "iban", "not a SEPA country"),
        ({"signed_on": date(2026, 6, 2)}, "signed_on", "in the future"),
        ({"scheme": "COR1"}, "scheme", "CORE or B2B"),
        ({"mandate_id": ""}, "mandate_id", "1 to 35"),
        ({"mandate_id": "X" * 36}, "mandate_id", "1 to 35"),
        ({"mandate_id": "MANDAT_1"}, "mandate_id", "SEPA characters"),
        ({"mandate_id": "/M1"}, "mandate_id", "'/'"),
        ({"bic": "DEUTDEFF"}, "bic", "not the bank of IBAN"),
        ({"bic": "NOTABIC"}, "bic", "not a valid BIC"),
    ],
)
def test_a_bad_mandate_is_refused_naming_the_field(changes: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(FieldInvalid) as refused:
        mandate(**changes)
    assert refused.value.field == field
    assert words in str(refused.value)


def test_a_mandate_lapses_36_months_after_its_last_collection() -> None:
    m = mandate(mandate_id="M1", signed_on=date(2020, 1, 31))
    assert m.lapses_on() == date(2023, 1, 31)
    assert not m.usable_on(TODAY)
    used = replace(m, last_collection_on=date(2024, 2, 29))
    assert used.lapses_on() == date(2027, 2, 28)
    assert used.usable_on(TODAY)
    assert not replace(used, status=MandateStatus.BLOCKED).usable_on(TODAY)


def test_one_off_mandates_go_as_ooff_recurring_ones_as_rcur() -> None:
    assert mandate(recurring=False).sequence_type == SequenceType.ONE_OFF
    assert mandate().sequence_type == SequenceType.RECURRING


def test_collection_dates_keep_the_d_minus_1_presentation() -> None:
    assert collection_date(date(2026, 6, 10), TODAY) == date(2026, 6, 10)
    assert collection_date(date(2026, 5, 20), TODAY) == date(2026, 6, 2)  # overdue: the earliest possible
    assert is_due(date(2026, 6, 2), TODAY)
    assert not is_due(date(2026, 6, 3), TODAY)


def test_the_creditor_identifier_is_checked() -> None:
    assert checked_creditor_id("DE98 ZZZ0 9999 9999 99") == "DE98ZZZ09999999999"
    with pytest.raises(FieldInvalid, match="creditor_id"):
        checked_creditor_id("DE97ZZZ09999999999")


def test_the_contract_says_how_a_partner_pays() -> None:
    assert collection_method({}) == CollectionMethod.TRANSFER
    assert collection_method({"collection": {"method": "DIRECT_DEBIT"}}) == CollectionMethod.DIRECT_DEBIT
    with pytest.raises(CollectionTermsInvalid, match=r"collection\.method"):
        collection_method({"collection": {"method": "CHEQUE"}})


@pytest.mark.parametrize(
    ("code", "block", "represent"),
    [
        ("AM04", False, True),
        ("MD01", True, False),
        ("AC01", True, False),
        ("AC04", True, False),
        ("AC06", True, False),
        ("MD06", False, False),
        ("MS02", False, False),
        ("AG01", False, False),
        ("XX99", False, False),
        (None, False, False),
    ],
)
def test_what_each_reason_code_does(code: str | None, block: bool, represent: bool) -> None:
    action = reason_action(code)
    assert (action.block_mandate, action.represent) == (block, represent)
    assert representation_allowed(code, 1) == represent
    assert not representation_allowed(code, 2), "re-presented once at most"


def test_end_to_end_ids_differ_per_attempt_and_fit_35() -> None:
    first, second = end_to_end_id(123, 1), end_to_end_id(123, 2)
    assert first != second
    assert len(first) <= 35
    assert first.startswith("NCDD")


REFS = (
    CollectionRef("E1", "P1", "M1", 11900, credited=False),
    CollectionRef("E2", "P1", "M2", 5950, credited=False),
    CollectionRef("E3", "P2", "M3", 1000, credited=True),
)
BOOK = Book.of({}, [], {}, REFS)


@pytest.mark.parametrize(
    ("line", "rule", "collections"),
    [
        (Line(Direction.CREDIT, 11900, end_to_end_id="E1"), Rule.COLLECTION_END_TO_END_ID, ("E1",)),
        (
            Line(Direction.CREDIT, 17850, payment_information_id="P1"),
            Rule.COLLECTION_PAYMENT_INFORMATION_ID,
            ("E1", "E2"),
        ),
        (Line(Direction.CREDIT, 5950, mandate_id="M2"), Rule.COLLECTION_MANDATE_AND_AMOUNT, ("E2",)),
        (Line(Direction.CREDIT, 17000, payment_information_id="P1"), Rule.SUSPENSE, ()),  # not the batch's total
        (Line(Direction.CREDIT, 1000, end_to_end_id="E3"), Rule.SUSPENSE, ()),  # credited already
        (Line(Direction.DEBIT, 1000, end_to_end_id="E3", return_reason="AM04"), Rule.COLLECTION_RETURN, ("E3",)),
        (
            Line(Direction.DEBIT, 1000, mandate_id="M3", bank_transaction_code="PMNT/IDDT/UPDD"),
            Rule.COLLECTION_RETURN,
            ("E3",),
        ),
        (Line(Direction.DEBIT, 1000, end_to_end_id="E3"), Rule.SUSPENSE, ()),  # a debit, but no return
        (Line(Direction.DEBIT, 999, end_to_end_id="E3", return_reason="MD01"), Rule.SUSPENSE, ()),  # other amount
    ],
)
def test_collection_rules(line: Line, rule: Rule, collections: tuple[str, ...]) -> None:
    match = match_line(line, BOOK)
    assert (match.rule, match.collections, match.amount_minor) == (rule, collections, line.amount_minor)


def test_a_batch_credited_once_is_not_credited_again() -> None:
    line = Line(Direction.CREDIT, 17850, payment_information_id="P1")
    match = match_line(line, BOOK)
    assert match.outcome == Outcome.COLLECTION
    assert match_line(line, BOOK.settled(match)).outcome == Outcome.SUSPENSE


@given(st.integers(min_value=1, max_value=99_999_999_999), st.sampled_from(["settle-credit", "settle-reject", "all"]))
def test_a_collections_entries_balance_and_transit_clears(amount: int, path: str) -> None:
    receivable = demand_partner("dp-a", AccountKind.RECEIVABLE)
    entries = [settlement_entry("E1", "dp-a", amount)]
    if path == "settle-reject":
        entries.append(reject_entry("E1", "dp-a", amount))
    else:
        entries.append(credit_entry("bank-entry:1:0", amount))
    if path == "all":
        entries.append(return_entry("E1", "dp-a", amount))
    postings = [p for e in entries for p in e.postings]
    assert all(v == 0 for v in balances(postings).values())
    total = {a: sum(p.amount_minor for p in postings if p.account == a) for a in (CASH_IN_TRANSIT, receivable, BANK)}
    assert total[CASH_IN_TRANSIT] == 0, "cash in transit clears whatever happens"
    expected_receivable = {"settle-credit": -amount, "settle-reject": 0, "all": 0}[path]
    assert total[receivable] == expected_receivable
    assert total[BANK] == {"settle-credit": amount, "settle-reject": 0, "all": 0}[path]
