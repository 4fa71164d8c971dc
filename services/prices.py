"""Chargers and prices for demand partners: the published network with each connector's official tariff
and what the partner pays for it, and quotes for a session (stored, holding nothing).

The partner's side of a price is read as its settlement will read it: the CPO's commission from the CPO
contract in force, the ECB reference rate of the day, the VAT decision of the platform's invoice line to the
partner (``domain.tariffs.partner_price``)."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import DomainError
from domain.fx.rates import FxRate, FxRateMissing, FxRateStale
from domain.money import from_minor
from domain.parties import DemandPartner
from domain.sessions.authorisation import ConnectorFacts, connector_tariff, in_force
from domain.settlement.contracts import ContractTermsInvalid, commission_terms, invoicing_terms
from domain.tariffs.model import Tariff, TariffInvalid, parse_tariff
from domain.tariffs.partner_price import (
    CostSoFar,
    PartnerTerms,
    SessionPrice,
    check_deliverable,
    cost_so_far,
    session_price,
)
from domain.tariffs.report import cpo_session_report
from domain.vat.rates import VatRateMissing
from domain.vat.treatment import TaxParty, VatRegistrationMissing, decide_vat
from persistence import quotes
from persistence import repositories as repo
from persistence.db import SessionFactory
from persistence.locations import ListedLocation, LocationFilter, published_locations
from persistence.parties import partner_party
from persistence.settlement_facts import reference_rate
from persistence.tables import (
    ConnectorRow,
    ContractRow,
    DemandPartnerRow,
    LocationRow,
    OcpiSessionRow,
    QuoteRow,
    SessionRow,
)
from persistence.vat_rates import vat_rate_table

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = 111.2  # of latitude; a bounding box a little larger than the circle, refined exactly after
QUOTE_VALIDITY = timedelta(minutes=15)


class PriceUnavailable(DomainError):
    """The partner's side of a price cannot be given: no contract in force for the CPO or the partner."""

    code = "PRICE_UNAVAILABLE"


class NoTariffInForce(DomainError):
    code = "NO_TARIFF_IN_FORCE"


class EvseUnknown(DomainError):
    code = "UNKNOWN_EVSE"


class QuoteNotFound(DomainError):
    code = "QUOTE_NOT_FOUND"


# What keeps a price from a partner: a refusal with a stable code, never a 500.
PRICE_REFUSALS = (
    PriceUnavailable,
    FxRateMissing,
    FxRateStale,
    VatRateMissing,
    VatRegistrationMissing,
    ContractTermsInvalid,
)


@dataclass(frozen=True, slots=True)
class PriceSetup:
    """What the platform brings to every price: its own tax identity and how old a reference rate may be."""

    platform: TaxParty
    fx_max_age: timedelta


@dataclass(frozen=True, slots=True)
class Circle:
    latitude: Decimal
    longitude: Decimal
    radius_km: Decimal

    def box(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        margin = float(self.radius_km) / KM_PER_DEGREE
        lon_margin = margin / max(math.cos(math.radians(float(self.latitude))), 0.01)
        lat, lon = float(self.latitude), float(self.longitude)
        return (
            Decimal(str(max(lat - margin, -90.0))),
            Decimal(str(min(lat + margin, 90.0))),
            Decimal(str(max(lon - lon_margin, -180.0))),
            Decimal(str(min(lon + lon_margin, 180.0))),
        )

    def holds(self, latitude: str, longitude: str) -> bool:
        """Great-circle distance (haversine): geometry, not money, so floats are right here."""
        lat1, lon1 = math.radians(float(self.latitude)), math.radians(float(self.longitude))
        lat2, lon2 = math.radians(float(latitude)), math.radians(float(longitude))
        a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
        return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(a, 1.0))) <= float(self.radius_km)


@dataclass(frozen=True, slots=True)
class TariffView:
    key: int  # the version's row
    tariff_id: str
    version: datetime  # its last_updated
    tariff: Tariff
    document: dict[str, Any]  # as the CPO published it


