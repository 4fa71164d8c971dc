"""Stages 6, 7 and 8 of the session workflow: convert the net price into the partner's billing currency
at a recorded reference rate; then, in one database transaction, issue the session's invoices (gap-free
numbers), book its balanced transfer set from them and capture its credit hold. Stages 7-8 load the
session's facts as domain values, plan what to book (``domain.settlement.plan``, pure) and book the plan
(``persistence.settlement_booking``). ``settle_session`` runs stage 5 (clearing) and these in one transaction
with the SETTLED record, for sessions that settle in one step; corrections and refused sessions take them one
by one.

All are idempotent by session: stage 6 stores one conversion per session (a retry returns it); stages 7-8
post under the idempotency key ``session-<id>:settlement`` and find invoices already issued for the
session, so a retry after a lost reply books nothing twice and burns no number; a crash before the commit
leaves nothing behind, the numbers included.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import metrics
from activities.clock import utcnow
from activities.errors import IDEMPOTENCY_CONFLICT, refusal
from activities.sessions import cleared, write_stage
from domain.einvoice.issuing import EInvoiceInvalid, EInvoiceIssuing
from domain.fx.rates import FxRateMissing, FxRateStale, convert
from domain.money import from_minor, quantize, to_minor
from domain.sessions.lifecycle import SessionStage
from domain.settlement.contracts import ContractTermsInvalid
from domain.settlement.plan import SettlementPlan, plan_settlement
from domain.vat.parties import CountryUnknown
from domain.vat.rates import VatRateMissing, VatRateTable
from domain.vat.treatment import TaxParty, VatRegistrationMissing
from messages.sessions import (
    PRICE_DISCREPANCY,
    ClearingInput,
    FxOutcome,
    SessionSettled,
    SettlementInput,
    SettlementOutcome,
    StageOutcome,
    discrepancy_reason,
)
from persistence import ledger
from persistence import repositories as repo
from persistence.settlement_booking import SettlementBooking, book_settlement
from persistence.settlement_facts import reference_rate, settlement_facts
from persistence.supplies import supply_date
from persistence.tables import CdrRow, DemandPartnerRow, FxConversionRow, SessionRow

# Business refusals of stages 6-8; their ApplicationError type is the class name.
SETTLEMENT_ERRORS = (
    FxRateMissing,
    FxRateStale,
    VatRateMissing,
    VatRegistrationMissing,
    CountryUnknown,
    ContractTermsInvalid,
    EInvoiceInvalid,
)


class SettlementActivities:
    def __init__(
        self,
        writes: sessionmaker[Session],
        *,
        fx_max_age: timedelta,
        platform: TaxParty,
        vat_rates: VatRateTable,
        einvoicing: EInvoiceIssuing,
    ) -> None:
        self._writes = writes
        self._fx_max_age = fx_max_age
        self._platform = platform
        self._vat_rates = vat_rates
        self._einvoicing = einvoicing

    # --- stage 6 ----------------------------------------------------------------------------------

    @activity.defn
    def convert_to_billing_currency(self, request: SettlementInput) -> FxOutcome:
        """The cleared net price in the partner's billing currency, at the ECB reference rate of the day the
        charging ended (the previous publication on weekends and holidays), rounded once: the net amount
        of the partner's invoice line. A missing rate, or one older than the allowed age, is a business
        refusal: ops import the rate and retry the settlement."""
        with self._writes.begin() as db, _refusals():
            return _fx_outcome(self._converted(db, request.session_id, request.generation))

    def _converted(self, db: Session, session_id: str, generation: int) -> FxConversionRow:
        conversion = repo.conversion_of(db, session_id, generation)
        return self._convert(db, session_id, generation) if conversion is None else conversion

    def _convert(self, db: Session, session_id: str, generation: int) -> FxConversionRow:
        # A correction's price can still change until it is converted (a dispute decided again holds this
        # lock while it changes it): the two never interleave.
        session = db.get_one(SessionRow, session_id, with_for_update=generation > 0)
        clearing = repo.clearing_of(db, session_id, generation)
        assert clearing is not None, "a settlement generation is cleared before it is converted"
        currency = clearing.currency
        billing_currency = db.get_one(DemandPartnerRow, session.demand_partner_id).billing_currency
        rate = None
        if billing_currency != currency:
            supplied_on = supply_date(db.get_one(CdrRow, clearing.cdr_key))
            rate = reference_rate(db, currency, billing_currency, supplied_on, max_age=self._fx_max_age)
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
            converted_at=utcnow(),
        )
        db.add(row)
        db.flush()
        return row

    # --- stages 7 and 8 ---------------------------------------------------------------------------

    @activity.defn
    def post_settlement(self, request: SettlementInput) -> SettlementOutcome:
        """Issue the session's invoices and book it (receivable, payables, VAT, commission, revenue share,
        FX legs), capturing its hold, all in one transaction."""
        with self._writes.begin() as db, _refusals():
            outcome, cdr_received_at = self._post(db, request.session_id, request.generation)
        _observe(cdr_received_at)
        return outcome

    # --- stages 5 to 8 at once --------------------------------------------------------------------

    @activity.defn
    def settle_session(self, request: ClearingInput) -> SessionSettled:
        """A session's clearing, conversion, invoices and booking, and its SETTLED record, in one transaction:
        what ``clear_session``, ``convert_to_billing_currency``, ``post_settlement`` and ``record_stage`` do one
        by one, for a quarter of the local activities, workflow activations and transactions. A refusal of any
        of them rolls all back, and the workflow takes the stepwise path, which says and parks what refused.
        Idempotent as each of them is: a retry finds the stored clearing, conversion and booking."""
        with self._writes.begin() as db, _refusals():
            # Locked first, for the stage record below: in the order the session's other writers lock.
            session = repo.locked_session(db, request.session_id)
            clearing = cleared(db, request)
            fx = _fx_outcome(self._converted(db, request.session_id, request.generation))
            outcome, cdr_received_at = self._post(db, request.session_id, request.generation)
            write_stage(
                db,
                StageOutcome(
                    session_id=request.session_id,
                    stage=SessionStage.SETTLED,
                    reason=discrepancy_reason(clearing),
                    cdr_key=request.cdr_key,
                    needs_attention=clearing.discrepancy,
                    error_type=PRICE_DISCREPANCY if clearing.discrepancy else None,
                ),
                locked=session,
            )
        _observe(cdr_received_at)
        return SessionSettled(clearing=clearing, fx=fx, settlement=outcome)

    def _post(self, db: Session, session_id: str, generation: int) -> tuple[SettlementOutcome, datetime | None]:
        """The outcome, and the CDR's receipt time when this call booked the entry (None when it was
        booked before: a retry or a replay; or when the session cost nothing and books nothing)."""
        session = db.get_one(SessionRow, session_id, with_for_update=generation > 0)
        if generation > 0 and session.settlement_generation != generation:
            _require_reversed(session, generation - 1)
        clearing = repo.clearing_of(db, session_id, generation)
        conversion = repo.conversion_of(db, session_id, generation)
        assert clearing is not None, "stage 5 comes first"
        assert conversion is not None, "and stage 6"
        cdr = db.get_one(CdrRow, clearing.cdr_key)
        facts = settlement_facts(
            db,
            session,
            generation,
            conversion,
            cdr,
            platform=self._platform,
            vat_rates=self._vat_rates,
            fx_max_age=self._fx_max_age,
        )
        plan = plan_settlement(facts)
        booking = book_settlement(db, plan, now=utcnow(), issuing=self._einvoicing)
        return _settlement_outcome(plan, booking), (cdr.received_at if booking.booked_now else None)


@contextmanager
def _refusals() -> Iterator[None]:
    """Stages 6-8's business refusals as non-retryable activity errors of their class's name."""
    try:
        yield
    except SETTLEMENT_ERRORS as refused:
        raise refusal(refused, type(refused).__name__) from refused
    except ledger.IdempotencyConflict as conflict:
        # The same key booked with other amounts: a bug to look at, never retried away.
        raise ApplicationError(str(conflict), type=IDEMPOTENCY_CONFLICT, non_retryable=True) from conflict


def _observe(cdr_received_at: datetime | None) -> None:
    if cdr_received_at is not None:  # booked by this call, and committed
        metrics.observe_settlement(cdr_received_at=cdr_received_at, settled_at=utcnow())


def _settlement_outcome(plan: SettlementPlan, booking: SettlementBooking) -> SettlementOutcome:
    bought, sold, split = plan.lines.cpo_to_platform, plan.lines.platform_to_partner, plan.split
    return SettlementOutcome(
        currency=split.currency,
        vat=from_minor(bought.vat_minor, split.currency),
        cpo_payable=from_minor(bought.gross_minor, split.currency),
        commission=from_minor(split.platform_minor, split.currency),
        demand_partner_share=from_minor(split.demand_partner_minor, split.currency),
        billing_currency=sold.currency,
        billed=from_minor(sold.gross_minor, sold.currency),
        entry_id=booking.entry_id,
        hold=booking.hold,
        billed_vat=from_minor(sold.vat_minor, sold.currency),
        invoice=booking.invoice,
        self_billed_invoice=booking.self_billed_invoice,
    )


class ReversalPending(Exception):
    """A correction's new settlement waits for the previous one to be reversed (a credit CDR's workflow
    that has not run yet): a technical wait, retried, never a refusal."""


def _require_reversed(session: SessionRow, generation: int) -> None:
    if session.settlement_generation != generation or not session.credited:
        raise ReversalPending(
            f"session {session.id}: settlement {generation} must be reversed before it is settled again "
            f"(latest settlement {session.settlement_generation}, credited: {session.credited})"
        )


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
