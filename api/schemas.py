"""The demand partners' API: request and response bodies."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.sessions.lifecycle import SessionStage
from domain.settlement.disputes import Decision


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    evse_id: str = Field(min_length=1, max_length=48, description="The charger's EVSE id, e.g. DE*ABC*E0001")
    driver_reference: str = Field(
        min_length=1,
        max_length=36,
        pattern=r"^[\x20-\x7e]+$",
        description="Your reference for the driver or token (printable ASCII, sent to the CPO as token uid)",
    )
    max_amount: Decimal | None = Field(
        default=None,
        gt=0,
        max_digits=14,
        decimal_places=4,
        description="The most this session may cost, in your billing currency: the credit hold placed at "
        "authorisation (your contract's session cap without it)",
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
    billing: Billing | None = Field(default=None, description="Stage 6: what you are billed, in your currency")
    settlement: int = Field(
        default=0, description="How often the session was settled again after a correction (0: never corrected)"
    )
    credited: bool = Field(
        default=False,
        description="The CPO credited the CDR the settlement above was made from: its invoice is cancelled by a "
        "credit note, and the session waits for the CPO's corrected CDR",
    )


class Clearing(BaseModel):
    currency: str
    total_cost: dict[str, Decimal] = Field(description="What the demand partner pays: the official tariff price")
    cpo_claimed: dict[str, Decimal] = Field(description="The CPO's own total_cost from its CDR")
    discrepancy: bool
    tolerance: Decimal
    rating: dict[str, Any] = Field(description="Totals per dimension and the breakdown per period (OCPI names)")


class Billing(BaseModel):
    currency: str
    net: Decimal = Field(description="The official net price converted into your billing currency")
    vat: Decimal | None = Field(description="The VAT on your invoice line; null until the session is invoiced")
    total: Decimal | None = Field(description="What you owe for the session, VAT included; null until invoiced")
    invoice: str | None = Field(description="The invoice number; null until invoiced or while on a draft statement")
    tariff_currency: str
    tariff_net: Decimal
    reference_rate: Decimal | None = Field(description="Units of currency per unit of tariff_currency; null: none")
    rate_source: str | None
    rate_as_of: date | None


class InvoiceSummary(BaseModel):
    number: str
    kind: str = Field(description="INVOICE or CREDIT_NOTE")
    issue_date: date
    period: str | None = Field(description="The month a statement covers (YYYY-MM); null for a session's invoice")
    currency: str
    net: Decimal
    vat: Decimal
    total: Decimal
    notes: list[str] = Field(description="Legal mentions, such as 'Reverse charge'")
    links: dict[str, str]


class OpenStatement(BaseModel):
    """A monthly statement still collecting sessions: it gets its number when the month's run issues it."""

    period: str
    currency: str
    sessions: int
    net: Decimal
    vat: Decimal


class InvoiceList(BaseModel):
    invoices: list[InvoiceSummary]
    open_statements: list[OpenStatement]


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


class CurrencyBalance(BaseModel):
    currency: str
    owed: Decimal = Field(description="What you owe for settled sessions (your receivable with us)")
    revenue_share: Decimal = Field(description="Your revenue share we owe you, not yet paid out")
    held: Decimal = Field(description="Credit reserved by holds of sessions not yet settled")
    credit_limit: Decimal | None = Field(description="Your contract's credit limit (billing currency only)")
    available_credit: Decimal | None = Field(description="credit_limit - owed - held")


class BalanceRead(BaseModel):
    demand_partner_id: str
    billing_currency: str
    as_of: datetime
    balances: list[CurrencyBalance]


class PayoutSummary(BaseModel):
    """One payout batch to you: your revenue share in one currency, net of what you owed us."""

    id: str = Field(description="The pain.001 message id, also the EndToEndId your bank shows")
    currency: str
    amount: Decimal = Field(description="What was (or is being) transferred")
    netted: Decimal = Field(description="What you owed us, set off before the transfer")
    state: str = Field(description="INSTRUCTED, SENT, PAID or REJECTED")
    reason: str | None = Field(description="The bank's reason for a rejection; the amount is paid again later")
    sessions: int = Field(description="Sessions whose share this batch carries")
    iban: str
    created_at: datetime
    settled_at: datetime | None


class PayoutPosition(BaseModel):
    """Where you stand in one currency: paid + in_transit + payable = earned - netted."""

    currency: str
    earned: Decimal
    netted: Decimal
    paid: Decimal
    in_transit: Decimal
    payable: Decimal


class PayoutList(BaseModel):
    payouts: list[PayoutSummary]
    positions: list[PayoutPosition]


class DisputeDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Decision = Field(description="ACCEPT the CPO's claimed price, REJECT it, or ADJUST to an agreed one")
    amount: Decimal | None = Field(
        default=None, description="ADJUST only: the agreed price excluding VAT, in the tariff's currency"
    )
    note: str | None = Field(default=None, max_length=2000, description="Why, for the record")


class DisputeDecision(BaseModel):
    session_id: str
    settlement: int = Field(description="The settlement (generation) whose price was disputed")
    decision: Decision
    currency: str
    official: Decimal = Field(description="The official price excluding VAT, as rated")
    claimed: Decimal = Field(description="The CPO's price excluding VAT, from its CDR")
    agreed: Decimal = Field(description="The price the session is settled at from now on")
    note: str | None
    decided_by: str
    decided_at: datetime
    correction: str | None = Field(description="The workflow id of the correction this decision started, if any")


class OpenDispute(BaseModel):
    session_id: str
    cpo_id: str
    settlement: int
    currency: str
    official: Decimal
    claimed: Decimal
    note: str


class DisputeList(BaseModel):
    open: list[OpenDispute]
    decided: list[DisputeDecision]
