"""Funding payouts, pure: which queued items a release pays under pay-when-paid, guaranteed within an
exposure limit and the bank account's floor, what waits and why; the contract's payout_funding terms; a
release leaves what waits payable."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.payouts.batches import plan_payout
from domain.payouts.funding import (
    GUARANTEED_WITHOUT_LIMIT,
    FundingMode,
    PayoutFunding,
    QueuedItem,
    WaitReason,
    describe_waiting,
    plan_funding,
)
from domain.settlement.contracts import ContractTermsInvalid, funding_terms

PAY_WHEN_PAID = PayoutFunding(FundingMode.PAY_WHEN_PAID)


def guaranteed(limit: str) -> PayoutFunding:
    return PayoutFunding(FundingMode.GUARANTEED, {"EUR": Decimal(limit)})


def plan(
    items: list[QueuedItem], funding: PayoutFunding, *, exposure: int = 0, headroom: int | None = None
) -> tuple[tuple[int, ...], int, dict[WaitReason, int]]:
    found = plan_funding(items, currency="EUR", funding=funding, exposure_minor=exposure, headroom_minor=headroom)
    return found.released, found.released_minor, found.waiting


PAID_1000, UNPAID_2000, PAID_500, UNPAID_700 = (
    QueuedItem(1, 1000, collected=True),
    QueuedItem(2, 2000, collected=False),
    QueuedItem(3, 500, collected=True),
    QueuedItem(4, 700, collected=False),
)
ITEMS = [PAID_1000, UNPAID_2000, PAID_500, UNPAID_700]


def test_pay_when_paid_releases_only_sessions_whose_invoice_is_paid() -> None:
    assert plan(ITEMS, PAY_WHEN_PAID) == ((1, 3), 1500, {WaitReason.AWAITING_COLLECTION: 2700})


def test_guaranteed_without_a_limit_releases_everything_paid_or_not() -> None:
    assert plan(ITEMS, GUARANTEED_WITHOUT_LIMIT) == ((1, 2, 3, 4), 4200, {})
    assert plan(ITEMS, PayoutFunding(FundingMode.GUARANTEED, {"CHF": Decimal("1.00")})) == ((1, 2, 3, 4), 4200, {})


def test_guaranteed_releases_unpaid_sessions_within_the_exposure_limit_and_paid_ones_regardless() -> None:
    # 25.00 limit, 5.00 already out unpaid: the 20.00 fits exactly, the 7.00 after it does not.
    assert plan(ITEMS, guaranteed("25.00"), exposure=500) == ((1, 2, 3), 3500, {WaitReason.EXPOSURE_LIMIT: 700})
    # Over the limit already: only what partners paid goes.
    assert plan(ITEMS, guaranteed("10.00"), exposure=1500) == ((1, 3), 1500, {WaitReason.EXPOSURE_LIMIT: 2700})
    # A later, smaller unpaid session still fits when an earlier one did not.
    assert plan(ITEMS, guaranteed("10.00")) == ((1, 3, 4), 2200, {WaitReason.EXPOSURE_LIMIT: 2000})


def test_the_bank_floor_bounds_what_goes_whatever_the_funding() -> None:
    assert plan(ITEMS, GUARANTEED_WITHOUT_LIMIT, headroom=1600) == ((1, 3), 1500, {WaitReason.BANK_FLOOR: 2700})
    assert plan(ITEMS, PAY_WHEN_PAID, headroom=1200) == (
        (1,),
        1000,
        {WaitReason.AWAITING_COLLECTION: 2700, WaitReason.BANK_FLOOR: 500},
    )
    assert plan(ITEMS, GUARANTEED_WITHOUT_LIMIT, headroom=-5000) == ((), 0, {WaitReason.BANK_FLOOR: 4200})


def test_what_lowers_the_payable_always_goes_and_makes_room_under_the_floor() -> None:
    reversal = QueuedItem(9, -600, collected=False)
    assert plan([PAID_1000, reversal], PAY_WHEN_PAID, headroom=400) == ((9, 1), 400, {})
    assert plan([UNPAID_2000, reversal], PAY_WHEN_PAID) == ((9,), -600, {WaitReason.AWAITING_COLLECTION: 2000})


def test_what_waits_reads_as_a_sentence() -> None:
    waiting = {WaitReason.BANK_FLOOR: 230, WaitReason.AWAITING_COLLECTION: 1000}
    assert describe_waiting(waiting, "EUR") == "12.30 EUR waits (AWAITING_COLLECTION 10.00, BANK_FLOOR 2.30)"
    assert describe_waiting({}, "EUR") == ""


items = st.lists(
    st.builds(QueuedItem, key=st.integers(1, 10**6), amount_minor=st.integers(-5000, 50_000), collected=st.booleans()),
    max_size=25,
    unique_by=lambda item: item.key,
)
fundings = st.one_of(
    st.just(GUARANTEED_WITHOUT_LIMIT),
    st.just(PAY_WHEN_PAID),
    st.integers(0, 100_000).map(lambda limit: PayoutFunding(FundingMode.GUARANTEED, {"EUR": Decimal(limit) / 100})),
)


@given(items, fundings, st.integers(0, 100_000), st.one_of(st.none(), st.integers(-10_000, 200_000)))
def test_every_item_is_released_or_waits_and_no_rule_is_broken(
    queued: list[QueuedItem], funding: PayoutFunding, exposure: int, headroom: int | None
) -> None:
    found = plan_funding(queued, currency="EUR", funding=funding, exposure_minor=exposure, headroom_minor=headroom)
    by_key = {item.key: item for item in queued}
    released = [by_key[key] for key in found.released]
    assert len(set(found.released)) == len(found.released)
    assert found.released_minor == sum(item.amount_minor for item in released)
    # Released and waiting add up to everything queued.
    assert found.released_minor + found.waiting_minor == sum(item.amount_minor for item in queued)
    assert all(amount > 0 for amount in found.waiting.values())
    # Whatever lowers the payable is never held back.
    assert all(item.key in found.released for item in queued if item.amount_minor <= 0)
    positive = [item for item in released if item.amount_minor > 0]
    if funding.mode == FundingMode.PAY_WHEN_PAID:
        assert all(item.collected for item in positive)
    limit = funding.limit_minor("EUR")
    if limit is not None and funding.mode == FundingMode.GUARANTEED:
        unpaid = sum(item.amount_minor for item in positive if not item.collected)
        assert unpaid == 0 or exposure + unpaid <= limit
    if headroom is not None:
        assert found.released_minor <= max(headroom, sum(i.amount_minor for i in queued if i.amount_minor <= 0))
    if funding == GUARANTEED_WITHOUT_LIMIT and headroom is None:
        assert not found.waiting


@given(st.integers(-100_000, 0), st.integers(-1000, 100_000), st.integers(0, 100_000), st.integers(0, 5000))
def test_a_release_leaves_what_waits_payable(payable: int, receivable: int, held: int, minimum: int) -> None:
    plan = plan_payout(
        "EUR", payable_balance=payable, receivable_balance=receivable, minimum_minor=minimum, held_minor=held
    )
    assert plan.netted_minor + plan.held_minor + plan.amount_minor + plan.rolled_over_minor == plan.payable_minor
    assert plan.held_minor == min(held, plan.payable_minor - plan.netted_minor)
    assert plan.rolled_over_minor >= 0
    # Netting is not a payment: what waits for funds never stops the set-off.
    assert plan.netted_minor == min(-payable, max(receivable, 0))


def test_the_contract_says_how_payouts_are_funded() -> None:
    assert funding_terms({}) == GUARANTEED_WITHOUT_LIMIT
    assert funding_terms({"payout_funding": "PAY_WHEN_PAID"}) == PAY_WHEN_PAID
    assert funding_terms({"payout_funding": {"mode": "PAY_WHEN_PAID"}}) == PAY_WHEN_PAID
    assert funding_terms({"payout_funding": {"mode": "GUARANTEED", "exposure_limit": {"EUR": "20000.00"}}}) == (
        guaranteed("20000.00")
    )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"mode": "SOMETIMES"}, "payout_funding.mode must be PAY_WHEN_PAID or GUARANTEED, not 'SOMETIMES'"),
        (7, 'payout_funding must be "PAY_WHEN_PAID", "GUARANTEED" or an object with a mode'),
        ({"mode": "GUARANTEED", "exposure_limit": "5000"}, "payout_funding.exposure_limit must map currencies"),
        ({"mode": "GUARANTEED", "exposure_limit": {"EUR": 5000.0}}, "exposure_limit.EUR must be a decimal string"),
        ({"mode": "GUARANTEED", "exposure_limit": {"EUR": "-1"}}, "must be a non-negative number"),
        ({"mode": "GUARANTEED", "exposure_limit": {"EUR": "1.001"}}, "exposure_limit.EUR is not an amount in EUR"),
        ({"mode": "GUARANTEED", "exposure_limit": {"XXY": "1"}}, "exposure_limit.XXY is not an amount in XXY"),
        ({"mode": "PAY_WHEN_PAID", "exposure_limit": {"EUR": "1"}}, "bounds GUARANTEED payouts only"),
    ],
)
def test_bad_funding_terms_are_refused_with_the_field_named(section: object, message: str) -> None:
    with pytest.raises(ContractTermsInvalid, match=message.replace("(", r"\(")):
        funding_terms({"payout_funding": section})
