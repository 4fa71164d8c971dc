"""What a demand partner pays for a CPO's official price, pure: the tariff's components per unit and the
price of a whole session, each in the partner's billing currency, with the platform's commission, the
reference FX rate and the charger country's VAT shown separately.

Nothing here is a second rule: a session is priced by the rating engine (``domain.tariffs.rating``), the
commission is the contract's (``domain.settlement.revenue_share.commission_minor``), converted by
``domain.fx.rates.convert`` and taxed as the partner's invoice line is (``domain.invoicing.lines.vat_minor``
on the VAT decision of ``domain.vat.treatment``). The demand partner pays the official price: the
commission is carved out of it, never added to it (``domain.settlement.revenue_share``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from domain.errors import DomainError
from domain.fx.rates import FxRate, convert
from domain.invoicing.lines import vat_minor
from domain.money import from_minor, round_to, to_minor
from domain.settlement.contracts import CommissionTerms
from domain.settlement.revenue_share import commission_minor
from domain.tariffs.model import Dimension, PriceComponent, Tariff, TariffElement
from domain.tariffs.rating import HOUR_S, RatedSession, RatingPeriod, rate
from domain.vat.treatment import VatDecision

# AFIR shows the price per kWh first, then per minute, per session, and other (parking) components.
AFIR_ORDER = (Dimension.ENERGY, Dimension.TIME, Dimension.FLAT, Dimension.PARKING_TIME)
# A unit price (per kWh, per hour) is read, never added up: shown to 4 decimals, finer than any minor unit.
UNIT_PRICE_PLACES = 4
HUNDRED = Decimal(100)
SECONDS_PER_MINUTE = 60


@dataclass(frozen=True, slots=True)
class PartnerTerms:
    """How the official price reaches a partner: its currency, the commission included in the price, the
    reference rate from the tariff currency (None: the same currency) and the VAT its invoice line carries."""

    billing_currency: str
    commission: CommissionTerms
    fx: FxRate | None
    vat: VatDecision


@dataclass(frozen=True, slots=True)
class ComponentPrice:
    type: Dimension
    price: Decimal  # per unit, excl. VAT, tariff currency, as published
    vat: Decimal | None  # as published: percent, None = no VAT applicable
    step_size: int
    partner_excl_vat: Decimal  # per unit, billing currency
    partner_vat: Decimal  # per unit, billing currency
    partner_incl_vat: Decimal


def afir_ordered(components: Iterable[PriceComponent]) -> list[PriceComponent]:
    """The components in the AFIR order (per kWh, per minute, per session, parking), stable otherwise."""
    return sorted(components, key=lambda component: AFIR_ORDER.index(component.type))


def unit_prices(element: TariffElement, currency: str, terms: PartnerTerms) -> tuple[ComponentPrice, ...]:
    """Each component of ``element`` per unit as published and as the partner pays it, in the AFIR order."""
    prices = []
    for component in afir_ordered(element.components):
        # As on the invoice line: the net rounded once, the VAT on that net, and net + VAT is what is shown.
        net = round_to(
            component.price if terms.fx is None else convert_unit(component.price, currency, terms), UNIT_PRICE_PLACES
        )
        vat = round_to(net * terms.vat.percent / HUNDRED, UNIT_PRICE_PLACES)  # 0 % unless charged here
        prices.append(
            ComponentPrice(
                type=component.type,
                price=component.price,
                vat=component.vat,
                step_size=component.step_size,
                partner_excl_vat=net,
                partner_vat=vat,
                partner_incl_vat=net + vat,
            )
        )
    return tuple(prices)


def convert_unit(price: Decimal, currency: str, terms: PartnerTerms) -> Decimal:
    """A unit price at the reference rate, unrounded (it is rounded once, where it is shown)."""
    assert terms.fx is not None, "a unit price is converted only between two currencies"
    assert (terms.fx.base, terms.fx.quote) == (currency, terms.billing_currency), "from the tariff's currency"
    return price * terms.fx.rate


@dataclass(frozen=True, slots=True)
class SessionPrice:
    """A session's price for a partner: the official price (``rated``, tariff currency), the commission
    included in it, the net converted into the billing currency and the VAT on it."""

    rated: RatedSession
    platform_fee_minor: int  # tariff currency, part of the official net price
    currency: str  # billing
    net_minor: int
    vat_minor: int
    fx: FxRate | None
    vat: VatDecision

    @property
    def total_incl_vat(self) -> Decimal:
        return from_minor(self.net_minor + self.vat_minor, self.currency)


def session_periods(kwh: Decimal, minutes: int, start: datetime) -> tuple[RatingPeriod, ...]:
    """The CDR of a session that charges ``kwh`` over ``minutes`` from ``start``: one charging period."""
    hours = Decimal(minutes * SECONDS_PER_MINUTE) / HOUR_S
    return (RatingPeriod(start, (("ENERGY", kwh), ("TIME", hours))),)


def session_price(
    tariff: Tariff, *, kwh: Decimal, minutes: int, start: datetime, time_zone: ZoneInfo, terms: PartnerTerms
) -> SessionPrice:
    """What the partner pays for ``kwh`` over ``minutes`` from ``start`` (aware) under ``tariff``."""
    assert kwh >= 0, "a session consumes energy, never returns it"
    assert minutes >= 0, "and lasts"
    end = start + timedelta(minutes=minutes)
    rated = rate(tariff, session_periods(kwh, minutes, start), start=start, end=end, time_zone=time_zone)
    net_minor = to_minor(rated.total_cost.excl_vat, tariff.currency)
    billed_minor, billed_vat_minor = partner_net_and_vat(rated.total_cost.excl_vat, tariff.currency, terms)
    return SessionPrice(
        rated=rated,
        platform_fee_minor=commission_minor(net_minor, tariff.currency, terms.commission),
        currency=terms.billing_currency,
        net_minor=billed_minor,
        vat_minor=billed_vat_minor,
        fx=terms.fx,
        vat=terms.vat,
    )


def partner_net_and_vat(official_excl_vat: Decimal, currency: str, terms: PartnerTerms) -> tuple[int, int]:
    """An official net price (``currency``) as the partner's invoice line carries it: the net converted at
    the reference rate and the VAT on it, each in minor units of the billing currency."""
    converted = convert(official_excl_vat, currency, terms.billing_currency, terms.fx)
    billed_minor = to_minor(converted.amount, terms.billing_currency)
    return billed_minor, vat_minor(billed_minor, terms.billing_currency, terms.vat)


@dataclass(frozen=True, slots=True)
class CpoSessionReport:
    """What the CPO's latest Session says of a session under way: ``total_cost`` (excl. VAT, tariff currency)
    when the CPO gave one, else its ``charging_periods``, else only the energy so far."""

    start: datetime
    last_updated: datetime
    kwh: Decimal
    total_cost_excl_vat: Decimal | None = None
    periods: tuple[RatingPeriod, ...] = ()


@dataclass(frozen=True, slots=True)
class CostSoFar:
    """A session's cost as of the CPO's latest report, in the partner's currency."""

    currency: str
    excl_vat: Decimal
    incl_vat: Decimal
    as_of: datetime


