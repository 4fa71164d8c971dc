"""Money in: importing bank statements, what waits in suspense, ops' assignments, the reconciliation.

An import is two transactions: the file is stored (by its sha256) and committed first, then checked,
matched and booked in one transaction. A process that dies in between leaves a STORED file that the next
import of it books; a refused file is kept with its reason and books nothing.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from adapters.camt import read_statement
from domain.collections.matching import OpenInvoice, assignment
from domain.collections.statements import Direction, StatementRefused, check_statement
from domain.errors import DomainError
from persistence import bank_statements
from persistence.bank_reconciliation import Reconciliation, reconcile
from persistence.bank_statements import SuspenseLine
from persistence.db import SessionFactory


class AssignmentRefused(DomainError):
    code = "ASSIGNMENT_REFUSED"


@dataclass(frozen=True, slots=True)
class Imported:
    file_name: str
    sha256: str
    state: str  # BOOKED | REFUSED
    refusal: str | None = None
    already_imported: bool = False
    entries: int = 0
    already_booked: int = 0
    not_booked: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def _now() -> datetime:
    return datetime.now(UTC)


def store(writes: SessionFactory, content: bytes, file_name: str, *, now: datetime) -> str:
    """Step one: keep the file (committed); its sha256."""
    with writes.begin() as db:
        return bank_statements.store_file(db, content, file_name, now=now).sha256


@contextmanager
def _cyclic_collector_paused() -> Iterator[None]:
    """Reading and booking a statement of thousands of entries makes hundreds of thousands of objects that
    live until the booking ends, and none of them in a cycle: watching them pile up, the cyclic collector
    walked the whole heap over and over (a sixth of an import's time). Reference counting frees them as
    ever; the collector resumes afterwards (unless it was paused before, by a concurrent import too)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@_cyclic_collector_paused()
def import_file(
    writes: SessionFactory,
    content: bytes,
    file_name: str,
    accounts: Mapping[str, str],
    *,
    clock: Callable[[], datetime] = _now,
) -> Imported:
    """Store, check, match and book one camt.053/.054 file. ``accounts``: our IBANs and their currencies."""
    digest = store(writes, content, file_name, now=clock())
    with writes() as db:
        if bank_statements.file_by_sha256(db, digest).state == bank_statements.BOOKED:
            return Imported(file_name, digest, bank_statements.BOOKED, already_imported=True)
    statement = None
    try:
        statement = read_statement(content)
        currency = check_statement(statement, {iban.replace(" ", "").upper(): c for iban, c in accounts.items()})
    except StatementRefused as refused:
        with writes.begin() as db:
            row = bank_statements.file_by_sha256(db, digest, for_update=True)
            if statement is not None:
                bank_statements.describe(row, statement)
            bank_statements.refuse(row, str(refused))
        return Imported(file_name, digest, bank_statements.REFUSED, refusal=str(refused))
    with writes.begin() as db:
        row = bank_statements.file_by_sha256(db, digest, for_update=True)
        if row.state == bank_statements.BOOKED:  # a concurrent import of the same file won
            return Imported(file_name, digest, bank_statements.BOOKED, already_imported=True)
        bank_statements.describe(row, statement)
        booked = bank_statements.book_statement(db, row, statement, currency, now=clock())
    return Imported(
        file_name,
        digest,
        bank_statements.BOOKED,
        entries=booked.entries,
        already_booked=booked.already_booked,
        not_booked=booked.not_booked,
        by_outcome=booked.by_outcome,
        warnings=tuple(booked.warnings),
    )


def open_invoices(reads: SessionFactory, currency: str) -> list[OpenInvoice]:
    """The platform's issued invoices to demand partners in ``currency``, oldest first, with what is open."""
    with reads() as db:
        return bank_statements.open_invoices(db, currency)


def unmatched(reads: SessionFactory) -> list[SuspenseLine]:
    with reads() as db:
        return bank_statements.unmatched(db)


def assign(
    writes: SessionFactory,
    entry_key: int,
    partner_id: str,
    *,
    invoice_number: str | None = None,
    assigned_by: str = "networkcore bank assign",
    clock: Callable[[], datetime] = _now,
) -> list[SuspenseLine]:
    """Move an entry's lines in suspense to a partner: applied to the invoice given, or to the partner's
    open invoices oldest first; the rest is its credit balance. The lines moved."""
    with writes.begin() as db:
        lines = bank_statements.unmatched(db, entry_key)
        if not lines:
            raise AssignmentRefused(f"entry {entry_key} has nothing in suspense")
        for line in lines:
            if line.direction != Direction.CREDIT.value:
                raise AssignmentRefused(f"entry {entry_key} is a debit: only money received is assigned to a partner")
            invoices = bank_statements.open_invoices(db, line.currency, partner_id=partner_id)
            if invoice_number is not None:
                invoices = [i for i in invoices if i.number == invoice_number]
                if not invoices:
                    raise AssignmentRefused(
                        f"{invoice_number} is not an issued {line.currency} invoice of demand partner {partner_id}"
                    )
            elif not bank_statements.partner_exists(db, partner_id):
                raise AssignmentRefused(f"no demand partner {partner_id}")
            match = assignment(line.amount_minor, partner_id, [i for i in invoices if i.open_minor > 0])
            bank_statements.assign(db, line, match, assigned_by=assigned_by, now=clock())
        return lines


def reconciliation(reads: SessionFactory) -> Reconciliation:
    with reads() as db:
        return reconcile(db)
