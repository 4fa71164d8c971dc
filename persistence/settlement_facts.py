"""What a session's settlement is planned from (``domain.settlement.plan.SettlementFacts``), read from its
rows as domain values: its frozen contracts' terms (checked as they are read), its parties, its supply,
and the reference rates its invoice lines (the revenue share's included) state their VAT in."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from domain.fx.rates import PIVOT, FxRate
from domain.settlement.contracts import commission_terms, invoicing_terms, revenue_share_terms
from domain.settlement.plan import SettlementFacts
from domain.vat.parties import national_currency
from domain.vat.rates import VatRateTable
from domain.vat.treatment import TaxParty
from persistence import fx
from persistence.parties import as_cpo, cpo_party, invoiced_partner_party
from persistence.supplies import session_supply
from persistence.tables import CdrRow, ContractRow, CpoRow, DemandPartnerRow, FxConversionRow, SessionRow


def reference_rate(db: Session, base: str, quote: str, on: date, *, max_age: timedelta) -> FxRate:
    """The rate of ``on`` (the latest publication on or before it); ``FxRateMissing`` without one,
    ``FxRateStale`` when it is older than ``max_age``."""
    table = fx.rate_table(db, {base, quote} - {PIVOT}, on)
    return table.rate(base, quote, on, max_age)


def settlement_facts(
    db: Session,
    session: SessionRow,
    generation: int,
    conversion: FxConversionRow,
    cdr: CdrRow,
    *,
    platform: TaxParty,
    vat_rates: VatRateTable,
    fx_max_age: timedelta,
) -> SettlementFacts:
    assert session.cpo_id, "an authorised session knows its CPO"
    assert session.country, "and its charger's country"
    assert session.cpo_contract_key, "and its frozen contracts"
    assert session.demand_partner_contract_key, "and its frozen contracts"
    partner_terms = db.get_one(ContractRow, session.demand_partner_contract_key).terms
    invoicing = invoicing_terms(partner_terms)
    commission = commission_terms(db.get_one(ContractRow, session.cpo_contract_key).terms)
    revenue_share = revenue_share_terms(partner_terms)
    cpo = db.get_one(CpoRow, session.cpo_id)
    partner = db.get_one(DemandPartnerRow, session.demand_partner_id)
    supply = session_supply(db, session, cdr)
    national = national_currency(session.country, supply.supplied_on)
    partner_tax = invoiced_partner_party(partner, invoicing)
    share_vat_currency = national_currency(platform.country, supply.supplied_on)
    # Only a partner established where the platform is charges VAT on its share (the share pays for a service
    # supplied there, Art. 44; any other partner's is reverse-charged): only its share needs a rate to state it.
    share_vat_rate = (
        reference_rate(db, conversion.from_currency, share_vat_currency, supply.supplied_on, max_age=fx_max_age)
        if partner_tax.country == platform.country and conversion.from_currency != share_vat_currency
        else None
    )
    return SettlementFacts(
        generation=generation,
        supply=supply,
        cpo=as_cpo(cpo),
        cpo_tax=cpo_party(cpo),
        demand_partner_id=partner.id,
        partner_tax=partner_tax,
        platform=platform,
        commission=commission,
        revenue_share=revenue_share,
        cadence=invoicing.cadence,
        tariff_currency=conversion.from_currency,
        net_minor=conversion.amount_minor,
        billing_currency=conversion.to_currency,
        billed_net_minor=conversion.converted_minor,
        vat_rates=vat_rates,
        national_currency=national,
        national_rates={
            other: reference_rate(db, other, national, supply.supplied_on, max_age=fx_max_age)
            for other in {conversion.from_currency, conversion.to_currency} - {national}
        },
        share_vat_currency=share_vat_currency,
        share_vat_rate=share_vat_rate,
    )
