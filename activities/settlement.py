"""Stages 6, 7 and 8 of the session workflow: convert the net price into the partner's billing currency
at a recorded reference rate; then, in one database transaction, issue the session's invoices (gap-free
numbers), book its balanced transfer set from them and capture its credit hold.

All are idempotent by session: stage 6 stores one conversion per session (a retry returns it); stages 7-8
post under the idempotency key ``session-<id>:settlement`` and find invoices already issued for the
session, so a retry after a lost reply books nothing twice and burns no number; a crash before the commit
leaves nothing behind, the numbers included.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import metrics
from activities.errors import IDEMPOTENCY_CONFLICT, refusal
from domain.fx.rates import PIVOT, FxRate, FxRateMissing, FxRateStale, convert
from domain.invoicing.chain import SessionSupply, chain_lines
from domain.invoicing.documents import (
    PLATFORM_ISSUER,
    PLATFORM_SERIES,
    Cadence,
    cpo_issuer,
    self_billing_series,
)
from domain.money import from_minor, quantize, to_minor
from domain.payouts.batches import Payee, PayeeKind
from domain.settlement.contracts import ContractTermsInvalid, commission_terms, invoicing_terms, revenue_share_terms
from domain.settlement.revenue_share import settlement_entry, settlement_key, split_revenue
from domain.tariffs.model import parse_datetime
from domain.vat.parties import CountryUnknown, national_currency
from domain.vat.rates import VatRateMissing, VatRateTable
from domain.vat.treatment import TaxParty, VatRegistrationMissing
from messages.sessions import FxOutcome, SettlementInput, SettlementOutcome
from persistence import fx, holds, invoices, ledger, payouts
from persistence import repositories as repo
from persistence.payouts import QueuedPayable
from persistence.tables import (
    CdrRow,
    ContractRow,
    CpoRow,
    DemandPartnerRow,
    FxConversionRow,
    LocationRow,
    SessionRow,
)

# Business refusals of stages 6-8; their ApplicationError type is the class name.
SETTLEMENT_ERRORS = (
    FxRateMissing,
    FxRateStale,
    VatRateMissing,
    VatRegistrationMissing,
    CountryUnknown,
    ContractTermsInvalid,
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def cpo_party(cpo: CpoRow) -> TaxParty:
    return TaxParty(
        name=cpo.legal_entity,
        address=cpo.address or "",
        country=cpo.country,
        vat_ids={cpo.country: cpo.vat_id} if cpo.vat_id else {},
    )


def partner_party(partner: DemandPartnerRow, *, taxable_dealer: bool) -> TaxParty:
    return TaxParty(
        name=partner.legal_entity,
        address=partner.address or "",
        country=partner.country,
        vat_ids={partner.country: partner.vat_id} if partner.vat_id else {},
        taxable_dealer=taxable_dealer,
    )


class SettlementActivities:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        fx_max_age: timedelta,
        platform: TaxParty,
        vat_rates: VatRateTable,
    ) -> None:
        self._sessions = sessions
        self._fx_max_age = fx_max_age
        self._platform = platform
        self._vat_rates = vat_rates

    # --- stage 6 ----------------------------------------------------------------------------------

    @activity.defn
    def convert_to_billing_currency(self, request: SettlementInput) -> FxOutcome:
        """The cleared net price in the partner's billing currency, at the ECB reference rate of the day the
        charging ended (the previous publication on weekends and holidays), rounded once: the net amount
        of the partner's invoice line. A missing rate, or one older than the allowed age, is a business
        refusal: ops import the rate and retry the settlement."""
        with self._sessions.begin() as db:
            conversion = repo.conversion_of(db, request.session_id, request.generation)
            if conversion is None:
                try:
                    conversion = self._convert(db, request.session_id, request.generation)
                except SETTLEMENT_ERRORS as refused:
                    raise refusal(refused, type(refused).__name__) from refused
            return _fx_outcome(conversion)

    def _convert(self, db: Session, session_id: str, generation: int) -> FxConversionRow:
        session = db.get_one(SessionRow, session_id)
        clearing = repo.clearing_of(db, session_id, generation)
        assert clearing is not None, "a settlement generation is cleared before it is converted"
        currency = clearing.currency
        billing_currency = db.get_one(DemandPartnerRow, session.demand_partner_id).billing_currency
        rate = None
        if billing_currency != currency:
            supplied_on = _supply_date(db.get_one(CdrRow, clearing.cdr_key))
            rate = self._rate(db, currency, billing_currency, supplied_on)
        # Rated at full precision; converted from that, and rounded once, to the minor unit.
        converted = convert(clearing.total_excl_vat, currency, billing_currency, rate)
        row = FxConversionRow(
            session_id=session_id,
            generation=generation,
            from_currency=currency,
            to_currency=billing_currency,
            amount_minor=to_minor(quantize(clearing.total_excl_vat, currency), currency),
            converted_minor=to_minor(quantize(converted.amount, billing_currency), billing_currency),
            reference_rate=None if rate is None else rate.rate,
            rate_source=None if rate is None else rate.source,
            rate_as_of=None if rate is None else rate.as_of,
            executed_rate=None,
            converted_at=_utcnow(),
        )
        db.add(row)
        db.flush()
        return row

    def _rate(self, db: Session, base: str, quote: str, on: date) -> FxRate:
        table = fx.rate_table(db, {base, quote} - {PIVOT}, on)
        return table.rate(base, quote, on, self._fx_max_age)

    # --- stages 7 and 8 ---------------------------------------------------------------------------

    @activity.defn
    def post_settlement(self, request: SettlementInput) -> SettlementOutcome:
        """Issue the session's invoices and book it (receivable, payables, VAT, commission, revenue share,
        FX legs), capturing its hold, all in one transaction."""
        with self._sessions.begin() as db:
            try:
                outcome, cdr_received_at = self._post(db, request.session_id, request.generation)
            except SETTLEMENT_ERRORS as refused:
                raise refusal(refused, type(refused).__name__) from refused
            except ledger.IdempotencyConflict as conflict:
                # The same key booked with other amounts: a bug to look at, never retried away.
                raise ApplicationError(str(conflict), type=IDEMPOTENCY_CONFLICT, non_retryable=True) from conflict
        if cdr_received_at is not None:  # booked by this call, and committed
            metrics.observe_settlement(cdr_received_at=cdr_received_at, settled_at=_utcnow())
        return outcome

    def _post(self, db: Session, session_id: str, generation: int) -> tuple[SettlementOutcome, datetime | None]:
        """The outcome, and the CDR's receipt time when this call booked the entry (None when it was
        booked before: a retry or a replay; or when the session cost nothing and books nothing)."""
        session = db.get_one(SessionRow, session_id, with_for_update=generation > 0)
        assert session.cpo_id, "an authorised session knows its CPO"
        assert session.country, "and its charger's country"
        assert session.cpo_contract_key, "and its frozen contracts"
        assert session.demand_partner_contract_key, "and its frozen contracts"
        if generation > 0 and session.settlement_generation != generation:
            _require_reversed(session, generation - 1)
        clearing = repo.clearing_of(db, session_id, generation)
        conversion = repo.conversion_of(db, session_id, generation)
        assert clearing is not None, "stage 5 comes first"
        assert conversion is not None, "and stage 6"
        partner_terms = db.get_one(ContractRow, session.demand_partner_contract_key).terms
        invoicing = invoicing_terms(partner_terms)
        currency = conversion.from_currency
        split = split_revenue(
            conversion.amount_minor,
            currency,
            commission_terms(db.get_one(ContractRow, session.cpo_contract_key).terms),
            revenue_share_terms(partner_terms),
        )
        cpo = db.get_one(CpoRow, session.cpo_id)
        partner = db.get_one(DemandPartnerRow, session.demand_partner_id)
        cpo_tax, partner_tax = cpo_party(cpo), partner_party(partner, taxable_dealer=invoicing.taxable_dealer)
        cdr = db.get_one(CdrRow, clearing.cdr_key)
        supplied_on = _supply_date(cdr)
        national = national_currency(session.country, supplied_on)
        lines = chain_lines(
            SessionSupply(session_id, cdr.total_energy_kwh, supplied_on, session.country, _location(db, session)),
            cpo=cpo_tax,
            platform=self._platform,
            partner=partner_tax,
            tariff_currency=currency,
            cpo_net_minor=split.cpo_minor,
            billing_currency=conversion.to_currency,
            billed_net_minor=conversion.converted_minor,
            rates=self._vat_rates,
            national_currency=national,
            national_rates={
                other: self._rate(db, other, national, supplied_on)
                for other in {currency, conversion.to_currency} - {national}
            },
        )
        sold = lines.platform_to_partner
        entry_key_text = settlement_key(session_id, generation)
        entry = settlement_entry(
            entry_key_text,
            demand_partner_id=session.demand_partner_id,
            cpo_id=session.cpo_id,
            split=split,
            bought=lines.cpo_to_platform,
            sold=sold,
        )
        now = _utcnow()
        entry_key, booked_now = (None, False) if entry is None else ledger.post(db, entry, now=now)
        # The credit hold is captured by the first settlement; a correction bills without one.
        hold = (
            holds.capture_hold(db, session_id, captured_minor=sold.gross_minor, entry=entry_key, now=now)
            if generation == 0
            else None
        )
        invoice_number = self_billed_number = None
        if entry is not None:  # a free session is neither booked nor invoiced
            # Numbers last: the series rows stay locked from here to the commit.
            self_billed_number = invoices.issue_invoice(
                db,
                issuer=cpo_issuer(cpo.id),
                series=self_billing_series(cpo.country_code, cpo.party_id),
                recipient=PLATFORM_ISSUER,
                supplier=cpo_tax,
                customer=self._platform,
                line=lines.cpo_to_platform,
                self_billing=True,
                now=now,
                generation=generation,
            ).number
            recipient = f"dp:{partner.id}"
            # A correction is invoiced on its own, whatever the cadence, so it can name what it replaces.
            if invoicing.cadence == Cadence.PER_SESSION or generation > 0:
                invoice_number = invoices.issue_invoice(
                    db,
                    issuer=PLATFORM_ISSUER,
                    series=PLATFORM_SERIES,
                    recipient=recipient,
                    supplier=self._platform,
                    customer=partner_tax,
                    line=sold,
                    self_billing=False,
                    now=now,
                    generation=generation,
                ).number
            else:
                invoice_number = invoices.add_to_statement(
                    db,
                    issuer=PLATFORM_ISSUER,
                    series=PLATFORM_SERIES,
                    recipient=recipient,
                    period=invoices.statement_period(supplied_on),
                    line=sold,
                    now=now,
                ).number
        bought = lines.cpo_to_platform
        if entry is not None:
            # Stage 9's hand-off: the payables join their payees' payout queues in this same transaction.
            payouts.enqueue(
                db,
                session_id,
                entry_key_text,
                [
                    QueuedPayable(Payee(PayeeKind.CPO, cpo.id), currency, bought.gross_minor),
                    QueuedPayable(Payee(PayeeKind.DEMAND_PARTNER, partner.id), currency, split.demand_partner_minor),
                ],
                now=now,
            )
        if generation > 0:
            session.settlement_generation = generation
            session.credited = False
        outcome = SettlementOutcome(
            currency=currency,
            vat=from_minor(bought.vat_minor, currency),
            cpo_payable=from_minor(bought.gross_minor, currency),
            commission=from_minor(split.platform_minor, currency),
            demand_partner_share=from_minor(split.demand_partner_minor, currency),
            billing_currency=sold.currency,
            billed=from_minor(sold.gross_minor, sold.currency),
            entry_id=entry_key,
            hold=None if hold is None else hold.value,
            billed_vat=from_minor(sold.vat_minor, sold.currency),
            invoice=invoice_number,
            self_billed_invoice=self_billed_number,
        )
        return outcome, (cdr.received_at if booked_now else None)


class ReversalPending(Exception):
    """A correction's new settlement waits for the previous one to be reversed (a credit CDR's workflow
    that has not run yet): a technical wait, retried, never a refusal."""


def _require_reversed(session: SessionRow, generation: int) -> None:
    if session.settlement_generation != generation or not session.credited:
        raise ReversalPending(
            f"session {session.id}: settlement {generation} must be reversed before it is settled again "
            f"(latest settlement {session.settlement_generation}, credited: {session.credited})"
        )


def _location(db: Session, session: SessionRow) -> str:
    location = db.scalar(
        select(LocationRow).where(LocationRow.cpo_id == session.cpo_id, LocationRow.location_id == session.location_id)
    )
    where = f"EVSE {session.evse_id}"
    return where if location is None else f"{where}, {location.address}, {location.city} ({location.country})"


def _supply_date(cdr: CdrRow) -> date:
    """The day the charging ended (UTC): the chargeable event, whose rate VAT rules ask for."""
    body = json.loads(cdr.body, parse_float=Decimal)
    return parse_datetime(body["end_date_time"], "cdr.end_date_time").astimezone(UTC).date()


def _fx_outcome(row: FxConversionRow) -> FxOutcome:
    return FxOutcome(
        from_currency=row.from_currency,
        to_currency=row.to_currency,
        amount=from_minor(row.amount_minor, row.from_currency),
        converted=from_minor(row.converted_minor, row.to_currency),
        reference_rate=row.reference_rate,
        rate_source=row.rate_source,
        rate_as_of=row.rate_as_of,
    )
