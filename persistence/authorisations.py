"""May a partner's driver charge at this EVSE, and the credit hold that reserves the session's cap: the one
authorisation of a remote start (the session workflow's stage 1) and of a CPO's real-time authorisation
of a token (``services/ocpi/tokens.py``). The decision is ``domain.sessions.authorisation.authorise`` over
the facts loaded here, then no invoice overdue past its grace (``persistence.dunning``); the hold is
``persistence.holds.place_hold`` under the partner's credit terms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from domain.errors import AuthorisationRefused, RefusalReason
from domain.ledger.holds import cap_minor, limit_minor
from domain.sessions.authorisation import Authorisation, ConnectorFacts, DemandPartnerFacts, EvseFacts, authorise
from domain.settlement.contracts import ContractTermsInvalid, credit_terms
from persistence import dunning, holds
from persistence import repositories as repo
from persistence.tables import DemandPartnerRow, LedgerHoldRow


@dataclass(frozen=True, slots=True)
class Decided:
    """An authorisation granted: the partner, the charger and the versions the session is held to."""

    partner: DemandPartnerRow
    charger: repo.Charger
    authorisation: Authorisation
    terms: dict[str, Any]  # of the partner's contract version in force, as stored (checked where used)


def decide(db: Session, demand_partner_id: str, evse_id: str, *, at: datetime) -> Decided:
    """Whether the partner may charge at ``evse_id`` at ``at``; raises ``AuthorisationRefused``."""
    partner = db.get(DemandPartnerRow, demand_partner_id)
    charger = repo.charger_by_evse_id(db, evse_id)
    authorisation = authorise(
        demand_partner=None if partner is None else DemandPartnerFacts(partner.id, partner.active),
        evse=None if charger is None else EvseFacts(evse_id, charger.evse.status, charger.cpo.id, charger.cpo.active),
        demand_partner_contracts=repo.contract_versions(db, "DEMAND_PARTNER", demand_partner_id),
        cpo_contracts=[] if charger is None else repo.contract_versions(db, "CPO", charger.cpo.id),
        connectors=[] if charger is None else _connectors(db, charger),
        at=at,
    )
    assert charger is not None  # authorise() refuses an unknown EVSE
    assert partner is not None  # and an unknown partner
    terms = repo.contract_terms(db, authorisation.demand_partner_contract.key)
    dunning.refuse_if_overdue(db, partner, terms, on=at.astimezone(UTC).date())
    return Decided(partner, charger, authorisation, terms)


def _connectors(db: Session, charger: repo.Charger) -> list[ConnectorFacts]:
    """Each connector with the versions of its tariffs: ids name tariffs of the Location's own CPO."""
    return [
        ConnectorFacts(
            connector.connector_id,
            [repo.tariff_versions(db, charger.cpo.id, tariff_id) for tariff_id in connector.tariff_ids],
        )
        for connector in charger.connectors
    ]


def hold_credit(
    db: Session, decided: Decided, *, session_id: str, max_amount: Decimal | None, at: datetime, now: datetime
) -> LedgerHoldRow:
    """The session's credit hold: the partner's cap for it (or the contract's), in its billing currency,
    against the contract's credit limit, expiring after the contract's hold days. Idempotent per session;
    raises ``AuthorisationRefused`` (CREDIT_LIMIT_EXCEEDED, CONTRACT_TERMS_INVALID)."""
    try:
        credit = credit_terms(decided.terms)
    except ContractTermsInvalid as invalid:
        raise AuthorisationRefused(RefusalReason.CONTRACT_TERMS_INVALID, str(invalid)) from invalid
    currency = decided.partner.billing_currency
    cap = max_amount if max_amount is not None else credit.session_cap
    return holds.place_hold(
        db,
        holds.HoldRequest(
            session_id=session_id,
            demand_partner_id=decided.partner.id,
            currency=currency,
            amount_minor=cap_minor(cap, currency),
            limit_minor=limit_minor(credit.limit, currency),
            expires_at=at + timedelta(days=credit.hold_days),
        ),
        now=now,
    )
