"""The demand partners' API: request and response bodies."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.sessions.lifecycle import SessionStage


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    evse_id: str = Field(min_length=1, max_length=48, description="The charger's EVSE id, e.g. DE*ABC*E0001")
    driver_reference: str = Field(
        min_length=1,
        max_length=36,
        pattern=r"^[\x20-\x7e]+$",
        description="Your reference for the driver or token (printable ASCII, sent to the CPO as token uid)",
    )


class SessionAccepted(BaseModel):
    id: str
    stage: SessionStage
    links: dict[str, str]


class SessionRead(BaseModel):
    id: str
    stage: SessionStage
    needs_attention: bool
    reason: str | None
    evse_id: str
    driver_reference: str
    cpo_id: str | None
    country: str | None
    location_id: str | None
    currency: str | None
    cpo_session_id: str | None
    cpo_status: str | None
    kwh: Decimal
    started_at: datetime | None
    ended_at: datetime | None
    cdr_id: str | None
    created_at: datetime
    updated_at: datetime
    live: bool = Field(description="True when stage and attention come straight from the running workflow")
    clearing: Clearing | None = Field(default=None, description="Stage 5: the session rated at the official price")


class Clearing(BaseModel):
    currency: str
    total_cost: dict[str, Decimal] = Field(description="What the demand partner pays: the official tariff price")
    cpo_claimed: dict[str, Decimal] = Field(description="The CPO's own total_cost from its CDR")
    discrepancy: bool
    tolerance: Decimal
    rating: dict[str, Any] = Field(description="Totals per dimension and the breakdown per period (OCPI names)")


SessionRead.model_rebuild()


class SessionPage(BaseModel):
    data: list[SessionRead]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page")


class StopAccepted(BaseModel):
    id: str
    stage: SessionStage
    stop_requested: bool


class Problem(BaseModel):
    detail: str
