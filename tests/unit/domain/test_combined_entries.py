"""``combined``: many balanced sets of postings booked as one entry (a statement's receipts) keep every
account's total and still balance."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given
from hypothesis import strategies as st

from domain.ledger.entries import Posting, balances, combined

ACCOUNTS = ["platform:bank", "platform:suspense", "dp:a:receivable", "dp:b:receivable", "dp:a:credit_balance"]


@st.composite
def balanced_sets(draw: st.DrawFn) -> list[Posting]:
    """A receipt-like set: one account debited, others credited, summing to zero in one currency."""
    currency = draw(st.sampled_from(["EUR", "CHF"]))
    parts = draw(st.lists(st.integers(min_value=-50_000, max_value=50_000).filter(bool), min_size=1, max_size=3))
    credited = draw(st.lists(st.sampled_from(ACCOUNTS[1:]), min_size=len(parts), max_size=len(parts)))
    return [
        Posting("platform:bank", currency, sum(parts)),
        *(Posting(account, currency, -part) for account, part in zip(credited, parts, strict=True)),
    ]


def totals(postings: list[Posting]) -> dict[tuple[str, str], int]:
    summed: dict[tuple[str, str], int] = defaultdict(int)
    for posting in postings:
        summed[(posting.account, posting.currency)] += posting.amount_minor
    return {key: amount for key, amount in summed.items() if amount}


@given(st.lists(balanced_sets(), max_size=30))
def test_one_entry_keeps_each_accounts_total_and_balances(sets: list[list[Posting]]) -> None:
    postings = [posting for one in sets for posting in one]
    entry = combined("bank-receipts:1", postings)
    if not totals(postings):
        assert entry is None  # everything netted to zero: nothing to book
        return
    assert entry is not None
    assert totals(list(entry.postings)) == totals(postings)
    assert all(total == 0 for total in balances(entry.postings).values())
    assert len({(p.account, p.currency) for p in entry.postings}) == len(entry.postings)


def test_a_payment_and_its_refund_net_to_nothing() -> None:
    paid = [Posting("platform:bank", "EUR", 1190), Posting("platform:suspense", "EUR", -1190)]
    refunded = [Posting("platform:bank", "EUR", -1190), Posting("platform:suspense", "EUR", 1190)]
    assert combined("k", [*paid, *refunded]) is None
    assert combined("k", paid) is not None
