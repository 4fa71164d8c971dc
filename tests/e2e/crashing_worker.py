"""The real session worker (`networkcore worker`), except that it dies like a killed process right after
stage 8 commits its ledger entry: before the workflow can take its next step. Run by
``test_worker_crash``; configured by the same environment variables as the real worker."""

from __future__ import annotations

import asyncio
import os

from temporalio import activity

import workers.main
from activities.settlement import SettlementActivities
from config.settings import Settings
from messages.sessions import SettlementInput, SettlementOutcome

CRASH_EXIT_CODE = 17


class DieAfterPosting(SettlementActivities):
    @activity.defn(name="post_settlement")
    def post_settlement(self, request: SettlementInput) -> SettlementOutcome:
        super().post_settlement(request)  # its transaction has committed when it returns
        os._exit(CRASH_EXIT_CODE)


if __name__ == "__main__":
    workers.main.SettlementActivities = DieAfterPosting  # type: ignore[attr-defined]
    asyncio.run(workers.main.run_worker(Settings()))
