"""The demo's payment plan: one mistyped, one partial, one late payment on distinct invoices of distinct
partners, every other invoice on time, none by transfer of the partner collected by direct debit; a
mistyped reference matches no invoice; the direct debits' scaled days and the reminder days."""

from __future__ import annotations

from datetime import date, timedelta

from cli.demo_collections import LATE, MISTYPED, ON_TIME, PARTIAL, _mistyped, _plan, reminder_days
from cli.demo_direct_debits import (
    DEBITED_PARTNER,
    MANDATE_ID,
    debited_partner,
    debited_terms,
    returns_for,
    settled_down,
)
from cli.seed import EPOCH, PARTNERS, demand_partner_terms
from domain.collections.direct_debit import checked_mandate
from domain.collections.matching import Book, Line, OpenInvoice, Outcome, match_line
from domain.collections.statements import Direction
from domain.invoicing.creditor_reference import creditor_reference
from persistence.direct_debits import CollectionLine


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


def test_the_direct_debit_partner_pays_nothing_by_transfer_and_takes_no_transfer_case() -> None:
    partners = sorted(p.id for p in PARTNERS if p.active and p.cadence == "PER_SESSION")
    invoices = [OpenInvoice(k, f"NC-2026-{k:06d}", partner, 1000) for k, partner in enumerate(partners * 2, start=1)]
    plan = _plan(sorted(invoices, key=lambda i: (i.partner_id, i.number)), {DEBITED_PARTNER})
    assert DEBITED_PARTNER not in {invoice.partner_id for invoice, _ in plan}
    assert len(plan) == len(invoices) - 2
    roles = {how: invoice.partner_id for invoice, how in plan if how != ON_TIME}
    assert sorted(roles) == sorted([MISTYPED, PARTIAL, LATE])
    assert len(set(roles.values())) == 3
    assert _plan(sorted(invoices, key=lambda i: (i.partner_id, i.number))) == [
        *_plan(sorted(invoices, key=lambda i: (i.partner_id, i.number)), {DEBITED_PARTNER}),
        *((i, ON_TIME) for i in sorted(invoices, key=lambda i: i.number) if i.partner_id == DEBITED_PARTNER),
    ], "the debited partner sorts last: the transfer cases fall on the same partners with or without it"


def test_the_debited_partner_is_billed_in_euros_per_session_and_debited_from_a_sepa_account() -> None:
    partner = debited_partner()
    assert (partner.active, partner.currency, partner.cadence) == (True, "EUR", "PER_SESSION")
    assert partner.iban is not None
    terms = debited_terms(partner)
    assert terms["collection"] == {"method": "DIRECT_DEBIT"}
    assert terms["invoicing"]["payment_terms_days"] == 0
    assert {k: v for k, v in terms["invoicing"].items() if k != "payment_terms_days"} == (
        demand_partner_terms(partner)["invoicing"]
    )
    checked_mandate(
        partner_id=partner.id,
        mandate_id=MANDATE_ID,
        signed_on=EPOCH.date(),
        scheme="B2B",
        iban=partner.iban,
        bic=partner.bic,
        today=date(2026, 12, 3),
    )


def test_the_first_collection_of_this_run_is_returned_whatever_earlier_runs_presented() -> None:
    assert returns_for(0) == {MANDATE_ID: ["AM04"]}
    assert returns_for(3) == {MANDATE_ID: [None, None, None, "AM04"]}


D0 = date(2026, 12, 3)


def line(invoice: str, attempt: int, state: str, reason_code: str | None = None, debited_on: int = 1) -> CollectionLine:
    """A collection of the demo's partner, debited on the scaled day ``debited_on``."""
    return CollectionLine(
        f"E2E-{invoice}-{attempt}",
        DEBITED_PARTNER,
        invoice,
        attempt,
        11900,
        "EUR",
        D0,
        D0 + timedelta(days=debited_on),
        state,
        reason_code,
        None,
        MANDATE_ID,
        "ACTIVE",
    )


def test_the_days_go_on_until_the_returned_collection_is_re_presented_and_credited() -> None:
    """The scaled days of the demo: presented (D0), credited (D1), returned AM04 (D3), re-presented (D4),
    credited (D5), and two days more in which the bank could still return it (D7)."""
    a1, b1 = line("A", 1, "CREDITED"), line("B", 1, "CREDITED")
    returned = line("A", 1, "RETURNED", "AM04")
    days = [
        [line("A", 1, "SUBMITTED"), line("B", 1, "SUBMITTED")],
        [a1, b1],
        [a1, b1],
        [returned, b1, line("A", 2, "PENDING", debited_on=0)],
        [returned, b1, line("A", 2, "SUBMITTED", debited_on=5)],
        [returned, b1, line("A", 2, "CREDITED", debited_on=5)],
        [returned, b1, line("A", 2, "CREDITED", debited_on=5)],
        [returned, b1, line("A", 2, "CREDITED", debited_on=5)],
    ]
    assert [settled_down(lines, D0 + timedelta(days=d)) for d, lines in enumerate(days)] == [False] * 7 + [True]
    assert not settled_down([], D0 + timedelta(days=9)), "nothing presented yet"
    later = D0 + timedelta(days=9)
    assert not settled_down([returned], later), "its re-presentation is planned by the import"
    assert settled_down([line("A", 1, "RETURNED", "MD06")], later), "not re-presented: open for dunning"
    assert settled_down([returned, line("A", 2, "RETURNED", "AM04", debited_on=5)], later), "once only"


def test_reminders_run_the_day_after_the_latest_due_date_and_two_weeks_later() -> None:
    assert reminder_days(date(2026, 12, 17)) == [date(2026, 12, 18), date(2027, 1, 1)]
