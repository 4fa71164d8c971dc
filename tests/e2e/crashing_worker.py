"""The real session worker (`networkcore worker`), except that it dies like a killed process at the point
``CRASH_AT`` names: ``after-commit``, right after stages 7-8 commit (before the workflow can take its next
step), or ``mid-invoice``, inside their transaction, once it holds the invoice numbers it allocated. Run by
``test_worker_crash``; configured by the same environment variables as the real worker."""

from __future__ import annotations

import asyncio
import os

from sqlalchemy.orm import Session
from temporalio import activity

import workers.main
from activities.settlement import SettlementActivities
from config.settings import Settings
from domain.invoicing.documents import PLATFORM_ISSUER
from messages.sessions import SettlementInput, SettlementOutcome
from persistence import invoices

CRASH_EXIT_CODE = 17


class DieAfterPosting(SettlementActivities):
    @activity.defn(name="post_settlement")
    def post_settlement(self, request: SettlementInput) -> SettlementOutcome:
        super().post_settlement(request)  # its transaction has committed when it returns
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


if __name__ == "__main__":
    if os.environ["CRASH_AT"] == "mid-invoice":
        die_holding_numbers()
    else:
        workers.main.SettlementActivities = DieAfterPosting  # type: ignore[attr-defined]
    asyncio.run(workers.main.run_worker(Settings()))
