"""Activities of the charging-session workflow up to its price: stages 1-3 (authorisation with its credit
hold, the start and stop commands to the CPO), stage 5 (clearing the CDR that stage 4 received) and the
read model every stage writes.

Each one is idempotent: keyed by the session id (the workflow id), re-running it after a retry, a
worker crash or a reset writes the same rows again and never a second copy.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.clock import utcnow
from activities.errors import (
    AUTHORISATION_REFUSED,
    CONTRACT_TERMS_INVALID,
    CPO_PROTOCOL_ERROR,
    PRICE_IMPLAUSIBLE,
    TARIFF_INVALID,
    refusal,
)
from adapters.cpo import CpoAdapter, CpoEndpoint, CpoProtocolError
from adapters.token_cipher import TokenCipher
from domain.errors import AuthorisationRefused, RefusalReason
from domain.money import from_minor
from domain.sessions.lifecycle import SessionStage, is_behind
from domain.settlement.contracts import ContractTermsInvalid, PriceImplausible, clearing_terms
from domain.tariffs.clearing import compare
from domain.tariffs.model import TariffInvalid, parse_tariff
from domain.tariffs.rating import Amount, rate
from domain.tariffs.report import rated_report, rating_input
from messages.ocpi import (
    CommandResponse,
    CommandResponseType,
    CommandType,
    StartSession,
    StopSession,
    Token,
    TokenType,
    WhitelistType,
)
from messages.sessions import (
    AuthoriseSessionInput,
    ClearingInput,
    ClearingOutcome,
    CommandOutcome,
    SessionAuthorised,
    StageOutcome,
    StartCommandInput,
    StopCommandInput,
)
from persistence import authorisations, holds, quotes
from persistence import repositories as repo
from persistence.tables import CdrRow, ClearingRow, ContractRow, CpoRow, SessionRow

OCPI_EMSP_PATH = "/ocpi/emsp/2.2.1"
# Sessions that end without a bill release their credit hold.
UNBILLED_ENDINGS = frozenset({SessionStage.START_FAILED, SessionStage.INVALID, SessionStage.REJECTED})

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OcpiIdentity:
    """Who we are towards CPOs, and where they call us back."""

    country_code: str
    party_id: str
    public_base_url: str

    def command_response_url(self, command: CommandType, session_id: str) -> str:
        return f"{self.public_base_url}{OCPI_EMSP_PATH}/commands/{command.value}/{session_id}"


class SessionActivities:
    def __init__(
        self, writes: sessionmaker[Session], cpo_adapter: CpoAdapter, identity: OcpiIdentity, token_cipher: TokenCipher
    ) -> None:
        self._writes = writes
        self._cpo = cpo_adapter
        self._identity = identity
        self._token_cipher = token_cipher

    # --- stage 1 ----------------------------------------------------------------------------------

    @activity.defn
    def authorise_session(self, request: AuthoriseSessionInput) -> SessionAuthorised:
        """Decide at the session's request time (not now: a retry must reach the same decision)."""
        with self._writes.begin() as db:
            try:
                authorised = self._authorise(db, request)
            except AuthorisationRefused as refused:
                raise refusal(refused, AUTHORISATION_REFUSED) from refused
            row = db.get_one(SessionRow, request.session_id)
            row.cpo_id = authorised.cpo_id
            row.country = authorised.country
            row.location_id = authorised.location_id
            row.evse_uid = authorised.evse_uid
            row.tariff_version_key = authorised.tariff_version_key
            row.currency = authorised.currency
            row.demand_partner_contract_key = authorised.demand_partner_contract_key
            row.cpo_contract_key = authorised.cpo_contract_key
            row.updated_at = utcnow()
        return authorised

    def _authorise(self, db: Session, request: AuthoriseSessionInput) -> SessionAuthorised:
        decided = authorisations.decide(db, request.demand_partner_id, request.evse_id, at=request.at)
        charger, decision = decided.charger, decided.authorisation
        # A session started on a quote is rated on the tariff version it was quoted (the quote was for this EVSE).
        tariff = repo.tariff_version(db, quotes.quoted_tariff_key(db, request.session_id) or decision.tariff.key)
        hold = authorisations.hold_credit(
            db, decided, session_id=request.session_id, max_amount=request.max_amount, at=request.at, now=utcnow()
        )
        return SessionAuthorised(
            session_id=request.session_id,
            cpo_id=charger.cpo.id,
            cpo_country_code=charger.cpo.country_code,
            cpo_party_id=charger.cpo.party_id,
            country=charger.location.country,
            location_id=charger.location.location_id,
            evse_uid=charger.evse.evse_uid,
            evse_id=request.evse_id,
            connector_id=decision.connector_id,
            time_zone=charger.location.time_zone,
            tariff_version_key=tariff.key,
            tariff_id=tariff.tariff_id,
            currency=tariff.currency,
            demand_partner_contract_key=decision.demand_partner_contract.key,
            cpo_contract_key=decision.cpo_contract.key,
            hold=from_minor(hold.amount_minor, hold.currency),
            billing_currency=hold.currency,
        )

    # --- stage 2 and 3: commands to the CPO ------------------------------------------------------

    @activity.defn
    async def send_start_command(self, request: StartCommandInput) -> CommandOutcome:
        """OCPI START_SESSION. ``authorization_reference`` is the session id, so a CPO that sees the
        same command twice (our retry) can recognise it, and its Session and CDR point back to us."""
        endpoint = await asyncio.to_thread(self._endpoint, request.cpo_id)
        command = StartSession(
            response_url=self._identity.command_response_url(CommandType.START_SESSION, request.session_id),
            token=Token(
                country_code=self._identity.country_code,
                party_id=self._identity.party_id,
                uid=request.driver_reference,
                type=TokenType.APP_USER,
                contract_id=f"{self._identity.country_code}-{self._identity.party_id}-{request.driver_reference}"[:36],
                issuer=request.demand_partner_id[:64],
                valid=True,
                whitelist=WhitelistType.NEVER,
                last_updated=utcnow(),
            ),
            location_id=request.location_id,
            evse_uid=request.evse_uid,
            connector_id=request.connector_id,
            authorization_reference=request.session_id,
        )
        return await self._command(self._cpo.start_session(endpoint, command))

    @activity.defn
    async def send_stop_command(self, request: StopCommandInput) -> CommandOutcome:
        endpoint = await asyncio.to_thread(self._endpoint, request.cpo_id)
        command = StopSession(
            response_url=self._identity.command_response_url(CommandType.STOP_SESSION, request.session_id),
            session_id=request.cpo_session_id,
        )
        return await self._command(self._cpo.stop_session(endpoint, command))

    @staticmethod
    async def _command(sending: Awaitable[CommandResponse]) -> CommandOutcome:
        try:
            response = await sending
        except CpoProtocolError as error:
            # The CPO answered with something we cannot use; retrying the same request won't help.
            raise ApplicationError(str(error), type=CPO_PROTOCOL_ERROR, non_retryable=True) from error
        message = "; ".join(m.get("text", "") for m in response.message or []) or None
        return CommandOutcome(
            accepted=response.result == CommandResponseType.ACCEPTED,
            result=response.result.value,
            message=message,
            timeout_s=response.timeout,
        )

    def _endpoint(self, cpo_id: str) -> CpoEndpoint:
        """Where and with which token to send the CPO a command: the token is revealed here, in the
        activity that calls, and never leaves it (no workflow input, result or history holds it)."""
        with self._writes() as db:
            cpo = db.get_one(CpoRow, cpo_id)
            token = self._token_cipher.reveal(cpo.outbound_token)
            return CpoEndpoint(cpo.id, cpo.country_code, cpo.party_id, cpo.commands_url, token)

    # --- stage 5: clearing -----------------------------------------------------------------------

    @activity.defn
    def clear_session(self, request: ClearingInput) -> ClearingOutcome:
        """Rate the CDR against the tariff in force at session start, in the location's time zone, and
        compare with the CPO's claim. One clearing per session: a retry returns the stored one."""
        with self._writes.begin() as db:
            return cleared(db, request)

    # --- the read model ---------------------------------------------------------------------------

    @activity.defn
    def record_stage(self, outcome: StageOutcome) -> None:
        """Write what the workflow decided into the read model (forward-only, so replays are harmless)."""
        with self._writes.begin() as db:
            write_stage(db, outcome)


