"""Stages 6 and 8 of the session workflow: convert into the partner's billing currency at a recorded
reference rate, then book the session's balanced transfer set and capture its credit hold.

Both are idempotent by session: stage 6 stores one conversion per session (a retry returns it), stage 8
posts under the idempotency key ``session-<id>:settlement`` and captures the hold in the same database
transaction, so a crash between the two cannot leave one without the other.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import IDEMPOTENCY_CONFLICT, refusal
from domain.fx.rates import PIVOT, FxRateMissing, FxRateStale, convert
from domain.money import from_minor, to_minor
from domain.settlement.contracts import ContractTermsInvalid, commission_terms, revenue_share_terms
from domain.settlement.revenue_share import (
    NegativeVat,
    session_charge,
    settlement_entry,
    settlement_key,
    split_revenue,
)
from domain.tariffs.model import parse_datetime
from messages.sessions import FxOutcome, SettlementInput, SettlementOutcome
from persistence import fx, holds, ledger
from persistence.tables import CdrRow, ClearingRow, ContractRow, DemandPartnerRow, FxConversionRow, SessionRow

# Business refusals of stages 6 and 8; their ApplicationError type is the class name.
SETTLEMENT_ERRORS = (FxRateMissing, FxRateStale, NegativeVat, ContractTermsInvalid)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SettlementActivities:
    def __init__(self, sessions: sessionmaker[Session], *, fx_max_age: timedelta) -> None:
        self._sessions = sessions
        self._fx_max_age = fx_max_age

    # --- stage 6 ----------------------------------------------------------------------------------

    @activity.defn
    def convert_to_billing_currency(self, request: SettlementInput) -> FxOutcome:
        """The cleared gross in the partner's billing currency, at the ECB reference rate of the day the
        charging ended (the previous publication on weekends and holidays). A missing rate, or one older
        than the allowed age, is a business refusal: ops import the rate and retry the settlement."""
        with self._sessions.begin() as db:
            conversion = db.scalar(select(FxConversionRow).where(FxConversionRow.session_id == request.session_id))
            if conversion is None:
                try:
                    conversion = self._convert(db, request.session_id)
                except SETTLEMENT_ERRORS as refused:
                    raise refusal(refused, type(refused).__name__) from refused
            return _fx_outcome(conversion)

    def _convert(self, db: Session, session_id: str) -> FxConversionRow:
        session = db.get_one(SessionRow, session_id)
        clearing = db.scalars(select(ClearingRow).where(ClearingRow.session_id == session_id)).one()
        charge = session_charge(clearing.currency, clearing.total_excl_vat, clearing.total_incl_vat)
        billing_currency = db.get_one(DemandPartnerRow, session.demand_partner_id).billing_currency
        gross = from_minor(charge.gross_minor, charge.currency)
        rate = None
        if billing_currency != charge.currency:
            supplied_on = _supply_date(db.get_one(CdrRow, clearing.cdr_key))
            table = fx.rate_table(db, {charge.currency, billing_currency} - {PIVOT}, supplied_on)
            rate = table.rate(charge.currency, billing_currency, supplied_on, self._fx_max_age)
        converted = convert(gross, charge.currency, billing_currency, rate)
        row = FxConversionRow(
            session_id=session_id,
            from_currency=charge.currency,
            to_currency=billing_currency,
            amount_minor=charge.gross_minor,
            converted_minor=to_minor(converted.amount, billing_currency),
            reference_rate=None if rate is None else rate.rate,
            rate_source=None if rate is None else rate.source,
            rate_as_of=None if rate is None else rate.as_of,
            executed_rate=None,
            converted_at=_utcnow(),
        )
        db.add(row)
        db.flush()
        return row

    # --- stage 8 ----------------------------------------------------------------------------------

    @activity.defn
    def post_settlement(self, request: SettlementInput) -> SettlementOutcome:
        """Book the session: receivable, payables, commission, revenue share, VAT, FX legs; capture the hold."""
        with self._sessions.begin() as db:
            try:
                return self._post(db, request.session_id)
            except SETTLEMENT_ERRORS as refused:
                raise refusal(refused, type(refused).__name__) from refused
            except ledger.IdempotencyConflict as conflict:
                # The same key booked with other amounts: a bug to look at, never retried away.
                raise ApplicationError(str(conflict), type=IDEMPOTENCY_CONFLICT, non_retryable=True) from conflict

    def _post(self, db: Session, session_id: str) -> SettlementOutcome:
        session = db.get_one(SessionRow, session_id)
        assert session.cpo_id, "an authorised session knows its CPO"
        assert session.country, "and its charger's country"
        assert session.cpo_contract_key, "and its frozen contracts"
        assert session.demand_partner_contract_key, "and its frozen contracts"
        clearing = db.scalars(select(ClearingRow).where(ClearingRow.session_id == session_id)).one()
        conversion = db.scalars(select(FxConversionRow).where(FxConversionRow.session_id == session_id)).one()
        split = split_revenue(
            session_charge(clearing.currency, clearing.total_excl_vat, clearing.total_incl_vat),
            commission_terms(db.get_one(ContractRow, session.cpo_contract_key).terms),
            revenue_share_terms(db.get_one(ContractRow, session.demand_partner_contract_key).terms),
        )
        entry = settlement_entry(
            settlement_key(session_id),
            demand_partner_id=session.demand_partner_id,
            cpo_id=session.cpo_id,
            country=session.country,
            split=split,
            billing_currency=conversion.to_currency,
            billed_minor=conversion.converted_minor,
        )
        now = _utcnow()
        entry_key = None if entry is None else ledger.post(db, entry, now=now)[0]
        hold = holds.capture_hold(db, session_id, captured_minor=conversion.converted_minor, entry=entry_key, now=now)
        currency = split.currency
        return SettlementOutcome(
            currency=currency,
            vat=from_minor(split.vat_minor, currency),
            cpo_payable=from_minor(split.cpo_minor, currency),
            commission=from_minor(split.platform_minor, currency),
            demand_partner_share=from_minor(split.demand_partner_minor, currency),
            billing_currency=conversion.to_currency,
            billed=from_minor(conversion.converted_minor, conversion.to_currency),
            entry_id=entry_key,
            hold=None if hold is None else hold.value,
        )


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
