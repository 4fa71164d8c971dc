"""Invoices to their recipients: a demand partner's list and documents (the self-billed revenue-share invoices
issued in its name among them), and those carrying given sessions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from persistence import einvoices, invoice_reads
from persistence.db import SessionFactory
from persistence.einvoices import StoredEInvoice
from persistence.invoice_reads import IssuedInvoice, OpenStatement, SessionsInvoice


class InvoiceNotFound(Exception):
    """No such invoice among the partner's."""


@dataclass(frozen=True, slots=True)
class PartnerInvoices:
    issued: list[IssuedInvoice]  # newest first; its revenue-share invoices too
    open_statements: list[OpenStatement]


def _party(demand_partner_id: str) -> str:
    return f"dp:{demand_partner_id}"


def partner_invoices(reads: SessionFactory, demand_partner_id: str) -> PartnerInvoices:
    party = _party(demand_partner_id)
    with reads() as db:
        return PartnerInvoices(
            invoice_reads.issued_documents_of(db, party), invoice_reads.open_statements_of(db, party)
        )


def partner_invoice_document(reads: SessionFactory, demand_partner_id: str, number: str) -> dict[str, Any]:
    """The invoice as issued (served from the document stored then, never rebuilt)."""
    with reads() as db:
        document = invoice_reads.document_of(db, _party(demand_partner_id), number)
    if document is None:
        raise InvoiceNotFound(number)
    return document


def partner_einvoice(reads: SessionFactory, demand_partner_id: str, number: str) -> StoredEInvoice:
    """The invoice's e-invoice as issued; ``InvoiceNotFound`` when the invoice is not the partner's or was
    issued without one."""
    with reads() as db:
        einvoice = einvoices.einvoice_of(db, _party(demand_partner_id), number)
    if einvoice is None:
        raise InvoiceNotFound(number)
    return einvoice


def invoices_of_sessions(reads: SessionFactory, session_ids: Sequence[str]) -> list[SessionsInvoice]:
    with reads() as db:
        return invoice_reads.invoices_carrying(db, session_ids)
