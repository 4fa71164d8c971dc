"""The settlement plan, pure: its entry balances per currency, its split sums to the net price, and what
the entry books is what its invoices total and its payables queue."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.invoicing.chain import SessionSupply
from domain.invoicing.documents import Cadence
from domain.invoicing.lines import invoice_totals
from domain.ledger.entries import balances
from domain.parties import Cpo
from domain.payouts.batches import Payee, PayeeKind
from domain.settlement.contracts import CommissionTerms, RevenueShareTerms
from domain.settlement.plan import PlannedInvoice, SettlementFacts, SettlementPlan, plan_settlement
from persistence.vat_rates import vat_rate_table
from tests.unit.domain.test_settlement import (
    CPOS,
    CURRENCIES,
    DAY,
    DEMO_COMMISSION,
    DEMO_SHARE,
    NATIONAL,
    PARTNER,
    PLATFORM,
    amounts_minor,
    commissions,
    fx_rate,
    shares,
)

VAT_RATES = vat_rate_table()


def facts(
    country: str,
    currency: str,
    billing: str,
    net: int,
    billed: int,
    commission: CommissionTerms = DEMO_COMMISSION,
    share: RevenueShareTerms = DEMO_SHARE,
    *,
    generation: int = 0,
    cadence: Cadence = Cadence.PER_SESSION,
) -> SettlementFacts:
    national = NATIONAL[country]
    return SettlementFacts(
        generation=generation,
        supply=SessionSupply("s", Decimal("12.345"), DAY, country, "somewhere"),
        cpo=Cpo("cpo", "DE", "STR", active=True),
        cpo_tax=CPOS[country],
        demand_partner_id="dp",
        partner_tax=PARTNER,
        platform=PLATFORM,
        commission=commission,
        revenue_share=share,
        cadence=cadence,
        tariff_currency=currency,
        net_minor=net,
        billing_currency=billing,
        billed_net_minor=net if billing == currency else billed,
        vat_rates=VAT_RATES,
        national_currency=national,
        national_rates={other: fx_rate(other, national) for other in {currency, billing} - {national}},
        share_vat_currency="EUR",
        share_vat_rate=None if currency == "EUR" else fx_rate(currency, "EUR"),
    )


def booked(plan: SettlementPlan, account: str, currency: str) -> int:
    assert plan.entry is not None
    return sum(p.amount_minor for p in plan.entry.postings if (p.account, p.currency) == (account, currency))


def invoiced_gross(invoice: PlannedInvoice | None) -> int:
    assert invoice is not None
    return invoice_totals(invoice.line.currency, [invoice.line]).gross_minor


@st.composite
def any_facts(draw: st.DrawFn) -> SettlementFacts:
    return facts(
        draw(st.sampled_from(["CH", "DE"])),
        draw(st.sampled_from(CURRENCIES)),
        draw(st.sampled_from(CURRENCIES)),
        draw(amounts_minor),
        draw(amounts_minor),
        draw(commissions()),
        draw(shares),
        generation=draw(st.integers(min_value=0, max_value=3)),
        cadence=draw(st.sampled_from(list(Cadence))),
    )


@given(any_facts())
def test_a_plan_books_what_its_invoices_total_and_queues_what_it_books(planned: SettlementFacts) -> None:
    plan = plan_settlement(planned)
    currency, billing = planned.tariff_currency, planned.billing_currency
    assert plan.split.net_minor == planned.net_minor
    captured = plan.lines.platform_to_partner.gross_minor if planned.generation == 0 else None
    assert plan.hold_capture_minor == captured
    if plan.entry is None:
        assert (plan.self_billed, plan.sold, plan.revenue_share, plan.payables) == (None, None, None, ())
        return
    assert all(total == 0 for total in balances(plan.entry.postings).values())
    assert booked(plan, "dp:dp:receivable", billing) == invoiced_gross(plan.sold)
    assert booked(plan, "cpo:cpo:payable", currency) == -invoiced_gross(plan.self_billed)
    country, national = planned.supply.charger_country, planned.national_currency
    bought, sold = plan.lines.cpo_to_platform, plan.lines.platform_to_partner
    assert booked(plan, f"platform:vat_payable:{country}", national) == -sold.national.vat_minor
    assert booked(plan, f"platform:vat_recoverable:{country}", national) == bought.national.vat_minor
    queued = {str(p.payee): p for p in plan.payables}
    assert {p.currency for p in plan.payables} == {currency}
    assert queued["cpo:cpo"].amount_minor == -booked(plan, "cpo:cpo:payable", currency)
    assert queued["dp:dp"].amount_minor == -booked(plan, "dp:dp:revenue_share_payable", currency)
    share = plan.revenue_share  # the partner's self-billed line is the share its payable is credited
    assert (0 if share is None else share.line.net_minor) == -booked(plan, "dp:dp:revenue_share_payable", currency)


def test_the_self_billed_invoice_is_in_the_cpos_series_and_a_monthly_partner_gets_a_statement() -> None:
    plan = plan_settlement(facts("DE", "EUR", "EUR", 1000, 1000, cadence=Cadence.MONTHLY))
    assert plan.entry is not None
    assert plan.entry.key == "session-s:settlement"
    assert plan.self_billed is not None
    assert plan.sold is not None
    assert (plan.self_billed.issuer, plan.self_billed.series, plan.self_billed.self_billing) == (
        "cpo:cpo",
        "SB-DESTR",
        True,
    )
    assert (plan.sold.recipient, plan.sold.statement_period) == ("dp:dp", "2026-10")
    assert [p.payee for p in plan.payables] == [Payee(PayeeKind.CPO, "cpo"), Payee(PayeeKind.DEMAND_PARTNER, "dp")]


def test_a_correction_is_invoiced_on_its_own_under_its_generations_key_and_captures_no_hold() -> None:
    plan = plan_settlement(facts("DE", "EUR", "EUR", 1000, 1000, generation=2, cadence=Cadence.MONTHLY))
    assert plan.entry is not None
    assert plan.entry.key == "session-s:settlement-2"
    assert plan.sold is not None
    assert plan.sold.statement_period is None
    assert plan.hold_capture_minor is None
