"""Journal entries that cannot exist unbalanced: every currency's postings sum to zero, in minor units.

Sign convention: a positive amount debits the account, a negative one credits it. Entries are
immutable; a correction is a new, reversing entry (``reversal``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from domain.errors import DomainError


class UnbalancedEntry(DomainError):
    code = "UNBALANCED_ENTRY"


@dataclass(frozen=True, slots=True)
class Posting:
    account: str
    currency: str
    amount_minor: int  # > 0 debit, < 0 credit


@dataclass(frozen=True, slots=True)
class JournalEntry:
    key: str  # idempotency key: workflow id + stage
    postings: tuple[Posting, ...]

    def __post_init__(self) -> None:
        if len(self.postings) < 2:
            raise UnbalancedEntry(f"entry {self.key} needs at least two postings")
        if any(p.amount_minor == 0 for p in self.postings):
            raise UnbalancedEntry(f"entry {self.key} has a zero posting")
        totals = balances(self.postings)
        unbalanced = {currency: total for currency, total in totals.items() if total != 0}
        if unbalanced:
            raise UnbalancedEntry(f"entry {self.key} does not balance: {unbalanced}")


def balances(postings: tuple[Posting, ...] | list[Posting]) -> dict[str, int]:
    """Sum of postings per currency (zero for every currency of a balanced set)."""
    totals: dict[str, int] = defaultdict(int)
    for posting in postings:
        totals[posting.currency] += posting.amount_minor
    return dict(totals)


def reversal(entry: JournalEntry, key: str) -> JournalEntry:
    """The entry that undoes ``entry``: same accounts, opposite signs, its own idempotency key."""
    return JournalEntry(key, tuple(Posting(p.account, p.currency, -p.amount_minor) for p in entry.postings))


def combined(key: str, postings: Iterable[Posting]) -> JournalEntry | None:
    """One entry of many balanced sets of postings, summed per account and currency (accounts that net to
    zero left out); None when everything nets to zero."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for posting in postings:
        totals[(posting.account, posting.currency)] += posting.amount_minor
    summed = tuple(Posting(account, currency, amount) for (account, currency), amount in totals.items() if amount)
    return JournalEntry(key, summed) if summed else None
