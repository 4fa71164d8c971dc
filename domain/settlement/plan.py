"""Stages 7 and 8, pure: everything a session's settlement books, decided before anything is written.

From the settlement's facts (loaded by the caller as domain values) the plan holds the revenue split, the
two chain invoice lines and the documents they go on, the line of the partner's self-billed revenue-share
invoice, the balanced journal entry, what the credit hold captures and what each payee is queued. Booking
it (``persistence.settlement_booking``) only writes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from domain.fx.rates import FxRate
from domain.invoicing.chain import ChainLines, SessionSupply, chain_lines
from domain.invoicing.documents import (
    PLATFORM_ISSUER,
    PLATFORM_SERIES,
    Cadence,
    cpo_issuer,
    demand_partner_issuer,
    revenue_share_series,
    self_billing_series,
    statement_period,
)
from domain.invoicing.lines import InvoiceLine
from domain.invoicing.revenue_share import revenue_share_line
from domain.ledger.entries import JournalEntry
from domain.parties import Cpo
from domain.payouts.batches import Payee, PayeeKind
from domain.settlement.contracts import CommissionTerms, RevenueShareTerms
from domain.settlement.revenue_share import RevenueSplit, settlement_entry, settlement_key, split_revenue
from domain.vat.rates import VatRateTable
from domain.vat.treatment import TaxParty

# In major units of any currency: no line, entry or payable of one session's settlement comes near it (a
# hundred times the default maximum claim); ``ledger check`` flags any amount beyond it.
IMPLAUSIBLE_SESSION_AMOUNT: Final = Decimal("100000")


@dataclass(frozen=True, slots=True)
class SettlementFacts:
    """What one settlement generation of a session is planned from."""

    generation: int  # 0 for the first settlement, then one more per correction
    supply: SessionSupply
    cpo: Cpo
    cpo_tax: TaxParty
    demand_partner_id: str
    partner_tax: TaxParty
    platform: TaxParty
    commission: CommissionTerms  # the CPO's contract
    revenue_share: RevenueShareTerms  # the partner's contract
    cadence: Cadence  # the partner's contract
    tariff_currency: str
    net_minor: int  # the cleared net price, tariff currency
    billing_currency: str
    billed_net_minor: int  # the net price converted at stage 6, billing currency
    vat_rates: VatRateTable
    national_currency: str  # of the charging country, on the supply date
    national_rates: Mapping[str, FxRate]  # per invoice currency other than the national one, into it
    # The revenue share's VAT is stated in the currency of the platform's country (where the partner's
    # service is supplied), converted from the tariff currency at this rate where VAT is charged on it.
    share_vat_currency: str
    share_vat_rate: FxRate | None


@dataclass(frozen=True, slots=True)
class PlannedInvoice:
    """One invoice line and the document it goes on: an invoice of its own, or (``statement_period``
    set) the recipient's monthly statement for that period."""

    issuer: str
    series: str
    recipient: str
    supplier: TaxParty
    customer: TaxParty
    line: InvoiceLine
    self_billing: bool
    statement_period: str | None = None


@dataclass(frozen=True, slots=True)
class Payable:
    """What a payee's payout queue gains from an entry (negative: what a reversal takes back)."""

    payee: Payee
    currency: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class SettlementPlan:
    session_id: str
    generation: int
    entry_key: str  # the idempotency key of the entry (and of the payables queued from it)
    split: RevenueSplit
    lines: ChainLines
    entry: JournalEntry | None  # None: a free session, neither booked nor invoiced
    hold_capture_minor: int | None  # what the credit hold captures; None: a correction bills without one
    self_billed: PlannedInvoice | None  # the CPO's line, self-billed in its name
    sold: PlannedInvoice | None  # the partner's line
    revenue_share: PlannedInvoice | None  # the partner's share, self-billed in its name; None: no share
    payables: tuple[Payable, ...]