@dataclass(frozen=True, slots=True)
class ConnectorPriceView:
    connector_id: str
    standard: str
    power_type: str
    max_electric_power: int | None  # W
    tariff: TariffView | None
    terms: PartnerTerms | None
    unavailable: str | None  # the code of why there is no price (no tariff in force, no FX rate, ...)


@dataclass(frozen=True, slots=True)
class EvseView:
    uid: str
    evse_id: str | None
    status: str
    connectors: list[ConnectorPriceView]


@dataclass(frozen=True, slots=True)
class LocationView:
    key: int  # where the next page starts after
    id: str
    cpo_id: str
    name: str | None
    address: str
    city: str
    postal_code: str | None
    country: str
    latitude: str
    longitude: str
    time_zone: str
    evses: list[EvseView]


@dataclass
class _Pricer:
    """Prices of one request: tariffs and terms read once each, whatever the number of connectors."""

    db: Session
    partner: DemandPartner
    setup: PriceSetup
    at: datetime
    tariffs: dict[int, TariffView] = field(default_factory=dict)
    terms: dict[tuple[str, str, str], PartnerTerms] = field(default_factory=dict)

    def tariff_in_force(self, cpo_id: str, connectors: list[ConnectorRow], at: datetime) -> TariffView | None:
        facts = [
            ConnectorFacts(c.connector_id, [repo.tariff_versions(self.db, cpo_id, t) for t in c.tariff_ids])
            for c in connectors
        ]
        chosen = connector_tariff(facts, at)
        if chosen is None:
            return None
        key = chosen[1].key
        if key not in self.tariffs:
            row = repo.tariff_version(self.db, key)
            document = json.loads(row.body, parse_float=Decimal)
            self.tariffs[key] = TariffView(key, row.tariff_id, row.last_updated, parse_tariff(document), document)
        return self.tariffs[key]

    def partner_terms(self, cpo_id: str, currency: str, country: str) -> PartnerTerms:
        key = (cpo_id, currency, country)
        if key not in self.terms:
            self.terms[key] = self._read_terms(cpo_id, currency, country)
        return self.terms[key]

    def _read_terms(self, cpo_id: str, currency: str, country: str) -> PartnerTerms:
        cpo_contract = in_force(repo.contract_versions(self.db, "CPO", cpo_id), self.at)
        partner_contract = in_force(repo.contract_versions(self.db, "DEMAND_PARTNER", self.partner.id), self.at)
        if cpo_contract is None or partner_contract is None:
            whose = "the operator" if cpo_contract is None else "your"
            raise PriceUnavailable(f"{whose} contract is not in force: no price can be given")
        partner_terms = self.db.get_one(ContractRow, partner_contract.key).terms
        dealer = invoicing_terms(partner_terms).taxable_dealer
        customer = partner_party(self.db.get_one(DemandPartnerRow, self.partner.id), taxable_dealer=dealer)
        on = self.at.date()
        billing = self.partner.billing_currency
        return PartnerTerms(
            billing_currency=billing,
            commission=commission_terms(self.db.get_one(ContractRow, cpo_contract.key).terms),
            fx=None if currency == billing else self._rate(currency, billing, on),
            vat=decide_vat(
                self.setup.platform, customer, charger_country=country, supplied_on=on, rates=vat_rate_table()
            ),
        )

    def _rate(self, base: str, quote: str, on: date) -> FxRate:
        return reference_rate(self.db, base, quote, on, max_age=self.setup.fx_max_age)

    def connector(self, location: LocationRow, connector: ConnectorRow) -> ConnectorPriceView:
        def view(tariff: TariffView | None, terms: PartnerTerms | None, unavailable: str | None) -> ConnectorPriceView:
            return ConnectorPriceView(
                connector.connector_id,
                connector.standard,
                connector.power_type,
                connector.max_electric_power,
                tariff,
                terms,
                unavailable,
            )

        tariff = self.tariff_in_force(location.cpo_id, [connector], self.at)
        if tariff is None:
            return view(None, None, NoTariffInForce.code)
        try:
            terms = self.partner_terms(location.cpo_id, tariff.tariff.currency, location.country)
        except PRICE_REFUSALS as refused:
            return view(tariff, None, refused.code)
        return view(tariff, terms, None)


