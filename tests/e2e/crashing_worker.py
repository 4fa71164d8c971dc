"""The real session worker (`networkcore worker`), except that it dies like a killed process at the point
``CRASH_AT`` names: ``after-commit``, right after stages 7-8 commit (stages 5-8 when they run in one step),
before the workflow can take its next step; ``mid-invoice``, inside their transaction, once it holds the
invoice numbers it allocated; ``payout-before-send``, once a payout instruction is created, before the rail
has it; ``payout-after-send``, once the rail has it, before the batch is marked sent. Run by
``test_worker_crash``; configured by the same environment variables as the real worker."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

import workers.main
from activities.settlement import SettlementActivities
from adapters.iso20022 import StatusReport
from adapters.payout_rails import PayoutRail
from config.settings import Settings
from domain.invoicing.documents import PLATFORM_ISSUER
from messages.sessions import ClearingInput, SessionSettled, SettlementInput, SettlementOutcome
from persistence import invoices

CRASH_EXIT_CODE = 17


class DieAfterPosting(SettlementActivities):
    @activity.defn(name="post_settlement")
    def post_settlement(self, request: SettlementInput) -> SettlementOutcome:
        super().post_settlement(request)  # its transaction has committed when it returns
        os._exit(CRASH_EXIT_CODE)

    @activity.defn(name="settle_session")
    def settle_session(self, request: ClearingInput) -> SessionSettled:
        super().settle_session(request)
        os._exit(CRASH_EXIT_CODE)


def die_holding_numbers() -> None:
    allocate = invoices.allocate_number

    def allocate_then_die(db: Session, issuer: str, series: str) -> int:
        number = allocate(db, issuer, series)
        if issuer == PLATFORM_ISSUER:  # the second of the session's two numbers
            db.flush()
            os._exit(CRASH_EXIT_CODE)
        return number

    invoices.allocate_number = allocate_then_die


class DieAroundSubmit:
    """The configured rail, but the process dies just before (or just after) handing it a file."""

    def __init__(self, rail: PayoutRail, *, after: bool) -> None:
        self.name = rail.name
        self._rail = rail
        self._after = after

    def submit(self, message_id: str, document: bytes, *, now: datetime) -> None:
        if self._after:
            self._rail.submit(message_id, document, now=now)
        os._exit(CRASH_EXIT_CODE)

    def status(self, message_id: str, *, now: datetime) -> tuple[StatusReport, bytes] | None:
        return self._rail.status(message_id, now=now)


def die_around_submit(*, after: bool) -> None:
    configured = workers.main.payout_rail

    def dying_rail(settings: Settings, writes: sessionmaker[Session]) -> PayoutRail:
        return DieAroundSubmit(configured(settings, writes), after=after)

    workers.main.payout_rail = dying_rail


if __name__ == "__main__":
    crash_at = os.environ["CRASH_AT"]
    if crash_at == "mid-invoice":
        die_holding_numbers()
    elif crash_at.startswith("payout-"):
        die_around_submit(after=crash_at == "payout-after-send")
    else:
        workers.main.SettlementActivities = DieAfterPosting  # type: ignore[attr-defined]
    asyncio.run(workers.main.run_worker(Settings()))