def plan_settlement(facts: SettlementFacts) -> SettlementPlan:
    session_id = facts.supply.session_id
    split = split_revenue(facts.net_minor, facts.tariff_currency, facts.commission, facts.revenue_share)
    lines = chain_lines(
        facts.supply,
        cpo=facts.cpo_tax,
        platform=facts.platform,
        partner=facts.partner_tax,
        tariff_currency=facts.tariff_currency,
        cpo_net_minor=split.cpo_minor,
        billing_currency=facts.billing_currency,
        billed_net_minor=facts.billed_net_minor,
        rates=facts.vat_rates,
        national_currency=facts.national_currency,
        national_rates=facts.national_rates,
    )
    entry_key = settlement_key(session_id, facts.generation)
    entry = settlement_entry(
        entry_key,
        demand_partner_id=facts.demand_partner_id,
        cpo_id=facts.cpo.id,
        split=split,
        bought=lines.cpo_to_platform,
        sold=lines.platform_to_partner,
    )
    booked = entry is not None
    return SettlementPlan(
        session_id=session_id,
        generation=facts.generation,
        entry_key=entry_key,
        split=split,
        lines=lines,
        entry=entry,
        hold_capture_minor=lines.platform_to_partner.gross_minor if facts.generation == 0 else None,
        self_billed=_self_billed(facts, lines.cpo_to_platform) if booked else None,
        sold=_sold(facts, lines.platform_to_partner) if booked else None,
        revenue_share=_revenue_share(facts, split) if booked else None,
        payables=_payables(facts, split, lines.cpo_to_platform) if booked else (),
    )


def _self_billed(facts: SettlementFacts, bought: InvoiceLine) -> PlannedInvoice:
    return PlannedInvoice(
        issuer=cpo_issuer(facts.cpo.id),
        series=self_billing_series(facts.cpo.country_code, facts.cpo.party_id),
        recipient=PLATFORM_ISSUER,
        supplier=facts.cpo_tax,
        customer=facts.platform,
        line=bought,
        self_billing=True,
    )


def _sold(facts: SettlementFacts, sold: InvoiceLine) -> PlannedInvoice:
    # A correction is invoiced on its own, whatever the cadence, so it can name what it replaces.
    on_its_own = facts.cadence == Cadence.PER_SESSION or facts.generation > 0
    return PlannedInvoice(
        issuer=PLATFORM_ISSUER,
        series=PLATFORM_SERIES,
        recipient=f"dp:{facts.demand_partner_id}",
        supplier=facts.platform,
        customer=facts.partner_tax,
        line=sold,
        self_billing=False,
        statement_period=None if on_its_own else statement_period(facts.supply.supplied_on),
    )


def _revenue_share(facts: SettlementFacts, split: RevenueSplit) -> PlannedInvoice | None:
    line = revenue_share_line(
        facts.supply,
        partner=facts.partner_tax,
        platform=facts.platform,
        currency=split.currency,
        share_minor=split.demand_partner_minor,
        rates=facts.vat_rates,
        vat_currency=facts.share_vat_currency,
        vat_rate=facts.share_vat_rate,
    )
    if line is None:
        return None
    # Monthly per partner and currency; a correction on its own, as the partner's invoice is.
    return PlannedInvoice(
        issuer=demand_partner_issuer(facts.demand_partner_id),
        series=revenue_share_series(facts.demand_partner_id),
        recipient=PLATFORM_ISSUER,
        supplier=facts.partner_tax,
        customer=facts.platform,
        line=line,
        self_billing=True,
        statement_period=None if facts.generation > 0 else statement_period(facts.supply.supplied_on),
    )


def _payables(facts: SettlementFacts, split: RevenueSplit, bought: InvoiceLine) -> tuple[Payable, ...]:
    """The CPO is paid its line's gross; the partner its revenue share (both in the tariff currency)."""
    return (
        Payable(Payee(PayeeKind.CPO, facts.cpo.id), split.currency, bought.gross_minor),
        Payable(Payee(PayeeKind.DEMAND_PARTNER, facts.demand_partner_id), split.currency, split.demand_partner_minor),
    )
