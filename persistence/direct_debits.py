"""SEPA Direct Debit mandates and collections, in the caller's transaction (``domain.collections.direct_debit``).

An invoice is collected once: ``(invoice_key, attempt)`` is unique and attempt 2 exists only as the one
re-presentation after a return that allows it. A file is built and its collections assigned to it in one
transaction, so a retried run finds them SUBMITTED and builds nothing again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from domain.collections import postings
from domain.collections.direct_debit import (
    SDD_CURRENCY,
    CollectionState,
    Mandate,
    MandateStatus,
    Scheme,
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
from domain.collections.matching import CollectionRef
from domain.collections.methods import CollectionMethod, CollectionTermsInvalid, collection_method
from domain.errors import DomainError
from domain.invoicing.documents import PLATFORM_ISSUER, DocumentKind
from domain.ledger.entries import JournalEntry
from domain.partners import PostalAddress
from persistence import ledger
from persistence.contract_terms import latest_terms_by_party
from persistence.db import dialect_insert
from persistence.parties import postal_address
from persistence.tables import DemandPartnerRow, InvoiceRow, SddCollectionRow, SddFileRow, SddMandateRow

ISSUED = "ISSUED"
BUILT, SENT = "BUILT", "SENT"
# Collections that took the money off the receivable (so the invoice is not open for a transfer).
COLLECTING = (CollectionState.SETTLED.value, CollectionState.CREDITED.value)
IN_FLIGHT = (CollectionState.SUBMITTED.value, CollectionState.SETTLED.value, CollectionState.CREDITED.value)


class MandateRefused(DomainError):
    code = "MANDATE_REFUSED"


def add_mandate(db: Session, mandate: Mandate, *, now: datetime) -> SddMandateRow:
    if db.get(DemandPartnerRow, mandate.partner_id) is None:
        raise MandateRefused(f"no demand partner {mandate.partner_id}")
    if db.scalar(select(SddMandateRow.key).where(SddMandateRow.mandate_id == mandate.mandate_id)) is not None:
        raise MandateRefused(f"mandate_id: {mandate.mandate_id} exists already (a UMR is never reused)")
    row = SddMandateRow(
        partner_id=mandate.partner_id,
        mandate_id=mandate.mandate_id,
        signed_on=mandate.signed_on,
        scheme=mandate.scheme.value,
        iban=mandate.iban,
        bic=mandate.bic,
        recurring=mandate.recurring,
        status=MandateStatus.ACTIVE.value,
        created_at=now,
    )
    db.add(row)
    db.flush()
    return row


def set_mandate_status(
    db: Session, mandate_id: str, status: MandateStatus, reason: str, *, now: datetime
) -> SddMandateRow:
    row = db.scalars(select(SddMandateRow).where(SddMandateRow.mandate_id == mandate_id).with_for_update()).first()
    if row is None:
        raise MandateRefused(f"mandate_id: no mandate {mandate_id}")
    row.status, row.status_reason, row.changed_at = status.value, reason, now
    return row


def mandates(db: Session, partner_id: str | None = None) -> Sequence[SddMandateRow]:
    query = select(SddMandateRow).order_by(SddMandateRow.partner_id, SddMandateRow.key)
    if partner_id is not None:
        query = query.where(SddMandateRow.partner_id == partner_id)
    return db.scalars(query).all()


def as_mandate(row: SddMandateRow) -> Mandate:
    return Mandate(
        partner_id=row.partner_id,
        mandate_id=row.mandate_id,
        signed_on=row.signed_on,
        scheme=Scheme(row.scheme),
        iban=row.iban,
        bic=row.bic,
        status=MandateStatus(row.status),
        recurring=row.recurring,
        last_collection_on=row.last_collection_on,
    )


def _usable_mandate(db: Session, partner_id: str, on: date, *, now: datetime) -> SddMandateRow | None:
    """The partner's newest active mandate; one that lapsed (36 months unused) is marked so on the way."""
    rows = db.scalars(
        select(SddMandateRow)
        .where(SddMandateRow.partner_id == partner_id, SddMandateRow.status == MandateStatus.ACTIVE.value)
        .order_by(SddMandateRow.signed_on.desc(), SddMandateRow.key.desc())
    ).all()
    for row in rows:
        mandate = as_mandate(row)
        if mandate.usable_on(on):
            return row
        row.status, row.changed_at = MandateStatus.LAPSED.value, now
        row.status_reason = f"lapsed on {mandate.lapses_on()}: 36 months without a collection"
    return None


