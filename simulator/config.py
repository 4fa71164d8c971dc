"""What the simulator plays: which CPOs, their chargers and tariffs, and how fast sessions run."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from messages.ocpi import UtcDateTime


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
    last_updated: UtcDateTime
    evses: list[SimEvse]


class SimCpo(BaseModel):
    country_code: str
    party_id: str
    name: str
    locations: list[SimLocation]

    @property
    def party(self) -> str:
        """How its URLs name it, e.g. ``de-stn``."""
        return f"{self.country_code}-{self.party_id}".lower()

    def tariffs(self) -> list[dict[str, Any]]:
        """Its tariffs (OCPI Tariff objects), each once."""
        by_id = {evse.tariff["id"]: evse.tariff for location in self.locations for evse in location.evses}
        return list(by_id.values())


class SimulatorConfig(BaseModel):
    public_url: str  # where the eMSP reaches the simulator: each CPO's versions list is under it
    # Where its OCPI credentials (tokens, the eMSP's endpoints) outlive a restart; in memory without one.
    state_file: str | None = None
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
