"""The demand partners' API: request and response bodies."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from domain.einvoice.model import EInvoiceFormat
from domain.invoicing.documents import Cadence
from domain.invoicing.payment import DEFAULT_PAYMENT_TERMS_DAYS, MAX_PAYMENT_TERMS_DAYS
from domain.sessions.lifecycle import SessionStage
from domain.settlement.contracts import ShareBasis
from domain.settlement.disputes import Decision
from domain.tokens import TokenType, WhitelistType

# Ids and keys are printable ASCII without spaces: a NUL or control character is refused at the door
# (PostgreSQL cannot even compare a text with one).
PRINTABLE_ASCII = r"^[\x21-\x7e]+$"
# Our keys are BIGINT: a larger one is no key of ours, refused before it reaches the database.
MAX_KEY = 2**63 - 1
# Amounts and energy are JSON strings holding a plain decimal: never a float, never an exponent. They are
# NUMERIC(18, 4) (energy NUMERIC(14, 4)) in the database; reference rates NUMERIC(24, 10).
DECIMAL_PATTERN = r"^-?\d{1,14}(\.\d{1,4})?$"
RATE_PATTERN = r"^\d{1,14}(\.\d{1,10})?$"


def _fixed_point(value: Decimal) -> str:
    """``Decimal("1E+2")`` is written "100", never with an exponent."""
    return format(value, "f")


Amount = Annotated[
    Decimal,
    PlainSerializer(_fixed_point, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": DECIMAL_PATTERN}, mode="serialization"),
]
Rate = Annotated[
    Decimal,
    PlainSerializer(_fixed_point, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": RATE_PATTERN}, mode="serialization"),
]
# What a partner may send as an amount: up to 10 digits before the point and 4 after.
AMOUNT_IN_PATTERN = r"^\d{1,10}(\.\d{1,4})?$"


def _plain_decimal(value: object) -> object:
    """An amount is written plainly ("25.00", or the JSON number 25.0): "1e3", "NaN", "-1" are refused."""
    written = str(value) if isinstance(value, int | float | Decimal) and not isinstance(value, bool) else value
    if isinstance(written, str) and not re.fullmatch(AMOUNT_IN_PATTERN, written):
        raise ValueError("must be a decimal such as 25.00: digits, at most 4 decimals, no sign, no exponent")
    return value


def _above_zero(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError("must be above zero")
    return value


AmountIn = Annotated[
    Decimal,
    BeforeValidator(_plain_decimal),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_IN_PATTERN, "examples": ["25.00"]}, mode="validation"),
]
PositiveAmountIn = Annotated[AmountIn, AfterValidator(_above_zero)]
# A decided price is bounded by the domain (``domain/settlement/disputes.py`` ``agreed_price``), whose
# refusal names the bound it breaks (positive, the currency's minor unit, the maximum claim): the document
# shows the plain decimal expected, and anything else a Decimal reads gets to the domain's answer.
DecidedAmountIn = Annotated[
    Decimal,
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "examples": ["11.50"]}, mode="validation"),
]


def utc_instant(value: datetime) -> datetime:
    """An instant with a zone, in UTC; refused without a zone or beyond what UTC can hold (year 9999)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must have a time zone, e.g. 2026-03-01T00:00:00Z")
    try:
        return value.astimezone(UTC)
    except OverflowError as error:
        raise ValueError("is out of range") from error


