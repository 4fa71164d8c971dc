"""Bank statement files, their entries and what each matched, in the caller's transaction.

Importing is two steps so that a process dying between them loses nothing: ``store_file`` keeps the file
(by sha256, once) and its transaction commits; ``book_statement`` then books its new entries, their
matches and ledger entries, and marks the file BOOKED, all in one transaction. A re-import of a STORED file
books it; of a BOOKED one, nothing. An entry is inserted once by its idempotency key, so the same entry in
another file books nothing either. On PostgreSQL, bookings in one currency wait for each other (a
transaction-level advisory lock): two files carrying the same entry, or paying the same open invoice, are
booked one after the other, each seeing what the other booked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select, text, update
from sqlalchemy.orm import Session, aliased

from domain.collections import postings
from domain.collections.matching import Book, Line, Match, OpenInvoice, Outcome, PayoutRef, match_lines
from domain.collections.statements import STATEMENT, Entry, Statement, Transaction
from domain.invoicing.documents import PLATFORM_ISSUER, DocumentKind
from domain.ledger.entries import JournalEntry, combined
from domain.money import to_minor
from domain.payouts.batches import Payee, paid_entry
from persistence import direct_debits, ledger, payouts
from persistence.db import (
    copy_keyed_rows,
    copy_rows,
    copying_keyed_rows,
    dialect_insert,
    draw_keys,
    insert_new,
    is_postgresql,
)
from persistence.tables import (
    OPEN_PAYOUT_STATES,
    BankAllocationRow,
    BankEntryRow,
    BankMatchRow,
    BankStatementFileRow,
    DemandPartnerRow,
    InvoiceRow,
    PayoutBatchRow,
)

STORED, BOOKED, REFUSED = "STORED", "BOOKED", "REFUSED"
PAID, REJECTED = "PAID", "REJECTED"
ISSUED = "ISSUED"
# Money received from a partner or not matched yet: booked together, as one entry of the file's receipts.
RECEIPT_OUTCOMES = (Outcome.PARTNER, Outcome.SUSPENSE)
# The first key of the two-key advisory locks that serialise statement bookings per currency.
BOOKING_LOCK_SPACE = 20022


@dataclass
class Booked:
    """What booking one file did."""

    entries: int = 0  # new entries booked
    already_booked: int = 0  # entries another file (or an earlier import) had booked
    not_booked: int = 0  # PDNG/INFO entries: information only
    by_outcome: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def store_file(db: Session, content: bytes, file_name: str, *, now: datetime) -> BankStatementFileRow:
    """The file's row, stored on first sight (STORED) and found by its sha256 afterwards."""
    digest = sha256(content)
    db.execute(
        dialect_insert(db, BankStatementFileRow).on_conflict_do_nothing(index_elements=["sha256"]),
        [{"sha256": digest, "file_name": file_name[:255], "state": STORED, "content": content, "received_at": now}],
    )
    return db.scalars(select(BankStatementFileRow).where(BankStatementFileRow.sha256 == digest)).one()


def file_by_sha256(db: Session, digest: str, *, for_update: bool = False) -> BankStatementFileRow:
    query = select(BankStatementFileRow).where(BankStatementFileRow.sha256 == digest)
    return db.scalars(query.with_for_update() if for_update else query).one()


def describe(row: BankStatementFileRow, statement: Statement) -> None:
    """Keep what the file says about itself on its row (also for a refused one)."""
    currency = statement.currency or (statement.entries[0].currency if statement.entries else None)
    row.kind, row.iban, row.currency = statement.kind, statement.iban, currency
    row.message_id, row.report_id = statement.message_id[:35], statement.report_id[:35]
    row.sequence_number, row.closing_date = statement.sequence_number, statement.closing_date
    if currency is not None and statement.opening is not None and statement.closing is not None:
        row.opening_minor = _minor(statement.opening, currency)
        row.closing_minor = _minor(statement.closing, currency)


def _minor(amount: Decimal, currency: str) -> int | None:
    try:
        return to_minor(amount, currency)
    except ValueError:
        return None


def refuse(row: BankStatementFileRow, reason: str) -> None:
    row.state, row.refusal = REFUSED, reason


