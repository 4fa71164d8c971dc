"""`networkcore ledger check|balances|expire-holds`: the books from the command line (and the demo)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TextIO

from sqlalchemy.orm import Session, sessionmaker

from domain.money import from_minor
from persistence import ledger
from persistence.holds import expire_holds
from persistence.ledger_check import check_ledger


def run_check(sessions: sessionmaker[Session], out: TextIO = sys.stdout) -> int:
    """Print the check's report; 0 when the books are right, 1 with every problem listed otherwise."""
    with sessions() as db:
        report = check_ledger(db)
    totals = ", ".join(f"{c} {t:+d}" for c, t in sorted(report.currency_totals.items())) or "no postings yet"
    print(
        f"ledger check: {report.entries} entries, {report.settled_sessions} settled sessions; "
        f"sum per currency (minor units): {totals}",
        file=out,
    )
    for problem in report.problems:
        print(f"  PROBLEM: {problem}", file=out)
    print("ledger check: OK" if report.ok else f"ledger check: FAILED ({len(report.problems)} problems)", file=out)
    return 0 if report.ok else 1


def print_balances(sessions: sessionmaker[Session], party: str | None = None, out: TextIO = sys.stdout) -> None:
    """Every account's balance: positive, the party owes us (debit); negative, we owe the party (credit)."""
    with sessions() as db:
        rows = ledger.balances(db, party)
    if not rows:
        print("no balances yet", file=out)
        return
    width = max(len(code) for code, _, _ in rows)
    for code, currency, balance in rows:
        print(f"  {code:<{width}}  {currency}  {from_minor(balance, currency):>14}", file=out)


def run_expire_holds(sessions: sessionmaker[Session], out: TextIO = sys.stdout) -> int:
    with sessions.begin() as db:
        released = expire_holds(db, now=datetime.now(UTC))
    print(f"{released} expired holds released", file=out)
    return 0
