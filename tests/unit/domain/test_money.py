"""Money invariants: one rounding door, exact minor units, splits that add up, entries that balance."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.ledger.entries import JournalEntry, Posting, UnbalancedEntry, balances, reversal
from domain.money import allocate, from_minor, minor_unit_places, quantize, round_to, to_minor

currencies = st.sampled_from(["EUR", "CHF", "GBP", "JPY", "KWD"])
amounts = st.decimals(min_value=-(10**9), max_value=10**9, places=6)


def test_minor_units_come_from_iso_4217() -> None:
    assert [minor_unit_places(c) for c in ("EUR", "JPY", "KWD", "chf")] == [2, 0, 3, 2]


def test_half_up_is_the_default_and_a_contract_may_choose_otherwise() -> None:
    assert quantize(Decimal("0.125"), "EUR") == Decimal("0.13")
    assert quantize(Decimal("0.125"), "EUR", ROUND_HALF_EVEN) == Decimal("0.12")
    assert quantize(Decimal("-0.125"), "EUR") == Decimal("-0.13")
    assert quantize(Decimal("1234.5"), "JPY") == Decimal("1235")
    assert round_to(Decimal("0.00005"), 4) == Decimal("0.0001")


@given(amounts, currencies)
def test_rounding_is_idempotent_and_within_half_a_minor_unit(value: Decimal, currency: str) -> None:
    once = quantize(value, currency)
    assert quantize(once, currency) == once
    assert abs(once - value) <= Decimal(1).scaleb(-minor_unit_places(currency)) / 2


@given(amounts, currencies)
def test_minor_units_round_trip_exactly(value: Decimal, currency: str) -> None:
    rounded = quantize(value, currency)
    assert from_minor(to_minor(rounded, currency), currency) == rounded


def test_to_minor_refuses_to_round_silently() -> None:
    with pytest.raises(ValueError, match="round it first"):
        to_minor(Decimal("0.129"), "EUR")


@given(st.integers(-(10**12), 10**12), st.lists(st.integers(0, 10**6), min_size=1, max_size=8).filter(any))
def test_allocation_sums_to_the_whole_and_is_fair_to_one_minor_unit(total: int, weights: list[int]) -> None:
    parts = allocate(total, weights)
    assert sum(parts) == total
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Decimal(total) * weight / weight_sum
        assert abs(Decimal(part) - exact) < 1


def test_allocation_examples() -> None:
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(-100, [1, 1, 1]) == [-34, -33, -33]
    assert allocate(1000, [Decimal("0.08"), Decimal("0.92")]) == [80, 920]
    with pytest.raises(ValueError, match="zero"):
        allocate(10, [0, 0])


@st.composite
def balanced_postings(draw: st.DrawFn) -> list[Posting]:
    postings: list[Posting] = []
    for currency in draw(st.lists(currencies, min_size=1, max_size=3, unique=True)):
        legs = draw(st.lists(st.integers(1, 10**9), min_size=1, max_size=4))
        postings += [Posting(f"debit-{i}", currency, leg) for i, leg in enumerate(legs)]
        for i, part in enumerate(allocate(-sum(legs), draw(st.lists(st.integers(1, 9), min_size=1, max_size=3)))):
            if part:
                postings.append(Posting(f"credit-{i}", currency, part))
    return postings


@given(balanced_postings())
def test_balanced_entries_exist_and_reverse_to_zero(postings: list[Posting]) -> None:
    entry = JournalEntry("session-1:revenue-share", tuple(postings))
    assert all(total == 0 for total in balances(entry.postings).values())
    undo = reversal(entry, "session-1:revenue-share:reversal")
    assert all(total == 0 for total in balances(list(entry.postings) + list(undo.postings)).values())


@given(balanced_postings(), st.integers(1, 10**6))
def test_an_entry_off_by_any_amount_cannot_exist(postings: list[Posting], off: int) -> None:
    skewed = [*postings, Posting("rounding-leftover", postings[-1].currency, off)]
    with pytest.raises(UnbalancedEntry, match="does not balance"):
        JournalEntry("k", tuple(skewed))


def test_balance_is_per_currency() -> None:
    with pytest.raises(UnbalancedEntry):
        JournalEntry("k", (Posting("a", "EUR", 100), Posting("b", "CHF", -100)))
