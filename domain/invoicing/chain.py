"""The chain model's two invoice lines for one session (CPO -> platform -> demand partner).

The CPO supplies the electricity to the platform at the official net price less the platform's commission,
in the tariff currency, on a self-billed invoice; the platform resells it to the demand partner at the
official net price, in the partner's billing currency. Each leg carries the VAT its own parties call for
(``domain.vat.treatment``) and states it in the charging country's currency too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.fx.rates import FxRate
from domain.invoicing.lines import InvoiceLine, invoice_line
from domain.vat.rates import VatRateTable
from domain.vat.treatment import TaxParty, decide_vat


@dataclass(frozen=True, slots=True)
class SessionSupply:
    session_id: str
    kwh: Decimal
    supplied_on: date  # the day the charging ended: the chargeable event
    charger_country: str
    location: str  # where the charger is, for the line's description
    quote_id: str | None = None  # the partner's quote the session started on, named on its lines


@dataclass(frozen=True, slots=True)
class ChainLines:
    cpo_to_platform: InvoiceLine  # self-billed, tariff currency
    platform_to_partner: InvoiceLine  # billing currency


def chain_lines(
    supply: SessionSupply,
    *,
    cpo: TaxParty,
    platform: TaxParty,
    partner: TaxParty,
    tariff_currency: str,
    cpo_net_minor: int,
    billing_currency: str,
    billed_net_minor: int,
    rates: VatRateTable,
    national_currency: str,
    national_rates: Mapping[str, FxRate],
) -> ChainLines:
    """``national_rates`` holds, per invoice currency other than the national one, its rate into it."""
    description = f"Electricity for EV charging, session {supply.session_id}, {supply.location}"
    if supply.quote_id is not None:
        description += f", quote {supply.quote_id}"

    def leg(supplier: TaxParty, customer: TaxParty, currency: str, net_minor: int) -> InvoiceLine:
        decision = decide_vat(
            supplier, customer, charger_country=supply.charger_country, supplied_on=supply.supplied_on, rates=rates
        )
        return invoice_line(
            session_id=supply.session_id,
            description=description,
            quantity=supply.kwh,
            supplied_on=supply.supplied_on,
            currency=currency,
            net_minor=net_minor,
            decision=decision,
            national_currency=national_currency,
            national_rate=national_rates.get(currency),
        )

    return ChainLines(
        cpo_to_platform=leg(cpo, platform, tariff_currency, cpo_net_minor),
        platform_to_partner=leg(platform, partner, billing_currency, billed_net_minor),
    )
