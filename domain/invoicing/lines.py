"""Invoice lines and totals, pure. The invoice line is the money rules' one rounding point: its net amount
arrives in minor units (rated at full precision, converted, rounded once), its VAT is the net times the rate,
rounded half-up once; totals are sums of lines and never rounded again, so net + VAT = gross everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from domain.fx.rates import FxRate, convert
from domain.money import from_minor, quantize, to_minor
from domain.vat.treatment import VatDecision, VatTreatment

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class NationalVat:
    """Art. 230: a line's VAT in the charging country's currency, at the recorded reference rate."""

    currency: str
    vat_minor: int
    rate: FxRate | None  # None: the invoice is already in that currency


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    session_id: str
    description: str
    quantity: Decimal  # kWh delivered
    supplied_on: date
    currency: str
    net_minor: int
    vat: VatDecision
    vat_minor: int
    national: NationalVat

    @property
    def gross_minor(self) -> int:
        return self.net_minor + self.vat_minor

    @property
    def unit_price(self) -> Decimal:
        """The average price per kWh excluding VAT (Art. 226(8)), for reading, not for adding up."""
        if self.quantity == 0:
            return from_minor(self.net_minor, self.currency)
        return (from_minor(self.net_minor, self.currency) / self.quantity).quantize(Decimal("0.0001"))


def vat_minor(net_minor: int, currency: str, decision: VatDecision) -> int:
    """The line's VAT: net times the rate, rounded half-up once to the minor unit."""
    if decision.treatment != VatTreatment.DOMESTIC:
        return 0
    return to_minor(quantize(from_minor(net_minor, currency) * decision.percent / HUNDRED, currency), currency)


def national_vat(vat: int, currency: str, national_currency: str, rate: FxRate | None) -> NationalVat:
    """``vat`` minor units of ``currency`` stated in ``national_currency`` (converted and rounded once). No VAT
    needs no rate: it is nothing in any currency."""
    if currency == national_currency:
        return NationalVat(currency, vat, None)
    if vat == 0 and rate is None:
        return NationalVat(national_currency, 0, None)
    converted = convert(from_minor(vat, currency), currency, national_currency, rate)
    return NationalVat(national_currency, to_minor(converted.amount, national_currency), rate)


def invoice_line(
    *,
    session_id: str,
    description: str,
    quantity: Decimal,
    supplied_on: date,
    currency: str,
    net_minor: int,
    decision: VatDecision,
    national_currency: str,
    national_rate: FxRate | None,
) -> InvoiceLine:
    assert net_minor >= 0, "an invoice line sells something; corrections are credit notes"
    vat = vat_minor(net_minor, currency, decision)
    return InvoiceLine(
        session_id=session_id,
        description=description,
        quantity=quantity,
        supplied_on=supplied_on,
        currency=currency,
        net_minor=net_minor,
        vat=decision,
        vat_minor=vat,
        national=national_vat(vat, currency, national_currency, national_rate),
    )


def credited(line: InvoiceLine) -> InvoiceLine:
    """The credit note's line that cancels ``line``: the same supply with every amount negated, so the
    two add up to nothing in both currencies (no new rounding)."""
    return replace(
        line,
        description=f"Credit: {line.description}",
        net_minor=-line.net_minor,
        vat_minor=-line.vat_minor,
        national=replace(line.national, vat_minor=-line.national.vat_minor),
    )


@dataclass(frozen=True, slots=True)
class VatGroup:
    """Art. 226(8)-(10): the taxable amount and VAT per rate (and place of supply, and treatment)."""

    place_of_supply: str
    treatment: VatTreatment
    percent: Decimal
    net_minor: int
    vat_minor: int
    national_currency: str
    national_vat_minor: int

    @property
    def gross_minor(self) -> int:
        return self.net_minor + self.vat_minor


@dataclass(frozen=True, slots=True)
class InvoiceTotals:
    currency: str
    net_minor: int
    vat_minor: int
    groups: tuple[VatGroup, ...]

    @property
    def gross_minor(self) -> int:
        return self.net_minor + self.vat_minor


def invoice_totals(currency: str, lines: Sequence[InvoiceLine]) -> InvoiceTotals:
    """Totals and VAT groups as plain sums of the lines (no second rounding)."""
    assert all(line.currency == currency for line in lines), "an invoice has one currency"
    groups: dict[tuple[str, VatTreatment, Decimal, str], list[InvoiceLine]] = {}
    for line in lines:
        key = (line.vat.place_of_supply, line.vat.treatment, line.vat.percent, line.national.currency)
        groups.setdefault(key, []).append(line)
    return InvoiceTotals(
        currency=currency,
        net_minor=sum(line.net_minor for line in lines),
        vat_minor=sum(line.vat_minor for line in lines),
        groups=tuple(
            VatGroup(
                place_of_supply=place,
                treatment=treatment,
                percent=percent,
                net_minor=sum(line.net_minor for line in members),
                vat_minor=sum(line.vat_minor for line in members),
                national_currency=national,
                national_vat_minor=sum(line.national.vat_minor for line in members),
            )
            for (place, treatment, percent, national), members in sorted(groups.items(), key=lambda kv: kv[0])
        ),
    )