def _listed(pricer: _Pricer, listed: ListedLocation) -> LocationView:
    location = listed.location
    return LocationView(
        key=location.key,
        id=location.location_id,
        cpo_id=location.cpo_id,
        name=location.name,
        address=location.address,
        city=location.city,
        postal_code=location.postal_code,
        country=location.country,
        latitude=location.latitude,
        longitude=location.longitude,
        time_zone=location.time_zone,
        evses=[
            EvseView(evse.evse_uid, evse.evse_id, evse.status, [pricer.connector(location, c) for c in connectors])
            for evse, connectors in listed.evses
        ],
    )


async def locations_page(
    reads: SessionFactory,
    partner: DemandPartner,
    setup: PriceSetup,
    where: LocationFilter,
    circle: Circle | None,
    *,
    limit: int,
    after_key: int | None,
    now: datetime,
) -> tuple[list[LocationView], int | None]:
    """Up to ``limit`` locations with their prices now, and the key to continue after (None: the last page)."""

    def load() -> tuple[list[LocationView], int | None]:
        with reads() as db:
            pricer = _Pricer(db, partner, setup, now)
            matching: Iterator[ListedLocation] = published_locations(db, where, after_key=after_key)
            page: list[LocationView] = []
            for listed in matching:
                if circle is not None and not circle.holds(listed.location.latitude, listed.location.longitude):
                    continue
                if len(page) == limit:
                    return page, page[-1].key
                page.append(_listed(pricer, listed))
            return page, None

    return await anyio.to_thread.run_sync(load)


@dataclass(frozen=True, slots=True)
class QuoteRequest:
    evse_id: str
    kwh: Decimal
    minutes: int
    start: datetime | None


Document = dict[str, Any]


async def create_quote(
    writes: SessionFactory, partner: DemandPartner, setup: PriceSetup, request: QuoteRequest, *, now: datetime
) -> Document:
    """Price the session and store the quote; the quote as answered. ``EvseUnknown``, ``QuoteImplausible``,
    ``NoTariffInForce`` or one of ``PRICE_REFUSALS`` otherwise. Nothing is held."""

    def create() -> Document:
        with writes.begin() as db:
            charger = repo.charger_by_evse_id(db, request.evse_id)
            if charger is None or not charger.cpo.active or charger.evse.status == "REMOVED":
                raise EvseUnknown(f"no EVSE {request.evse_id} on the network")
            powers = [c.max_electric_power for c in charger.connectors if c.max_electric_power is not None]
            # Connectors seeded before 0019 recorded no power: an EVSE with one of those is not checked.
            known = len(powers) == len(charger.connectors) and bool(powers)
            check_deliverable(request.kwh, request.minutes, max(powers) if known else None)
            start = request.start or now
            pricer = _Pricer(db, partner, setup, now)
            tariff = pricer.tariff_in_force(charger.cpo.id, list(charger.connectors), start)
            if tariff is None:
                raise NoTariffInForce(f"no connector of EVSE {request.evse_id} has a tariff in force at {start}")
            terms = pricer.partner_terms(charger.cpo.id, tariff.tariff.currency, charger.location.country)
            price = session_price(
                tariff.tariff,
                kwh=request.kwh,
                minutes=request.minutes,
                start=start,
                time_zone=ZoneInfo(charger.location.time_zone),
                terms=terms,
            )
            quote_id = str(uuid.uuid4())
            evse_id = charger.evse.evse_id or request.evse_id  # as the CPO spells it
            valid_until = now + QUOTE_VALIDITY
            row = QuoteRow(
                id=quote_id,
                demand_partner_id=partner.id,
                evse_id=evse_id,
                tariff_key=tariff.key,
                kwh=request.kwh,
                minutes=request.minutes,
                starts_at=start,
                currency=price.currency,
                total_incl_vat_minor=price.net_minor + price.vat_minor,
                body=quote_document(quote_id, evse_id, price, tariff, start=start, valid_until=valid_until),
                created_at=now,
                valid_until=valid_until,
            )
            quotes.store_quote(db, row)
            return row.body

    return await anyio.to_thread.run_sync(create)


