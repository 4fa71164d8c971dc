"""Invoice numbering on both databases: two workers invoicing 200 sessions at once, each session offered
to both, some transactions dying after they took a number; every series still runs exactly 1..N, no gap,
no duplicate, one invoice per session. Issued invoices cannot be changed or deleted."""

from __future__ import annotations

import random
import threading
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from domain.invoicing.creditor_reference import creditor_reference
from domain.invoicing.documents import PLATFORM_ISSUER
from domain.invoicing.lines import InvoiceLine, invoice_line
from domain.payouts.bank import bank_account
from domain.vat.treatment import TaxParty, decide_vat
from persistence import invoices
from persistence.db import make_engine, make_session_factory
from persistence.ledger_check import check_ledger
from persistence.tables import InvoiceLineRow, InvoiceRow, InvoiceSeriesRow
from persistence.vat_rates import vat_rate_table
from tests.einvoice_documents import ISSUING
from tests.integration.test_holds import new_session, partner_id  # noqa: F401 (a fixture)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
SESSIONS = 200
CPO = TaxParty("Stromnetz Laden GmbH", "München", "DE", {"DE": "DE276543216"})
PLATFORM = TaxParty("NetworkCore GmbH", "Berlin", "DE", {"DE": "DE312987657"})


class WorkerDied(Exception):
    """A transaction that dies after taking its number, as a killed worker's would."""


def line_for(session_id: str, net_minor: int) -> InvoiceLine:
    decision = decide_vat(CPO, PLATFORM, charger_country="DE", supplied_on=date(2026, 5, 31), rates=vat_rate_table())
    return invoice_line(
        session_id=session_id,
        description="Electricity for EV charging",
        quantity=Decimal("10.5"),
        supplied_on=date(2026, 5, 31),
        currency="EUR",
        net_minor=net_minor,
        decision=decision,
        national_currency="EUR",
        national_rate=None,
    )


def self_bill(db: Session, issuer: str, series: str, line: InvoiceLine) -> InvoiceRow:
    return invoices.issue_invoice(
        db,
        issuer=issuer,
        series=series,
        recipient="platform",
        supplier=CPO,
        customer=PLATFORM,
        line=line,
        self_billing=True,
        now=NOW,
        issuing=ISSUING,
    )


def issue_with_credit_note(
    db: Session,
    *,
    issuer: str,
    series: str,
    recipient: str,
    supplier: TaxParty,
    customer: TaxParty,
    line: InvoiceLine,
    self_billing: bool,
    now: datetime = NOW,
) -> tuple[InvoiceRow, InvoiceRow]:
    """An invoice for ``line`` and the credit note that reverses it (generation 1)."""
    invoice = invoices.issue_invoice(
        db,
        issuer=issuer,
        series=series,
        recipient=recipient,
        supplier=supplier,
        customer=customer,
        line=line,
        self_billing=self_billing,
        now=now,
        issuing=ISSUING,
    )
    credit = invoices.issue_credit_note(
        db,
        original=invoice,
        line=line,
        generation=1,
        supplier=supplier,
        customer=customer,
        now=now,
        issuing=ISSUING,
    )
    return invoice, credit


def test_two_workers_number_200_sessions_without_gap_or_duplicate(
    database_url: str,
    writes: sessionmaker[Session],
    partner_id: str,  # noqa: F811
) -> None:
    suffix = uuid.uuid4().hex[:8].upper()
    issuer, series = f"cpo:test-{suffix}", f"SB-T{suffix}"
    session_ids = [new_session(writes, partner_id) for _ in range(SESSIONS)]
    doomed = set(random.Random(7).sample(session_ids, 20))
    died: set[str] = set()
    errors: list[BaseException] = []

    def work(factory: sessionmaker[Session], order: list[str]) -> None:
        for session_id in order:
            for _ in range(100):
                try:
                    with factory.begin() as db:
                        self_bill(db, issuer, series, line_for(session_id, 1000 + len(session_id)))
                        if session_id in doomed and session_id not in died:
                            died.add(session_id)
                            raise WorkerDied
                    break
                except (WorkerDied, IntegrityError):
                    continue  # rolled back: its number went back with it; the retry finds or takes one
                except DBAPIError as error:
                    if "deadlock" in str(error) or "locked" in str(error):
                        continue
                    errors.append(error)
                    return
                except BaseException as error:
                    errors.append(error)
                    return

    engines = [make_engine(database_url) for _ in range(2)]
    try:
        orders = [session_ids, list(reversed(session_ids))]
        workers = [
            threading.Thread(target=work, args=(make_session_factory(engine), order))
            for engine, order in zip(engines, orders, strict=True)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=300)
    finally:
        for engine in engines:
            engine.dispose()
    assert errors == []
    with writes() as db:
        issued = db.execute(
            select(InvoiceRow.sequence, InvoiceRow.number, InvoiceRow.session_id).where(
                InvoiceRow.issuer == issuer, InvoiceRow.series == series
            )
        ).all()
        counter = db.scalar(
            select(InvoiceSeriesRow.last_number).where(
                InvoiceSeriesRow.issuer == issuer, InvoiceSeriesRow.series == series
            )
        )
        report = check_ledger(db)
    assert sorted(sequence or 0 for sequence, _, _ in issued) == list(range(1, SESSIONS + 1))
    assert len({number for _, number, _ in issued}) == SESSIONS
    assert sorted(session or "" for _, _, session in issued) == sorted(session_ids)
    assert counter == SESSIONS
    assert died == doomed  # every doomed transaction really took a number and died
    assert not [problem for problem in report.problems if series in problem]