def plan(db: Session, run_date: date, *, now: datetime) -> list[str]:
    """A PENDING collection (attempt 1) for each issued EUR invoice or statement of a DIRECT_DEBIT partner
    due by the next presentation day and not collected yet; notes on what could not be planned."""
    notes: list[str] = []
    methods: dict[str, CollectionMethod] = {}
    for partner_id, terms in latest_terms_by_party(db, "DEMAND_PARTNER").items():
        try:
            methods[partner_id] = collection_method(terms)
        except CollectionTermsInvalid as error:
            notes.append(f"{partner_id}: {error}")
    debited = [p for p, m in methods.items() if m == CollectionMethod.DIRECT_DEBIT]
    if not debited:
        return notes
    collected = select(SddCollectionRow.invoice_key).where(SddCollectionRow.attempt == 1)
    due = db.execute(
        select(InvoiceRow.key, InvoiceRow.number, InvoiceRow.recipient, InvoiceRow.currency, InvoiceRow.due_date)
        .add_columns(InvoiceRow.net_minor, InvoiceRow.vat_minor)
        .where(
            InvoiceRow.issuer == PLATFORM_ISSUER,
            InvoiceRow.kind == DocumentKind.INVOICE.value,
            InvoiceRow.status == ISSUED,
            InvoiceRow.recipient.in_([f"dp:{p}" for p in debited]),
            InvoiceRow.due_date.is_not(None),
            InvoiceRow.due_date <= run_date + timedelta(days=1),
            InvoiceRow.key.not_in(collected),
        )
        .order_by(InvoiceRow.due_date, InvoiceRow.key)
    ).all()
    rows = []
    for key, number, recipient, currency, due_date, net, vat in due:
        partner_id = recipient.removeprefix("dp:")
        amount = (net or 0) + (vat or 0)
        if currency != SDD_CURRENCY or amount <= 0:
            notes.append(f"{number}: {amount} minor {currency} is not collected by SEPA Direct Debit (EUR only)")
            continue
        mandate = _usable_mandate(db, partner_id, run_date, now=now)
        if mandate is None:
            notes.append(f"{number}: {partner_id} pays by direct debit but has no active mandate")
            continue
        rows.append(_pending(key, 1, partner_id, mandate.key, amount, due_date, now=now))
    if rows:
        db.execute(dialect_insert(db, SddCollectionRow).on_conflict_do_nothing(), rows)
    return notes


def _pending(
    invoice_key: int, attempt: int, partner_id: str, mandate_key: int, amount: int, due_on: date, *, now: datetime
) -> dict[str, object]:
    return {
        "invoice_key": invoice_key,
        "attempt": attempt,
        "end_to_end_id": end_to_end_id(invoice_key, attempt),
        "partner_id": partner_id,
        "mandate_key": mandate_key,
        "currency": SDD_CURRENCY,
        "amount_minor": amount,
        "due_on": due_on,
        "state": CollectionState.PENDING.value,
        "created_at": now,
    }


@dataclass(frozen=True, slots=True)
class PendingDebit:
    """A PENDING collection due in the run, with what its pain.008 transaction needs."""

    collection_key: int
    end_to_end_id: str
    amount_minor: int
    collection_date: date
    mandate: Mandate
    debtor_name: str
    debtor_country: str
    debtor_address: PostalAddress | None
    reference: str | None