async def partner_quote(reads: SessionFactory, partner: DemandPartner, quote_id: str) -> Document:
    """The quote as it was answered; ``QuoteNotFound`` when it is not the partner's."""

    def load() -> Document | None:
        with reads() as db:
            row = quotes.partner_quote(db, partner.id, quote_id)
            return None if row is None else row.body

    body = await anyio.to_thread.run_sync(load)
    if body is None:
        raise QuoteNotFound(f"no quote {quote_id} among yours")
    return body


def _text(value: Decimal) -> str:
    return format(value, "f")


def quote_document(
    quote_id: str, evse_id: str, price: SessionPrice, tariff: TariffView, *, start: datetime, valid_until: datetime
) -> dict[str, Any]:
    """The quote as answered and stored: amounts as decimal strings, never floats."""
    rated = price.rated
    return {
        "id": quote_id,
        "evse_id": evse_id,
        "currency": price.currency,
        "total_incl_vat": _text(price.total_incl_vat),
        "breakdown": {
            "cpo_price": {
                "currency": rated.currency,
                "excl_vat": _text(rated.total_cost.excl_vat),
                "incl_vat": _text(rated.total_cost.incl_vat),
                "energy": _text(rated.total_energy_cost.excl_vat),
                "time": _text(rated.total_time_cost.excl_vat),
                "fixed": _text(rated.total_fixed_cost.excl_vat),
                "parking": _text(rated.total_parking_cost.excl_vat),
            },
            "platform_fee": {
                "currency": rated.currency,
                "amount": _text(from_minor(price.platform_fee_minor, rated.currency)),
                "included_in_cpo_price": True,
            },
            "fx": None
            if price.fx is None
            else {
                "base": price.fx.base,
                "quote": price.fx.quote,
                "rate": _text(price.fx.rate),
                "as_of": price.fx.as_of.isoformat(),
                "source": price.fx.source,
            },
            "net": _text(from_minor(price.net_minor, price.currency)),
            "vat": {
                "rate": _text(price.vat.percent),
                "amount": _text(from_minor(price.vat_minor, price.currency)),
                "treatment": price.vat.treatment.value,
                "country": price.vat.place_of_supply,
            },
        },
        "start": start.isoformat(),
        "valid_until": valid_until.isoformat(),
        "tariff": {"id": tariff.tariff_id, "version": tariff.version.isoformat()},
    }


async def session_cost_so_far(
    reads: SessionFactory, partner: DemandPartner, setup: PriceSetup, session_id: str
) -> CostSoFar | None:
    """What one of the partner's sessions has cost so far by the CPO's latest Session report, on the session's
    own tariff version and terms as of that report; None before the CPO reported, or when no price can be
    given (a rate or contract missing, an unreadable report: the CDR's clearing will say why)."""

    def load() -> CostSoFar | None:
        with reads() as db:
            session = db.get(SessionRow, session_id)
            if session is None or session.demand_partner_id != partner.id or session.tariff_version_key is None:
                return None
            reported = db.scalars(
                select(OcpiSessionRow)
                .where(OcpiSessionRow.our_session_id == session_id)
                .order_by(OcpiSessionRow.last_updated.desc())
                .limit(1)
            ).first()
            charger = repo.charger_by_evse_id(db, session.evse_id)
            if reported is None or charger is None or session.cpo_id is None:
                return None
            try:
                report = cpo_session_report(reported.body)
                tariff = parse_tariff(
                    json.loads(repo.tariff_version(db, session.tariff_version_key).body, parse_float=Decimal)
                )
                pricer = _Pricer(db, partner, setup, report.last_updated)
                terms = pricer.partner_terms(session.cpo_id, tariff.currency, charger.location.country)
            except (TariffInvalid, *PRICE_REFUSALS):
                return None
            return cost_so_far(tariff, report, time_zone=ZoneInfo(charger.location.time_zone), terms=terms)

    return await anyio.to_thread.run_sync(load)