def _line(entry: Entry, transaction: Transaction, currency: str) -> Line:
    return Line(
        direction=entry.direction,
        amount_minor=to_minor(transaction.amount if transaction.amount is not None else entry.amount, currency),
        end_to_end_id=transaction.end_to_end_id,
        message_id=transaction.message_id or entry.batch_message_id,
        payment_information_id=transaction.payment_information_id or entry.batch_payment_information_id,
        structured_references=transaction.structured_references,
        unstructured=transaction.unstructured,
        debtor_iban=transaction.debtor_iban,
        return_reason=transaction.return_reason,
        bank_transaction_code=entry.bank_transaction_code,
        mandate_id=transaction.mandate_id,
    )


def _details(entry: Entry) -> dict[str, Any]:
    return {
        "transactions": [
            {
                "amount": None if t.amount is None else str(t.amount),
                "end_to_end_id": t.end_to_end_id,
                "message_id": t.message_id,
                "payment_information_id": t.payment_information_id,
                "mandate_id": t.mandate_id,
                "references": [list(r) for r in t.structured_references],
                "unstructured": t.unstructured,
                "debtor_name": t.debtor_name,
                "debtor_iban": t.debtor_iban,
                "return_reason": t.return_reason,
            }
            for t in entry.lines()
        ],
        "batch_payment_information_id": entry.batch_payment_information_id,
    }


def open_invoices(db: Session, currency: str, *, partner_id: str | None = None) -> list[OpenInvoice]:
    """The platform's issued invoices to demand partners in ``currency``, oldest first, with what is
    still open on each (total less the payments applied to it and what a direct debit collected; 0 once
    paid)."""
    applied = (
        select(BankAllocationRow.invoice_key, func.sum(BankAllocationRow.amount_minor).label("applied"))
        .group_by(BankAllocationRow.invoice_key)
        .subquery()
    )
    collected = direct_debits.collected_by_invoice().subquery()
    query = (
        select(
            InvoiceRow.key,
            InvoiceRow.number,
            InvoiceRow.recipient,
            InvoiceRow.net_minor,
            InvoiceRow.vat_minor,
            applied.c.applied,
            collected.c.collected,
        )
        .outerjoin(applied, applied.c.invoice_key == InvoiceRow.key)
        .outerjoin(collected, collected.c.invoice_key == InvoiceRow.key)
        .where(
            InvoiceRow.issuer == PLATFORM_ISSUER,
            InvoiceRow.kind == DocumentKind.INVOICE.value,
            InvoiceRow.status == ISSUED,
            InvoiceRow.currency == currency,
            InvoiceRow.recipient.startswith("dp:"),
        )
        .order_by(InvoiceRow.issued_at, InvoiceRow.key)
    )
    if partner_id is not None:
        query = query.where(InvoiceRow.recipient == f"dp:{partner_id}")
    return [
        OpenInvoice(
            key,
            number or "",
            recipient.removeprefix("dp:"),
            (net or 0) + (vat or 0) - int(paid or 0) - int(debited or 0),
        )
        for key, number, recipient, net, vat, paid, debited in db.execute(query)
    ]


def partner_exists(db: Session, partner_id: str) -> bool:
    return db.get(DemandPartnerRow, partner_id) is not None


def _partners_by_iban(db: Session) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for partner_id, iban in db.execute(
        select(DemandPartnerRow.id, DemandPartnerRow.iban).where(DemandPartnerRow.iban.is_not(None))
    ):
        found.setdefault((iban or "").replace(" ", "").upper(), []).append(partner_id)
    return {iban: tuple(ids) for iban, ids in found.items()}


def _payouts(db: Session, currency: str, references: set[str]) -> dict[str, PayoutRef]:
    if not references:
        return {}
    rows = db.execute(
        select(PayoutBatchRow.message_id, PayoutBatchRow.amount_minor, PayoutBatchRow.state).where(
            PayoutBatchRow.message_id.in_(sorted(references)),
            PayoutBatchRow.currency == currency,
            PayoutBatchRow.state.in_([*OPEN_PAYOUT_STATES, PAID]),
        )
    )
    return {m: PayoutRef(m, amount, state == PAID) for m, amount, state in rows}


