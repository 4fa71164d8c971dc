"""The daily reminder run: each demand partner with overdue invoices gets the reminders its ladder says.

Each partner's reminders are issued in a transaction of their own (numbers, documents, items together): a
run that dies part-way has issued some partners' and the retry issues the rest. Reminding an invoice of
the same step twice is refused by the database (one item per invoice and level), so two runs racing
leave one reminder: the loser's transaction rolls back, with its numbers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.clock import utcnow
from domain.settlement.contracts import ContractTermsInvalid
from domain.vat.treatment import TaxParty
from messages.reminders import ReminderRun, ReminderRunResult
from persistence import dunning

log = logging.getLogger(__name__)


def issue_reminders(
    writes: sessionmaker[Session],
    *,
    on: date,
    platform: TaxParty,
    clock: Callable[[], datetime] = utcnow,
    progress: Callable[[int], None] = lambda _: None,
) -> list[str]:
    """The numbers of the reminders issued for ``on`` (none for what was reminded before)."""
    with writes() as db:
        partners = dunning.partners_with_overdue(db, on=on)
    issued: list[str] = []
    for partner_id in partners:
        try:
            with writes.begin() as db:
                issued += [
                    row.number for row in dunning.remind_partner(db, partner_id, on=on, platform=platform, now=clock())
                ]
        except IntegrityError as lost:
            # Another run reminded this partner's invoices of this step first: its reminders stand.
            log.info("reminders for %s issued by another run (%s)", partner_id, lost.orig)
            continue
        except ContractTermsInvalid as invalid:
            log.warning("no reminders for %s: its contract's dunning terms are invalid: %s", partner_id, invalid)
            continue
        progress(len(issued))
    return issued


class ReminderActivities:
    def __init__(self, writes: sessionmaker[Session], *, platform: TaxParty) -> None:
        self._writes = writes
        self._platform = platform

    @activity.defn
    def issue_due_reminders(self, run: ReminderRun) -> ReminderRunResult:
        assert run.on is not None, "the workflow decides the day"
        return ReminderRunResult(
            issued=issue_reminders(self._writes, on=run.on, platform=self._platform, progress=activity.heartbeat)
        )
