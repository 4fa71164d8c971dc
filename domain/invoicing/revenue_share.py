"""A session's line on the self-billed invoice for its demand partner's revenue share (``docs/revenue-share.md``).

The share pays for the partner's service to the platform (it brings the paying drivers): a service between
businesses, supplied where the platform is established (Art. 44), whichever country the session charged
in. The partner is the supplier and the platform the customer; the platform issues the invoice in the
partner's name. The line is in the share's currency (the tariff's, as the partner's payable is) and
states its VAT in the currency of the platform's country too (Art. 230).
"""

from __future__ import annotations

from domain.fx.rates import FxRate
from domain.invoicing.chain import SessionSupply
from domain.invoicing.lines import InvoiceLine, invoice_line
from domain.vat.rates import VatRateTable
from domain.vat.treatment import TaxParty, decide_service_vat


def revenue_share_line(
    supply: SessionSupply,
    *,
    partner: TaxParty,
    platform: TaxParty,
    currency: str,
    share_minor: int,
    rates: VatRateTable,
    vat_currency: str,
    vat_rate: FxRate | None,
) -> InvoiceLine | None:
    """The line for the session's share; ``None`` when the share is nothing. ``vat_rate`` converts
    ``currency`` into ``vat_currency`` (the platform country's); it is needed only when the line charges VAT
    in another currency."""
    if share_minor == 0:
        return None
    decision = decide_service_vat(partner, platform, supplied_on=supply.supplied_on, rates=rates)
    return invoice_line(
        session_id=supply.session_id,
        description=f"Revenue share, session {supply.session_id}",
        quantity=supply.kwh,
        supplied_on=supply.supplied_on,
        currency=currency,
        net_minor=share_minor,
        decision=decision,
        national_currency=vat_currency,
        national_rate=vat_rate,
    )