def _sequence_warning(db: Session, statement: Statement, file_key: int) -> list[str]:
    if statement.kind != STATEMENT or statement.sequence_number is None:
        return []
    previous = db.scalar(
        select(func.max(BankStatementFileRow.sequence_number)).where(
            BankStatementFileRow.iban == statement.iban,
            BankStatementFileRow.kind == STATEMENT,
            BankStatementFileRow.state == BOOKED,
            BankStatementFileRow.key != file_key,
        )
    )
    if previous is not None and statement.sequence_number != previous + 1:
        return [f"{statement.iban}: statement number {statement.sequence_number} follows {previous}: a gap or a repeat"]
    return []


def _insert_entries(
    db: Session, file_row: BankStatementFileRow, unique: Mapping[str, Entry], currency: str, *, now: datetime
) -> tuple[dict[str, int], AbstractContextManager[None]]:
    """Insert the entries (by idempotency key) not booked yet: their keys by idempotency key (those already
    booked are left out), and the insertion, a block by whose end they are in (on SQLite, before it)."""
    if not unique:
        return {}, nullcontext()
    # Read off the file's row here: on PostgreSQL the rows are made on the COPY's thread, which must not use
    # the session (nor load an attribute through it).
    file_key, iban = file_row.key, file_row.iban
    statement_key = file_key if file_row.kind == STATEMENT else None

    def row(key: str, e: Entry) -> dict[str, Any]:
        return {
            "idempotency_key": key,
            "file_key": file_key,
            "statement_file_key": statement_key,
            "iban": iban,
            "currency": currency,
            "direction": e.direction.value,
            "amount_minor": to_minor(e.amount, currency),
            "booking_date": e.booking_date,
            "value_date": e.value_date,
            "account_servicer_reference": e.account_servicer_reference,
            "entry_reference": e.entry_reference,
            "bank_transaction_code": e.bank_transaction_code,
            "reversal": e.reversal,
            "details": _details(e),
            "created_at": now,
        }

    inserting: AbstractContextManager[None] = nullcontext()
    if is_postgresql(db):
        # Under the currency's booking lock no other import adds entries: the ones not booked yet get keys
        # from the sequence now and go in by one COPY, made and taken in while the caller's block runs.
        booked = set(
            db.scalars(
                text("SELECT idempotency_key FROM bank_entries WHERE idempotency_key = ANY(:keys)"),
                {"keys": list(unique)},
            )
        )
        fresh = [(key, e) for key, e in unique.items() if key not in booked]
        keys = draw_keys(db, "bank_entries", len(fresh))
        new = dict(zip((key for key, _ in fresh), keys, strict=True))
        inserting = copying_keyed_rows(db, "bank_entries", keys, (row(key, e) for key, e in fresh))
    else:
        inserted = insert_new(
            db,
            BankEntryRow,
            [row(key, e) for key, e in unique.items()],
            unique="idempotency_key",
            returning=("idempotency_key", "key"),
        )
        new = dict(inserted)
    earlier = [key for key in unique if key not in new]
    if statement_key is not None and earlier:  # entries a notification booked first are now on a statement too
        db.execute(
            update(BankEntryRow)
            .where(BankEntryRow.idempotency_key.in_(earlier), BankEntryRow.statement_file_key.is_(None))
            .values(statement_file_key=statement_key)
            .execution_options(synchronize_session=False)
        )
    return new, inserting


