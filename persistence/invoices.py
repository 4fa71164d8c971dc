"""Storing invoices: numbers gap-free per issuer and series, allocated in the caller's transaction.

``allocate_number`` increments the series row and so locks it until the transaction ends (a row lock on
PostgreSQL; SQLite has one writer anyway): the number is used by the invoice stored in that transaction,
or, if the transaction rolls back, released with it. A number is never burnt, never given twice. Callers
allocate last, just before the insert, to hold the lock as briefly as possible.

Every document is issued with its EN 16931 e-invoice, validated first (``persistence.einvoices``): one that
fails is not issued, and its number goes back with the transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.einvoice.build import einvoice_group
from domain.einvoice.issuing import EInvoiceIssuing
from domain.invoicing.documents import (
    PLATFORM_ISSUER,
    DocumentKind,
    InvoiceDocument,
    IssuedParty,
    invoice_number,
    invoice_payment,
    line_from_json,
    line_to_json,
    revenue_share_partner,
)
from domain.invoicing.lines import InvoiceLine, credited, invoice_totals
from domain.vat.treatment import TaxParty
from persistence import einvoices
from persistence.db import dialect_of, execute_built, insert_in
from persistence.revenue_share import book_revenue_share_vat
from persistence.tables import InvoiceLineRow, InvoiceRow, InvoiceSeriesRow

DRAFT = "DRAFT"
ISSUED = "ISSUED"


@functools.cache
def _next_number(dialect: str) -> Any:
    """One statement that takes a series' next number, creating the series at 1 the first time. Built once
    per dialect: every settlement numbers two documents."""
    return (
        insert_in(dialect, InvoiceSeriesRow)
        .on_conflict_do_update(
            index_elements=["issuer", "series"], set_={"last_number": InvoiceSeriesRow.last_number + 1}
        )
        .returning(InvoiceSeriesRow.last_number)
    )


def allocate_number(db: Session, issuer: str, series: str) -> int:
    """The next number of the series, held by this transaction until it commits or rolls back (the series'
    row stays locked by the update until then: gap-free, in the order of the transactions)."""
    allocated = execute_built(db, _next_number(dialect_of(db)), {"issuer": issuer, "series": series, "last_number": 1})
    return int(allocated.scalar_one())


def _header_party(party: TaxParty, lines: Sequence[InvoiceLine], *, supplier: bool) -> IssuedParty:
    """The party with the VAT id its lines were invoiced under (its home id when lines differ)."""
    ids = {line.vat.supplier_vat_id if supplier else line.vat.customer_vat_id for line in lines}
    vat_id = ids.pop() if len(ids) == 1 else party.vat_id_in(party.country)
    return IssuedParty.of(party, vat_id)


def _add_line(db: Session, invoice: InvoiceRow, line: InvoiceLine, generation: int) -> None:
    db.add(
        InvoiceLineRow(
            invoice_key=invoice.key,
            session_id=line.session_id,
            generation=generation,
            net_minor=line.net_minor,
            vat_minor=line.vat_minor,
            place_of_supply=line.vat.place_of_supply,
            national_currency=line.national.currency,
            national_vat_minor=line.national.vat_minor,
            line=line_to_json(line),
        )
    )


# Built once: every settlement asks it of both its invoices.
_ISSUED_FOR_SESSION = (
    select(InvoiceRow)
    .join(InvoiceLineRow, InvoiceLineRow.invoice_key == InvoiceRow.key)
    .where(
        InvoiceRow.issuer == bindparam("issuer"),
        InvoiceRow.kind == DocumentKind.INVOICE.value,
        InvoiceLineRow.session_id == bindparam("session_id"),
        InvoiceLineRow.generation == bindparam("generation"),
    )
)


def issued_for_session(db: Session, issuer: str, session_id: str, generation: int = 0) -> InvoiceRow | None:
    """The issuer's invoice or statement (issued or draft) that carries the session's line of a settlement
    generation, if any."""
    return db.scalar(_ISSUED_FOR_SESSION, {"issuer": issuer, "session_id": session_id, "generation": generation})


def session_lines(db: Session, session_id: str, generation: int) -> list[tuple[InvoiceLineRow, InvoiceRow]]:
    """The session's invoice lines of a settlement generation (one per issuer), with their invoices."""
    found = db.execute(
        select(InvoiceLineRow, InvoiceRow)
        .join(InvoiceRow, InvoiceLineRow.invoice_key == InvoiceRow.key)
        .where(
            InvoiceRow.kind == DocumentKind.INVOICE.value,
            InvoiceLineRow.session_id == session_id,
            InvoiceLineRow.generation == generation,
        )
        .order_by(InvoiceLineRow.key)
    ).all()
    return [(line, invoice) for line, invoice in found]


