"""Deciding a price discrepancy flagged at clearing, in one transaction, with who decided and when.

* REJECT: the CPO's claim is rejected; the official price stands as settled. No money moves.
* ACCEPT: the CPO's claimed price becomes the session's price.
* ADJUST: a price agreed with the CPO (excluding VAT, in the tariff's currency) becomes it.

When the price changes, the session is corrected (its settlement reversed with credit notes, then settled
again at the agreed price by its correction workflow, started once the decision is committed). A decision
is taken once per clearing: the same decision again is answered with the one recorded, another is refused.

While that correction is parked by a business refusal (``networkcore settlement retry`` lists it) before
it converted the agreed price, the dispute can be decided again: the new decision replaces the one in force
(which is kept, with who replaced it and when), the next settlement's price becomes the new one, and the
parked correction resumes with it. The settlement it reverses stays reversed; a new REJECT settles the
session again at the official price. Once the price is converted (a conversion is immutable evidence of
what is billed) the correction can only be resumed after the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from anyio import to_thread
from sqlalchemy.orm import Session

from domain.settlement.contracts import clearing_terms
from domain.settlement.corrections import CorrectionBlock
from domain.settlement.disputes import Decision, DisputedPriceRefused, agreed_price
from messages.corrections import CorrectionCause, CorrectionRequest, CorrectionState
from messages.sessions import SettlementRetry
from persistence import repositories as repo
from persistence.correction_requests import correction_of_dispute, correction_request
from persistence.disputes import (
    DisputeRecord,
    OpenDispute,
    decisions,
    dispute_record,
    keep_superseded,
    latest_dispute,
    open_disputes,
)
from persistence.tables import ClearingRow, ContractRow, DisputeRow, SessionRow, SettlementCorrectionRow
from services.context import WriteAndStart
from services.corrections import check_correction, request_correction
from services.workflow_starts import start_correction

PRICE_PLACES = Decimal("0.0001")  # what the clearing stores
LISTED_DECISIONS = 100
# A price refused as asked for is the request's fault (422); a claim on record that cannot be accepted is a
# conflict with what the CPO sent (409).
REFUSAL_STATUS = {Decision.ADJUST: 422, Decision.ACCEPT: 409}


class DisputeRefused(Exception):
    """A decision that cannot be taken, with the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Decided:
    dispute: DisputeRecord
    correction: CorrectionRequest | None  # to start
    replayed: bool  # the same decision was already recorded
    resumes: str | None = None  # the workflow id of the parked correction a new decision resumes

    @property
    def correction_workflow_id(self) -> str | None:
        return self.resumes if self.correction is None else self.correction.workflow_id


@dataclass(frozen=True, slots=True)
class Disputes:
    open: list[OpenDispute]
    decided: list[DisputeRecord]  # the latest first


def disputes(db: Session) -> Disputes:
    """What operators have to decide, and what they decided lately."""
    return Disputes(open_disputes(db), decisions(db, limit=LISTED_DECISIONS))


@dataclass(frozen=True, slots=True)
class Ruling:
    """An operator's decision on a session's discrepancy, as asked for."""

    session_id: str
    decision: Decision
    amount: Decimal | None  # the agreed price (ADJUST only)
    note: str | None
    operator: str
    now: datetime


async def decide_and_correct(context: WriteAndStart, ruling: Ruling) -> Decided:
    """Record the decision, then start the correction it asks for."""

    def record() -> Decided:
        with context.writes.begin() as db:
            return decide(db, ruling)

    decided = await to_thread.run_sync(record)
    if decided.correction is not None:
        # Recorded with its correction PENDING; repeating the same decision starts it if this fails.
        await start_correction(context.temporal, context.task_queue, decided.correction)
    elif decided.resumes is not None and not decided.replayed:
        # Committed first: the correction reads the new price when it resumes. If this signal is lost,
        # `settlement retry` resumes it at the price now in force.
        retry = SettlementRetry(requested_by=ruling.operator, note=f"dispute decided again: {decided.dispute.decision}")
        await context.temporal.get_workflow_handle(decided.resumes).signal("retry_settlement", retry)
    return decided