def pending_debits(db: Session, run_date: date) -> list[PendingDebit]:
    """The PENDING collections due by the next presentation day, locked for this run, oldest first."""
    rows = db.execute(
        select(SddCollectionRow, SddMandateRow, DemandPartnerRow, InvoiceRow.payment_reference)
        .join(SddMandateRow, SddMandateRow.key == SddCollectionRow.mandate_key)
        .join(DemandPartnerRow, DemandPartnerRow.id == SddCollectionRow.partner_id)
        .join(InvoiceRow, InvoiceRow.key == SddCollectionRow.invoice_key)
        .where(SddCollectionRow.state == CollectionState.PENDING.value)
        .order_by(SddCollectionRow.due_on, SddCollectionRow.key)
        .with_for_update(of=SddCollectionRow)
    ).all()
    return [
        PendingDebit(
            collection_key=c.key,
            end_to_end_id=c.end_to_end_id,
            amount_minor=c.amount_minor,
            collection_date=collection_date(c.due_on, run_date),
            mandate=as_mandate(m),
            debtor_name=p.legal_entity,
            debtor_country=p.country,
            debtor_address=postal_address(p),
            reference=reference,
        )
        for c, m, p, reference in rows
        if is_due(c.due_on, run_date)
    ]


def files_of_run(db: Session, run_date: date) -> int:
    return int(db.scalar(select(func.count()).select_from(SddFileRow).where(SddFileRow.run_date == run_date)) or 0)


def record_file(
    db: Session,
    *,
    message_id: str,
    run_date: date,
    rail: str,
    document: bytes,
    batches: Iterable[tuple[str, Sequence[PendingDebit]]],
    now: datetime,
) -> SddFileRow:
    """The validated file (BUILT) and its collections SUBMITTED under their PmtInfId, in one go."""
    batches = list(batches)
    debits = [d for _, ds in batches for d in ds]
    row = SddFileRow(
        message_id=message_id,
        run_date=run_date,
        rail=rail,
        state=BUILT,
        amount_minor=sum(d.amount_minor for d in debits),
        transactions=len(debits),
        document=document.decode(),
        created_at=now,
    )
    db.add(row)
    db.flush()
    for payment_information_id, items in batches:
        for debit in items:
            collection = db.get_one(SddCollectionRow, debit.collection_key)
            collection.file_key, collection.payment_information_id = row.key, payment_information_id
            collection.collection_date, collection.sequence_type = debit.collection_date, debit.mandate.sequence_type
            collection.state, collection.changed_at = CollectionState.SUBMITTED.value, now
    return row


def unsent_files(db: Session) -> Sequence[SddFileRow]:
    return db.scalars(select(SddFileRow).where(SddFileRow.state == BUILT).order_by(SddFileRow.key)).all()


def mark_sent(db: Session, message_id: str, *, now: datetime) -> None:
    row = db.scalars(select(SddFileRow).where(SddFileRow.message_id == message_id).with_for_update()).one()
    if row.state == BUILT:
        row.state, row.sent_at = SENT, now


def _settle(db: Session, collection: SddCollectionRow, *, now: datetime) -> list[JournalEntry]:
    """SUBMITTED -> SETTLED: the receivable moves to cash in transit; the mandate's last collection date."""
    if collection.state != CollectionState.SUBMITTED.value:
        return []
    collection.state, collection.changed_at = CollectionState.SETTLED.value, now
    mandate = db.get_one(SddMandateRow, collection.mandate_key)
    collected_on = collection.collection_date or now.date()
    if mandate.last_collection_on is None or mandate.last_collection_on < collected_on:
        mandate.last_collection_on = collected_on
    return [settlement_entry(collection.end_to_end_id, collection.partner_id, collection.amount_minor)]


def settle_due(db: Session, run_date: date, *, now: datetime) -> int:
    """Post every SUBMITTED collection whose collection date has come; how many."""
    rows = db.scalars(
        select(SddCollectionRow)
        .where(
            SddCollectionRow.state == CollectionState.SUBMITTED.value,
            SddCollectionRow.collection_date <= run_date,
        )
        .order_by(SddCollectionRow.key)
        .with_for_update()
    ).all()
    entries = [e for row in rows for e in _settle(db, row, now=now)]
    ledger.post_batch(db, entries, now=now)
    return len(rows)


