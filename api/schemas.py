"""The demand partners' API: request and response bodies."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

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


class SessionPage(BaseModel):
    data: list[SessionRead]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page")


class StopAccepted(BaseModel):
    id: str
    stage: SessionStage
    stop_requested: bool


class Problem(BaseModel):
    detail: str