def decide(db: Session, ruling: Ruling) -> Decided:
    decision, amount, now = ruling.decision, ruling.amount, ruling.now
    if (amount is None) != (decision != Decision.ADJUST):
        raise DisputeRefused(422, "ADJUST needs the agreed amount; ACCEPT and REJECT take none")
    session = db.get(SessionRow, ruling.session_id, with_for_update=True)
    if session is None:
        raise DisputeRefused(404, "no such session")
    parked = _parked_decision(db, session)
    if parked is not None:
        return _decide_again(db, ruling, session, *parked)
    recorded = _latest_decision(db, session)
    if recorded is not None:
        disputed = repo.clearing_of(db, session.id, recorded.generation)
        assert disputed is not None
        if (recorded.decision, recorded.agreed_excl_vat) == (decision.value, _agreed(db, ruling, session, disputed)):
            return Decided(dispute_record(recorded), _correction_of(db, session, recorded), replayed=True)
        raise DisputeRefused(
            409,
            f"already decided: {recorded.decision} {recorded.agreed_excl_vat} {recorded.currency} by "
            f"{recorded.decided_by} at {recorded.decided_at.isoformat()}",
        )
    check = check_correction(db, session)
    if check.block is CorrectionBlock.NOT_SETTLED:
        raise DisputeRefused(409, f"session {session.id} is {session.stage}, not settled: nothing to decide yet")
    clearing = check.clearing
    assert clearing is not None  # a settlement in force has its clearing
    if not clearing.discrepancy:
        raise DisputeRefused(409, f"no price discrepancy was flagged for session {session.id}")
    agreed = _agreed(db, ruling, session, clearing)
    if check.block is CorrectionBlock.IN_PROGRESS:
        raise DisputeRefused(409, f"session {session.id} is being corrected ({check.running}); try again later")
    dispute = DisputeRow(
        session_id=session.id,
        generation=clearing.generation,
        decision=decision.value,
        currency=clearing.currency,
        official_excl_vat=clearing.total_excl_vat,
        claimed_excl_vat=clearing.claimed_excl_vat,
        agreed_excl_vat=agreed,
        note=ruling.note,
        decided_by=ruling.operator,
        decided_at=now,
    )
    db.add(dispute)
    db.flush()
    session.needs_attention = False
    session.reason = f"dispute decided ({decision.value}: {agreed} {clearing.currency}) by {ruling.operator}"
    session.updated_at = now
    correction = None
    if agreed != clearing.total_excl_vat:
        db.add(_agreed_clearing(clearing, dispute, now))
        correction = request_correction(
            db,
            session,
            CorrectionCause.DISPUTE,
            cdr_key=clearing.cdr_key,
            reverses_generation=clearing.generation,
            settles_generation=clearing.generation + 1,
            dispute_key=dispute.key,
        )
    return Decided(dispute_record(dispute), correction, replayed=False)


def _latest_decision(db: Session, session: SessionRow) -> DisputeRow | None:
    """The decision that made the session's settlement in force what it is, if one did."""
    latest = latest_dispute(db, session.id)
    if latest is None or session.credited:
        return None
    settled_again = correction_of_dispute(db, latest.key) is not None
    return latest if latest.generation + settled_again == session.settlement_generation else None


def _parked_decision(db: Session, session: SessionRow) -> tuple[DisputeRow, SettlementCorrectionRow] | None:
    """The session's latest decision when a business refusal parked the correction it asked for."""
    latest = latest_dispute(db, session.id)
    correction = None if latest is None else correction_of_dispute(db, latest.key)
    if latest is None or correction is None or correction.state != CorrectionState.STOPPED.value:
        return None
    return latest, correction