def cost_so_far(tariff: Tariff, report: CpoSessionReport, *, time_zone: ZoneInfo, terms: PartnerTerms) -> CostSoFar:
    """What the session has cost the partner by ``report.last_updated``: the CPO's own ``total_cost`` if it
    gave one, else the session's tariff version rated on the reported periods (or, without periods, on the
    energy so far charged over the time so far), converted and taxed as the partner's invoice line is."""
    official = report.total_cost_excl_vat
    if official is None:
        as_of = max(report.last_updated, report.start)
        periods = report.periods or (
            RatingPeriod(report.start, (("ENERGY", report.kwh), ("TIME", _hours(as_of - report.start)))),
        )
        official = rate(tariff, periods, start=report.start, end=as_of, time_zone=time_zone).total_cost.excl_vat
    net_minor, tax_minor = partner_net_and_vat(official, tariff.currency, terms)
    currency = terms.billing_currency
    return CostSoFar(
        currency=currency,
        excl_vat=from_minor(net_minor, currency),
        incl_vat=from_minor(net_minor + tax_minor, currency),
        as_of=report.last_updated,
    )


def _hours(span: timedelta) -> Decimal:
    return Decimal(round(span.total_seconds())) / HOUR_S


class QuoteExpired(DomainError):
    code = "QUOTE_EXPIRED"


class QuoteForAnotherEvse(DomainError):
    code = "QUOTE_EVSE_MISMATCH"


def check_quote_use(*, quoted_evse_id: str, valid_until: datetime, evse_id: str, at: datetime) -> None:
    """A session may start on a quote until it expires, on the EVSE it was quoted for (ids ignore case)."""
    if at >= valid_until:
        raise QuoteExpired(f"the quote expired at {valid_until.isoformat()}: ask a new one")
    if quoted_evse_id.upper() != evse_id.upper():
        raise QuoteForAnotherEvse(f"the quote is for EVSE {quoted_evse_id}, not {evse_id}")


class QuoteImplausible(DomainError):
    code = "QUOTE_IMPLAUSIBLE"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def check_deliverable(kwh: Decimal, minutes: int, max_power_w: int | None) -> None:
    """``QuoteImplausible`` when no connector of the EVSE (at most ``max_power_w``) can charge ``kwh`` in
    ``minutes``; an EVSE whose power we were not told is not checked."""
    if max_power_w is None:
        return
    deliverable_kwh = Decimal(max_power_w) * minutes / (1000 * SECONDS_PER_MINUTE)
    if kwh > deliverable_kwh:
        raise QuoteImplausible(
            "kwh", f"{kwh} kWh in {minutes} minutes is more than this EVSE delivers at {Decimal(max_power_w) / 1000} kW"
        )