UtcInstant = Annotated[AwareDatetime, AfterValidator(utc_instant)]


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    evse_id: str = Field(
        min_length=1, max_length=48, pattern=PRINTABLE_ASCII, description="The charger's EVSE id, e.g. DE*ABC*E0001"
    )
    driver_reference: str = Field(
        min_length=1,
        max_length=36,
        pattern=r"^[\x20-\x7e]+$",
        description="Your reference for the driver or token (printable ASCII, sent to the CPO as token uid)",
    )
    max_amount: PositiveAmountIn | None = Field(
        default=None,
        description="The most this session should cost, in your billing currency, VAT included: the credit hold "
        "placed at authorisation (your contract's session cap without it), and the cost so far at which we "
        "send STOP_SESSION (the final bill can pass it by what was charged after the CPO's last report)",
    )
    quote_id: str | None = Field(
        default=None,
        max_length=64,
        pattern=PRINTABLE_ASCII,
        description="One of your quotes for this EVSE (POST /v1/quotes), still valid: the session names it",
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
    kwh: Amount
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
    quote_id: str | None = Field(default=None, description="The quote the session was started on, if any")
    cost_so_far: CostSoFar | None = Field(
        default=None,
        description="While CHARGING: the cost by the CPO's latest report of the session, on its tariff version "
        "(the CPO's own total_cost when it gives one); null before the CPO reports or when no price can be given",
    )


class Clearing(BaseModel):
    currency: str
    total_cost: dict[str, Amount] = Field(description="What the demand partner pays: the official tariff price")
    cpo_claimed: dict[str, Amount] = Field(description="The CPO's own total_cost from its CDR")
    discrepancy: bool
    tolerance: Amount
    rating: dict[str, Any] = Field(description="Totals per dimension and the breakdown per period (OCPI names)")
    quoted: dict[str, Amount] | None = Field(
        default=None, description="The CPO price of the quote the session started on, beside total_cost"
    )


class CostSoFar(BaseModel):
    currency: str = Field(description="Your billing currency")
    excl_vat: Amount
    incl_vat: Amount = Field(description="What max_amount is compared with")
    as_of: datetime = Field(description="When the CPO last reported the session (its reports arrive late)")


class Billing(BaseModel):
    currency: str
    net: Amount = Field(description="The official net price converted into your billing currency")
    vat: Amount | None = Field(description="The VAT on your invoice line; null until the session is invoiced")
    total: Amount | None = Field(description="What you owe for the session, VAT included; null until invoiced")
    invoice: str | None = Field(description="The invoice number; null until invoiced or while on a draft statement")
    tariff_currency: str
    tariff_net: Amount
    reference_rate: Rate | None = Field(description="Units of currency per unit of tariff_currency; null: none")
    rate_source: str | None
    rate_as_of: date | None


class InvoiceSummary(BaseModel):
    number: str
    kind: str = Field(description="INVOICE or CREDIT_NOTE")
    issue_date: date
    period: str | None = Field(description="The month a statement covers (YYYY-MM); null for a session's invoice")
    currency: str
    net: Amount
    vat: Amount
    total: Amount
    notes: list[str] = Field(description="Legal mentions, such as 'Reverse charge'")
    self_billed: bool = Field(
        description="An invoice we issued in your name for your revenue share (you supply, we pay it with your "
        "payout), or its credit note; false: an invoice from us to you"
    )
    due_date: date | None = Field(
        description="When it is to be paid (issue date + the contract's payment terms); null: nothing to pay "
        "(a credit note, a self-billed invoice) or issued before due dates were stated"
    )
    payment_reference: str | None = Field(
        description="The ISO 11649 creditor reference (RF) to quote with the payment; null with no due date",
        examples=["RF05NC000123"],
    )
    einvoice_format: EInvoiceFormat | None = Field(
        default=None,
        description="Its EN 16931 e-invoice's format (links.xml; FACTURX: links.pdf carries it too); null: none",
    )
    links: dict[str, str]


class ReminderSummary(BaseModel):
    number: str
    level: str = Field(description="FRIENDLY, FIRST, SECOND or SUSPEND: the step of your contract's ladder")
    issue_date: date
    currency: str
    open: Amount = Field(description="Open on the invoices it lists")
    interest: Amount = Field(description="Late-payment interest to its date, where your contract charges it")
    fees: Amount = Field(description="Fixed recovery costs claimed (once per invoice)")
    total: Amount
    invoices: list[str] = Field(description="The overdue invoices it lists")
    links: dict[str, str]


class ReminderPage(BaseModel):
    data: list[ReminderSummary]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page")


class OpenStatement(BaseModel):
    """A monthly statement still collecting sessions: it gets its number when the month's run issues it."""

    period: str
    currency: str
    sessions: int
    net: Amount
    vat: Amount


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
    detail: str = Field(description="What was refused and why, naming the field when one is wrong")


class FieldProblem(BaseModel):
    """One finding of the request's validation (FastAPI's shape)."""

    loc: list[str | int] = Field(description="Where: the part of the request, then the field")
    msg: str
    type: str


class ValidationProblem(BaseModel):
    """A request whose parameters or body do not fit this document."""

    detail: list[FieldProblem]


class OcpiEnvelope(BaseModel):
    """Every OCPI answer, also a refusal (OCPI 2.2.1 transport and format, section 4.1.7)."""

    data: Any = Field(default=None, description="The object asked for, when there is one")
    status_code: int = Field(ge=1000, le=4999, description="1000 success, 2xxx client errors, 3xxx server errors")
    status_message: str | None = None
    timestamp: datetime


class CurrencyBalance(BaseModel):
    currency: str
    owed: Amount = Field(description="What you owe for settled sessions (your receivable with us)")
    revenue_share: Amount = Field(description="Your revenue share we owe you, not yet paid out")
    held: Amount = Field(description="Credit reserved by holds of sessions not yet settled")
    credit_limit: Amount | None = Field(description="Your contract's credit limit (billing currency only)")
    available_credit: Amount | None = Field(description="credit_limit - owed - held")


class OverdueRead(BaseModel):
    currency: str
    amount: Amount = Field(description="Open on your invoices past their due date")
    oldest_due_date: date = Field(description="The due date of the oldest of them")


class BalanceRead(BaseModel):
    demand_partner_id: str
    billing_currency: str
    as_of: datetime
    balances: list[CurrencyBalance]
    overdue: list[OverdueRead] = Field(description="Per currency, what is open past its due date")
    new_sessions_blocked: bool = Field(
        description="An invoice is open past its due date and your contract's grace period: new sessions are "
        "refused (OVERDUE) until it is paid; running sessions go on"
    )


class PayoutSummary(BaseModel):
    """One payout batch to you: your revenue share in one currency, net of what you owed us."""

    id: str = Field(description="The pain.001 message id, also the EndToEndId your bank shows")
    currency: str
    amount: Amount = Field(description="What was (or is being) transferred")
    netted: Amount = Field(description="What you owed us, set off before the transfer")
    state: str = Field(description="INSTRUCTED, SENT, PAID or REJECTED")
    reason: str | None = Field(description="The bank's reason for a rejection; the amount is paid again later")
    sessions: int = Field(description="Sessions whose share this batch carries")
    iban: str
    created_at: datetime
    settled_at: datetime | None


class PayoutWaiting(BaseModel):
    """Part of your payable that the next release would not pay yet, and why: BANK_FLOOR (the platform's
    bank account would go below its floor; paid as funds come in)."""

    reason: str
    amount: Amount


class PayoutPosition(BaseModel):
    """Where you stand in one currency: paid + in_transit + payable = earned - netted; of the payable,
    what waits for funds, by reason."""

    currency: str
    earned: Amount
    netted: Amount
    paid: Amount
    in_transit: Amount
    payable: Amount
    waiting: list[PayoutWaiting] = []


class PayoutList(BaseModel):
    payouts: list[PayoutSummary]
    positions: list[PayoutPosition]


class DisputeDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Decision = Field(description="ACCEPT the CPO's claimed price, REJECT it, or ADJUST to an agreed one")
    amount: DecidedAmountIn | None = Field(
        default=None, description="ADJUST only: the agreed price excluding VAT, in the tariff's currency"
    )
    note: str | None = Field(default=None, max_length=2000, description="Why, for the record")


class DisputeDecision(BaseModel):
    session_id: str
    settlement: int = Field(description="The settlement (generation) whose price was disputed")
    decision: Decision
    currency: str
    official: Amount = Field(description="The official price excluding VAT, as rated")
    claimed: Amount = Field(description="The CPO's price excluding VAT, from its CDR")
    agreed: Amount = Field(description="The price the session is settled at from now on")
    note: str | None
    decided_by: str
    decided_at: datetime
    correction: str | None = Field(description="The workflow id of the correction this decision started, if any")


class OpenDispute(BaseModel):
    session_id: str
    cpo_id: str
    settlement: int
    currency: str
    official: Amount
    claimed: Amount
    note: str


class DisputeList(BaseModel):
    open: list[OpenDispute]
    decided: list[DisputeDecision]


class PostalAddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    street: str = Field(min_length=1, max_length=70, examples=["Keizersgracht"], description="The street name")
    building_number: str | None = Field(
        default=None, min_length=1, max_length=16, examples=["100"], description="May be left out"
    )
    postcode: str = Field(min_length=1, max_length=16, examples=["1015 CW"])
    city: str = Field(min_length=1, max_length=35, examples=["Amsterdam"], description="The town")


class ElectronicAddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scheme: str = Field(
        min_length=2,
        max_length=4,
        examples=["9944"],
        description="Its EAS scheme (CEF EAS code list): 99xx a VAT id, 0208 a Belgian enterprise number, EM an e-mail",
    )
    id: str = Field(min_length=1, max_length=200, examples=["NL812345678B01"])


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    telephone: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=200)