def platform_line(db: Session, session_id: str) -> tuple[InvoiceLineRow, InvoiceRow] | None:
    """The session's latest line on the platform's invoice or statement to its demand partner, with that
    invoice (after a correction, the corrected one)."""
    found = db.execute(
        select(InvoiceLineRow, InvoiceRow)
        .join(InvoiceRow, InvoiceLineRow.invoice_key == InvoiceRow.key)
        .where(
            InvoiceRow.issuer == PLATFORM_ISSUER,
            InvoiceRow.kind == DocumentKind.INVOICE.value,
            InvoiceLineRow.session_id == session_id,
        )
        .order_by(InvoiceLineRow.generation.desc())
    ).first()
    return None if found is None else (found[0], found[1])


def correction_key(issuer: str, session_id: str, kind: DocumentKind, generation: int) -> str:
    """What makes a correction's document unique: its issuer, session, kind and generation."""
    return f"{issuer}|{session_id}|{kind.value}|{generation}"


def issue_invoice(
    db: Session,
    *,
    issuer: str,
    series: str,
    recipient: str,
    supplier: TaxParty,
    customer: TaxParty,
    line: InvoiceLine,
    self_billing: bool,
    now: datetime,
    issuing: EInvoiceIssuing,
    generation: int = 0,
) -> InvoiceRow:
    """A numbered invoice of one session's line; the one already issued for it when there is one. A
    correction's invoice (generation > 0) is unique by its correction key instead of its session."""
    existing = issued_for_session(db, issuer, line.session_id, generation)
    if existing is not None:
        return existing
    row = _unnumbered(issuer, series, recipient, line.currency, period=None, session_id=line.session_id, now=now)
    if generation > 0:
        row.session_id = None
        row.correction_key = correction_key(issuer, line.session_id, DocumentKind.INVOICE, generation)
    return _issue(
        db,
        row,
        [line],
        supplier=supplier,
        customer=customer,
        self_billing=self_billing,
        now=now,
        issuing=issuing,
        generation=generation,
    )


def issue_credit_note(
    db: Session,
    *,
    original: InvoiceRow,
    line: InvoiceLine,
    generation: int,
    supplier: TaxParty,
    customer: TaxParty,
    now: datetime,
    issuing: EInvoiceIssuing,
) -> InvoiceRow:
    """The numbered credit note that cancels the session's ``line`` (of ``generation``) on ``original``, in
    the original's series; the one already issued when there is one. A line on a statement not issued yet
    is cancelled the same way: the statement keeps it, the credit note takes it back."""
    key = correction_key(original.issuer, line.session_id, DocumentKind.CREDIT_NOTE, generation)
    existing = db.scalar(select(InvoiceRow).where(InvoiceRow.correction_key == key))
    if existing is not None:
        return existing
    row = _unnumbered(
        original.issuer, original.series, original.recipient, line.currency, period=None, session_id=None, now=now
    )
    row.kind = DocumentKind.CREDIT_NOTE.value
    row.corrects_key = original.key
    row.correction_key = key
    corrects = original.number or f"statement {original.period} (not issued yet)"
    return _issue(
        db,
        row,
        [credited(line)],
        supplier=supplier,
        customer=customer,
        self_billing=original.issuer != PLATFORM_ISSUER,
        now=now,
        issuing=issuing,
        generation=generation,
        corrects=corrects,
    )


def _unnumbered(
    issuer: str,
    series: str,
    recipient: str,
    currency: str,
    *,
    period: str | None,
    session_id: str | None,
    now: datetime,
) -> InvoiceRow:
    """An invoice not numbered yet: a draft statement, or a session's invoice about to be issued."""
    return InvoiceRow(
        issuer=issuer,
        series=series,
        kind=DocumentKind.INVOICE.value,
        status=DRAFT,
        recipient=recipient,
        currency=currency,
        period=period,
        session_id=session_id,
        created_at=now,
    )


