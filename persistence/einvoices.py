"""Each document's e-invoice, made in the transaction that issues it (``persistence.invoices._issue``), and
its delivery queue.

The e-invoice is built from the document as stored (``domain.einvoice.build``), in the format of the party
the platform deals with (the recipient of the platform's documents, or the party a self-billed document is
issued in the name of), under that party's latest contract (``domain.settlement.contracts.party_einvoicing``),
then rendered and validated by the writer the entry points hand down (``EInvoiceIssuing``). It is set on the
invoice row before the row is written, issued rows being immutable; a document whose e-invoice fails is not
issued (``EInvoiceInvalid``, its transaction rolls back with its number).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from domain.einvoice.build import (
    CreditTransfer,
    EInvoiceContext,
    EInvoiceDataMissing,
    EInvoiceNotPossible,
    PartyDetails,
    einvoice_from_document,
    type_code_of,
)
from domain.einvoice.issuing import EInvoiceInvalid, EInvoiceIssuing
from domain.einvoice.model import EInvoiceFormat, TypeCode
from domain.einvoice.recipients import document_format
from domain.invoicing.documents import PLATFORM_ISSUER
from domain.settlement.contracts import ContractTermsInvalid, EInvoiceParty, party_einvoicing
from persistence.contract_terms import PartyKind, latest_terms
from persistence.tables import CpoRow, DemandPartnerRow, EInvoiceDeliveryRow, InvoiceRow

PARTY_KINDS: dict[str, PartyKind] = {"dp": "DEMAND_PARTNER", "cpo": "CPO"}


def counterpart(row: InvoiceRow) -> str:
    """The party the platform deals with on the document: its recipient, or for a document issued in a
    party's name (a CPO's self-billed invoice, a partner's revenue share), that party."""
    return row.recipient if row.issuer == PLATFORM_ISSUER else row.issuer


def attach_einvoice(db: Session, row: InvoiceRow, issuing: EInvoiceIssuing) -> None:
    """Build, write and validate the e-invoice of ``row`` (numbered, its document set, not written yet) and
    set it on the row; ``EInvoiceInvalid`` if it cannot be issued."""
    assert row.document is not None, "the document is set before its e-invoice"
    assert row.number is not None, "and numbered"
    document = row.document
    party = counterpart(row)
    kind, _, party_id = party.partition(":")
    assert kind in PARTY_KINDS, f"{row.number}: no e-invoice recipient in {party!r}"
    in_its_name = row.issuer != PLATFORM_ISSUER
    stated = document["supplier" if in_its_name else "customer"]
    type_code = type_code_of(document)
    # Reads only: the row must not be flushed before its e-invoice is on it.
    with db.no_autoflush:
        terms = latest_terms(db, PARTY_KINDS[kind], party_id)
        account = _payout_account(db, kind, party_id) if type_code == TypeCode.SELF_BILLED_INVOICE else None
        corrected = None if row.corrects_key is None else db.get(InvoiceRow, row.corrects_key)
    try:
        setup = party_einvoicing(
            terms,
            EInvoiceParty(
                id=party_id,
                country=stated["country"],
                vat_id=stated["vat_id"],
                issues_in_its_name=in_its_name,
                structured_address=stated.get("postal_address") is not None,
                payout_account=account is not None or type_code != TypeCode.SELF_BILLED_INVOICE,
            ),
        )
    except ContractTermsInvalid as invalid:
        raise EInvoiceInvalid(f"e-invoice {row.number}: the contract of {party}: {invalid}") from invalid
    details = PartyDetails(
        legal_registration_id=setup.legal_registration,
        electronic_address=setup.electronic_address,
        contact=setup.contact,
    )
    context = EInvoiceContext(
        seller=details if in_its_name else issuing.platform,
        buyer=issuing.platform if in_its_name else details,
        buyer_reference=setup.buyer_reference,
        credit_transfer=account,
        preceding_invoice_date=None if corrected is None or corrected.issued_at is None else corrected.issued_at.date(),
    )
    try:
        einvoice = einvoice_from_document(document, context)
    except EInvoiceDataMissing as missing:
        where = f"einvoice.legal_registration in the contract of {party}" if in_its_name else "the platform's settings"
        raise EInvoiceInvalid(f"e-invoice {row.number}: {missing} (set it in {where})") from missing
    except EInvoiceNotPossible as impossible:
        raise EInvoiceInvalid(f"e-invoice {row.number}: {impossible}") from impossible
    fmt = document_format(setup.format, einvoice.type_code)
    row.einvoice_format = fmt.value
    row.einvoice_xml = issuing.write(einvoice, fmt).decode("utf-8")


def _payout_account(db: Session, kind: str, party_id: str) -> CreditTransfer | None:
    """The account a document issued in the party's name is paid into: its payout account."""
    party = db.get(CpoRow, party_id) if kind == "cpo" else db.get(DemandPartnerRow, party_id)
    if party is None or not party.iban:
        return None
    return CreditTransfer(iban=party.iban, account_name=party.legal_entity, bic=party.bic)


def queue_delivery(db: Session, row: InvoiceRow) -> None:
    """Queue the issued row's e-invoice for the outbox, in its issuing transaction."""
    assert row.key is not None, "written"
    assert row.issued_at is not None, "and issued"
    db.add(EInvoiceDeliveryRow(invoice_key=row.key, recipient=counterpart(row), queued_at=row.issued_at))


@dataclass(frozen=True, slots=True)
class StoredEInvoice:
    number: str
    recipient: str  # the party it is for: dp:<id> or cpo:<id>
    format: EInvoiceFormat
    xml: bytes
    document: dict[str, Any]


def _stored(row: InvoiceRow) -> StoredEInvoice:
    assert row.number is not None
    assert row.document is not None
    assert row.einvoice_format is not None
    assert row.einvoice_xml is not None
    return StoredEInvoice(
        number=row.number,
        recipient=counterpart(row),
        format=EInvoiceFormat(row.einvoice_format),
        xml=row.einvoice_xml.encode("utf-8"),
        document=row.document,
    )


def einvoice_of(db: Session, party: str, number: str) -> StoredEInvoice | None:
    """The e-invoice of an issued document, if the party received it or it was issued in the party's name
    (None also for a document issued before e-invoices were)."""
    row = db.scalar(
        select(InvoiceRow).where(
            InvoiceRow.number == number,
            or_(InvoiceRow.recipient == party, InvoiceRow.issuer == party),
            InvoiceRow.einvoice_xml.is_not(None),
        )
    )
    return None if row is None else _stored(row)


def pending_deliveries(db: Session, limit: int) -> list[tuple[int, StoredEInvoice]]:
    """Up to ``limit`` e-invoices not delivered yet, oldest first, with their invoice keys."""
    rows = db.scalars(
        select(InvoiceRow)
        .join(EInvoiceDeliveryRow, EInvoiceDeliveryRow.invoice_key == InvoiceRow.key)
        .where(EInvoiceDeliveryRow.delivered_at.is_(None))
        .order_by(EInvoiceDeliveryRow.invoice_key)
        .limit(limit)
    ).all()
    return [(row.key, _stored(row)) for row in rows]


def mark_delivered(db: Session, invoice_key: int, *, now: datetime) -> None:
    delivery = db.get_one(EInvoiceDeliveryRow, invoice_key)
    if delivery.delivered_at is None:
        delivery.delivered_at = now