def book_statement(
    db: Session, file_row: BankStatementFileRow, statement: Statement, currency: str, *, now: datetime
) -> Booked:
    """Book the statement's new entries (the file is checked: ours, in its currency, adding up)."""
    _wait_for_bookings_in(db, currency)
    result = Booked(warnings=_sequence_warning(db, statement, file_row.key))
    booked = statement.booked_entries()
    result.not_booked = len(statement.entries) - len(booked)
    entries: list[JournalEntry] = []
    if (
        statement.kind == STATEMENT
        and statement.opening
        and ledger.entry_postings(db, postings.opening_key(statement.iban)) is None
    ):
        first = db.scalar(
            select(func.count()).where(
                BankStatementFileRow.iban == statement.iban,
                BankStatementFileRow.kind == STATEMENT,
                BankStatementFileRow.state == BOOKED,
            )
        )
        if not first:
            entries.append(
                postings.opening_entry(
                    postings.opening_key(statement.iban), currency, to_minor(statement.opening, currency)
                )
            )
    unique = {e.idempotency_key(statement.iban): e for e in booked}  # the same booking twice in a file: once
    every_line = [
        (key, i, entry, _line(entry, t, currency)) for key, entry in unique.items() for i, t in enumerate(entry.lines())
    ]
    # What the lines can match is read first, none of it from bank entries: the new entries then go in while
    # their lines are matched. The payouts the file's other lines refer to are in the book too, unasked for.
    references = {
        r
        for _, _, _, line in every_line
        for r in (line.end_to_end_id, line.message_id, line.payment_information_id)
        if r
    }
    book = Book.of(
        _payouts(db, currency, references),
        open_invoices(db, currency),
        _partners_by_iban(db),
        direct_debits.collection_refs(db, currency),
    )
    new, inserting = _insert_entries(db, file_row, unique, currency, now=now)
    result.entries = len(new)
    result.already_booked = len(unique) - len(new)
    receipts_key = postings.receipts_key(file_row.key)
    with inserting:  # what needs no database is worked out while the new entries go in
        lines = [(new[key], i, entry, line) for key, i, entry, line in every_line if key in new]
        matches = match_lines([line for *_, line in lines], book)
        receipts = [
            posting
            for (_, _, entry, _), match in zip(lines, matches, strict=True)
            if match.outcome in RECEIPT_OUTCOMES
            for posting in postings.receipt_postings(match, entry.direction, currency)
        ]
        collective = combined(receipts_key, receipts)
    _record(
        db,
        [(bank_key, line_no, match) for (bank_key, line_no, _, _), match in zip(lines, matches, strict=True)],
        now=now,
    )
    for (bank_key, line_no, _, _), match in zip(lines, matches, strict=True):
        if match.outcome not in RECEIPT_OUTCOMES:
            entries += _apply(db, bank_key, line_no, match, currency, now=now)
        result.by_outcome[match.outcome.value] = result.by_outcome.get(match.outcome.value, 0) + 1
    ledger.post_batch(db, [*entries, *([] if collective is None else [collective])], now=now)
    file_row.state, file_row.refusal, file_row.booked_at = BOOKED, None, now
    return result


def _record(
    db: Session, matched: Sequence[tuple[int, int, Match]], *, now: datetime, assigned_by: str | None = None
) -> None:
    """Record each (entry, line, match) and the parts it applied to invoices, in a few statements (COPY on
    PostgreSQL, with keys drawn from the sequence first)."""
    if not matched:
        return
    rows = [
        {
            "entry_key": bank_key,
            "line": line,
            "rule": match.rule.value,
            "outcome": match.outcome.value,
            "payout_message_id": match.payout,
            "partner_id": match.partner_id,
            "amount_minor": match.amount_minor,
            "excess_minor": match.excess_minor,
            "assigned_by": assigned_by,
            "created_at": now,
        }
        for bank_key, line, match in matched
    ]
    keys: Sequence[int]
    if is_postgresql(db):
        keys = copy_keyed_rows(db, "bank_matches", rows)
    else:
        keys = (
            db.execute(dialect_insert(db, BankMatchRow).returning(BankMatchRow.key, sort_by_parameter_order=True), rows)
            .scalars()
            .all()
        )
    allocations = [
        {
            "match_key": match_key,
            "invoice_key": a.invoice_key,
            "entry_key": bank_key,
            "amount_minor": a.amount_minor,
            "created_at": now,
        }
        for match_key, (bank_key, _, match) in zip(keys, matched, strict=True)
        for a in match.allocations
    ]
    if allocations and is_postgresql(db):
        copy_rows(db, "bank_allocations", tuple(allocations[0]), (list(a.values()) for a in allocations))
    elif allocations:
        db.execute(dialect_insert(db, BankAllocationRow), allocations)


def _wait_for_bookings_in(db: Session, currency: str) -> None:
    """PostgreSQL: hold the currency's booking lock until this transaction ends (SQLite has one writer)."""
    if is_postgresql(db):
        db.execute(
            text("SELECT pg_advisory_xact_lock(:space, hashtext(:currency))"),
            {"space": BOOKING_LOCK_SPACE, "currency": currency},
        )


