"""`networkcore ledger check|balances|expire-holds`: the books from the command line (and the demo)."""

from __future__ import annotations

import sys
from typing import TextIO

from domain.money import from_minor
from persistence.db import SessionFactory
from services import ledger


def run_check(writes: SessionFactory, out: TextIO = sys.stdout) -> int:
    """Print the check's report; 0 when the books are right, 1 with every problem listed otherwise."""
    report = ledger.check_books(writes)
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


def print_balances(writes: SessionFactory, party: str | None = None, out: TextIO = sys.stdout) -> int:
    """Every account's balance: positive, the party owes us (debit); negative, we owe the party (credit)."""
    balances = ledger.account_balances(writes, party)
    if not balances:
        print("no balances yet", file=out)
        return 0
    width = max(len(b.account) for b in balances)
    for b in balances:
        print(f"  {b.account:<{width}}  {b.currency}  {from_minor(b.balance_minor, b.currency):>14}", file=out)
    return 0


def run_expire_holds(writes: SessionFactory, out: TextIO = sys.stdout) -> int:
    print(f"{ledger.expire_holds(writes)} expired holds released", file=out)
    return 0
