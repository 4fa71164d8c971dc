"""Matching statement lines, rule by rule (first hit wins), and the property that a payment is always
accounted for in full: allocations never exceed the line, allocations + excess + suspense = the line."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.collections.matching import (
    Allocation,
    Book,
    InvoiceNumbers,
    Line,
    Match,
    OpenInvoice,
    Outcome,
    PayoutRef,
    Rule,
    apply_payment,
    assignment,
    match_line,
    match_lines,
)
from domain.collections.statements import Direction
from domain.invoicing.creditor_reference import creditor_reference

OLD = OpenInvoice(1, "NC-2026-000001", "fleet", 11900)
NEW = OpenInvoice(2, "NC-2026-000002", "fleet", 5000)
OTHER = OpenInvoice(3, "NC-2026-000003", "wallet", 2500)
PAID = OpenInvoice(4, "NC-2026-000004", "wallet", 0)
BOOK = Book.of(
    {"NCP-1": PayoutRef("NCP-1", 25000, paid=False), "NCP-2": PayoutRef("NCP-2", 7000, paid=True)},
    [OLD, NEW, OTHER, PAID],
    {"NL91ABNA0417164300": ("fleet",), "DE44500105175407324931": ("wallet", "other")},
)
CREDIT, DEBIT = Direction.CREDIT, Direction.DEBIT


def rf(invoice: OpenInvoice) -> str:
    return creditor_reference(invoice.number)


CASES = [
    # (what, line, rule, partner or payout, allocations, excess)
    ("payout by EndToEndId", Line(DEBIT, 25000, end_to_end_id="NCP-1"), Rule.PAYOUT_END_TO_END_ID, "NCP-1", (), 0),
    ("payout by MsgId", Line(DEBIT, 25000, message_id="NCP-1"), Rule.PAYOUT_MESSAGE_ID, "NCP-1", (), 0),
    (
        "batch by PmtInfId",
        Line(DEBIT, 25000, payment_information_id="NCP-1"),
        Rule.PAYOUT_PAYMENT_INFORMATION_ID,
        "NCP-1",
        (),
        0,
    ),
    ("payout, other amount", Line(DEBIT, 24999, end_to_end_id="NCP-1"), Rule.SUSPENSE, None, (), 0),
    ("unknown debit", Line(DEBIT, 100), Rule.SUSPENSE, None, (), 0),
    (
        "payout returned",
        Line(CREDIT, 7000, end_to_end_id="NCP-2", return_reason="AC04"),
        Rule.PAYOUT_RETURN,
        "NCP-2",
        (),
        0,
    ),
    (
        "return by BTC",
        Line(CREDIT, 7000, end_to_end_id="NCP-2", bank_transaction_code="PMNT/ICDT/RRTN"),
        Rule.PAYOUT_RETURN,
        "NCP-2",
        (),
        0,
    ),
    (
        "return of an unpaid payout",
        Line(CREDIT, 25000, end_to_end_id="NCP-1", return_reason="AC04"),
        Rule.SUSPENSE,
        None,
        (),
        0,
    ),
    (
        "SCOR, exact",
        Line(CREDIT, 11900, structured_references=(("SCOR", rf(OLD)),)),
        Rule.INVOICE_STRUCTURED_REFERENCE,
        "fleet",
        ((1, 11900),),
        0,
    ),
    (
        "SCOR, partial",
        Line(CREDIT, 4000, structured_references=(("SCOR", rf(OLD)),)),
        Rule.INVOICE_STRUCTURED_REFERENCE,
        "fleet",
        ((1, 4000),),
        0,
    ),
    (
        "SCOR, over",
        Line(CREDIT, 12000, structured_references=(("SCOR", rf(OLD)),)),
        Rule.INVOICE_STRUCTURED_REFERENCE,
        "fleet",
        ((1, 11900),),
        100,
    ),
    (
        "SCOR of a paid invoice",
        Line(CREDIT, 900, structured_references=(("SCOR", rf(PAID)),)),
        Rule.INVOICE_STRUCTURED_REFERENCE,
        "wallet",
        (),
        900,
    ),
    (
        "two references, in their order",
        Line(CREDIT, 16000, structured_references=(("SCOR", rf(NEW)), ("SCOR", rf(OLD)))),
        Rule.INVOICE_STRUCTURED_REFERENCE,
        "fleet",
        ((2, 5000), (1, 11000)),
        0,
    ),
    (
        "RF in free text, spaced and lower case",
        Line(
            CREDIT,
            5000,
            unstructured=f"pay {' '.join(rf(NEW).lower()[i : i + 4] for i in range(0, len(rf(NEW)), 4))}, ok",
        ),
        Rule.INVOICE_REFERENCE_IN_TEXT,
        "fleet",
        ((2, 5000),),
        0,
    ),
    (
        # "RF.. 0002 ok" also reads as a valid RF ending in O: only the one we issued is matched.
        "RF in free text followed by a word that extends it validly",
        Line(CREDIT, 5000, unstructured=f"{' '.join(rf(NEW)[i : i + 4] for i in range(0, len(rf(NEW)), 4))} ok"),
        Rule.INVOICE_REFERENCE_IN_TEXT,
        "fleet",
        ((2, 5000),),
        0,
    ),
    (
        "invoice number in text",
        Line(CREDIT, 2500, unstructured="Invoice nc-2026-000003, thanks"),
        Rule.INVOICE_NUMBER_IN_TEXT,
        "wallet",
        ((3, 2500),),
        0,
    ),
    (
        "several numbers in text",
        Line(CREDIT, 16900, unstructured="NC-2026-000001 NC-2026-000002"),
        Rule.INVOICE_NUMBER_IN_TEXT,
        "fleet",
        ((1, 11900), (2, 5000)),
        0,
    ),
    ("a longer number is not a match", Line(CREDIT, 2500, unstructured="NC-2026-0000031"), Rule.SUSPENSE, None, (), 0),
    (
        "mistyped reference",
        Line(CREDIT, 11900, structured_references=(("SCOR", "RF00NC2026000001"),), unstructured="RF19 NC20 2600 0001"),
        Rule.SUSPENSE,
        None,
        (),
        0,
    ),
    (
        "payer IBAN, one invoice's amount",
        Line(CREDIT, 5000, debtor_iban="NL91 ABNA 0417 1643 00"),
        Rule.INVOICE_PAYER_IBAN_AND_AMOUNT,
        "fleet",
        ((2, 5000),),
        0,
    ),
    (
        "payer IBAN, whole balance, oldest first",
        Line(CREDIT, 16900, debtor_iban="NL91ABNA0417164300"),
        Rule.INVOICE_PAYER_IBAN_AND_AMOUNT,
        "fleet",
        ((1, 11900), (2, 5000)),
        0,
    ),
    ("payer IBAN, other amount", Line(CREDIT, 5001, debtor_iban="NL91ABNA0417164300"), Rule.SUSPENSE, None, (), 0),
    ("IBAN of two partners", Line(CREDIT, 2500, debtor_iban="DE44500105175407324931"), Rule.SUSPENSE, None, (), 0),
]


@pytest.mark.parametrize(("what", "line", "rule", "target", "allocations", "excess"), CASES, ids=[c[0] for c in CASES])
def test_rules(
    what: str, line: Line, rule: Rule, target: str | None, allocations: tuple[tuple[int, int], ...], excess: int
) -> None:
    match = match_line(line, BOOK)
    assert match.rule == rule, what
    assert target in (match.payout, match.partner_id)
    assert match.allocations == tuple(Allocation(k, a) for k, a in allocations)
    assert match.excess_minor == excess
    assert match.allocated_minor + match.excess_minor + match.suspense_minor == line.amount_minor or match.outcome in (
        Outcome.PAYOUT,
        Outcome.PAYOUT_RETURN,
    )


def test_a_settled_book_leaves_what_was_applied_open_no_more() -> None:
    first = match_line(Line(CREDIT, 4000, structured_references=(("SCOR", rf(OLD)),)), BOOK)
    book = BOOK.settled(first)
    second = match_line(Line(CREDIT, 8000, structured_references=(("SCOR", rf(OLD)),)), book)
    assert second.allocations == (Allocation(1, 7900),)
    assert second.excess_minor == 100


def test_an_assignment_is_applied_oldest_first_and_the_rest_is_credit() -> None:
    match = assignment(20000, "fleet", [OLD, NEW])
    assert (match.rule, match.outcome, match.allocations, match.excess_minor) == (
        Rule.ASSIGNED,
        Outcome.ASSIGNED,
        (Allocation(1, 11900), Allocation(2, 5000)),
        3100,
    )


invoices = st.lists(st.integers(min_value=0, max_value=10**9), max_size=8).map(
    lambda opens: [OpenInvoice(k, f"NC-{k}", "p", o) for k, o in enumerate(opens)]
)


@given(st.integers(min_value=0, max_value=10**10), invoices)
def test_a_payment_is_applied_in_full_and_never_beyond_an_invoice(amount: int, items: list[OpenInvoice]) -> None:
    allocations, excess = apply_payment(amount, items)
    assert sum(a.amount_minor for a in allocations) + excess == amount
    assert excess >= 0
    opens = {i.key: i.open_minor for i in items}
    assert all(0 < a.amount_minor <= opens[a.invoice_key] for a in allocations)
    assert excess == 0 or sum(a.amount_minor for a in allocations) == sum(opens.values())


@given(
    st.integers(min_value=1, max_value=10**9),
    st.sampled_from([CREDIT, DEBIT]),
    st.sampled_from([None, rf(OLD), rf(NEW), rf(PAID), "RF00BAD"]),
    st.sampled_from([None, "NL91ABNA0417164300", "DE44500105175407324931"]),
    st.sampled_from([None, "NCP-1", "NCP-2"]),
)
def test_every_line_is_accounted_for(
    amount: int, direction: Direction, reference: str | None, iban: str | None, end_to_end_id: str | None
) -> None:
    line = Line(
        direction,
        amount,
        end_to_end_id=end_to_end_id,
        structured_references=(("SCOR", reference),) if reference else (),
        debtor_iban=iban,
    )
    match: Match = match_line(line, BOOK)
    assert match.amount_minor == amount
    assert match.allocated_minor <= amount
    if match.outcome in (Outcome.PARTNER, Outcome.SUSPENSE):
        assert match.allocated_minor + match.excess_minor + match.suspense_minor == amount
    else:
        assert BOOK.payouts[match.payout or ""].amount_minor == amount


_any_line = st.builds(
    Line,
    direction=st.sampled_from([CREDIT, DEBIT]),
    amount_minor=st.integers(min_value=1, max_value=30000),
    end_to_end_id=st.sampled_from([None, "NCP-1", "NCP-2"]),
    structured_references=st.lists(st.sampled_from([("SCOR", rf(i)) for i in (OLD, NEW, OTHER, PAID)]), max_size=2).map(
        tuple
    ),
    unstructured=st.sampled_from(["", f"invoice {OLD.number}", "thanks"]),
    debtor_iban=st.sampled_from([None, "NL91ABNA0417164300"]),
    return_reason=st.sampled_from([None, "AC04"]),
)


@given(st.lists(_any_line, max_size=12))
def test_a_statement_matches_as_its_lines_one_after_the_other(lines: list[Line]) -> None:
    """``match_lines`` (linear, for big statements) gives what ``match_line`` and ``Book.settled`` give line
    by line, a matched payout then being paid and a returned one no longer matched."""
    book, expected = BOOK, []
    for line in lines:
        match = match_line(line, book)
        expected.append(match)
        payouts = dict(book.payouts)
        if match.payout is not None and match.outcome == Outcome.PAYOUT:
            payouts[match.payout] = PayoutRef(match.payout, payouts[match.payout].amount_minor, paid=True)
        elif match.payout is not None:
            del payouts[match.payout]
        book = replace(book, payouts=payouts, invoices=book.settled(match).invoices)
    assert match_lines(lines, BOOK) == expected
    assert BOOK.invoices[OLD.key].open_minor == OLD.open_minor  # the book given is left as it was


_number_parts = st.text(alphabet="NC-0129/", min_size=1, max_size=6)


@given(st.lists(_number_parts, max_size=8), st.text(alphabet="nNcC-0129/ xé,", max_size=40))
def test_invoice_numbers_are_found_in_a_text_as_a_search_per_invoice_finds_them(numbers: list[str], text: str) -> None:
    """The index finds what a search of the text for each invoice's number, standing alone, finds (as the
    matcher did, one regular expression per invoice and line), in the book's order."""
    invoices = [OpenInvoice(key, number, "fleet", 100) for key, number in enumerate(numbers)]
    upper = text.upper()
    searched = [i.key for i in invoices if re.search(rf"(?<![0-9A-Z]){re.escape(i.number.upper())}(?![0-9A-Z])", upper)]
    assert InvoiceNumbers.of(invoices).found_in(upper) == searched
