"""Invoices as their recipients and the demo see them: frozen values read from the stored documents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from persistence.invoices import DRAFT, ISSUED
from persistence.tables import InvoiceLineRow, InvoiceRow


@dataclass(frozen=True, slots=True)
class IssuedInvoice:
    number: str
    kind: str  # INVOICE or CREDIT_NOTE
    issue_date: date
    period: str | None  # the month a statement covers; None for a session's invoice
    currency: str
    net_minor: int
    vat_minor: int
    notes: tuple[str, ...]  # legal mentions, such as "Reverse charge"
    self_billed: bool  # issued by the platform in its supplier's name (a CPO's, a partner's revenue share)
    due_date: date | None = None  # an open item to pay (None: a credit note, or issued before 0024)
    payment_reference: str | None = None  # the ISO 11649 RF its payment quotes
    einvoice_format: str | None = None  # its e-invoice's (None: issued before e-invoices were)


@dataclass(frozen=True, slots=True)
class OpenStatement:
    """A monthly statement still collecting sessions: it gets its number when the month's run issues it."""

    period: str
    currency: str
    sessions: int
    net_minor: int
    vat_minor: int


@dataclass(frozen=True, slots=True)
class SessionsInvoice:
    """An invoice or open statement carrying some of the sessions asked about; ``document`` once issued."""

    number: str | None
    recipient: str
    period: str | None
    sessions: int
    document: dict[str, Any] | None
    einvoice_format: str | None = None  # once issued: its e-invoice's format and XML
    einvoice_xml: str | None = None


def _issued(row: InvoiceRow) -> IssuedInvoice:
    # Issued invoices have all of these (a check constraint says so).
    assert row.number is not None
    assert row.net_minor is not None
    assert row.vat_minor is not None
    assert row.document is not None
    assert row.issued_at is not None
    return IssuedInvoice(
        number=row.number,
        kind=row.kind,
        issue_date=row.issued_at.date(),
        period=row.period,
        currency=row.currency,
        net_minor=row.net_minor,
        vat_minor=row.vat_minor,
        notes=tuple(row.document["notes"]),
        self_billed=bool(row.document["self_billing"]),
        due_date=row.due_date,
        payment_reference=row.payment_reference,
        einvoice_format=row.einvoice_format,
    )


def issued_documents_of(db: Session, party: str) -> list[IssuedInvoice]:
    """The party's issued invoices, newest first: those it received, and those the platform issued in its
    name (a partner's revenue share)."""
    rows = db.scalars(
        select(InvoiceRow)
        .where(_received_or_issued_by(party), InvoiceRow.status == ISSUED)
        .order_by(InvoiceRow.issued_at.desc(), InvoiceRow.key.desc())
    ).all()
    return [_issued(row) for row in rows]


def _received_or_issued_by(party: str) -> ColumnElement[bool]:
    return or_(InvoiceRow.recipient == party, InvoiceRow.issuer == party)


def open_statements_of(db: Session, recipient: str) -> list[OpenStatement]:
    """The recipient's draft statements with their lines' totals, oldest period first."""
    rows = db.execute(
        select(
            InvoiceRow.period,
            InvoiceRow.currency,
            func.count(InvoiceLineRow.key),
            func.sum(InvoiceLineRow.net_minor),
            func.sum(InvoiceLineRow.vat_minor),
        )
        .join(InvoiceLineRow, InvoiceLineRow.invoice_key == InvoiceRow.key)
        .where(InvoiceRow.recipient == recipient, InvoiceRow.status == DRAFT)
        .group_by(InvoiceRow.key, InvoiceRow.period, InvoiceRow.currency)
        .order_by(InvoiceRow.period)
    ).all()
    return [
        # PostgreSQL sums BIGINTs as NUMERIC
        OpenStatement(period or "", currency, sessions=int(count), net_minor=int(net), vat_minor=int(vat))
        for period, currency, count, net, vat in rows
    ]


def document_of(db: Session, party: str, number: str) -> dict[str, Any] | None:
    """The issued invoice's document, if the party received it or it was issued in the party's name."""
    return db.scalar(select(InvoiceRow.document).where(InvoiceRow.number == number, _received_or_issued_by(party)))


def invoices_carrying(db: Session, session_ids: Sequence[str]) -> list[SessionsInvoice]:
    """Every invoice and statement with a line for one of the sessions, by issuer."""
    rows = db.execute(
        select(InvoiceRow, func.count(InvoiceLineRow.key))
        .join(InvoiceLineRow, InvoiceLineRow.invoice_key == InvoiceRow.key)
        .where(InvoiceLineRow.session_id.in_(session_ids))
        .group_by(InvoiceRow.key)
        .order_by(InvoiceRow.issuer, InvoiceRow.key)
    ).all()
    return [
        SessionsInvoice(
            number=invoice.number,
            recipient=invoice.recipient,
            period=invoice.period,
            sessions=lines,
            document=invoice.document,
            einvoice_format=invoice.einvoice_format,
            einvoice_xml=invoice.einvoice_xml,
        )
        for invoice, lines in rows
    ]
