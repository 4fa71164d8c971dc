"""A partner's ``max_amount``: when the CPO's Session report puts the session's cost at or past it (in the
partner's currency, VAT included, priced as its invoice line will be), the platform asks the CPO to stop
(OCPI STOP_SESSION through the session's workflow, the same update as a partner's stop, so a stop already
requested is not sent twice).

What it cannot promise: the cost is known only from the CPO's reports, which come every few minutes and
late, so the final price may pass the cap by what was charged after the last report and until the CPO
acted on the stop. The hold placed at the start is the cap itself; an overrun is billed, not refused."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import anyio

from domain.money import quantize
from domain.parties import DemandPartner
from domain.sessions.lifecycle import SessionStage
from persistence.db import SessionFactory
from persistence.tables import DemandPartnerRow, SessionRow
from services.context import WriteAndStart
from services.prices import PriceSetup, session_cost_so_far
from services.sessions import StopRefused, request_stop

log = logging.getLogger(__name__)


class CappedSessionContext(WriteAndStart, Protocol):
    @property
    def reads(self) -> SessionFactory: ...

    @property
    def prices(self) -> PriceSetup: ...


@dataclass(frozen=True, slots=True)
class _Capped:
    partner: DemandPartner
    max_amount: Decimal


def may_reach_max_amount(session: SessionRow) -> bool:
    """Whether the session's cost can reach a cap: it has one and is charging."""
    return session.max_amount is not None and session.stage == SessionStage.CHARGING.value


def _capped_and_charging(reads: SessionFactory, session_id: str) -> _Capped | None:
    with reads() as db:
        session = db.get(SessionRow, session_id)
        if session is None or not may_reach_max_amount(session):
            return None
        assert session.max_amount is not None
        partner = db.get_one(DemandPartnerRow, session.demand_partner_id)
        currency = partner.billing_currency
        return _Capped(DemandPartner(partner.id, currency), quantize(session.max_amount, currency))


async def stop_at_max_amount(context: CappedSessionContext, session_id: str) -> bool:
    """Ask the CPO to stop the session if its cost so far has reached its ``max_amount``; True when asked."""
    capped = await anyio.to_thread.run_sync(_capped_and_charging, context.reads, session_id)
    if capped is None:
        return False
    cost = await session_cost_so_far(context.reads, capped.partner, context.prices, session_id)
    if cost is None or cost.incl_vat < capped.max_amount:
        return False
    reason = f"max_amount {capped.max_amount} {cost.currency} reached: {cost.incl_vat} incl. VAT so far"
    try:
        await request_stop(context.reads, context.temporal, capped.partner.id, session_id, reason=reason)
    except StopRefused as refused:
        log.info("session %s at its max_amount, not stopped: %s", session_id, refused)
        return False
    log.info("session %s: %s; STOP_SESSION requested", session_id, reason)
    return True