def collection_refs(db: Session, currency: str) -> list[CollectionRef]:
    """Our collections a statement line may credit or return."""
    if currency != SDD_CURRENCY:
        return []
    rows = db.execute(
        select(
            SddCollectionRow.end_to_end_id,
            SddCollectionRow.payment_information_id,
            SddMandateRow.mandate_id,
            SddCollectionRow.amount_minor,
            SddCollectionRow.state,
        )
        .join(SddMandateRow, SddMandateRow.key == SddCollectionRow.mandate_key)
        .where(SddCollectionRow.state.in_(IN_FLIGHT))
    )
    return [
        CollectionRef(e2e, pmt or "", umr, amount, state == CollectionState.CREDITED.value)
        for e2e, pmt, umr, amount, state in rows
    ]


def _collections(db: Session, end_to_end_ids: Sequence[str]) -> Sequence[SddCollectionRow]:
    return db.scalars(
        select(SddCollectionRow)
        .where(SddCollectionRow.end_to_end_id.in_(list(end_to_end_ids)))
        .order_by(SddCollectionRow.key)
        .with_for_update()
    ).all()


def credited(
    db: Session, end_to_end_ids: Sequence[str], bank_key: int, line: int, amount_minor: int, *, now: datetime
) -> list[JournalEntry]:
    """The statement shows the money of these collections: Dr bank / Cr cash in transit (settling first any
    whose collection date the daily run has not reached yet)."""
    entries: list[JournalEntry] = []
    for row in _collections(db, end_to_end_ids):
        entries += _settle(db, row, now=now)
        row.state, row.bank_entry_key, row.changed_at = CollectionState.CREDITED.value, bank_key, now
    entries.append(credit_entry(postings.entry_key(bank_key, line), amount_minor))
    return entries


def _consequences(db: Session, row: SddCollectionRow, code: str | None, *, now: datetime) -> str:
    """Block the mandate or plan the one re-presentation, as the reason says; what was done."""
    action = reason_action(code)
    mandate = db.get_one(SddMandateRow, row.mandate_key)
    if action.block_mandate and mandate.status == MandateStatus.ACTIVE.value:
        mandate.status, mandate.changed_at = MandateStatus.BLOCKED.value, now
        mandate.status_reason = f"{code} ({action.meaning}) on {row.end_to_end_id}: ask the partner for a new mandate"
        return f"mandate {mandate.mandate_id} blocked"
    if representation_allowed(code, row.attempt) and mandate.status == MandateStatus.ACTIVE.value:
        db.execute(
            dialect_insert(db, SddCollectionRow).on_conflict_do_nothing(),
            [_pending(row.invoice_key, 2, row.partner_id, row.mandate_key, row.amount_minor, now.date(), now=now)],
        )
        return f"re-presented as {end_to_end_id(row.invoice_key, 2)}"
    return "the receivable is open again"


def returned(
    db: Session, end_to_end_ids: Sequence[str], code: str | None, bank_key: int, *, now: datetime
) -> tuple[list[JournalEntry], list[str]]:
    """The debtor's bank took them back: RETURNED with the reason, Dr receivable / Cr bank, and what the
    reason asks for."""
    entries: list[JournalEntry] = []
    done = []
    for row in _collections(db, end_to_end_ids):
        if row.state == CollectionState.RETURNED.value:
            continue
        entries += _settle(db, row, now=now)
        row.state, row.bank_entry_key, row.changed_at = CollectionState.RETURNED.value, bank_key, now
        row.reason_code = (code or "")[:4] or None
        row.reason = f"returned: {reason_action(code).meaning}; {_consequences(db, row, code, now=now)}"
        entries.append(return_entry(row.end_to_end_id, row.partner_id, row.amount_minor))
        done.append(f"{row.end_to_end_id}: {row.reason}")
    return entries, done


