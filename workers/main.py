"""The session worker: polls the charging-session task queue and runs workflows and activities."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from prometheus_client import start_http_server
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities import metrics
from activities.collections import CollectionActivities, Collector
from activities.corrections import CorrectionActivities
from activities.cpo_sync import CpoSyncActivities
from activities.einvoices import EInvoiceDeliveryActivities
from activities.invoicing import StatementActivities
from activities.ledger_check import LedgerCheckActivities
from activities.payouts import PayoutActivities, PayoutSweepActivities
from activities.reminders import ReminderActivities
from activities.sessions import OcpiIdentity, SessionActivities
from activities.settlement import SettlementActivities
from adapters.cpo import CpoAdapter, OcpiCpoAdapter
from adapters.einvoice.issue import validated_xml
from adapters.einvoice.validation import warm_up
from adapters.payout_rails import FileRail, PayoutRail
from adapters.temporal_client import connect_temporal, prometheus_runtime
from adapters.temporal_runner import workflow_runner
from adapters.token_cipher import TokenCipher
from config.settings import Settings, bank_floors, platform_bank_accounts, platform_einvoice_details, platform_party
from domain.collections.direct_debit import checked_creditor_id
from domain.einvoice.issuing import EInvoiceIssuing
from domain.payouts.bank import BankAccount
from domain.vat.treatment import TaxParty
from messages.collections import CollectionRun
from messages.einvoices import EInvoiceDelivery
from messages.invoicing import StatementRun
from messages.ledger_check import LedgerCheck
from messages.payouts import PayoutSweep
from messages.reminders import ReminderRun
from persistence.db import Database
from persistence.vat_rates import vat_rate_table
from services.ocpi.cpo_sync import import_pulled
from simulator.bank import SimulatedBank
from workflows.collections import DAILY_CRON as COLLECTIONS_CRON
from workflows.collections import SCHEDULE_ID as COLLECTIONS_SCHEDULE_ID
from workflows.collections import DailyCollectionWorkflow
from workflows.corrections import SettlementCorrectionWorkflow
from workflows.cpo_sync import CpoSyncWorkflow
from workflows.einvoices import EINVOICE_SCHEDULE_ID, EInvoiceDeliveryWorkflow
from workflows.ledger_check import LEDGER_CHECK_SCHEDULE_ID, LedgerCheckWorkflow
from workflows.payouts import SWEEP_SCHEDULE_ID, SWEEP_WORKFLOW_ID, PayoutSweepWorkflow, PayoutWorkflow
from workflows.reminders import DAILY_CRON as REMINDERS_CRON
from workflows.reminders import REMINDER_SCHEDULE_ID, DailyReminderWorkflow
from workflows.sessions import ChargingSessionWorkflow
from workflows.statements import MONTHLY_CRON, SCHEDULE_ID, MonthlyStatementWorkflow

log = logging.getLogger(__name__)

# Database activities are synchronous and run on these threads, local ones too. Every slot has its thread: an
# activity the SDK has started but that waits for a thread runs its timeout down unseen, and once timed out and
# retried it still runs when it gets one (the SDK cannot cancel an attempt that has no thread yet).
ACTIVITY_THREADS = 32
REMOTE_ACTIVITY_SLOTS = 8  # payouts, statements, reminders, e-invoice delivery, CPO pulls, ledger checks
LOCAL_ACTIVITY_SLOTS = ACTIVITY_THREADS - REMOTE_ACTIVITY_SLOTS  # the sessions' and corrections' steps


def payout_rail(settings: Settings, writes: sessionmaker[Session]) -> PayoutRail:
    if settings.payout_rail == "file":
        return FileRail(settings.payout_outbox, settings.payout_inbox)
    return SimulatedBank(
        writes,
        delay=timedelta(seconds=settings.simulated_bank_delay_s),
        rejections=settings.simulated_bank_rejections,
    )


def build_worker(
    client: Client,
    *,
    task_queue: str,
    writes: sessionmaker[Session],
    cpo_adapter: CpoAdapter,
    http: httpx.AsyncClient,
    identity: OcpiIdentity,
    executor: ThreadPoolExecutor,
    fx_max_age: timedelta,
    platform: TaxParty,
    rail: PayoutRail,
    debtor_accounts: dict[str, BankAccount],
    token_cipher: TokenCipher,
    einvoicing: EInvoiceIssuing,
    floors: Mapping[str, Decimal] | None = None,
    collector: Collector | None = None,
    einvoice_outbox: Path | None = None,
) -> Worker:
    activities = SessionActivities(writes, cpo_adapter, identity, token_cipher)
    payouts = PayoutActivities(writes, rail=rail, debtor_accounts=debtor_accounts, bank_floors=floors)
    sweep = PayoutSweepActivities(writes, client, task_queue=task_queue)
    settlement = SettlementActivities(
        writes, fx_max_age=fx_max_age, platform=platform, vat_rates=vat_rate_table(), einvoicing=einvoicing
    )
    statements = StatementActivities(writes, platform=platform, einvoicing=einvoicing)
    reminders = ReminderActivities(writes, platform=platform)
    corrections = CorrectionActivities(writes, platform=platform, einvoicing=einvoicing)
    einvoice_delivery = EInvoiceDeliveryActivities(writes, outbox=einvoice_outbox)
    books = LedgerCheckActivities(writes)
    our_party = (identity.country_code, identity.party_id)
    collections = None if collector is None else CollectionActivities(collector)
    cpo_sync = CpoSyncActivities(
        writes, http, our_party=our_party, import_pulled=import_pulled, token_cipher=token_cipher
    )
    return Worker(
        client,
        task_queue=task_queue,
        interceptors=[metrics.RetryAlertInterceptor()],
        workflow_runner=workflow_runner(client.data_converter),
        workflows=[
            ChargingSessionWorkflow,
            SettlementCorrectionWorkflow,
            MonthlyStatementWorkflow,
            DailyReminderWorkflow,
            PayoutWorkflow,
            PayoutSweepWorkflow,
            CpoSyncWorkflow,
            EInvoiceDeliveryWorkflow,
            LedgerCheckWorkflow,
            *([] if collections is None else [DailyCollectionWorkflow]),
        ],
        activities=[
            activities.authorise_session,
            activities.send_start_command,
            activities.send_stop_command,
            activities.record_stage,
            activities.clear_session,
            settlement.convert_to_billing_currency,
            settlement.post_settlement,
            settlement.settle_session,
            corrections.reverse_settlement,
            corrections.record_correction,
            statements.issue_due_statements,
            reminders.issue_due_reminders,
            payouts.plan_payout_release,
            payouts.release_payout,
            payouts.send_payout,
            payouts.check_payout,
            sweep.start_payout_workflows,
            cpo_sync.pull_module,
            einvoice_delivery.deliver_einvoices,
            books.check_books,
            *([] if collections is None else [collections.run_collections]),
        ],
        activity_executor=executor,
        max_concurrent_activities=REMOTE_ACTIVITY_SLOTS,
        max_concurrent_local_activities=LOCAL_ACTIVITY_SLOTS,
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


async def _ensure_cron_schedule(
    client: Client, schedule_id: str, action: ScheduleActionStartWorkflow, cron: str, catchup: timedelta
) -> ScheduleHandle:
    """A Schedule starting ``action`` on ``cron`` (created once; an existing one is left as ops may have set it)."""
    schedule = Schedule(
        action=action,
        spec=ScheduleSpec(cron_expressions=[cron]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=catchup),
    )
    try:
        return await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:
        return client.get_schedule_handle(schedule_id)


async def ensure_statement_schedule(
    client: Client, task_queue: str, *, schedule_id: str = SCHEDULE_ID, run: StatementRun | None = None
) -> ScheduleHandle:
    """The monthly statement run's Schedule."""
    action = ScheduleActionStartWorkflow(
        MonthlyStatementWorkflow.run, run or StatementRun(), id=f"{schedule_id}-run", task_queue=task_queue
    )
    return await _ensure_cron_schedule(client, schedule_id, action, MONTHLY_CRON, timedelta(days=7))


