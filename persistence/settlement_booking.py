"""Book a settlement plan (``domain.settlement.plan``) in the caller's transaction: the entry, the hold
capture, the two invoices and the partner's revenue-share line (numbers last) and the payout queue, then the
session's settlement generation.

Idempotent by the plan's keys: the ledger returns an entry already posted under its key, the invoices
are found by session (or correction), a captured hold stays captured and the queue adds nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from domain.einvoice.issuing import EInvoiceIssuing
from domain.settlement.plan import PlannedInvoice, SettlementPlan
from persistence import holds, invoices, ledger, payouts
from persistence.tables import InvoiceRow, SessionRow


@dataclass(frozen=True, slots=True)
class SettlementBooking:
    entry_id: int | None  # None: a free session books nothing
    booked_now: bool  # False when the entry was booked before (a retry or a replay)
    hold: str | None  # the hold's state after the capture; None when there was none to capture
    invoice: str | None  # the partner's invoice (or statement) number
    self_billed_invoice: str | None


def book_settlement(db: Session, plan: SettlementPlan, *, now: datetime, issuing: EInvoiceIssuing) -> SettlementBooking:
    entry_id, booked_now = (None, False) if plan.entry is None else ledger.post(db, plan.entry, now=now)
    hold = (
        None
        if plan.hold_capture_minor is None
        else holds.capture_hold(db, plan.session_id, captured_minor=plan.hold_capture_minor, entry=entry_id, now=now)
    )
    # Numbers last: the series rows stay locked from here to the commit.
    self_billed = (
        None if plan.self_billed is None else _issue(db, plan.self_billed, plan.generation, now=now, issuing=issuing)
    )
    sold = None if plan.sold is None else _issue(db, plan.sold, plan.generation, now=now, issuing=issuing)
    if plan.revenue_share is not None:
        _issue(db, plan.revenue_share, plan.generation, now=now, issuing=issuing)
    # Stage 9's hand-off: the payables join their payees' payout queues in this same transaction.
    payouts.enqueue(db, plan.session_id, plan.entry_key, plan.payables, now=now)
    if plan.generation > 0:
        session = db.get_one(SessionRow, plan.session_id)
        session.settlement_generation = plan.generation
        session.credited = False
    return SettlementBooking(
        entry_id=entry_id,
        booked_now=booked_now,
        hold=None if hold is None else hold.value,
        invoice=None if sold is None else sold.number,
        self_billed_invoice=None if self_billed is None else self_billed.number,
    )


def _issue(
    db: Session, planned: PlannedInvoice, generation: int, *, now: datetime, issuing: EInvoiceIssuing
) -> InvoiceRow:
    if planned.statement_period is not None:
        return invoices.add_to_statement(
            db,
            issuer=planned.issuer,
            series=planned.series,
            recipient=planned.recipient,
            period=planned.statement_period,
            line=planned.line,
            now=now,
        )
    return invoices.issue_invoice(
        db,
        issuer=planned.issuer,
        series=planned.series,
        recipient=planned.recipient,
        supplier=planned.supplier,
        customer=planned.customer,
        line=planned.line,
        self_billing=planned.self_billing,
        now=now,
        issuing=issuing,
        generation=generation,
    )