def rejected(
    db: Session, end_to_end_ids: Sequence[str], code: str | None, *, report: str | None, now: datetime
) -> list[str]:
    """A pain.002 rejected them before settlement: REJECTED, the transit posting reversed if it was made."""
    entries: list[JournalEntry] = []
    done = []
    for row in _collections(db, end_to_end_ids):
        if row.state not in (CollectionState.SUBMITTED.value, CollectionState.SETTLED.value):
            done.append(f"{row.end_to_end_id}: {row.state}, a reject changes nothing")
            continue
        if row.state == CollectionState.SETTLED.value:
            entries.append(reject_entry(row.end_to_end_id, row.partner_id, row.amount_minor))
        row.state, row.changed_at = CollectionState.REJECTED.value, now
        row.reason_code = (code or "")[:4] or None
        row.reason = f"rejected: {reason_action(code).meaning}; {_consequences(db, row, code, now=now)}"
        done.append(f"{row.end_to_end_id}: {row.reason}")
    ledger.post_batch(db, entries, now=now)
    if report is not None:
        for file_row in db.scalars(
            select(SddFileRow)
            .join(SddCollectionRow, SddCollectionRow.file_key == SddFileRow.key)
            .where(SddCollectionRow.end_to_end_id.in_(list(end_to_end_ids)))
        ).unique():
            file_row.status_report = report
    return done


def file_collections(db: Session, message_id: str) -> list[tuple[str, str]]:
    """(EndToEndId, PmtInfId) of every collection a file carried."""
    rows = db.execute(
        select(SddCollectionRow.end_to_end_id, SddCollectionRow.payment_information_id)
        .join(SddFileRow, SddFileRow.key == SddCollectionRow.file_key)
        .where(SddFileRow.message_id == message_id)
    )
    return [(e2e, pmt or "") for e2e, pmt in rows]


def set_file_status(db: Session, message_id: str, status_code: str, report: str) -> bool:
    row = db.scalars(select(SddFileRow).where(SddFileRow.message_id == message_id).with_for_update()).first()
    if row is None:
        return False
    row.status_code, row.status_report = status_code[:4], report
    return True


@dataclass(frozen=True, slots=True)
class CollectionLine:
    end_to_end_id: str
    partner_id: str
    invoice_number: str | None
    attempt: int
    amount_minor: int
    currency: str
    due_on: date
    collection_date: date | None
    state: str
    reason_code: str | None
    reason: str | None
    mandate_id: str
    mandate_status: str


def collection_lines(db: Session, partner_id: str | None = None) -> list[CollectionLine]:
    query = (
        select(SddCollectionRow, InvoiceRow.number, SddMandateRow.mandate_id, SddMandateRow.status)
        .join(InvoiceRow, InvoiceRow.key == SddCollectionRow.invoice_key)
        .join(SddMandateRow, SddMandateRow.key == SddCollectionRow.mandate_key)
        .order_by(SddCollectionRow.due_on, SddCollectionRow.key)
    )
    if partner_id is not None:
        query = query.where(SddCollectionRow.partner_id == partner_id)
    return [
        CollectionLine(
            c.end_to_end_id,
            c.partner_id,
            number,
            c.attempt,
            c.amount_minor,
            c.currency,
            c.due_on,
            c.collection_date,
            c.state,
            c.reason_code,
            c.reason,
            umr,
            status,
        )
        for c, number, umr, status in db.execute(query)
    ]


def collected_by_invoice() -> Select[int, int]:
    """Per invoice, what collections took off its receivable (SETTLED or CREDITED): a subquery's select."""
    return (
        select(SddCollectionRow.invoice_key, func.sum(SddCollectionRow.amount_minor).label("collected"))
        .where(SddCollectionRow.state.in_(COLLECTING))
        .group_by(SddCollectionRow.invoice_key)
    )
