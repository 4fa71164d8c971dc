"""Overdue invoices and payment reminders, in the caller's transaction.

An invoice is open for what its total leaves after the credit notes that cancel its lines, the payments
applied to it (``bank_allocations``) and what direct debits collected; overdue once its due date has passed
with something open. The database keeps each issued platform invoice's open amount as those change
(``invoice_open_amounts``, migration 0034), so that the check every authorisation makes is one range of an
index of the invoices with something open, stopping at the first overdue one: its cost follows the open
invoices, not the partner's history; paid in full, it unblocks at once. ``ledger check`` proves the kept
amounts against the source rows.

Reminders are numbered in their own gap-free series and stored with their document and items; an invoice
gets at most one reminder per ladder level (a unique index), so a run repeated the same day issues nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from domain.collections import dunning
from domain.collections.dunning import DunningTerms, Level, OverdueItem, ReminderParty
from domain.errors import AuthorisationRefused, RefusalReason
from domain.invoicing.documents import PLATFORM_ISSUER, DocumentKind, invoice_number
from domain.money import from_minor, to_minor
from domain.sessions.authorisation import in_force
from domain.settlement.contracts import ContractTermsInvalid, dunning_terms
from domain.vat.treatment import TaxParty
from persistence import repositories
from persistence.direct_debits import COLLECTING
from persistence.invoices import ISSUED, allocate_number
from persistence.tables import (
    BankAllocationRow,
    ContractRow,
    DemandPartnerRow,
    InvoiceOpenAmountRow,
    InvoiceRow,
    ReminderItemRow,
    ReminderRow,
    SddCollectionRow,
)


@dataclass(frozen=True, slots=True)
class OverdueInvoice:
    key: int
    number: str
    currency: str
    due_date: date
    payment_reference: str | None
    open_minor: int


def _open_minor() -> Any:
    """An invoice's open amount, as a column expression: its total, less its credit notes, payments and what
    a direct debit collected (and was not returned)."""
    credit = aliased(InvoiceRow)
    credited = (
        select(func.coalesce(func.sum(credit.net_minor + credit.vat_minor), 0))
        .where(
            credit.corrects_key == InvoiceRow.key,
            credit.kind == DocumentKind.CREDIT_NOTE.value,
            credit.status == ISSUED,
        )
        .scalar_subquery()
    )
    paid = (
        select(func.coalesce(func.sum(BankAllocationRow.amount_minor), 0))
        .where(BankAllocationRow.invoice_key == InvoiceRow.key)
        .scalar_subquery()
    )
    debited = (
        select(func.coalesce(func.sum(SddCollectionRow.amount_minor), 0))
        .where(SddCollectionRow.invoice_key == InvoiceRow.key, SddCollectionRow.state.in_(COLLECTING))
        .scalar_subquery()
    )
    return InvoiceRow.net_minor + InvoiceRow.vat_minor + credited - paid - debited


def overdue_invoices(
    db: Session, partner_id: str, *, due_before: date, limit: int | None = None
) -> list[OverdueInvoice]:
    """The partner's invoices due before ``due_before`` with something still open, oldest due first: read from
    the kept open amounts (which issued platform invoices with a due date have)."""
    kept = InvoiceOpenAmountRow
    query = (
        select(
            InvoiceRow.key,
            InvoiceRow.number,
            InvoiceRow.currency,
            kept.due_date,
            InvoiceRow.payment_reference,
            kept.open_minor,
        )
        .join(InvoiceRow, InvoiceRow.key == kept.invoice_key)
        .where(kept.recipient == f"dp:{partner_id}", kept.due_date < due_before, kept.open_minor > 0)
        .order_by(kept.due_date, kept.invoice_key)
        .limit(limit)
    )
    return [
        OverdueInvoice(key, number or "", currency, due, reference, int(amount))
        for key, number, currency, due, reference, amount in db.execute(query)
    ]


def open_amount_problems(db: Session) -> list[str]:
    """Issued platform invoices with a due date (open items) whose kept open amount, recipient or due date
    differs from what their source rows give, and kept amounts of no such invoice: none, if the triggers
    held. Reads every invoice: for ``ledger check``, never on a hot path."""
    kept = InvoiceOpenAmountRow
    computed = {
        key: (number, recipient, due, int(amount))
        for key, number, recipient, due, amount in db.execute(
            select(InvoiceRow.key, InvoiceRow.number, InvoiceRow.recipient, InvoiceRow.due_date, _open_minor()).where(
                InvoiceRow.issuer == PLATFORM_ISSUER,
                InvoiceRow.kind == DocumentKind.INVOICE.value,
                InvoiceRow.status == ISSUED,
                InvoiceRow.due_date.is_not(None),
            )
        )
    }
    held = {
        key: (recipient, due, amount)
        for key, recipient, due, amount in db.execute(
            select(kept.invoice_key, kept.recipient, kept.due_date, kept.open_minor)
        )
    }
    problems = []
    for key in sorted(computed.keys() | held.keys()):
        if key not in computed:
            problems.append(f"invoice {key} has a kept open amount but is no issued platform invoice with a due date")
            continue
        number, recipient, due, amount = computed[key]
        if key not in held:
            problems.append(f"invoice {number} has no kept open amount ({amount} minor units open)")
        elif held[key] != (recipient, due, amount):
            kept_recipient, kept_due, kept_amount = held[key]
            problems.append(
                f"invoice {number}: {kept_amount} minor units open as kept (for {kept_recipient}, due {kept_due}), "
                f"{amount} from its credit notes, payments and direct debits (for {recipient}, due {due})"
            )
    return problems


def terms_of(partner: DemandPartnerRow, terms: dict[str, Any]) -> DunningTerms:
    return dunning_terms(terms, partner.country)


def terms_at(db: Session, partner: DemandPartnerRow, at: datetime) -> DunningTerms:
    """The dunning terms of the partner's contract in force at ``at`` (the defaults without one)."""
    contract = in_force(repositories.contract_versions(db, "DEMAND_PARTNER", partner.id), at)
    return terms_of(partner, {} if contract is None else db.get_one(ContractRow, contract.key).terms)


