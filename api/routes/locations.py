"""Demand partners list the chargers of the network with their official prices and what they pay for them."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query

from api.deps import ContextDep, DemandPartnerDep
from api.responses import refusals
from api.schemas import (
    PRINTABLE_ASCII,
    ConnectorPriceRead,
    ConnectorRead,
    CoordinatesRead,
    DisplayTextRead,
    EvseRead,
    FxRead,
    LocationPage,
    LocationRead,
    PlatformFeeRead,
    PriceComponentRead,
    TariffElementRead,
    VatRead,
)
from domain.tariffs.partner_price import unit_prices
from persistence.locations import LocationFilter
from services import prices as service

router = APIRouter(prefix="/v1/locations", tags=["locations"])


def preferred_languages(accept_language: str | None) -> list[str]:
    """The ISO 639-1 languages of an Accept-Language header, most wanted first (q=0: not wanted)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        language = tag.strip()[:2].lower()
        if len(language) == 2 and language.isalpha() and quality > 0:
            ranked.append((-quality, position, language))
    return [language for _, _, language in sorted(ranked)]


def alt_texts_for(texts: list[DisplayTextRead], accept_language: str | None) -> list[DisplayTextRead]:
    """The tariff's texts in the most wanted language the CPO wrote one in; all of them otherwise."""
    for language in preferred_languages(accept_language):
        chosen = [text for text in texts if text.language.lower() == language]
        if chosen:
            return chosen
    return texts


def _price(view: service.ConnectorPriceView, accept_language: str | None) -> ConnectorPriceRead | None:
    if view.tariff is None or view.terms is None:
        return None
    tariff, terms, document = view.tariff.tariff, view.terms, view.tariff.document
    commission = terms.commission
    elements = [
        TariffElementRead(
            price_components=[
                PriceComponentRead(
                    type=p.type.value,
                    price=p.price,
                    vat=p.vat,
                    step_size=p.step_size,
                    partner_excl_vat=p.partner_excl_vat,
                    partner_vat=p.partner_vat,
                    partner_incl_vat=p.partner_incl_vat,
                )
                for p in unit_prices(element, tariff.currency, terms)
            ],
            restrictions=published.get("restrictions"),
        )
        for element, published in zip(tariff.elements, document["elements"], strict=True)
    ]
    fx = terms.fx
    return ConnectorPriceRead(
        tariff_id=view.tariff.tariff_id,
        tariff_version=view.tariff.version,
        currency=tariff.currency,
        tariff_alt_text=alt_texts_for(
            [DisplayTextRead(language=t["language"], text=t["text"]) for t in document.get("tariff_alt_text", [])],
            accept_language,
        ),
        elements=elements,
        min_price=document.get("min_price"),
        max_price=document.get("max_price"),
        billing_currency=terms.billing_currency,
        platform_fee=PlatformFeeRead(
            percent=commission.percent,
            minimum=commission.minimum,
            maximum=commission.maximum,
            currency=tariff.currency,
            included_in_price=True,
        ),
        fx=None if fx is None else FxRead(base=fx.base, quote=fx.quote, rate=fx.rate, as_of=fx.as_of, source=fx.source),
        vat=VatRead(rate=terms.vat.percent, treatment=terms.vat.treatment.value, country=terms.vat.place_of_supply),
    )


def _location(location: service.LocationView, accept_language: str | None) -> LocationRead:
    return LocationRead(
        id=location.id,
        cpo=location.cpo_id,
        name=location.name,
        address=location.address,
        city=location.city,
        postal_code=location.postal_code,
        country=location.country,
        coordinates=CoordinatesRead(latitude=location.latitude, longitude=location.longitude),
        time_zone=location.time_zone,
        evses=[
            EvseRead(
                uid=evse.uid,
                evse_id=evse.evse_id,
                status=evse.status,
                connectors=[
                    ConnectorRead(
                        id=c.connector_id,
                        standard=c.standard,
                        power_type=c.power_type,
                        max_electric_power=c.max_electric_power,
                        price=_price(c, accept_language),
                        price_unavailable=c.unavailable,
                    )
                    for c in evse.connectors
                ],
            )
            for evse in location.evses
        ],
    )


def _cursor(key: int) -> str:
    return base64.urlsafe_b64encode(f"location:{key}".encode()).decode()


def _after(cursor: str) -> int:
    try:
        kind, _, key = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind != "location" or not key.isdigit() or len(key) > 18:
            raise ValueError(cursor)
        return int(key)
    except (ValueError, binascii.Error) as error:
        raise HTTPException(400, "cursor is not one we issued") from error


@router.get(
    "",
    response_model=LocationPage,
    responses=refusals(
        400, 401, 422, why={400: "The cursor is not one we issued, or lat, lon and radius_km not all three"}
    ),
    summary="Chargers with their prices",
)
async def list_locations(
    partner: DemandPartnerDep,
    context: ContextDep,
    lat: Annotated[Decimal | None, Query(ge=-90, le=90, description="With lon and radius_km")] = None,
    lon: Annotated[Decimal | None, Query(ge=-180, le=180)] = None,
    radius_km: Annotated[Decimal | None, Query(gt=0, le=1000)] = None,
    country: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")] = None,
    cpo: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE_ASCII)] = None,
    evse_id: Annotated[str | None, Query(max_length=48, pattern=PRINTABLE_ASCII)] = None,
    available: Annotated[bool | None, Query(description="true: only locations with an EVSE AVAILABLE now")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    accept_language: Annotated[str | None, Header(max_length=200)] = None,
) -> LocationPage:
    """Published locations of active CPOs. Each connector's ``price`` is the CPO's tariff in force now as
    published, and per unit what you pay: the official price in your billing currency at the reference rate
    shown, and the VAT of the charger's country; the platform's fee is part of the CPO's price."""
    near = [lat, lon, radius_km]
    circle = None
    if any(v is not None for v in near):
        missing = [name for name, v in zip(("lat", "lon", "radius_km"), near, strict=True) if v is None]
        if missing:
            raise HTTPException(400, f"{missing[0]}: lat, lon and radius_km go together")
        assert lat is not None and lon is not None and radius_km is not None  # noqa: PT018 - narrowed above
        circle = service.Circle(lat, lon, radius_km)
    where = LocationFilter(
        country=country, cpo_id=cpo, evse_id=evse_id, available=available, box=None if circle is None else circle.box()
    )
    views, last_key = await service.locations_page(
        context.reads,
        partner,
        context.prices,
        where,
        circle,
        limit=limit,
        after_key=None if cursor is None else _after(cursor),
        now=datetime.now(UTC),
    )
    return LocationPage(
        items=[_location(view, accept_language) for view in views],
        next=None if last_key is None else _cursor(last_key),
    )