async def ensure_reminder_schedule(
    client: Client, task_queue: str, *, schedule_id: str = REMINDER_SCHEDULE_ID, run: ReminderRun | None = None
) -> ScheduleHandle:
    """The daily reminder run's Schedule."""
    action = ScheduleActionStartWorkflow(
        DailyReminderWorkflow.run, run or ReminderRun(), id=f"{schedule_id}-run", task_queue=task_queue
    )
    return await _ensure_cron_schedule(client, schedule_id, action, REMINDERS_CRON, timedelta(days=1))


async def ensure_collection_schedule(
    client: Client, task_queue: str, *, schedule_id: str = COLLECTIONS_SCHEDULE_ID
) -> ScheduleHandle:
    """The daily direct-debit run's Schedule."""
    action = ScheduleActionStartWorkflow(
        DailyCollectionWorkflow.run, CollectionRun(), id=f"{schedule_id}-run", task_queue=task_queue
    )
    return await _ensure_cron_schedule(client, schedule_id, action, COLLECTIONS_CRON, timedelta(days=3))


async def ensure_payout_sweep_schedule(
    client: Client,
    task_queue: str,
    *,
    every: timedelta,
    poll: timedelta,
    schedule_id: str = SWEEP_SCHEDULE_ID,
) -> ScheduleHandle:
    """The Schedule that starts each payee's payout workflow once it has a payable (created once)."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            PayoutSweepWorkflow.run,
            PayoutSweep(poll_seconds=int(poll.total_seconds())),
            id=f"{SWEEP_WORKFLOW_ID}-{schedule_id}",
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        return await client.create_schedule(schedule_id, schedule, trigger_immediately=True)
    except ScheduleAlreadyRunningError:
        return client.get_schedule_handle(schedule_id)


async def _ensure_interval_schedule(
    client: Client, schedule_id: str, action: ScheduleActionStartWorkflow, every: timedelta | None
) -> None:
    """A Schedule starting ``action`` every ``every`` (created once, run at once); None: none, and one made
    before is deleted."""
    if every is None:
        with contextlib.suppress(RPCError):  # there was none
            await client.get_schedule_handle(schedule_id).delete()
        return
    schedule = Schedule(
        action=action,
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(schedule_id, schedule, trigger_immediately=True)


async def ensure_einvoice_schedule(
    client: Client, task_queue: str, *, every: timedelta | None, schedule_id: str = EINVOICE_SCHEDULE_ID
) -> None:
    """The Schedule that writes new e-invoices to the outbox every ``every``; None (no outbox): none."""
    action = ScheduleActionStartWorkflow(
        EInvoiceDeliveryWorkflow.run, EInvoiceDelivery(), id=f"{schedule_id}-run", task_queue=task_queue
    )
    await _ensure_interval_schedule(client, schedule_id, action, every)


async def ensure_ledger_check_schedule(
    client: Client, task_queue: str, *, every: timedelta | None, schedule_id: str = LEDGER_CHECK_SCHEDULE_ID
) -> None:
    """The Schedule that checks the books every ``every`` for ``/metrics``; None (interval 0): none."""
    action = ScheduleActionStartWorkflow(
        LedgerCheckWorkflow.run, LedgerCheck(), id=f"{schedule_id}-run", task_queue=task_queue
    )
    await _ensure_interval_schedule(client, schedule_id, action, every)


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then let running activities finish (graceful shutdown)."""
    token_cipher = TokenCipher.configured(settings.ocpi_token_key)  # without the key, the worker does not start
    database = Database.open(settings.database_url)
    # Metrics only on the ports given: the SDK's (activity failures, latencies) and ours.
    host, sdk_port, our_port = settings.metrics_host, settings.temporal_metrics_port, settings.worker_metrics_port
    runtime = prometheus_runtime(f"{host}:{sdk_port}") if sdk_port else None
    client = await connect_temporal(settings.temporal_address, settings.temporal_namespace, runtime=runtime)
    served = start_http_server(our_port, host, registry=metrics.REGISTRY) if our_port else None
    identity = OcpiIdentity(settings.ocpi_country_code, settings.ocpi_party_id, settings.public_base_url)
    einvoicing = EInvoiceIssuing(platform_einvoice_details(settings), validated_xml)
    # Compiled before the first settlement needs them: seconds that would otherwise be spent holding a series.
    await asyncio.to_thread(warm_up)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0)) as http:
        adapter = OcpiCpoAdapter(http, from_country_code=identity.country_code, from_party_id=identity.party_id)
        with ThreadPoolExecutor(ACTIVITY_THREADS) as executor:
            writes = database.writes
            worker = build_worker(
                client,
                task_queue=settings.task_queue,
                writes=writes,
                cpo_adapter=adapter,
                http=http,
                identity=identity,
                executor=executor,
                fx_max_age=timedelta(days=settings.fx_max_age_days),
                platform=platform_party(settings),
                rail=payout_rail(settings, writes),
                debtor_accounts=platform_bank_accounts(settings),
                token_cipher=token_cipher,
                einvoicing=einvoicing,
                floors=bank_floors(settings),
                collector=Collector(
                    writes,
                    rail=FileRail(settings.collection_outbox, settings.collection_inbox),
                    creditor=platform_bank_accounts(settings)["EUR"],
                    creditor_id=checked_creditor_id(settings.sepa_creditor_id),
                ),
                einvoice_outbox=settings.einvoice_outbox,
            )
            await ensure_statement_schedule(client, settings.task_queue)
            await ensure_collection_schedule(client, settings.task_queue)
            await ensure_reminder_schedule(client, settings.task_queue)
            await ensure_einvoice_schedule(
                client,
                settings.task_queue,
                every=None if settings.einvoice_outbox is None else timedelta(seconds=settings.einvoice_delivery_s),
            )
            every_check = settings.ledger_check_interval_s
            await ensure_ledger_check_schedule(
                client, settings.task_queue, every=timedelta(seconds=every_check) if every_check > 0 else None
            )
            await ensure_payout_sweep_schedule(
                client,
                settings.task_queue,
                every=timedelta(seconds=settings.payout_sweep_s),
                poll=timedelta(seconds=settings.payout_poll_s),
            )
            async with worker:
                log.info("worker polling %s on %s", settings.task_queue, settings.temporal_address)
                for what, port in (("worker", our_port), ("Temporal SDK", sdk_port)):
                    if port:
                        log.info("%s metrics on http://%s:%d/metrics", what, host, port)
                await stop.wait()
                log.info("worker stopping")
    if served is not None:
        served[0].shutdown()
    database.dispose()
