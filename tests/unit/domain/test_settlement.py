"""Stage 8's rules, pure: splits that sum to the net, entries that balance per currency and book what the
invoice lines say, contract terms
checked, credit holds that never over-reserve or over-post, and account codes that read back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import AuthorisationRefused, RefusalReason
from domain.fx.rates import FxRate
from domain.invoicing.chain import ChainLines, SessionSupply, chain_lines
from domain.invoicing.lines import NationalVat
from domain.ledger.accounts import AccountCode, AccountKind
from domain.ledger.entries import balances
from domain.ledger.holds import HoldNotPending, HoldState, cap_minor, check_credit, limit_minor, posted_amount, resolve
from domain.money import minor_unit_places
from domain.settlement.contracts import (
    CommissionTerms,
    ContractTermsInvalid,
    PriceImplausible,
    RevenueShareTerms,
    ShareBasis,
    clearing_terms,
    commission_terms,
    credit_terms,
    revenue_share_terms,
)
from domain.settlement.revenue_share import (
    RevenueSplit,
    commission_minor,
    reversal_key,
    settlement_entry,
    settlement_key,
    split_revenue,
)
from domain.vat.treatment import TaxParty
from persistence.vat_rates import vat_rate_table

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


PLATFORM = TaxParty("NetworkCore GmbH", "Berlin", "DE", {"DE": "DE312987657", "CH": "CHE-301.845.272 MWST"})
CPOS = {
    "CH": TaxParty("VoltaSwiss AG", "Genève", "CH", {"CH": "CHE-109.322.551 MWST"}),
    "DE": TaxParty("Stromnetz Laden GmbH", "München", "DE", {"DE": "DE276543216"}),
}
PARTNER = TaxParty("Roamly B.V.", "Amsterdam", "NL", {"NL": "NL812345678B01"})
NATIONAL = {"CH": "CHF", "DE": "EUR"}
DAY = date(2026, 10, 30)


def fx_rate(base: str, quote: str) -> FxRate:
    return FxRate(base, quote, Decimal("1.0734") if base < quote else Decimal("0.9316"), DAY, "ECB")


def lines_for(country: str, currency: str, billing: str, split: RevenueSplit, billed_net: int) -> ChainLines:
    national = NATIONAL[country]
    return chain_lines(
        SessionSupply("s", Decimal("12.345"), DAY, country, "somewhere"),
        cpo=CPOS[country],
        platform=PLATFORM,
        partner=PARTNER,
        tariff_currency=currency,
        cpo_net_minor=split.cpo_minor,
        billing_currency=billing,
        billed_net_minor=billed_net,
        rates=vat_rate_table(),
        national_currency=national,
        national_rates={other: fx_rate(other, national) for other in {currency, billing} - {national}},
    )


@given(
    st.sampled_from(["CH", "DE"]),
    st.sampled_from(CURRENCIES),
    st.sampled_from(CURRENCIES),
    amounts_minor,
    amounts_minor,
    commissions(),
    shares,
)
def test_every_session_books_a_balanced_entry_from_its_invoice_lines(
    country: str,
    currency: str,
    billing: str,
    net: int,
    billed: int,
    commission: CommissionTerms,
    share: RevenueShareTerms,
) -> None:
    split = split_revenue(net, currency, commission, share)
    assert split.net_minor == net
    assert min(split.cpo_minor, split.platform_minor, split.demand_partner_minor) >= 0
    assert split.commission_minor <= net
    assert split.demand_partner_minor <= split.commission_minor
    billed_net = net if billing == currency else billed
    lines = lines_for(country, currency, billing, split, billed_net)
    entry = settlement_entry(
        settlement_key("s"),
        demand_partner_id="dp",
        cpo_id="cpo",
        split=split,
        bought=lines.cpo_to_platform,
        sold=lines.platform_to_partner,
    )
    if entry is None:
        assert net == billed_net == 0
        return
    assert all(total == 0 for total in balances(entry.postings).values())

    def booked(account: str) -> int:
        return sum(p.amount_minor for p in entry.postings if p.account == account)

    assert booked("dp:dp:receivable") == lines.platform_to_partner.gross_minor
    assert booked("cpo:cpo:payable") == -lines.cpo_to_platform.gross_minor
    assert booked(f"platform:vat_payable:{country}") == -lines.platform_to_partner.national.vat_minor
    assert booked(f"platform:vat_recoverable:{country}") == lines.cpo_to_platform.national.vat_minor
    assert booked("platform:commission") == -split.platform_minor
    assert booked("dp:dp:revenue_share_payable") == -split.demand_partner_minor


@given(st.sampled_from(CURRENCIES), amounts_minor, amounts_minor, percents)
def test_more_net_never_means_less_for_the_cpo_or_the_platform(
    currency: str, net: int, more: int, percent: Decimal
) -> None:
    terms = CommissionTerms(percent)
    low, high = commission_minor(net, currency, terms), commission_minor(net + more, currency, terms)
    assert low <= high
    assert net - low <= net + more - high


def test_the_demo_contracts_worked_by_hand() -> None:
    split = split_revenue(1000, "CHF", DEMO_COMMISSION, DEMO_SHARE)
    assert (split.cpo_minor, split.platform_minor, split.demand_partner_minor) == (920, 68, 12)
    small = split_revenue(150, "EUR", DEMO_COMMISSION, DEMO_SHARE)  # 8 % is 0.12: the minimum
    assert (small.commission_minor, small.cpo_minor) == (20, 130)
    large = split_revenue(100_000, "EUR", DEMO_COMMISSION, DEMO_SHARE)  # 8 % is 80.00: the maximum
    assert (large.commission_minor, large.cpo_minor) == (500, 99_500)
    tiny = split_revenue(10, "EUR", DEMO_COMMISSION, DEMO_SHARE)  # never above the net price
    assert (tiny.commission_minor, tiny.cpo_minor) == (10, 0)


def test_a_share_of_the_price_is_capped_at_the_commission() -> None:
    share = RevenueShareTerms(Decimal(10), ShareBasis.PRICE)
    split = split_revenue(10_000, "EUR", CommissionTerms(Decimal(5)), share)
    assert (split.demand_partner_minor, split.platform_minor) == (500, 0)
    modest = split_revenue(10_000, "EUR", CommissionTerms(Decimal(20)), share)
    assert (modest.demand_partner_minor, modest.platform_minor) == (1000, 1000)


def test_a_swiss_session_billed_in_eur_worked_by_hand() -> None:
    """CHF 10.00 net at a Swiss charger, billed in EUR 10.74 net; Swiss VAT 8.1 % on both legs."""
    split = split_revenue(1000, "CHF", DEMO_COMMISSION, DEMO_SHARE)
    lines = lines_for("CH", "CHF", "EUR", split, 1074)
    bought, sold = lines.cpo_to_platform, lines.platform_to_partner
    assert (bought.net_minor, bought.vat_minor, bought.national.vat_minor) == (920, 75, 75)  # 9.20 x 8.1 % = 0.7452
    assert (sold.net_minor, sold.vat_minor) == (1074, 87)  # 10.74 x 8.1 % = 0.86994
    assert sold.national == NationalVat("CHF", 81, fx_rate("EUR", "CHF"))  # 0.87 EUR x 0.9316 = 0.8105 CHF
    entry = settlement_entry("k", demand_partner_id="roamly", cpo_id="vsw", split=split, bought=bought, sold=sold)
    assert entry is not None
    assert {(p.account, p.currency, p.amount_minor) for p in entry.postings} == {
        ("dp:roamly:receivable", "EUR", 1161),
        ("platform:vat_payable:CH", "CHF", -81),
        ("platform:vat_recoverable:CH", "CHF", 75),
        ("cpo:vsw:payable", "CHF", -995),
        ("platform:commission", "CHF", -68),
        ("dp:roamly:revenue_share_payable", "CHF", -12),
        ("platform:fx_trading", "EUR", -1161),
        ("platform:fx_trading", "CHF", 1081),
    }


def test_a_free_session_books_nothing() -> None:
    split = split_revenue(0, "EUR", DEMO_COMMISSION, DEMO_SHARE)
    lines = lines_for("DE", "EUR", "EUR", split, 0)
    entry = settlement_entry(
        "k",
        demand_partner_id="d",
        cpo_id="c",
        split=split,
        bought=lines.cpo_to_platform,
        sold=lines.platform_to_partner,
    )
    assert entry is None


# --- contract terms ---------------------------------------------------------------------------------


def test_contract_terms_read_back() -> None:
    assert commission_terms({"commission": {"percent": "8", "minimum": "0.20", "maximum": "5"}}) == DEMO_COMMISSION
    assert revenue_share_terms({"revenue_share": {"percent": "15"}}) == DEMO_SHARE
    credit = credit_terms({"credit": {"limit": "50000.00", "session_cap": "80"}})
    assert (credit.limit, credit.session_cap, credit.hold_days) == (Decimal("50000.00"), Decimal(80), 7)
    assert clearing_terms({"clearing_tolerance": "0.05"}).tolerance == Decimal("0.05")
    assert clearing_terms({}).tolerance == Decimal("0.01")  # a cent either way, without one in the contract


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


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ({"clearing_tolerance": "a cent"}, "contract.clearing_tolerance is not a number: 'a cent'"),
        ({"clearing_tolerance": 0.01}, "contract.clearing_tolerance must be a decimal string"),
        ({"maximum_claim": "-5"}, "contract.maximum_claim must be a non-negative number"),
        ({"maximum_claim": "0"}, "contract.maximum_claim must be above zero"),
    ],
)
def test_broken_clearing_terms_are_refused_naming_the_field(terms: dict[str, Any], message: str) -> None:
    with pytest.raises(ContractTermsInvalid, match=message):
        clearing_terms(terms)


@given(st.decimals(Decimal("0.01"), Decimal(10**6), places=2), st.decimals(Decimal(0), Decimal(10**7), places=4))
def test_a_session_rated_above_the_maximum_claim_is_implausible(maximum: Decimal, price: Decimal) -> None:
    terms = clearing_terms({"maximum_claim": str(maximum)})
    if price <= maximum:
        terms.check_rated(price, "EUR")
    else:
        with pytest.raises(PriceImplausible, match=f"rates at {price} EUR excl. VAT, above .* of {maximum} EUR"):
            terms.check_rated(price, "EUR")


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
    [
        "dp:dp-roamly:receivable",
        "cpo:cpo-de-stn:payable",
        "platform:commission",
        "platform:vat_payable:DE",
        "platform:vat_recoverable:CH",
    ],
)
def test_account_codes_read_back(code: str) -> None:
    parsed = AccountCode.parse(code)
    assert str(parsed) == code
    assert parsed.kind in set(AccountKind)


@given(st.integers(min_value=0, max_value=50))
def test_each_settlement_generation_and_its_reversal_have_keys_of_their_own(generation: int) -> None:
    keys = {settlement_key("s", g) for g in range(generation + 1)} | {
        reversal_key("s", g) for g in range(generation + 1)
    }
    assert len(keys) == 2 * (generation + 1)
    # The first settlement keeps the key it always had (entries booked before corrections existed).
    assert settlement_key("s", 0) == settlement_key("s") == "session-s:settlement"
    # Payout reconciliation finds all of them by one pattern.
    assert all(key.startswith("session-s:settlement") for key in keys)