def cleared(db: Session, request: ClearingInput) -> ClearingOutcome:
    """The session's clearing: the stored one, or the CDR rated and compared now (and stored)."""
    existing = repo.clearing_of(db, request.session_id, request.generation)
    if existing is None:
        existing = _clear(db, request)
    return ClearingOutcome(
        currency=existing.currency,
        total_excl_vat=existing.total_excl_vat,
        total_incl_vat=existing.total_incl_vat,
        claimed_excl_vat=existing.claimed_excl_vat,
        claimed_incl_vat=existing.claimed_incl_vat,
        discrepancy=existing.discrepancy,
        note=str(existing.report["note"]),
    )


def _clear(db: Session, request: ClearingInput) -> ClearingRow:
    """Rate the CDR and compare the rating with the CPO's claim: the clearing's row, written."""
    session = db.get_one(SessionRow, request.session_id)
    assert session.tariff_version_key is not None, "an authorised session holds its tariff"
    cdr_row = db.get_one(CdrRow, request.cdr_key)
    cdr = json.loads(cdr_row.body, parse_float=Decimal)
    tariff_row = repo.tariff_version(db, session.tariff_version_key)
    charger = repo.charger_by_evse_id(db, session.evse_id)
    assert charger is not None
    terms = db.get_one(ContractRow, session.cpo_contract_key).terms if session.cpo_contract_key else {}
    try:
        bounds = clearing_terms(terms)
        tariff = parse_tariff(json.loads(tariff_row.body, parse_float=Decimal))
        start, end, periods = rating_input(cdr)
    except ContractTermsInvalid as invalid:
        raise refusal(invalid, CONTRACT_TERMS_INVALID) from invalid
    except TariffInvalid as invalid:
        raise refusal(invalid, TARIFF_INVALID) from invalid
    rated = rate(tariff, periods, start=start, end=end, time_zone=ZoneInfo(charger.location.time_zone))
    try:
        bounds.check_rated(rated.total_cost.excl_vat, rated.currency)
    except PriceImplausible as implausible:
        raise refusal(implausible, PRICE_IMPLAUSIBLE) from implausible
    tolerance = bounds.tolerance
    claimed = Amount(
        Decimal(str(cdr["total_cost"]["excl_vat"])),
        Decimal(str(cdr["total_cost"].get("incl_vat", cdr["total_cost"]["excl_vat"]))),
    )
    comparison = compare(rated.total_cost, claimed, tolerance)
    report = rated_report(rated) | {"note": comparison.describe(rated.currency)}
    row = ClearingRow(
        session_id=session.id,
        generation=request.generation,
        cdr_key=cdr_row.key,
        tariff_version_key=tariff_row.key,
        currency=rated.currency,
        total_excl_vat=rated.total_cost.excl_vat,
        total_incl_vat=rated.total_cost.incl_vat,
        claimed_excl_vat=claimed.excl_vat,
        claimed_incl_vat=claimed.incl_vat,
        tolerance=tolerance,
        discrepancy=comparison.discrepancy,
        report=report,
        rated_at=utcnow(),
    )
    db.add(row)
    db.flush()
    return row


