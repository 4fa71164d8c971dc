"""``networkcore ledger check``: the books, verified from the database alone.

* every currency sums to zero over the whole ledger, and every entry balances on its own;
* no credit hold is still pending for a session that has finished;
* every settled session has its settlement entry, billing the partner what stage 6 converted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.ledger import accounts
from domain.ledger.accounts import AccountKind
from domain.sessions.lifecycle import FINAL_STAGES, SessionStage
from domain.settlement.revenue_share import settlement_key
from persistence import ledger
from persistence.holds import pending_holds
from persistence.tables import FxConversionRow, LedgerHoldRow, SessionRow


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
        select(
            SessionRow.id, SessionRow.demand_partner_id, FxConversionRow.to_currency, FxConversionRow.converted_minor
        )
        .outerjoin(FxConversionRow, FxConversionRow.session_id == SessionRow.id)
        .where(SessionRow.stage == SessionStage.SETTLED.value)
    ).all()
    report.settled_sessions = len(settled)
    # An outer join: a settled session without its conversion has NULLs here.
    for session_id, partner, billed_currency, billed in cast("list[tuple[str, str, str | None, int]]", settled):
        if billed_currency is None:
            report.problems.append(f"session {session_id} is SETTLED without an FX conversion (stage 6)")
            continue
        postings = ledger.entry_postings(db, settlement_key(session_id))
        if postings is None:
            if billed != 0:
                report.problems.append(f"session {session_id} is SETTLED but has no settlement entry")
            continue
        receivable = accounts.demand_partner(partner, AccountKind.RECEIVABLE)
        booked = sum(amount for code, cur, amount in postings if code == receivable and cur == billed_currency)
        if booked != billed:
            report.problems.append(
                f"session {session_id}: receivable booked {booked}, stage 6 billed {billed} {billed_currency}"
            )
    report.entries = ledger.entry_count(db)
    return report
