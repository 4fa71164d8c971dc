"""Stage 8's rules, pure: splits that sum to the gross, entries that balance per currency, contract terms
checked, credit holds that never over-reserve or over-post, and account codes that read back."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import AuthorisationRefused, RefusalReason
from domain.ledger.accounts import AccountCode, AccountKind
from domain.ledger.entries import balances
from domain.ledger.holds import HoldNotPending, HoldState, cap_minor, check_credit, limit_minor, posted_amount, resolve
from domain.money import minor_unit_places
from domain.settlement.contracts import (
    CommissionTerms,
    ContractTermsInvalid,
    RevenueShareTerms,
    ShareBasis,
    commission_terms,
    credit_terms,
    revenue_share_terms,
)
from domain.settlement.revenue_share import (
    NegativeVat,
    SessionCharge,
    commission_minor,
    session_charge,
    settlement_entry,
    settlement_key,
    split_revenue,
)

CURRENCIES = ["EUR", "CHF", "GBP", "JPY", "KWD"]
DEMO_COMMISSION = CommissionTerms(Decimal(8), Decimal("0.20"), Decimal("5.00"))
DEMO_SHARE = RevenueShareTerms(Decimal(15), ShareBasis.COMMISSION)

percents = st.decimals(min_value=0, max_value=100, places=2)
amounts_minor = st.integers(min_value=0, max_value=10_000_000)


@st.composite
def commissions(draw: st.DrawFn) -> CommissionTerms:
    low = draw(st.none() | st.decimals(min_value=0, max_value=50, places=2))
    high = draw(st.none() | st.decimals(min_value=low or 0, max_value=100, places=2))
    return CommissionTerms(draw(percents), low, high)


shares = st.builds(RevenueShareTerms, percents, st.sampled_from(list(ShareBasis)))


def charge_of(currency: str, net_minor: int, vat_minor: int) -> SessionCharge:
    return SessionCharge(currency, net_minor, vat_minor)


@given(
    st.sampled_from(CURRENCIES),
    st.sampled_from(CURRENCIES),
    amounts_minor,
    amounts_minor,
    amounts_minor,
    commissions(),
    shares,
)
def test_every_session_books_a_balanced_entry_whose_parts_sum_to_the_gross(
    currency: str,
    billing: str,
    net: int,
    vat: int,
    billed: int,
    commission: CommissionTerms,
    share: RevenueShareTerms,
) -> None:
    charge = charge_of(currency, net, vat)
    split = split_revenue(charge, commission, share)
    assert split.gross_minor == charge.gross_minor
    assert min(split.vat_minor, split.cpo_minor, split.platform_minor, split.demand_partner_minor) >= 0
    assert split.commission_minor <= net
    assert split.demand_partner_minor <= split.commission_minor
    entry = settlement_entry(
        settlement_key("s"),
        demand_partner_id="dp",
        cpo_id="cpo",
        country="DE",
        split=split,
        billing_currency=billing,
        billed_minor=charge.gross_minor if billing == currency else billed,
    )
    if entry is None:
        assert charge.gross_minor == 0
        return
    assert all(total == 0 for total in balances(entry.postings).values())
    receivable = [p for p in entry.postings if p.account == "dp:dp:receivable"]
    assert sum(p.amount_minor for p in receivable) == (charge.gross_minor if billing == currency else billed)


@given(st.sampled_from(CURRENCIES), amounts_minor, amounts_minor, percents)
def test_more_net_never_means_less_for_the_cpo_or_the_platform(
    currency: str, net: int, more: int, percent: Decimal
) -> None:
    terms = CommissionTerms(percent)
    low, high = commission_minor(net, currency, terms), commission_minor(net + more, currency, terms)
    assert low <= high
    assert net - low <= net + more - high


def test_the_demo_contracts_worked_by_hand() -> None:
    split = split_revenue(session_charge("CHF", Decimal("10.00"), Decimal("10.81")), DEMO_COMMISSION, DEMO_SHARE)
    assert (split.vat_minor, split.cpo_minor, split.platform_minor, split.demand_partner_minor) == (81, 920, 68, 12)
    small = split_revenue(charge_of("EUR", 150, 0), DEMO_COMMISSION, DEMO_SHARE)  # 8 % is 0.12: the minimum
    assert (small.commission_minor, small.cpo_minor) == (20, 130)
    large = split_revenue(charge_of("EUR", 100_000, 0), DEMO_COMMISSION, DEMO_SHARE)  # 8 % is 80.00: the maximum
    assert (large.commission_minor, large.cpo_minor) == (500, 99_500)
    tiny = split_revenue(charge_of("EUR", 10, 0), DEMO_COMMISSION, DEMO_SHARE)  # never above the net price
    assert (tiny.commission_minor, tiny.cpo_minor) == (10, 0)


def test_a_share_of_the_price_is_capped_at_the_commission() -> None:
    share = RevenueShareTerms(Decimal(10), ShareBasis.PRICE)
    split = split_revenue(charge_of("EUR", 10_000, 1900), CommissionTerms(Decimal(5)), share)
    assert (split.demand_partner_minor, split.platform_minor) == (500, 0)
    modest = split_revenue(charge_of("EUR", 10_000, 0), CommissionTerms(Decimal(20)), share)
    assert (modest.demand_partner_minor, modest.platform_minor) == (1000, 1000)


def test_a_cross_currency_entry_meets_in_the_fx_trading_accounts() -> None:
    split = split_revenue(charge_of("CHF", 1000, 81), DEMO_COMMISSION, DEMO_SHARE)
    entry = settlement_entry(
        "k",
        demand_partner_id="roamly",
        cpo_id="vsw",
        country="CH",
        split=split,
        billing_currency="EUR",
        billed_minor=1157,
    )
    assert entry is not None
    assert {(p.account, p.currency, p.amount_minor) for p in entry.postings} == {
        ("dp:roamly:receivable", "EUR", 1157),
        ("platform:fx_trading", "EUR", -1157),
        ("platform:fx_trading", "CHF", 1081),
        ("platform:vat_payable:CH", "CHF", -81),
        ("cpo:vsw:payable", "CHF", -920),
        ("platform:commission", "CHF", -68),
        ("dp:roamly:revenue_share_payable", "CHF", -12),
    }


def test_a_free_session_books_nothing() -> None:
    split = split_revenue(charge_of("EUR", 0, 0), DEMO_COMMISSION, DEMO_SHARE)
    entry = settlement_entry(
        "k", demand_partner_id="d", cpo_id="c", country="FR", split=split, billing_currency="EUR", billed_minor=0
    )
    assert entry is None


def test_the_session_total_is_rounded_once_half_up_and_vat_is_never_negative() -> None:
    assert session_charge("EUR", Decimal("1.005"), Decimal("1.2049")) == SessionCharge("EUR", 101, 19)
    assert session_charge("JPY", Decimal("100.5"), Decimal("110.4")) == SessionCharge("JPY", 101, 9)
    with pytest.raises(NegativeVat):
        session_charge("EUR", Decimal("2.00"), Decimal("1.99"))


# --- contract terms ---------------------------------------------------------------------------------


def test_contract_terms_read_back() -> None:
    assert commission_terms({"commission": {"percent": "8", "minimum": "0.20", "maximum": "5"}}) == DEMO_COMMISSION
    assert revenue_share_terms({"revenue_share": {"percent": "15"}}) == DEMO_SHARE
    credit = credit_terms({"credit": {"limit": "50000.00", "session_cap": "80"}})
    assert (credit.limit, credit.session_cap, credit.hold_days) == (Decimal("50000.00"), Decimal(80), 7)


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ({}, "no commission terms"),
        ({"commission": {"percent": 8.0}}, "commission.percent must be a decimal string"),
        ({"commission": {"percent": "-1"}}, "commission.percent must be a non-negative number"),
        ({"commission": {"percent": "101"}}, "commission.percent must be at most 100"),
        ({"commission": {"percent": "eight"}}, "commission.percent is not a number"),
        ({"commission": {"percent": "8", "minimum": "5", "maximum": "1"}}, "minimum is above commission.maximum"),
    ],
)
def test_broken_commission_terms_are_refused_naming_the_field(terms: dict[str, Any], message: str) -> None:
    with pytest.raises(ContractTermsInvalid, match=message):
        commission_terms(terms)


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ({"revenue_share": {"percent": "15", "basis": "TURNOVER"}}, "basis must be PRICE or COMMISSION"),
        ({"credit": {"limit": "1", "session_cap": "0"}}, "session_cap must be above zero"),
        ({"credit": {"limit": "1", "session_cap": "1", "hold_days": 0}}, "hold_days must be a whole number"),
        ({"credit": {"limit": "1", "session_cap": "1", "hold_days": True}}, "hold_days must be a whole number"),
        ({"credit": {"session_cap": "1"}}, "credit.limit must be a decimal string"),
    ],
)
def test_broken_partner_terms_are_refused_naming_the_field(terms: dict[str, Any], message: str) -> None:
    with pytest.raises(ContractTermsInvalid, match=message):
        revenue_share_terms(terms) if "revenue_share" in terms else credit_terms(terms)


# --- credit holds -----------------------------------------------------------------------------------


@given(amounts_minor, amounts_minor, amounts_minor, st.integers(min_value=1, max_value=10_000_000))
def test_a_hold_is_refused_exactly_when_it_would_pass_the_limit(limit: int, owed: int, held: int, cap: int) -> None:
    def place() -> None:
        check_credit(limit_minor=limit, owed_minor=owed, held_minor=held, cap_minor=cap, currency="EUR")

    if cap <= limit - owed - held:
        place()
    else:
        with pytest.raises(AuthorisationRefused) as refused:
            place()
        assert refused.value.reason == RefusalReason.CREDIT_LIMIT_EXCEEDED


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=0, max_value=10**9))
def test_a_hold_never_posts_more_than_it_held(pending: int, captured: int) -> None:
    assert posted_amount(pending, captured) == min(pending, captured)


def test_a_hold_resolves_once() -> None:
    for target in (HoldState.POSTED, HoldState.VOIDED, HoldState.EXPIRED):
        assert resolve(HoldState.PENDING, target) == target
        assert resolve(target, target) == target
    with pytest.raises(HoldNotPending):
        resolve(HoldState.POSTED, HoldState.VOIDED)
    with pytest.raises(HoldNotPending):
        resolve(HoldState.VOIDED, HoldState.POSTED)


@pytest.mark.parametrize("currency", CURRENCIES)
def test_limits_round_down_and_caps_round_up(currency: str) -> None:
    value = Decimal("10.0005")
    places = minor_unit_places(currency)
    assert limit_minor(value, currency) == 10 * 10**places  # never more credit than granted
    assert cap_minor(value, currency) == 10 * 10**places + 1  # never reserve less than the cap


@pytest.mark.parametrize(
    "code",
    ["dp:dp-roamly:receivable", "cpo:cpo-de-stromnetz:payable", "platform:commission", "platform:vat_payable:DE"],
)
def test_account_codes_read_back(code: str) -> None:
    parsed = AccountCode.parse(code)
    assert str(parsed) == code
    assert parsed.kind in set(AccountKind)
