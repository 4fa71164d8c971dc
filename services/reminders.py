"""Payment reminders: the run ops start by hand (the Schedule starts the same one daily), a partner's list
and documents, and what a partner has overdue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from activities.reminders import issue_reminders
from domain.vat.treatment import TaxParty
from persistence import dunning
from persistence.db import SessionFactory
from persistence.tables import ReminderRow


class ReminderNotFound(Exception):
    """No such reminder among the partner's."""


@dataclass(frozen=True, slots=True)
class IssuedReminder:
    key: int
    number: str
    demand_partner_id: str
    level: str
    issued_on: date
    currency: str
    open_minor: int
    interest_minor: int
    fee_minor: int
    invoices: list[str]


def run_reminders(
    writes: SessionFactory, platform: TaxParty, *, on: date, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> list[IssuedReminder]:
    """Issue the reminders due on ``on`` (idempotent: what was reminded before is not again)."""
    numbers = issue_reminders(writes, on=on, platform=platform, clock=clock)
    with writes() as db:
        return [_issued(row) for row in dunning.reminders_by_number(db, numbers)]


def _issued(row: ReminderRow) -> IssuedReminder:
    return IssuedReminder(
        key=row.key,
        number=row.number,
        demand_partner_id=row.demand_partner_id,
        level=row.level,
        issued_on=row.issued_on,
        currency=row.currency,
        open_minor=row.open_minor,
        interest_minor=row.interest_minor,
        fee_minor=row.fee_minor,
        invoices=[item["invoice"] for item in row.document["items"]],
    )


def partner_reminders_page(
    reads: SessionFactory, demand_partner_id: str, *, limit: int, after_key: int | None
) -> list[IssuedReminder]:
    with reads() as db:
        return [_issued(row) for row in dunning.reminders_page(db, demand_partner_id, limit=limit, after_key=after_key)]


def partner_reminder_document(reads: SessionFactory, demand_partner_id: str, number: str) -> dict[str, Any]:
    """The reminder as issued (served from the document stored then)."""
    with reads() as db:
        document = dunning.reminder_document_of(db, demand_partner_id, number)
    if document is None:
        raise ReminderNotFound(number)
    return document
