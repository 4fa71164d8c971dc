"""What the simulator plays: which CPOs, their chargers and tariffs, and how fast sessions run."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field


class SimEvse(BaseModel):
    uid: str
    evse_id: str
    connector_id: str
    connector_standard: str
    connector_format: str
    power_type: str
    max_power_kw: Decimal
    tariff: dict[str, Any]  # an OCPI 2.2.1 Tariff object


class SimLocation(BaseModel):
    id: str
    name: str
    address: str
    city: str
    postal_code: str
    country_alpha3: str
    latitude: str
    longitude: str
    time_zone: str
    evses: list[SimEvse]


class SimCpo(BaseModel):
    country_code: str
    party_id: str
    name: str
    token_to_emsp: str  # presented to the eMSP
    token_from_emsp: str  # expected from the eMSP
    locations: list[SimLocation]


class SimulatorConfig(BaseModel):
    emsp_base_url: str
    charge_duration_s: float = Field(default=2.0, gt=0)
    patch_interval_s: float = Field(default=0.5, gt=0)
    # Compression: a second of charging delivers time_scale seconds' energy (a 2 s session the energy of
    # 20 minutes) and the car parks 1/time_scale of the 4 minutes. Timestamps stay the real clock.
    time_scale: Decimal = Field(default=Decimal(600), gt=0)
    # A push that fails for a technical reason is retried with doubling backoff (at most push_backoff_max_s
    # apart, or as the eMSP's Retry-After says) for push_retry_for_s, as a CPO riding out an outage does.
    push_retry_for_s: float = Field(default=900.0, gt=0)
    push_backoff_max_s: float = Field(default=5.0, gt=0)
    cpos: list[SimCpo]


def load_config(path: str | Path) -> SimulatorConfig:
    return SimulatorConfig.model_validate_json(Path(path).read_text())