class EInvoiceTermsIn(BaseModel):
    """How the partner receives its EN 16931 e-invoices; what is left out takes the defaults of its country."""

    model_config = ConfigDict(extra="forbid")

    format: EInvoiceFormat | None = Field(default=None, description="Without: Factur-X, Peppol or CII by its country")
    buyer_reference: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="BT-10, quoted on its documents; required for XRECHNUNG_* (a public buyer's Leitweg-ID)",
    )
    electronic_address: ElectronicAddressIn | None = Field(
        default=None, description="BT-49; without: derived from its VAT id where an EAS scheme identifies it"
    )
    contact: ContactIn | None = Field(
        default=None, description="Its contact on the revenue-share invoices issued in its name (XRechnung: required)"
    )
    legal_registration: str | None = Field(
        default=None, min_length=1, max_length=200, description="Its commercial register entry, e.g. KvK 12345678"
    )


class ContractTermsIn(BaseModel):
    """Amounts in the partner's billing currency."""

    model_config = ConfigDict(extra="forbid")

    share_percent: AmountIn = Field(description="The partner's revenue share, in percent of share_basis")
    share_basis: ShareBasis = Field(default=ShareBasis.COMMISSION, description="COMMISSION or PRICE (net price)")
    credit_limit: AmountIn = Field(description="What the partner may owe, holds included")
    session_cap: AmountIn = Field(description="The hold of a session started without max_amount")
    cadence: Cadence = Field(default=Cadence.PER_SESSION, description="PER_SESSION invoices or MONTHLY statements")
    taxable_dealer: bool = Field(default=False, description="Reselling electricity is its main activity (Art. 38)")
    payment_terms_days: int = Field(
        default=DEFAULT_PAYMENT_TERMS_DAYS,
        ge=0,
        le=MAX_PAYMENT_TERMS_DAYS,
        description="Its invoices are due this many days after their issue date",
    )
    einvoice: EInvoiceTermsIn | None = Field(default=None, description="Without: the defaults of its country")


class PartnerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]+$", examples=["dp-roamly"])
    legal_entity: str = Field(min_length=1, max_length=200)
    address: PostalAddressIn
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2, where it is registered")
    vat_id: str = Field(min_length=1, max_length=32, description="With its country prefix, e.g. NL812345678B01")
    billing_currency: str = Field(min_length=3, max_length=3, description="ISO 4217")
    iban: str | None = Field(default=None, max_length=42, description="Where its revenue share is paid")
    bic: str | None = Field(default=None, max_length=11)
    terms: ContractTermsIn


class PartnerRead(BaseModel):
    id: str
    legal_entity: str
    country: str
    vat_id: str
    billing_currency: str
    active: bool


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    valid_days: int = Field(default=365, ge=1, le=730, description="The key expires this many days from now")


class ApiKeyRead(BaseModel):
    id: int
    prefix: str = Field(description="The key's first characters, to tell keys apart")
    created_at: datetime
    expires_at: datetime | None = Field(description="Null: the seed's development keys, which never expire")
    revoked_at: datetime | None


class ApiKeyIssued(BaseModel):
    id: int
    key: str = Field(description="Shown this once: only its SHA-256 is kept")
    expires_at: datetime | None


class TokenCreate(BaseModel):
    """A driver's token (OCPI Token): an RFID card, an app user, or a Plug & Charge contract."""

    model_config = ConfigDict(extra="forbid")

    uid: str = Field(
        min_length=1,
        max_length=36,
        pattern=PRINTABLE_ASCII,
        description="An RFID card's uid in hex (8, 14 or 20 digits), or your id of the app or ad-hoc user",
    )
    type: TokenType
    contract_id: str = Field(
        min_length=14,
        max_length=18,
        description="The eMA-ID (ISO 15118 / eMI3), e.g. NL-NWC-C12345678-H or NLNWCC12345678H; a check "
        "character, when given, must be right",
    )
    visual_number: str | None = Field(default=None, min_length=1, max_length=64, description="As printed on the card")
    issuer: str = Field(min_length=1, max_length=64, description="Who issued the token, as the driver knows it")
    whitelist: WhitelistType = Field(
        description="How the CPO may authorise it: ALWAYS (its cache only), ALLOWED, ALLOWED_OFFLINE, NEVER "
        "(always in real time, advised for app users)"
    )
    valid: bool = Field(default=True, description="false: blocked")
    valid_until: UtcInstant | None = Field(default=None, description="Expires then (with zone); none: no expiry")
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$", description="ISO 639-1, for the charger's screen")


