"""The monthly statement run: number and issue the draft statements of finished months.

Each statement is issued in a transaction of its own (number, totals and document together), so a run
that dies part-way leaves every statement either issued or still a draft, never numbered and lost; the
next run, or a retry, picks up the drafts that remain."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.clock import utcnow
from domain.settlement.contracts import invoicing_terms
from domain.vat.treatment import TaxParty
from messages.invoicing import StatementRun, StatementRunResult
from persistence import invoices
from persistence.parties import partner_party
from persistence.tables import ContractRow, DemandPartnerRow, InvoiceRow


class StatementActivities:
    def __init__(self, sessions: sessionmaker[Session], *, platform: TaxParty) -> None:
        self._sessions = sessions
        self._platform = platform

    @activity.defn
    def issue_due_statements(self, run: StatementRun) -> StatementRunResult:
        assert run.before_period is not None, "the workflow decides the period"
        with self._sessions() as db:
            due = invoices.drafts_before(db, run.before_period, recipient=run.recipient)
        issued = []
        for key in due:
            with self._sessions.begin() as db:
                row = db.get_one(InvoiceRow, key)
                partner_id = row.recipient.removeprefix("dp:")
                partner = db.get_one(DemandPartnerRow, partner_id)
                statement = invoices.issue_statement(
                    db,
                    key,
                    supplier=self._platform,
                    customer=partner_party(partner, taxable_dealer=_taxable_dealer(db, partner_id)),
                    now=utcnow(),
                )
                assert statement.number is not None
                issued.append(statement.number)
            activity.heartbeat(len(issued))
        return StatementRunResult(issued=issued)


def _taxable_dealer(db: Session, partner_id: str) -> bool:
    terms = db.scalar(
        select(ContractRow.terms)
        .where(ContractRow.party_kind == "DEMAND_PARTNER", ContractRow.party_id == partner_id)
        .order_by(ContractRow.version.desc())
        .limit(1)
    )
    return terms is not None and invoicing_terms(terms).taxable_dealer