def _apply(db: Session, bank_key: int, line: int, match: Match, currency: str, *, now: datetime) -> list[JournalEntry]:
    """What a (recorded) match of our own payouts or collections changes; the ledger entries to book."""
    if match.outcome == Outcome.COLLECTION:
        return direct_debits.credited(db, match.collections, bank_key, line, match.amount_minor, now=now)
    if match.outcome == Outcome.COLLECTION_RETURN:
        entries, _ = direct_debits.returned(
            db, match.collections, _return_reason(db, bank_key, line, default=None), bank_key, now=now
        )
        return entries
    assert match.payout is not None
    batch = payouts.batch(db, match.payout, for_update=True)
    if match.outcome == Outcome.PAYOUT:
        if batch.state == PAID:
            return []  # the rail's report booked it already: cash in transit -> bank, once
        batch.state, batch.settled_at = PAID, now
        batch.reason = "paid: seen on the bank statement before the rail's report"
        # The rail's report (pain.002), if it still comes, finds the batch PAID and books nothing.
        ledger.post(db, paid_entry(f"{batch.idempotency_key}:paid", batch.currency, batch.amount_minor), now=now)
        return []
    payee = Payee.parse(batch.payee)
    batch.state = REJECTED
    batch.reason = f"returned by the beneficiary's bank ({_return_reason(db, bank_key, line)}): payable again"
    payouts.release_items(db, batch)
    return [
        postings.payout_return_entry(
            postings.return_key(batch.message_id), payee.payable_account, currency, match.amount_minor
        )
    ]


def _return_reason(db: Session, bank_key: int, line: int, default: str | None = "RRTN") -> str | None:
    details = db.get_one(BankEntryRow, bank_key).details
    transactions = details.get("transactions", [])
    reason = transactions[line].get("return_reason") if line < len(transactions) else None
    return str(reason) if reason else default


@dataclass(frozen=True, slots=True)
class SuspenseLine:
    entry_key: int
    line: int
    iban: str
    currency: str
    direction: str
    amount_minor: int
    booking_date: str | None
    details: Mapping[str, Any]


def unmatched(db: Session, entry_key: int | None = None) -> list[SuspenseLine]:
    """Lines in suspense that ops have not assigned yet, oldest first (or those of one entry)."""
    other = aliased(BankMatchRow)
    query = (
        select(BankMatchRow.line, BankMatchRow.amount_minor, BankEntryRow)
        .join(BankEntryRow, BankEntryRow.key == BankMatchRow.entry_key)
        .outerjoin(
            other,
            and_(
                other.entry_key == BankMatchRow.entry_key,
                other.line == BankMatchRow.line,
                other.outcome == Outcome.ASSIGNED.value,
            ),
        )
        .where(BankMatchRow.outcome == Outcome.SUSPENSE.value, other.key.is_(None))
        .order_by(BankEntryRow.booking_date, BankEntryRow.key, BankMatchRow.line)
    )
    if entry_key is not None:
        query = query.where(BankMatchRow.entry_key == entry_key)
    found = []
    for line, amount, entry in db.execute(query):
        transactions = entry.details.get("transactions", [])
        found.append(
            SuspenseLine(
                entry_key=entry.key,
                line=line,
                iban=entry.iban,
                currency=entry.currency,
                direction=entry.direction,
                amount_minor=amount,
                booking_date=None if entry.booking_date is None else entry.booking_date.isoformat(),
                details=transactions[line] if line < len(transactions) else {},
            )
        )
    return found


def assign(db: Session, line: SuspenseLine, match: Match, *, assigned_by: str, now: datetime) -> None:
    """Move a suspense line to a partner (``match``, an ASSIGNED one): recorded, applied, booked once (the
    unique (entry, line, outcome) refuses a second assignment of the same line)."""
    _record(db, [(line.entry_key, line.line, match)], now=now, assigned_by=assigned_by)
    assert match.partner_id is not None
    ledger.post(
        db,
        postings.assignment_entry(
            postings.assignment_key(line.entry_key, line.line),
            match.partner_id,
            line.currency,
            match.allocated_minor,
            match.excess_minor,
        ),
        now=now,
    )
