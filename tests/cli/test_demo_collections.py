"""The demo's payment plan: one mistyped, one partial, one late payment on distinct invoices of distinct
partners, every other invoice on time; a mistyped reference matches no invoice."""

from __future__ import annotations

from cli.demo_collections import LATE, MISTYPED, ON_TIME, PARTIAL, _mistyped, _plan
from domain.collections.matching import Book, Line, OpenInvoice, Outcome, match_line
from domain.collections.statements import Direction
from domain.invoicing.creditor_reference import creditor_reference


def test_every_path_shows_once_and_the_rest_pays_on_time() -> None:
    invoices = [OpenInvoice(k, f"NC-2026-{k:06d}", partner, 1000) for k, partner in enumerate("aabbcd", start=1)]
    plan = [(invoice.number, how) for invoice, how in _plan(invoices)]
    assert plan == [
        ("NC-2026-000001", MISTYPED),
        ("NC-2026-000002", ON_TIME),
        ("NC-2026-000003", PARTIAL),
        ("NC-2026-000004", ON_TIME),
        ("NC-2026-000005", LATE),
        ("NC-2026-000006", ON_TIME),
    ]
    assert [how for _, how in _plan(invoices[:1])] == [MISTYPED]


def test_a_mistyped_reference_lands_in_suspense() -> None:
    invoices = [OpenInvoice(k, f"NC-2026-{k:06d}", "a", 1000) for k in range(1, 60)]
    book = Book.of({}, invoices, {})
    for invoice in invoices:
        text = f"invoice {_mistyped(creditor_reference(invoice.number))}"
        assert match_line(Line(Direction.CREDIT, 1000, unstructured=text), book).outcome == Outcome.SUSPENSE