def _decide_again(
    db: Session, ruling: Ruling, session: SessionRow, dispute: DisputeRow, correction: SettlementCorrectionRow
) -> Decided:
    """Replace the decision whose correction is parked before converting the agreed price (at the reversal,
    or on a missing FX rate); the correction resumes at the new price. Nothing of the next settlement is
    booked or converted then, so its clearing can still change."""
    disputed = repo.clearing_of(db, session.id, dispute.generation)
    resettled = repo.clearing_of(db, session.id, dispute.generation + 1)
    assert disputed is not None, "a decision names the clearing it decided"
    assert resettled is not None, "a dispute correction settles its agreed clearing"
    agreed = _agreed(db, ruling, session, disputed)
    if (dispute.decision, dispute.agreed_excl_vat) == (ruling.decision.value, agreed):
        return Decided(dispute_record(dispute), None, replayed=True, resumes=correction.workflow_id)
    if repo.conversion_of(db, session.id, resettled.generation) is not None:
        # A conversion is evidence of the price billed (its rows are immutable): this price stays.
        raise DisputeRefused(
            409,
            f"correction {correction.workflow_id} stopped ({correction.error_type}) after converting the "
            f"{dispute.decision} price of {dispute.agreed_excl_vat} {dispute.currency}, which no longer changes: "
            "fix the cause and resume it with `networkcore settlement retry`",
        )
    keep_superseded(db, dispute, by=ruling.operator, at=ruling.now)
    dispute.decision, dispute.agreed_excl_vat, dispute.note = ruling.decision.value, agreed, ruling.note
    dispute.decided_by, dispute.decided_at = ruling.operator, ruling.now
    repriced = _agreed_clearing(disputed, dispute, ruling.now)
    resettled.total_excl_vat, resettled.total_incl_vat = repriced.total_excl_vat, repriced.total_incl_vat
    resettled.report, resettled.rated_at = repriced.report, repriced.rated_at
    session.reason = (
        f"dispute decided again ({ruling.decision.value}: {agreed} {disputed.currency}) by {ruling.operator}; "
        f"correction {correction.workflow_id} resumes"
    )
    session.updated_at = ruling.now
    return Decided(dispute_record(dispute), None, replayed=False, resumes=correction.workflow_id)


def _agreed(db: Session, ruling: Ruling, session: SessionRow, clearing: ClearingRow) -> Decimal:
    """The price the ruling settles at, within the CPO contract's bounds (``domain.settlement.disputes``)."""
    contract = db.get(ContractRow, session.cpo_contract_key) if session.cpo_contract_key is not None else None
    try:
        return agreed_price(
            ruling.decision,
            official=clearing.total_excl_vat,
            claimed=clearing.claimed_excl_vat,
            amount=ruling.amount,
            currency=clearing.currency,
            maximum_claim=clearing_terms({} if contract is None else contract.terms).maximum_claim,
        )
    except DisputedPriceRefused as refused:
        raise DisputeRefused(REFUSAL_STATUS[ruling.decision], str(refused)) from refused


def _agreed_clearing(disputed: ClearingRow, dispute: DisputeRow, now: datetime) -> ClearingRow:
    """The next generation's clearing: the disputed one at the agreed price, no longer in dispute."""
    agreed = dispute.agreed_excl_vat
    ratio = disputed.total_incl_vat / disputed.total_excl_vat if disputed.total_excl_vat else Decimal(1)
    return ClearingRow(
        session_id=disputed.session_id,
        generation=disputed.generation + 1,
        cdr_key=disputed.cdr_key,
        tariff_version_key=disputed.tariff_version_key,
        currency=disputed.currency,
        total_excl_vat=agreed,
        total_incl_vat=(agreed * ratio).quantize(PRICE_PLACES),
        claimed_excl_vat=disputed.claimed_excl_vat,
        claimed_incl_vat=disputed.claimed_incl_vat,
        tolerance=disputed.tolerance,
        discrepancy=False,
        report=disputed.report
        | {
            "note": f"agreed in dispute by {dispute.decided_by}: {agreed} {disputed.currency} "
            f"(official {disputed.total_excl_vat}, claimed {disputed.claimed_excl_vat})",
            "dispute_key": dispute.key,
        },
        rated_at=now,
    )


def _correction_of(db: Session, session: SessionRow, dispute: DisputeRow) -> CorrectionRequest | None:
    if correction_of_dispute(db, dispute.key) is None:
        return None
    clearing = repo.clearing_of(db, session.id, dispute.generation)
    assert clearing is not None
    return correction_request(
        session,
        CorrectionCause.DISPUTE,
        cdr_key=clearing.cdr_key,
        reverses_generation=dispute.generation,
        settles_generation=dispute.generation + 1,
    )