class TokenChange(BaseModel):
    """What may change: block or unblock, the whitelist, the expiry (null: none)."""

    model_config = ConfigDict(extra="forbid")

    valid: bool | None = None
    whitelist: WhitelistType | None = None
    valid_until: UtcInstant | None = None


class TokenRead(BaseModel):
    uid: str
    type: TokenType
    contract_id: str = Field(description="As you registered it")
    normalised_contract_id: str = Field(description="Upper case, no hyphens: what a Plug & Charge lookup matches")
    visual_number: str | None
    issuer: str
    whitelist: WhitelistType
    valid: bool
    valid_until: datetime | None
    language: str | None
    created_at: datetime
    last_updated: datetime


class TokenPage(BaseModel):
    data: list[TokenRead]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page")


# --- chargers, prices and quotes (GET /v1/locations, /v1/quotes) -----------------------------------------


class PriceComponentRead(BaseModel):
    type: str = Field(description="ENERGY (per kWh), TIME (per hour charging), FLAT (per session), PARKING_TIME")
    price: Rate = Field(description="Per unit, excl. VAT, in the tariff's currency, as the CPO published it")
    vat: Rate | None = Field(description="The CPO's VAT percentage as published; null: none applicable")
    step_size: int
    partner_excl_vat: Amount = Field(description="What you pay per unit in your billing currency, excl. VAT")
    partner_vat: Amount = Field(description="The VAT on it (the charger country's, as your invoice charges it)")
    partner_incl_vat: Amount


class TariffElementRead(BaseModel):
    price_components: list[PriceComponentRead] = Field(description="In the AFIR order: ENERGY, TIME, FLAT, PARKING")
    restrictions: dict[str, Any] | None = Field(description="As the CPO published them (OCPI TariffRestrictions)")


class DisplayTextRead(BaseModel):
    language: str
    text: str


class PlatformFeeRead(BaseModel):
    percent: Rate
    minimum: Amount | None
    maximum: Amount | None
    currency: str = Field(description="The tariff's: the fee is taken from the CPO's price, never added to yours")
    included_in_price: bool