def refuse_if_overdue(db: Session, partner: DemandPartnerRow, terms: dict[str, Any], *, on: date) -> None:
    """Raise ``AuthorisationRefused`` (OVERDUE) when an invoice of the partner is open past its due date
    plus the grace its contract (``terms``, the version in force) gives."""
    try:
        dunning = terms_of(partner, terms)
    except ContractTermsInvalid as invalid:
        raise AuthorisationRefused(RefusalReason.CONTRACT_TERMS_INVALID, str(invalid)) from invalid
    cutoff = _cutoff(on, dunning)
    found = overdue_invoices(db, partner.id, due_before=cutoff, limit=1)
    if found:
        oldest = found[0]
        raise AuthorisationRefused(
            RefusalReason.OVERDUE,
            f"invoice {oldest.number} was due on {oldest.due_date.isoformat()} and "
            f"{from_minor(oldest.open_minor, oldest.currency)} {oldest.currency} of it is still open: "
            "new sessions start again once it is paid",
        )


def _cutoff(on: date, terms: DunningTerms) -> date:
    return dunning.block_cutoff(on, terms.block_after_days)


@dataclass(frozen=True, slots=True)
class Overdue:
    """What a partner has overdue (due date passed, something open) and whether that blocks new sessions."""

    by_currency: dict[str, tuple[int, date]]  # currency -> (open minor units, oldest due date)
    blocked: bool
    terms_invalid: str | None = None


def overdue_of(db: Session, partner: DemandPartnerRow, *, at: datetime) -> Overdue:
    """What the partner has overdue on ``at``'s date, and whether its contract in force blocks it."""
    on = at.astimezone(UTC).date()
    found = overdue_invoices(db, partner.id, due_before=on)
    by_currency: dict[str, tuple[int, date]] = {}
    for invoice in found:
        amount, oldest = by_currency.get(invoice.currency, (0, invoice.due_date))
        by_currency[invoice.currency] = (amount + invoice.open_minor, min(oldest, invoice.due_date))
    try:
        cutoff = _cutoff(on, terms_at(db, partner, at))
    except ContractTermsInvalid as invalid:
        return Overdue(by_currency, blocked=False, terms_invalid=str(invalid))
    return Overdue(by_currency, blocked=any(invoice.due_date < cutoff for invoice in found))


def partners_with_overdue(db: Session, *, on: date) -> list[str]:
    """Demand partners with an invoice of ours due before ``on`` (paid or not: the reminder run checks)."""
    recipients = db.scalars(
        select(InvoiceRow.recipient)
        .distinct()
        .where(
            InvoiceRow.due_date < on,
            InvoiceRow.issuer == PLATFORM_ISSUER,
            InvoiceRow.kind == DocumentKind.INVOICE.value,
            InvoiceRow.recipient.startswith("dp:"),
        )
        .order_by(InvoiceRow.recipient)
    )
    return [recipient.removeprefix("dp:") for recipient in recipients]


def _reminded(db: Session, invoice_keys: Sequence[int]) -> dict[int, tuple[int, bool]]:
    """Per invoice already reminded: the highest level's rank and whether a fee was claimed."""
    found: dict[int, tuple[int, bool]] = {}
    for key, level, fee in db.execute(
        select(ReminderItemRow.invoice_key, ReminderItemRow.level, ReminderItemRow.fee_minor).where(
            ReminderItemRow.invoice_key.in_(invoice_keys)
        )
    ):
        rank, claimed = found.get(key, (-1, False))
        found[key] = (max(rank, Level(level).rank), claimed or fee > 0)
    return found