def _issue(
    db: Session,
    row: InvoiceRow,
    lines: Sequence[InvoiceLine],
    *,
    supplier: TaxParty,
    customer: TaxParty,
    self_billing: bool,
    now: datetime,
    issuing: EInvoiceIssuing,
    generation: int = 0,
    corrects: str | None = None,
) -> InvoiceRow:
    """Number ``row`` and store it issued, with ``lines`` (added here for a row not stored yet); a
    revenue-share document books its VAT in the same transaction."""
    new = row.key is None
    sequence = allocate_number(db, row.issuer, row.series)
    number = invoice_number(row.series, sequence)
    kind = DocumentKind(row.kind)
    payment = invoice_payment(
        kind, row.issuer, number, now.date(), supplier=supplier, customer=customer, currency=row.currency
    )
    document = InvoiceDocument(
        kind=kind,
        number=number,
        issuer=row.issuer,
        series=row.series,
        sequence=sequence,
        issue_date=now.date(),
        supplier=_header_party(supplier, lines, supplier=True),
        customer=_header_party(customer, lines, supplier=False),
        currency=row.currency,
        lines=tuple(lines),
        self_billing=self_billing,
        period=row.period,
        corrects=corrects,
        payment=payment,
    )
    totals = invoice_totals(row.currency, lines)
    row.status = ISSUED
    row.sequence = sequence
    row.number = number
    row.net_minor = totals.net_minor
    row.vat_minor = totals.vat_minor
    row.document = document.to_json()
    row.due_date = None if payment is None else payment.due_date
    row.payment_reference = None if payment is None else payment.reference
    row.issued_at = now
    einvoices.attach_einvoice(db, row, issuing)  # before the row is written: issued rows are immutable
    if new:
        db.add(row)
        db.flush()
        for line in lines:
            _add_line(db, row, line, generation)
    db.flush()
    partner_id = revenue_share_partner(row.issuer)
    if partner_id is not None:
        book_revenue_share_vat(db, partner_id=partner_id, number=number, currency=row.currency, lines=lines, now=now)
    einvoices.queue_delivery(db, row)
    return row


def add_to_statement(
    db: Session, *, issuer: str, series: str, recipient: str, period: str, line: InvoiceLine, now: datetime
) -> InvoiceRow:
    """Put the session's line on the recipient's open draft statement for ``period`` (opened on first use),
    the one of the lines its e-invoice can state with it (``einvoice_group``: a month's sessions taxed in
    another currency, or outside the scope of VAT, have statements of their own). A line that is already on a
    statement stays where it is."""
    existing = issued_for_session(db, issuer, line.session_id)
    if existing is not None:
        return existing
    group = einvoice_group(line)
    draft = _open_draft(db, issuer, recipient, line.currency, period, group)
    if draft is None:
        try:
            with db.begin_nested():
                draft = _unnumbered(issuer, series, recipient, line.currency, period=period, session_id=None, now=now)
                draft.einvoice_group = group
                db.add(draft)
        except IntegrityError:
            # Another worker opened it first: use theirs.
            draft = _open_draft(db, issuer, recipient, line.currency, period, group)
            assert draft is not None
    _add_line(db, draft, line, 0)
    db.flush()
    return draft


def _open_draft(db: Session, issuer: str, recipient: str, currency: str, period: str, group: str) -> InvoiceRow | None:
    return db.scalar(
        select(InvoiceRow)
        .where(
            InvoiceRow.status == DRAFT,
            InvoiceRow.issuer == issuer,
            InvoiceRow.recipient == recipient,
            InvoiceRow.currency == currency,
            InvoiceRow.period == period,
            InvoiceRow.einvoice_group == group,
        )
        .with_for_update()
    )


def drafts_before(db: Session, period: str, *, recipient: str | None = None) -> list[int]:
    """Draft statements of months before ``period`` ("YYYY-MM"): the ones a statement run issues."""
    query = select(InvoiceRow.key).where(InvoiceRow.status == DRAFT, InvoiceRow.period < period)
    if recipient is not None:
        query = query.where(InvoiceRow.recipient == recipient)
    return list(db.scalars(query.order_by(InvoiceRow.period, InvoiceRow.key)))


def issue_statement(
    db: Session, key: int, *, supplier: TaxParty, customer: TaxParty, now: datetime, issuing: EInvoiceIssuing
) -> InvoiceRow:
    """Number and issue a draft statement with the lines it holds (a no-op for one already issued)."""
    row = db.get_one(InvoiceRow, key, with_for_update=True)
    if row.status == ISSUED:
        return row
    lines = [
        line_from_json(line.line)
        for line in db.scalars(
            select(InvoiceLineRow).where(InvoiceLineRow.invoice_key == key).order_by(InvoiceLineRow.key)
        )
    ]
    self_billing = row.issuer != PLATFORM_ISSUER
    return _issue(
        db, row, lines, supplier=supplier, customer=customer, self_billing=self_billing, now=now, issuing=issuing
    )