class FxRead(BaseModel):
    base: str
    quote: str
    rate: Rate = Field(description="Units of quote per unit of base (ECB reference rate)")
    as_of: date
    source: str


class VatRead(BaseModel):
    rate: Amount = Field(description="Percent")
    treatment: str = Field(description="DOMESTIC, REVERSE_CHARGE or OUT_OF_SCOPE")
    country: str = Field(description="The place of supply: where the charger is")


class ConnectorPriceRead(BaseModel):
    tariff_id: str
    tariff_version: datetime = Field(description="The tariff's last_updated: the version priced")
    currency: str = Field(description="The tariff's currency")
    tariff_alt_text: list[DisplayTextRead] = Field(description="In your Accept-Language when the CPO gave it")
    elements: list[TariffElementRead]
    min_price: dict[str, Any] | None
    max_price: dict[str, Any] | None
    billing_currency: str
    platform_fee: PlatformFeeRead
    fx: FxRead | None = Field(description="null: the tariff is in your billing currency")
    vat: VatRead


class ConnectorRead(BaseModel):
    id: str
    standard: str
    power_type: str
    max_electric_power: int | None = Field(description="W")
    price: ConnectorPriceRead | None
    price_unavailable: str | None = Field(description="Why there is no price: NO_TARIFF_IN_FORCE, FX_RATE_STALE, ...")


class EvseRead(BaseModel):
    uid: str
    evse_id: str | None
    status: str = Field(description="OCPI EVSE status, live")
    connectors: list[ConnectorRead]


class CoordinatesRead(BaseModel):
    latitude: str
    longitude: str


class LocationRead(BaseModel):
    id: str
    cpo: str
    name: str | None
    address: str
    city: str
    postal_code: str | None
    country: str = Field(description="ISO 3166-1 alpha-2")
    coordinates: CoordinatesRead
    time_zone: str
    evses: list[EvseRead]


class LocationPage(BaseModel):
    items: list[LocationRead]
    next: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page")


# Beyond these a quote is no charging session (a day on a 1 MW charger is far less than 10 MWh).
QUOTE_MAX_KWH = Decimal(1000)
QUOTE_MAX_MINUTES = 2880


def _at_most_quote_kwh(value: Decimal) -> Decimal:
    if value > QUOTE_MAX_KWH:
        raise ValueError(f"must be at most {QUOTE_MAX_KWH}")
    return value


class QuoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    evse_id: str = Field(min_length=1, max_length=48, pattern=PRINTABLE_ASCII)
    kwh: Annotated[AmountIn, AfterValidator(_at_most_quote_kwh)] = Field(description="Energy, up to 1000 kWh")
    minutes: int = Field(ge=1, le=QUOTE_MAX_MINUTES, description="Charging time, whole minutes")
    start: UtcInstant | None = Field(default=None, description="When the session starts (with zone); now without")


class CpoPriceRead(BaseModel):
    currency: str
    excl_vat: Amount
    incl_vat: Amount
    energy: Amount
    time: Amount
    fixed: Amount
    parking: Amount


class QuoteFeeRead(BaseModel):
    currency: str
    amount: Amount
    included_in_cpo_price: bool


class QuoteVatRead(BaseModel):
    rate: Amount
    amount: Amount
    treatment: str
    country: str


class QuoteBreakdown(BaseModel):
    cpo_price: CpoPriceRead = Field(description="The CPO's official price, in the tariff's currency")
    platform_fee: QuoteFeeRead
    fx: FxRead | None
    net: Amount = Field(description="The official net price in your billing currency")
    vat: QuoteVatRead


class QuoteTariff(BaseModel):
    id: str
    version: datetime


class QuoteRead(BaseModel):
    id: str
    evse_id: str
    currency: str
    total_incl_vat: Amount
    breakdown: QuoteBreakdown
    start: datetime
    valid_until: datetime
    tariff: QuoteTariff
