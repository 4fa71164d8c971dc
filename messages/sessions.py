"""The charging-session workflow's payloads: one model per input, signal, update and result.

Fields added later must have defaults, so histories recorded today still decode tomorrow.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import RefusalReason
from domain.sessions.lifecycle import CpoSessionStatus, SessionStage
from messages.ocpi import CommandResultType, CommandType


class Payload(BaseModel):
    model_config = ConfigDict(frozen=True)


class SessionTimeouts(Payload):
    """Business deadlines, in seconds; inputs rather than constants so tests can shorten them."""

    start_confirmation_s: int = Field(default=180, gt=0)
    max_duration_s: int = Field(default=24 * 3600, gt=0)
    cdr_wait_s: int = Field(default=3600, gt=0)


class ChargingSessionInput(Payload):
    session_id: str
    demand_partner_id: str
    evse_id: str
    driver_reference: str = Field(min_length=1, max_length=36)
    requested_at: datetime
    timeouts: SessionTimeouts = SessionTimeouts()
    # Sessions started before stage 5 existed decode as False and replay unchanged. (workflow.patched
    # would do it too, but it upserts TemporalChangeVersion: one more billable action per session.)
    clearing: bool = False
    # Stages 6 and 8 (FX, ledger) follow clearing; False for sessions started before they existed.
    settlement: bool = False
    # The partner's cap for this session, in its billing currency (the contract's default without it).
    max_amount: Decimal | None = Field(default=None, gt=0)
    # A driver's token the CPO authorised in real time and then started at the charger: no START_SESSION,
    # the CPO's Session is the start. Sessions started before decode as False and replay unchanged.
    started_by_cpo: bool = False
    # Stages 5-8 and the SETTLED record in one local activity (``settle_session``), the stepwise path only
    # after a refusal; False for sessions started before, which replay their stepwise histories.
    settles_in_one_step: bool = False
    # Started with every change workflow.patched guards in this workflow so far: it takes them without asking
    # (see workflows/patches.py for why asking can fail a replay). False for runs started before.
    patched_from_start: bool = False


class AuthoriseSessionInput(Payload):
    session_id: str
    demand_partner_id: str
    evse_id: str
    at: datetime
    max_amount: Decimal | None = None


class SessionAuthorised(Payload):
    """The facts a session is held to from authorisation on (versions in force at start)."""

    session_id: str
    cpo_id: str
    cpo_country_code: str
    cpo_party_id: str
    country: str  # ISO 3166-1 alpha-2 of the charger
    location_id: str
    evse_uid: str
    evse_id: str
    connector_id: str
    time_zone: str
    tariff_version_key: int
    tariff_id: str
    currency: str
    demand_partner_contract_key: int
    cpo_contract_key: int
    # The credit hold placed for the session (None for sessions from before holds existed).
    hold: Decimal | None = None
    billing_currency: str | None = None


class StartCommandInput(Payload):
    session_id: str
    cpo_id: str
    location_id: str
    evse_uid: str
    connector_id: str
    driver_reference: str
    demand_partner_id: str


class StopCommandInput(Payload):
    session_id: str
    cpo_id: str
    cpo_session_id: str


class CommandOutcome(Payload):
    """The CPO's synchronous answer to a command."""

    accepted: bool
    result: str
    message: str | None = None
    timeout_s: int = 0


class CpoSessionReported(Payload):
    """Signal: the CPO's Session moved to a new status (repeats are filtered before they get here)."""

    cpo_session_id: str
    status: CpoSessionStatus
    start_date_time: datetime
    end_date_time: datetime | None = None
    kwh: str = "0"  # decimal as text: live state only, never money
    last_updated: datetime


class CommandResultReported(Payload):
    """Signal: the CPO's asynchronous CommandResult for a command we sent (failures only)."""

    command: CommandType
    result: CommandResultType
    message: str | None = None


class CdrArrived(Payload):
    """Signal: a CDR that passed intake checks is stored under ``cdr_key``."""

    cdr_key: int
    cdr_id: str


class StopRequest(Payload):
    requested_by: str = "demand_partner"
    reason: str | None = None


class StageOutcome(Payload):
    """What the projection should say about a session when it reaches a stage."""

    session_id: str
    stage: SessionStage
    reason: str | None = None
    refusal: RefusalReason | None = None
    cdr_key: int | None = None
    needs_attention: bool = False
    error_type: str | None = None  # the ErrorType the reason names (None clears it)


class SessionView(Payload):
    """Query result: the workflow's live view of the session."""

    session_id: str
    stage: SessionStage
    needs_attention: bool
    reason: str | None
    cpo_session_id: str | None
    cpo_status: CpoSessionStatus | None
    kwh: str
    stop_requested: bool
    cdr_id: str | None


class ChargingSessionResult(Payload):
    session_id: str
    stage: SessionStage
    reason: str | None = None
    cdr_id: str | None = None
    clearing: ClearingOutcome | None = None
    fx: FxOutcome | None = None
    settlement: SettlementOutcome | None = None


class ClearingInput(Payload):
    session_id: str
    cdr_key: int
    generation: int = 0  # > 0: a correction settling the session again


class ClearingOutcome(Payload):
    """Stage 5: the official price (what the demand partner pays) and how the CPO's claim compares."""

    currency: str
    total_excl_vat: Decimal
    total_incl_vat: Decimal
    claimed_excl_vat: Decimal
    claimed_incl_vat: Decimal
    discrepancy: bool
    note: str


class SettlementInput(Payload):
    session_id: str
    generation: int = 0  # > 0: a correction settling the session again


class FxOutcome(Payload):
    """Stage 6: the gross price in the partner's billing currency, and the reference rate used."""

    from_currency: str
    to_currency: str
    amount: Decimal
    converted: Decimal
    reference_rate: Decimal | None = None  # None: same currency, nothing converted
    rate_source: str | None = None
    rate_as_of: date | None = None


class SettlementOutcome(Payload):
    """Stages 7 and 8: the session's invoices, how its price was split (tariff currency) and what the
    partner owes (billing currency, VAT included)."""

    currency: str
    vat: Decimal  # VAT on the CPO's supply to the platform
    cpo_payable: Decimal  # what the platform owes the CPO, VAT included
    commission: Decimal
    demand_partner_share: Decimal
    billing_currency: str
    billed: Decimal
    entry_id: int | None  # None: the session cost nothing, nothing was booked
    hold: str | None  # the hold's state after capture; None for sessions without a hold
    billed_vat: Decimal | None = None  # VAT on the partner's invoice, billing currency
    invoice: str | None = None  # the partner's invoice number; None while on a draft statement
    self_billed_invoice: str | None = None  # the CPO's self-billed invoice number


PRICE_DISCREPANCY = "PriceDiscrepancy"  # ErrorType of a session whose CPO claimed another price


def discrepancy_reason(clearing: ClearingOutcome) -> str | None:
    """What a session says once cleared: a discrepancy with the CPO's claim is flagged, never blocking."""
    return f"price discrepancy: {clearing.note}" if clearing.discrepancy else None


class SessionSettled(Payload):
    """Stages 5 to 8 done in one step, and SETTLED recorded with them."""

    clearing: ClearingOutcome
    fx: FxOutcome
    settlement: SettlementOutcome


class SettlementRetry(Payload):
    """Signal: the cause of a failed settlement was fixed (a rate imported, a contract corrected)."""

    requested_by: str = "ops"
    note: str | None = None


ChargingSessionResult.model_rebuild()