def write_stage(db: Session, outcome: StageOutcome, *, locked: SessionRow | None = None) -> None:
    """The read model's row of the session moved to the workflow's stage (forward only); ``locked``: the row,
    when the caller has locked it already (``repo.locked_session``).

    A record of a stage the row has passed changes nothing, not even attention and reason: it is a late
    attempt of an earlier record (its local activity timed out while it waited for a thread, a connection or a
    lock, and the workflow went on with the retry), which would otherwise put back what a later record said
    (a settlement's stop filed under CDR overdue, lost to ``settlement retry``)."""
    row = repo.locked_session(db, outcome.session_id) if locked is None else locked
    if is_behind(SessionStage(row.stage), outcome.stage):
        log.warning("session %s: late record of %s ignored; it is %s", row.id, outcome.stage, row.stage)
        return
    now = utcnow()
    moved = repo.move_locked_session_stage(
        row, outcome.stage, now=now, reason=outcome.reason, needs_attention=outcome.needs_attention
    )
    if moved or (outcome.needs_attention and outcome.reason is not None):
        row.error_type = outcome.error_type  # written, or cleared, whenever the reason is
    if outcome.cdr_key is not None:
        row.cdr_key = outcome.cdr_key
    if outcome.stage in UNBILLED_ENDINGS:
        holds.void_hold(db, outcome.session_id, now=now)


def refusal_reason(error: ApplicationError) -> RefusalReason | None:
    """The refusal carried by an ``AuthorisationRefused`` activity error, if that is what it is.
    Its message carries the reason (``AuthorisationRefused.__str__``); the failure converter may prefix
    the error type, so the first part that names a reason is it."""
    if error.type != AUTHORISATION_REFUSED:
        return None
    for part in error.message.split(":"):
        if part.strip() in RefusalReason.__members__:
            return RefusalReason(part.strip())
    return None
