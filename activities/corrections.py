"""Corrections of a settled session: reverse a settlement (a credit CDR, an accepted dispute) and keep the
correction's record. Settling the session again reuses stages 5 to 8 with the next generation.

A reversal is one transaction, idempotent by the settlement it reverses: the entry that is the exact
negation of the settlement's (``session-<id>:settlement[-g]:reversed``), a credit note for each of the
settlement's invoice lines in the same series (gap-free numbers, allocated in this transaction; the
partner's revenue-share line's takes back the VAT it charged too), and the negative of what the
settlement queued for each payee, so the next payouts take it back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.clock import utcnow
from activities.errors import EINVOICE_INVALID, refusal
from domain.einvoice.issuing import EInvoiceInvalid, EInvoiceIssuing
from domain.invoicing.documents import PLATFORM_ISSUER, line_from_json, revenue_share_partner
from domain.ledger.entries import JournalEntry, Posting
from domain.payouts.batches import Payee
from domain.sessions.lifecycle import SessionStage
from domain.settlement.contracts import invoicing_terms
from domain.settlement.plan import Payable
from domain.settlement.revenue_share import reversal_key, settlement_key
from domain.vat.treatment import TaxParty
from messages.corrections import CorrectionRecord, CorrectionState, ReversalInput, ReversalOutcome
from persistence import invoices, ledger, payouts
from persistence import repositories as repo
from persistence.parties import cpo_party, partner_party
from persistence.tables import ContractRow, CpoRow, DemandPartnerRow, SessionRow, SettlementCorrectionRow

NOTHING_TO_REVERSE = "NothingToReverse"


class CorrectionActivities:
    def __init__(self, writes: sessionmaker[Session], *, platform: TaxParty, einvoicing: EInvoiceIssuing) -> None:
        self._writes = writes
        self._platform = platform
        self._einvoicing = einvoicing

    @activity.defn
    def reverse_settlement(self, request: ReversalInput) -> ReversalOutcome:
        """Reverse settlement ``generation`` of the session: entry, credit notes, payout queue, in one
        transaction. Run again, it finds what it did and does nothing twice."""
        with self._writes.begin() as db:
            session = repo.locked_session(db, request.session_id)
            if session.stage != SessionStage.SETTLED.value or request.generation > session.settlement_generation:
                raise ApplicationError(
                    f"session {session.id} has no settlement {request.generation} to reverse "
                    f"(stage {session.stage}, latest settlement {session.settlement_generation})",
                    type=NOTHING_TO_REVERSE,
                    non_retryable=True,
                )
            now = utcnow()
            entry_id = self._reverse_entry(db, session.id, request.generation, now=now)
            try:
                credit_notes = self._credit_notes(db, session, request.generation, now=now)
            except EInvoiceInvalid as invalid:  # the correction stops until ops fix its cause
                raise refusal(invalid, EINVOICE_INVALID) from invalid
            outcome = ReversalOutcome(entry_id=entry_id, credit_notes=credit_notes)
            if request.generation == session.settlement_generation:
                session.credited = True
                session.reason = (
                    f"settlement {request.generation} reversed; credit notes {', '.join(outcome.credit_notes)}"
                )
                session.updated_at = now
            return outcome

    def _reverse_entry(self, db: Session, session_id: str, generation: int, *, now: datetime) -> int | None:
        settled_key = settlement_key(session_id, generation)
        booked = ledger.entry_postings(db, settled_key)
        if booked is None:
            return None  # a free session booked nothing
        key = reversal_key(session_id, generation)
        entry_id, _ = ledger.post(
            db,
            JournalEntry(key, tuple(Posting(account, currency, -amount) for account, currency, amount in booked)),
            now=now,
        )
        payouts.enqueue(
            db,
            session_id,
            key,
            [
                Payable(Payee.parse(item.payee), item.currency, -item.amount_minor)
                for item in payouts.entry_items(db, settled_key)
            ],
            now=now,
        )
        return entry_id

    def _credit_notes(self, db: Session, session: SessionRow, generation: int, *, now: datetime) -> list[str]:
        assert session.cpo_id is not None, "a settled session knows its CPO"
        assert session.demand_partner_contract_key is not None, "and its partner's contract"
        cpo = db.get_one(CpoRow, session.cpo_id)
        taxable_dealer = invoicing_terms(
            db.get_one(ContractRow, session.demand_partner_contract_key).terms
        ).taxable_dealer
        partner = partner_party(db.get_one(DemandPartnerRow, session.demand_partner_id), taxable_dealer=taxable_dealer)
        numbers = []
        for line, invoice in invoices.session_lines(db, session.id, generation):
            if invoice.issuer == PLATFORM_ISSUER:
                supplier, customer = self._platform, partner
            elif revenue_share_partner(invoice.issuer) is not None:  # its revenue share, self-billed in its name
                supplier, customer = partner, self._platform
            else:
                supplier, customer = cpo_party(cpo), self._platform
            note = invoices.issue_credit_note(
                db,
                original=invoice,
                line=line_from_json(line.line),
                generation=generation,
                supplier=supplier,
                customer=customer,
                now=now,
                issuing=self._einvoicing,
            )
            assert note.number is not None, "a credit note is issued with its number"
            numbers.append(note.number)
        return numbers

    @activity.defn
    def record_correction(self, record: CorrectionRecord) -> None:
        """Keep the correction's state where ops and the API read it. A stop shows on the session too (it
        needs attention, with the stop's reason and ErrorType), until the correction goes on."""
        with self._writes.begin() as db:
            row = db.scalars(
                select(SettlementCorrectionRow).where(SettlementCorrectionRow.workflow_id == record.workflow_id)
            ).one()
            session = db.get_one(SessionRow, row.session_id)
            now = utcnow()
            if record.state == CorrectionState.STOPPED:
                session.needs_attention, session.reason, session.error_type = True, record.reason, record.error_type
                session.updated_at = now
            elif row.state == CorrectionState.STOPPED.value and session.error_type == row.error_type:
                session.needs_attention, session.error_type = False, None  # the stop this correction showed
                session.reason = None if session.reason == row.reason else session.reason
                session.updated_at = now
            row.state = record.state.value
            row.reason = record.reason
            row.error_type = record.error_type
            if record.state == CorrectionState.DONE and row.completed_at is None:
                row.completed_at = now