def test_an_issued_invoice_is_never_changed_or_deleted(
    writes: sessionmaker[Session],
    partner_id: str,  # noqa: F811
) -> None:
    session_id = new_session(writes, partner_id)
    suffix = uuid.uuid4().hex[:8].upper()
    with writes.begin() as db:
        issued = self_bill(db, f"cpo:test-{suffix}", f"SB-I{suffix}", line_for(session_id, 2500))
        key, number = issued.key, issued.number
    assert number == f"SB-I{suffix}-000001"
    for statement in (
        update(InvoiceRow).where(InvoiceRow.key == key).values(net_minor=1),
        delete(InvoiceRow).where(InvoiceRow.key == key),
        update(InvoiceLineRow).where(InvoiceLineRow.invoice_key == key).values(vat_minor=0),
        delete(InvoiceLineRow).where(InvoiceLineRow.invoice_key == key),
    ):
        with pytest.raises(DBAPIError, match="immutable"), writes.begin() as db:
            db.execute(statement)
    # Issuing the same session again returns the invoice already issued: no second number.
    with writes.begin() as db:
        again = self_bill(db, f"cpo:test-{suffix}", f"SB-I{suffix}", line_for(session_id, 2500))
        assert (again.key, again.number) == (key, number)


def test_invoices_and_statements_to_a_partner_are_open_items_with_a_due_date_and_a_reference(
    writes: sessionmaker[Session],
    partner_id: str,  # noqa: F811
) -> None:
    suffix = uuid.uuid4().hex[:8].upper()
    series = f"T{suffix}"
    account = bank_account("NetworkCore GmbH", "DE", "DE02100500000054540402", "BELADEBEXXX")
    platform = replace(PLATFORM, payment_accounts={"EUR": account})
    customer = replace(CPO, payment_terms_days=30)  # any party as the customer: its terms are what count
    sold, on_statement, self_billed = (new_session(writes, partner_id) for _ in range(3))
    with writes.begin() as db:
        invoice, credit = issue_with_credit_note(
            db,
            issuer=PLATFORM_ISSUER,
            series=series,
            recipient=f"dp:{partner_id}",
            supplier=platform,
            customer=customer,
            line=line_for(sold, 1000),
            self_billing=False,
        )
        draft = invoices.add_to_statement(
            db,
            issuer=PLATFORM_ISSUER,
            series=series,
            recipient=f"dp:{partner_id}",
            period="2026-05",
            line=line_for(on_statement, 2000),
            now=NOW,
        )
        assert (draft.due_date, draft.payment_reference) == (None, None)  # a draft is no open item yet
        statement = invoices.issue_statement(
            db, draft.key, supplier=platform, customer=customer, now=NOW, issuing=ISSUING
        )
        self_bill(db, f"cpo:test-{suffix}", f"SB-T{suffix}", line_for(self_billed, 3000))
    with writes() as db:
        rows = {
            row.number: row
            for row in db.scalars(select(InvoiceRow).where(InvoiceRow.series.in_([series, f"SB-T{suffix}"])))
        }
    first, second = f"{series}-000001", f"{series}-000003"
    assert rows[first].key == invoice.key
    assert rows[second].key == statement.key
    for number in (first, second):
        row = rows[number]
        assert row.due_date == date(2026, 7, 1)  # issued 1 June, 30 days' terms
        assert row.payment_reference == creditor_reference(number)
        assert row.document is not None
        assert row.document["payment"] == {
            "due_date": "2026-07-01",
            "reference": creditor_reference(number),
            "account": {"holder": "NetworkCore GmbH", "iban": "DE02100500000054540402", "bic": "BELADEBEXXX"},
        }
    # The credit note (number 2) and the self-billed invoice collect nothing.
    assert rows[f"{series}-000002"].key == credit.key
    for number in (f"{series}-000002", f"SB-T{suffix}-000001"):
        row = rows[number]
        assert (row.due_date, row.payment_reference) == (None, None)
        assert row.document is not None
        assert row.document["payment"] is None
