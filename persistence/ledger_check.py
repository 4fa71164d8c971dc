"""``networkcore ledger check``: the books, verified from the database alone.

* every currency sums to zero over the whole ledger, and every entry balances on its own;
* every account's kept totals (what balances are read from) are the sums of its postings' debits and
  credits, and the holds listed as pending are exactly the holds not yet posted, voided or expired;
* the kept session counts per stage (what the metrics read) are the sessions' own;
* no credit hold is still pending for a session that has finished;
* every settled session has its FX conversion, its two invoice lines (the partner's, whose net is what
  stage 6 converted, and the CPO's self-billed one) and its settlement entry, which books exactly what
  the lines say: the partner's receivable, output VAT payable and input VAT recoverable; after a
  correction this holds for its latest settlement, and every settlement before it (or the latest, once
  credited) has its reversing entry, the exact negation of it, and a credit note for each of its lines;
* a session's line on its partner's self-billed revenue-share invoice is the share its entry credited,
  and every issued revenue-share document booked the VAT it charges as owed to the partner, once;
* invoice numbers run 1..N without a gap or a duplicate in every issuer's series, and every issued
  invoice's totals are the sums of its lines;
* payouts reconcile with the ledger for every payee and currency (``payout_reconciliation``);
* the bank account in the books is the bank's latest statement plus what is in transit, in every currency
  with an imported statement (``bank_reconciliation``);
* no session's entry, invoice line or payable is beyond ``IMPLAUSIBLE_SESSION_AMOUNT`` either way, so a
  bad amount that slipped past the bounds at the door is seen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from domain.invoicing.documents import PLATFORM_ISSUER, DocumentKind, cpo_issuer, demand_partner_issuer
from domain.ledger import accounts
from domain.ledger.accounts import AccountKind
from domain.money import from_minor, to_minor
from domain.sessions.lifecycle import FINAL_STAGES, SessionStage
from domain.settlement.plan import IMPLAUSIBLE_SESSION_AMOUNT
from domain.settlement.revenue_share import revenue_share_vat_key, reversal_key, settlement_key
from persistence import ledger
from persistence.bank_reconciliation import reconciliation_problems
from persistence.dunning import open_amount_problems, reminder_numbering
from persistence.holds import pending_hold_problems, pending_holds
from persistence.invoices import ISSUED, session_lines
from persistence.payout_reconciliation import payout_problems
from persistence.session_counts import session_count_problems
from persistence.tables import (
    FxConversionRow,
    InvoiceLineRow,
    InvoiceRow,
    InvoiceSeriesRow,
    LedgerEntryRow,
    LedgerHoldRow,
    LedgerPostingRow,
    PayoutItemRow,
    SessionRow,
)


@dataclass
class LedgerReport:
    currency_totals: dict[str, int]
    entries: int = 0
    settled_sessions: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_ledger(db: Session) -> LedgerReport:
    report = LedgerReport(currency_totals=ledger.currency_totals(db))
    for currency, total in sorted(report.currency_totals.items()):
        if total != 0:
            report.problems.append(f"{currency} does not sum to zero: {total:+d} minor units")
    for key, currency, total in ledger.unbalanced_entries(db):
        report.problems.append(f"entry {key} does not balance in {currency}: {total:+d}")
    report.problems += ledger.kept_total_problems(db)
    report.problems += pending_hold_problems(db)
    report.problems += session_count_problems(db)
    report.problems += open_amount_problems(db)
    finished = [stage.value for stage in FINAL_STAGES]
    open_holds = db.execute(
        pending_holds()
        .add_columns(SessionRow.stage)
        .join(SessionRow, SessionRow.id == LedgerHoldRow.session_id)
        .where(SessionRow.stage.in_(finished))
    ).all()
    for hold, stage in open_holds:
        report.problems.append(f"session {hold.session_id} is {stage} but its credit hold is still pending")
    settled = db.execute(
        select(SessionRow, FxConversionRow)
        .outerjoin(
            FxConversionRow,
            (FxConversionRow.session_id == SessionRow.id)
            & (FxConversionRow.generation == SessionRow.settlement_generation),
        )
        .where(SessionRow.stage == SessionStage.SETTLED.value)
    ).all()
    report.settled_sessions = len(settled)
    lines = _settled_lines(db)
    # An outer join: a settled session without its conversion has None here.
    for session, conversion in cast("list[tuple[SessionRow, FxConversionRow | None]]", settled):
        generation = session.settlement_generation
        for reversed_generation in range(generation + 1 if session.credited else generation):
            report.problems += _reversal_problems(db, session.id, reversed_generation)
        if session.credited:
            continue
        if conversion is None:
            report.problems.append(f"session {session.id} is SETTLED without an FX conversion (stage 6)")
            continue
        report.problems += _session_problems(
            db,
            session.id,
            session.demand_partner_id,
            session.cpo_id or "",
            conversion,
            lines.get((session.id, generation), {}),
            generation,
        )
    report.problems += _revenue_share_vat_problems(db)
    report.problems += _numbering_problems(db)
    report.problems += _total_problems(db)
    report.problems += payout_problems(db)
    report.problems += reconciliation_problems(db)
    report.problems += _implausible_amounts(db, report.currency_totals)
    report.entries = ledger.entry_count(db)
    return report


def _implausible_amounts(db: Session, currencies: Iterable[str]) -> list[str]:
    """Sessions' entries, invoice lines and payables beyond ``IMPLAUSIBLE_SESSION_AMOUNT`` in their currency
    (every currency anything is booked in is one of the ledger's)."""
    currencies = sorted(currencies)

    def beyond(currency: InstrumentedAttribute[str], minor: InstrumentedAttribute[int]) -> ColumnElement[bool]:
        return or_(
            false(),
            *(and_(currency == code, func.abs(minor) > _implausible_minor(code)) for code in currencies),
        )

    def amount(minor: int, currency: str) -> str:
        return f"{from_minor(minor, currency)} {currency}, beyond {IMPLAUSIBLE_SESSION_AMOUNT} {currency}"

    postings = db.execute(
        select(LedgerEntryRow.idempotency_key, LedgerPostingRow.currency, LedgerPostingRow.amount_minor)
        .join(LedgerEntryRow, LedgerEntryRow.key == LedgerPostingRow.entry_key)
        .where(
            LedgerEntryRow.idempotency_key.like("session-%"),
            beyond(LedgerPostingRow.currency, LedgerPostingRow.amount_minor),
        )
        .order_by(LedgerPostingRow.key)
    ).all()
    lines = db.execute(
        select(InvoiceLineRow.session_id, InvoiceRow.currency, InvoiceLineRow.net_minor)
        .join(InvoiceRow, InvoiceRow.key == InvoiceLineRow.invoice_key)
        .where(beyond(InvoiceRow.currency, InvoiceLineRow.net_minor))
        .order_by(InvoiceLineRow.key)
    ).all()
    # A session's payables; the VAT of a month's revenue-share invoice (no session) is not one session's.
    payables = db.execute(
        select(PayoutItemRow.session_id, PayoutItemRow.payee, PayoutItemRow.currency, PayoutItemRow.amount_minor)
        .where(PayoutItemRow.session_id.is_not(None), beyond(PayoutItemRow.currency, PayoutItemRow.amount_minor))
        .order_by(PayoutItemRow.key)
    ).all()
    return (
        [f"entry {key} posts {amount(minor, currency)}" for key, currency, minor in postings]
        + [f"session {session}: an invoice line of {amount(net, currency)} net" for session, currency, net in lines]
        + [
            f"session {session}: a payable to {payee} of {amount(minor, currency)}"
            for session, payee, currency, minor in payables
        ]
    )


def _implausible_minor(currency: str) -> int:
    return to_minor(IMPLAUSIBLE_SESSION_AMOUNT, currency)


def _settled_lines(db: Session) -> dict[tuple[str, int], dict[str, InvoiceLineRow]]:
    """The invoice lines (not credit notes) of settled sessions, by session and generation, and issuer."""
    found: dict[tuple[str, int], dict[str, InvoiceLineRow]] = {}
    rows = db.execute(
        select(InvoiceRow.issuer, InvoiceLineRow)
        .join(InvoiceRow, InvoiceRow.key == InvoiceLineRow.invoice_key)
        .join(SessionRow, SessionRow.id == InvoiceLineRow.session_id)
        .where(SessionRow.stage == SessionStage.SETTLED.value, InvoiceRow.kind == DocumentKind.INVOICE.value)
    ).all()
    for issuer, line in rows:
        found.setdefault((line.session_id, line.generation), {})[issuer] = line
    return found


def _reversal_problems(db: Session, session_id: str, generation: int) -> list[str]:
    """A reversed settlement: its entry undone exactly, and each of its lines cancelled by a credit note."""
    problems = []
    booked = ledger.entry_postings(db, settlement_key(session_id, generation))
    undone = ledger.entry_postings(db, reversal_key(session_id, generation))
    if booked is not None and undone != sorted((a, c, -m) for a, c, m in booked):
        problems.append(f"session {session_id}: settlement {generation} is not reversed exactly: {undone}")
    credits = {
        issuer: line
        for issuer, line in db.execute(
            select(InvoiceRow.issuer, InvoiceLineRow)
            .join(InvoiceRow, InvoiceRow.key == InvoiceLineRow.invoice_key)
            .where(
                InvoiceRow.kind == DocumentKind.CREDIT_NOTE.value,
                InvoiceLineRow.session_id == session_id,
                InvoiceLineRow.generation == generation,
            )
        )
    }
    for line, invoice in session_lines(db, session_id, generation):
        credit = credits.get(invoice.issuer)
        if credit is None or (credit.net_minor, credit.vat_minor, credit.national_vat_minor) != (
            -line.net_minor,
            -line.vat_minor,
            -line.national_vat_minor,
        ):
            problems.append(
                f"session {session_id}: {invoice.issuer}'s line of settlement {generation} has no exact credit note"
            )
    return problems


def _session_problems(
    db: Session,
    session_id: str,
    partner: str,
    cpo: str,
    conversion: FxConversionRow,
    lines: dict[str, InvoiceLineRow],
    generation: int,
) -> list[str]:
    postings = ledger.entry_postings(db, settlement_key(session_id, generation))
    if conversion.amount_minor == 0 and conversion.converted_minor == 0:
        return [] if postings is None else [f"session {session_id} cost nothing but has a settlement entry"]
    sold, bought = lines.get(PLATFORM_ISSUER), lines.get(cpo_issuer(cpo))
    problems = []
    if postings is None:
        problems.append(f"session {session_id} is SETTLED but has no settlement entry")
    if sold is None or bought is None:
        missing = " and ".join(n for n, line in (("partner", sold), ("self-billed", bought)) if line is None)
        problems.append(f"session {session_id} is SETTLED without its {missing} invoice line")
    if postings is None or sold is None or bought is None:
        return problems
    if sold.net_minor != conversion.converted_minor:
        problems.append(
            f"session {session_id}: invoiced net {sold.net_minor}, stage 6 converted {conversion.converted_minor}"
        )

    def booked(code: str, currency: str) -> int:
        return sum(amount for account, cur, amount in postings if account == code and cur == currency)

    receivable = booked(accounts.demand_partner(partner, AccountKind.RECEIVABLE), conversion.to_currency)
    if receivable != sold.net_minor + sold.vat_minor:
        problems.append(
            f"session {session_id}: receivable booked {receivable}, invoiced {sold.net_minor + sold.vat_minor} "
            f"{conversion.to_currency}"
        )
    output = -booked(accounts.vat_payable(sold.place_of_supply), sold.national_currency)
    if output != sold.national_vat_minor:
        problems.append(f"session {session_id}: VAT payable booked {output}, invoiced {sold.national_vat_minor}")
    recoverable = booked(accounts.vat_recoverable(bought.place_of_supply), bought.national_currency)
    if recoverable != bought.national_vat_minor:
        problems.append(
            f"session {session_id}: VAT recoverable booked {recoverable}, self-billed {bought.national_vat_minor}"
        )
    share = -booked(accounts.demand_partner(partner, AccountKind.REVENUE_SHARE_PAYABLE), conversion.from_currency)
    revenue_share = lines.get(demand_partner_issuer(partner))
    # Sessions settled before revenue-share documents existed have no line.
    if revenue_share is not None and revenue_share.net_minor != share:
        problems.append(f"session {session_id}: revenue share booked {share}, self-billed {revenue_share.net_minor}")
    return problems


def _revenue_share_vat_problems(db: Session) -> list[str]:
    """Each issued revenue-share document (and credit note) booked the VAT it charges as owed to its partner."""
    problems = []
    documents = db.execute(
        select(InvoiceRow.number, InvoiceRow.issuer, InvoiceRow.currency, InvoiceRow.vat_minor).where(
            InvoiceRow.issuer.startswith(demand_partner_issuer("")), InvoiceRow.status == ISSUED
        )
    ).all()
    # Issued: numbered, with their totals.
    for number, issuer, currency, vat in cast("list[tuple[str, str, str, int]]", documents):
        payable = f"{issuer}:{AccountKind.REVENUE_SHARE_PAYABLE.value}"
        postings = ledger.entry_postings(db, revenue_share_vat_key(number)) or []
        owed = -sum(amount for account, cur, amount in postings if (account, cur) == (payable, currency))
        if owed != vat:
            problems.append(f"revenue-share invoice {number}: charges VAT {vat} {currency}, booked as owed {owed}")
    return problems


def _numbering_problems(db: Session) -> list[str]:
    """Every series' issued numbers (invoices', reminders') are exactly 1..last, with last the series' counter."""
    problems = []
    issued = db.execute(
        select(
            InvoiceRow.issuer,
            InvoiceRow.series,
            func.count(),
            func.min(InvoiceRow.sequence),
            func.max(InvoiceRow.sequence),
        )
        .where(InvoiceRow.sequence.is_not(None))
        .group_by(InvoiceRow.issuer, InvoiceRow.series)
    ).all()
    counters = {(row.issuer, row.series): row.last_number for row in db.scalars(select(InvoiceSeriesRow))}
    # Payment reminders take their numbers from a series of their own.
    for issuer, series, count, low, high in [*issued, *reminder_numbering(db)]:
        last = counters.pop((issuer, series), None)
        if (count, low, high) != (high, 1, last):
            problems.append(
                f"series {series} of {issuer}: {count} invoices numbered {low}..{high}, counter at {last}: "
                "numbers must run 1..N without gaps"
            )
    for (issuer, series), last in counters.items():
        if last != 0:
            problems.append(f"series {series} of {issuer}: counter at {last} but no invoice issued")
    return problems


def _total_problems(db: Session) -> list[str]:
    sums = db.execute(
        select(
            InvoiceRow.number,
            InvoiceRow.net_minor,
            InvoiceRow.vat_minor,
            func.sum(InvoiceLineRow.net_minor),
            func.sum(InvoiceLineRow.vat_minor),
        )
        .join(InvoiceLineRow, InvoiceLineRow.invoice_key == InvoiceRow.key)
        .where(InvoiceRow.number.is_not(None))
        .group_by(InvoiceRow.key, InvoiceRow.number, InvoiceRow.net_minor, InvoiceRow.vat_minor)
    ).all()
    return [
        f"invoice {number}: totals {net}/{vat} but its lines sum to {line_net}/{line_vat}"
        for number, net, vat, line_net, line_vat in sums
        if (net, vat) != (line_net, line_vat)
    ]
