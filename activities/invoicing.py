"""The monthly statement run: number and issue the draft statements of finished months: the platform's to its
demand partners, and the self-billed revenue-share statements it issues in their names.

Each statement is issued in a transaction of its own (number, totals, document and e-invoice together), so
a run that dies part-way leaves every statement either issued or still a draft, never numbered and lost; the
next run, or a retry, picks up the drafts that remain. A statement whose e-invoice fails a rule stays a draft
(the run goes on with the others and reports it), to be issued by a run after ops fixed the cause."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.clock import utcnow
from domain.einvoice.issuing import EInvoiceInvalid, EInvoiceIssuing
from domain.invoicing.documents import PLATFORM_ISSUER, revenue_share_partner
from domain.vat.treatment import TaxParty
from messages.invoicing import StatementRun, StatementRunResult
from persistence import invoices
from persistence.parties import latest_partner_party
from persistence.tables import InvoiceRow


class StatementActivities:
    def __init__(self, writes: sessionmaker[Session], *, platform: TaxParty, einvoicing: EInvoiceIssuing) -> None:
        self._writes = writes
        self._platform = platform
        self._einvoicing = einvoicing

    @activity.defn
    def issue_due_statements(self, run: StatementRun) -> StatementRunResult:
        assert run.before_period is not None, "the workflow decides the period"
        with self._writes() as db:
            due = invoices.drafts_before(db, run.before_period, recipient=run.recipient)
        issued, refused = [], []
        for key in due:
            try:
                with self._writes.begin() as db:
                    supplier, customer = self._parties(db, db.get_one(InvoiceRow, key))
                    statement = invoices.issue_statement(
                        db, key, supplier=supplier, customer=customer, now=utcnow(), issuing=self._einvoicing
                    )
                    assert statement.number is not None
                    issued.append(statement.number)
            except EInvoiceInvalid as invalid:
                activity.logger.warning("statement %s stays a draft: %s", key, invalid)
                refused.append(f"statement {key}: {invalid}")
            activity.heartbeat(len(issued))
        return StatementRunResult(issued=issued, refused=refused)

    def _parties(self, db: Session, row: InvoiceRow) -> tuple[TaxParty, TaxParty]:
        """Supplier and customer: the platform and the partner, or for a revenue-share statement (self-billed
        in the partner's name) the partner and the platform."""
        partner_id = revenue_share_partner(row.issuer)
        if partner_id is not None:
            return latest_partner_party(db, partner_id), self._platform
        assert row.issuer == PLATFORM_ISSUER, "only the platform's and revenue-share statements are drafted"
        return self._platform, latest_partner_party(db, row.recipient.removeprefix("dp:"))