def remind_partner(db: Session, partner_id: str, *, on: date, platform: TaxParty, now: datetime) -> list[ReminderRow]:
    """Issue the partner's reminders due on ``on``: per currency and level, one listing the invoices that
    reached that step of its ladder and have no reminder of that step (or a later one) yet."""
    partner = db.get_one(DemandPartnerRow, partner_id)
    terms = terms_at(db, partner, datetime.combine(on, time.max, UTC))
    found = overdue_invoices(db, partner_id, due_before=on)
    reminded = _reminded(db, [invoice.key for invoice in found])
    groups: dict[tuple[str, Level], list[tuple[OverdueInvoice, OverdueItem]]] = {}
    for invoice in found:
        step = dunning.reached(terms.ladder, invoice.due_date, on)
        rank, fee_claimed = reminded.get(invoice.key, (-1, False))
        if step is None or step.level.rank <= rank:
            continue
        item = dunning.overdue_item(
            terms=terms,
            level=step.level,
            invoice_number=invoice.number,
            payment_reference=invoice.payment_reference,
            currency_fee_minor=to_minor(terms.fee(invoice.currency), invoice.currency),
            due=invoice.due_date,
            open_minor=invoice.open_minor,
            on=on,
            fee_claimed_before=fee_claimed,
        )
        groups.setdefault((invoice.currency, step.level), []).append((invoice, item))
    return [
        _issue(db, partner, currency, level, items, terms=terms, on=on, platform=platform, now=now)
        for (currency, level), items in sorted(groups.items(), key=lambda group: (group[0][0], group[0][1].rank))
    ]


def _issue(
    db: Session,
    partner: DemandPartnerRow,
    currency: str,
    level: Level,
    items: Sequence[tuple[OverdueInvoice, OverdueItem]],
    *,
    terms: DunningTerms,
    on: date,
    platform: TaxParty,
    now: datetime,
) -> ReminderRow:
    account = platform.payment_accounts.get(currency)
    sequence = allocate_number(db, PLATFORM_ISSUER, dunning.REMINDER_SERIES)
    number = invoice_number(dunning.REMINDER_SERIES, sequence)
    lines = [item for _, item in items]
    document = dunning.reminder_document(
        number=number,
        level=level,
        issued_on=on,
        currency=currency,
        supplier=ReminderParty(platform.name, platform.address, platform.country),
        customer=ReminderParty(partner.legal_entity, partner.address or "", partner.country),
        items=lines,
        interest_percent=terms.late_interest_percent,
        pay_to=None if account is None else {"holder": account.holder, "iban": account.iban, "bic": account.bic},
        amount=lambda minor: str(from_minor(minor, currency)),
    )
    row = ReminderRow(
        sequence=sequence,
        number=number,
        demand_partner_id=partner.id,
        currency=currency,
        level=level.value,
        issued_on=on,
        open_minor=sum(item.open_minor for item in lines),
        interest_minor=sum(item.interest_minor for item in lines),
        fee_minor=sum(item.fee_minor for item in lines),
        document=document,
        created_at=now,
    )
    db.add(row)
    db.flush()
    db.add_all(
        ReminderItemRow(
            reminder_key=row.key,
            invoice_key=invoice.key,
            level=level.value,
            open_minor=item.open_minor,
            interest_minor=item.interest_minor,
            fee_minor=item.fee_minor,
        )
        for invoice, item in items
    )
    db.flush()
    return row


def reminders_page(db: Session, partner_id: str, *, limit: int, after_key: int | None) -> list[ReminderRow]:
    """The partner's reminders, oldest first, after the one with ``after_key``."""
    query = select(ReminderRow).where(ReminderRow.demand_partner_id == partner_id)
    if after_key is not None:
        query = query.where(ReminderRow.key > after_key)
    return list(db.scalars(query.order_by(ReminderRow.key).limit(limit)))


def reminder_document_of(db: Session, partner_id: str, number: str) -> dict[str, Any] | None:
    return db.scalar(
        select(ReminderRow.document).where(ReminderRow.number == number, ReminderRow.demand_partner_id == partner_id)
    )


def reminders_by_number(db: Session, numbers: Sequence[str]) -> list[ReminderRow]:
    rows = {row.number: row for row in db.scalars(select(ReminderRow).where(ReminderRow.number.in_(numbers)))}
    return [rows[number] for number in numbers]


def reminder_numbering(db: Session) -> list[tuple[str, str, int, int, int]]:
    """The reminders' series as the ledger check reads invoice series: (issuer, series, count, first, last)."""
    count, low, high = db.execute(
        select(func.count(), func.min(ReminderRow.sequence), func.max(ReminderRow.sequence))
    ).one()
    return [(PLATFORM_ISSUER, dunning.REMINDER_SERIES, int(count), int(low), int(high))] if count else []
