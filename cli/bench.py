"""``networkcore bench``: sessions per second end to end on the embedded default (stages 1-8; its app database
on SQLite, or on a scratch PostgreSQL database, with one or more workers), against
bare Temporal workflows with the same number of activities in the same run, plus the API's latency and
the billable actions per session counted from the histories, and real-time token authorisations/s with
their p99; the ledger's transfers/s, an authorisation's credit hold with and without a long history, and
e-invoices built and validated per second."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import httpx
from rich.console import Console
from rich.table import Table
from temporalio.client import Client
from temporalio.worker import Worker

from adapters.cpo import ocpi_token_header
from adapters.temporal_client import connect_temporal
from cli.actions import LOCAL_ACTIVITY_MARKER, count_actions
from cli.bench_bank import ENTRIES, TARGET_ENTRIES_PER_S, bank_rates
from cli.bench_einvoice import EInvoiceRates, einvoice_rates
from cli.bench_guard import GuardFigures, RunShape, cpu_ratio, limits, load_baseline, regressions
from cli.bench_ledger import (
    BATCH,
    HISTORY_HOLDS,
    HISTORY_POSTINGS,
    TARGET_HISTORY_RATIO,
    TARGET_TRANSFERS_PER_S,
    HoldLatency,
    hold_latencies,
    ledger_rates,
    percentile,
    scratch_postgres,
)
from cli.bench_workflows import REPORTS, BareLocalWorkflow, BareRemoteWorkflow, BareSessionWorkflow, bare_step
from cli.devstack import SIMULATOR_STATE, DevStack
from cli.ledger import run_check
from cli.load_refusals import REFUSED_FOR_LOAD, retry_after_s
from cli.processes import cpu_seconds, free_port
from cli.seed import PARTNERS
from cli.session_timeline import MILESTONES, session_milestones_ms
from cli.temporal_admin import task_queue_pollers
from config.settings import Settings
from domain.sessions.lifecycle import SessionStage, is_final
from messages.workflow_ids import payout_workflow_id, session_workflow_id
from persistence import payouts, session_bench
from persistence.db import backend_name, open_database
from services.payouts import release_now
from simulator.catalogue import CPOS, all_evse_ids
from simulator.config import SimulatorConfig
from simulator.connections import ConnectionStore
from simulator.engine import PARKING

# Local activities a happy-path session runs: authorise (with the credit hold), start command, and stages 5-8
# with the final stage's record (settle_session); the bare workflows run as many activities.
SESSION_ACTIVITIES = 3
TARGET_ACTIONS = 12
TARGET_POST_P99_MS = 50.0
# Real-time authorisations (OCPI Tokens): a CPO asks while the driver waits at the charger.
AUTHORISATIONS = 200
TARGET_AUTHORISE_P99_MS = 100.0
# Past capacity: sessions arrive at OVERLOAD_FACTOR x the measured capacity for OVERLOAD_S. What the platform
# cannot take must be refused at once (429/503 with Retry-After), and what it takes must not wait seconds.
OVERLOAD_FACTOR = 3.0
OVERLOAD_S = 20.0
# How often the closed-loop clients look for their sessions' final stages. A client starts its next session
# only when it sees the last one end, so half this interval is added to every session's time: at 0.5 s it
# cost a quarter of the sessions/s at 10 clients, a cost of the bench, not of the platform.
FINALS_POLL_S = 0.05
# The simulated CPO charges each session for CHARGE_S, then the car parks (4 minutes compressed by the
# simulator's time scale) before the CPO ends it: time a closed-loop client waits in which the platform does
# nothing. At 10 clients it caps sessions/s at 10 / 0.6 s even with no cost at all.
CHARGE_S = 0.2
SIMULATED_CPO_WAIT_MS = 1000 * (
    CHARGE_S + PARKING.total_seconds() / float(SimulatorConfig.model_fields["time_scale"].default)
)


def _settings(workdir: Path, database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        temporal_address=f"127.0.0.1:{free_port()}",
        temporal_ui_port=free_port(),
        temporal_db_file=workdir / "temporal.db",
        api_port=(api_port := free_port()),
        public_base_url=f"http://127.0.0.1:{api_port}",
        simulator_port=free_port(),
        # The bench measures the platform's throughput, not the partners' and CPOs' rate limits.
        session_starts_per_s=10_000,
        session_starts_burst=10_000,
        cpo_messages_per_s=10_000,
        cpo_messages_burst=10_000,
    )


@dataclass(frozen=True, slots=True)
class _Sessions:
    elapsed_s: float
    post_ms: list[float]  # every answer's, refusals' too
    ids: list[str]
    finals: Counter[str]
    refused: Counter[int]  # 429s and 503s by status
    refused_ms: list[float]
    refused_without_retry_after: int


class _Finals:
    """Waits for sessions to reach a final stage by reading the database every ``FINALS_POLL_S`` for all of
    them at once: waiting costs the API and Temporal nothing, so their CPU per session is the sessions' own."""

    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._waiting: dict[str, asyncio.Future[str]] = {}

    async def final_stage(self, session_id: str) -> str:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting[session_id] = future
        return await future

    async def watch(self) -> None:
        try:
            with open_database(self._database_url) as database:

                def read(ids: list[str]) -> dict[str, str]:
                    with database.reads() as db:
                        return session_bench.stages(db, ids)

                while True:
                    await asyncio.sleep(FINALS_POLL_S)
                    if self._waiting:
                        for session_id, stage in (await asyncio.to_thread(read, list(self._waiting))).items():
                            if is_final(SessionStage(stage)):
                                self._waiting.pop(session_id).set_result(stage)
        except Exception as error:  # the sessions waiting would never hear: they fail with it
            for waiting in self._waiting.values():
                waiting.set_exception(error)
            raise


async def _sessions(
    api_url: str, finals_of: _Finals, count: int, *, concurrency: int | None = None, per_s: float | None = None
) -> _Sessions:
    """``count`` sessions started by a demo partner: ``concurrency`` in flight at a time (closed loop), or
    arriving at ``per_s`` whatever the answers (open loop, as partners' drivers do)."""
    partner = next(p for p in PARTNERS if p.active)
    evses = all_evse_ids()
    post_ms: list[float] = []
    ids: list[str] = []
    finals: Counter[str] = Counter()
    refused: Counter[int] = Counter()
    refused_ms: list[float] = []
    missing_retry_after: list[bool] = []
    gate = asyncio.Semaphore(concurrency or count)
    connections = (concurrency or 100) + 10
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=api_url, timeout=60, limits=limits) as http:
        headers = {"Authorization": f"Bearer {partner.api_key}"}

        async def one(index: int) -> None:
            key = f"bench-{uuid.uuid4()}"
            async with gate:
                while True:
                    began = time.perf_counter()
                    reply = await http.post(
                        "/v1/sessions",
                        json={"evse_id": evses[index % len(evses)], "driver_reference": f"bench-{index}"},
                        headers={**headers, "Idempotency-Key": key},
                    )
                    post_ms.append((time.perf_counter() - began) * 1000)
                    if reply.status_code not in REFUSED_FOR_LOAD:
                        break
                    refused[reply.status_code] += 1
                    refused_ms.append(post_ms[-1])
                    missing_retry_after.append("Retry-After" not in reply.headers)
                    if per_s is not None:
                        return  # a driver turned away goes away; a closed-loop client waits as told and retries
                    await asyncio.sleep(retry_after_s(reply))
                reply.raise_for_status()
                session_id = reply.json()["id"]
                ids.append(session_id)
                finals[await finals_of.final_stage(session_id)] += 1

        started = time.perf_counter()
        if per_s is None:
            await asyncio.gather(*(one(i) for i in range(count)))
        else:
            arrivals = []
            for i in range(count):
                arrivals.append(asyncio.create_task(one(i)))
                await asyncio.sleep(max(0.0, started + (i + 1) / per_s - time.perf_counter()))
            await asyncio.gather(*arrivals)
        return _Sessions(
            time.perf_counter() - started, post_ms, ids, finals, refused, refused_ms, sum(missing_retry_after)
        )


def _cpu(stack: DevStack) -> dict[str, float]:
    """CPU seconds so far of each role's process trees, summed over its processes (several workers)."""
    return {role: sum(cpu_seconds(process.pid) for process in processes) for role, processes in stack.roles.items()}


@dataclass(frozen=True, slots=True)
class _Authorisations:
    capacity_per_s: float  # with ``concurrency`` asking at once
    steady_per_s: float  # the rate the latencies were measured at: half the capacity
    steady_ms: list[float]
    answers: Counter[str]


async def _authorisations(stack: DevStack, count: int, concurrency: int) -> _Authorisations:
    """A demo partner's RFID card, authorised by a simulated CPO at one of its EVSEs over HTTP, as its token C
    (from the simulator's state file): each one decides, holds the session cap and records itself
    (``services/ocpi/tokens.py``). First ``count`` at once, ``concurrency`` at a time, for the capacity;
    then ``count`` more arriving at a steady half of it (drivers tap when they arrive, not when the
    previous answer came), whose latencies are the ones a driver waits."""
    partner = next(p for p in PARTNERS if p.active)
    cpo = CPOS[0]
    location = cpo.locations[0]
    token_c = ConnectionStore(stack.log_dir.parent / SIMULATOR_STATE.name).registered(cpo.party).token_c
    assert token_c is not None, "the simulator registered its CPOs at start"
    uid = uuid.uuid4().hex[:14].upper()
    answers: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=concurrency + 10, max_keepalive_connections=concurrency + 10)
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60, limits=limits) as http:
        registered = await http.post(
            "/v1/tokens",
            json={"uid": uid, "type": "RFID", "contract_id": "NLNWCC12345678", "issuer": "bench", "whitelist": "NEVER"},
            headers={"Authorization": f"Bearer {partner.api_key}"},
        )
        registered.raise_for_status()
        where = {"location_id": location.id, "evse_uids": [location.evses[0].uid]}

        async def one(latency_ms: list[float]) -> None:
            began = time.perf_counter()
            reply = await http.post(
                f"/ocpi/emsp/2.2.1/tokens/{uid}/authorize",
                json=where,
                headers={"Authorization": ocpi_token_header(token_c)},
            )
            latency_ms.append((time.perf_counter() - began) * 1000)
            answers[reply.json()["data"]["allowed"]] += 1

        gate = asyncio.Semaphore(concurrency)

        async def gated(latency_ms: list[float]) -> None:
            async with gate:
                await one(latency_ms)

        started = time.perf_counter()
        await asyncio.gather(*(gated([]) for _ in range(count)))
        capacity = count / (time.perf_counter() - started)
        steady = capacity / 2
        steady_ms: list[float] = []
        arrivals = []
        steady_began = time.perf_counter()
        for i in range(count):
            arrivals.append(asyncio.create_task(one(steady_ms)))
            await asyncio.sleep(max(0.0, steady_began + (i + 1) / steady - time.perf_counter()))
        await asyncio.gather(*arrivals)
    return _Authorisations(capacity, steady, steady_ms, answers)


@dataclass(frozen=True, slots=True)
class _BareRun:
    """Bare workflows at the sessions' concurrency: their rate, their billable actions, and the CPU per
    workflow of the bench process (their client and their worker: what the SDK itself costs) and of Temporal."""

    per_s: float
    actions: float  # mean over the first ``ACTIONS_SAMPLE``: whether a wait needs its timer depends on the load
    sdk_cpu_ms: float
    temporal_cpu_ms: float

    def cpu(self) -> dict[str, float]:
        return {"sdk": self.sdk_cpu_ms, "temporal": self.temporal_cpu_ms}


BareWorkflow = type[BareLocalWorkflow] | type[BareRemoteWorkflow] | type[BareSessionWorkflow]
ACTIONS_SAMPLE = 10
REPORT_GAP_S = 0.05  # before each of a bare session's reports: a CPO's come while the session waits for them


async def _bare(stack: DevStack, client: Client, workflow: BareWorkflow, count: int, concurrency: int) -> _BareRun:
    task_queue = f"bench-{uuid.uuid4()}"
    gate = asyncio.Semaphore(concurrency)
    with ThreadPoolExecutor(8) as executor:
        async with Worker(
            client, task_queue=task_queue, workflows=[workflow], activities=[bare_step], activity_executor=executor
        ):

            async def one(index: int) -> None:
                async with gate:
                    handle = await client.start_workflow(
                        workflow.run, SESSION_ACTIVITIES, id=f"bare-{task_queue}-{index}", task_queue=task_queue
                    )
                    if workflow is BareSessionWorkflow:
                        for _ in range(REPORTS):
                            await asyncio.sleep(REPORT_GAP_S)
                            await handle.signal(BareSessionWorkflow.reported)
                    await handle.result()

            temporal_before, sdk_before = _cpu(stack)["temporal"], time.process_time()
            started = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(count)))
            elapsed_s = time.perf_counter() - started
            temporal_s, sdk_s = _cpu(stack)["temporal"] - temporal_before, time.process_time() - sdk_before
    sample = min(count, ACTIONS_SAMPLE)
    histories = [await client.get_workflow_handle(f"bare-{task_queue}-{i}").fetch_history() for i in range(sample)]
    actions = sum(sum(count_actions(history).values()) for history in histories) / sample
    return _BareRun(count / elapsed_s, actions, sdk_s * 1000 / count, temporal_s * 1000 / count)


@dataclass(frozen=True, slots=True)
class _Histories:
    """What the sessions' workflow histories say: billable actions, and when each step happened."""

    actions: list[int]  # per session
    kinds: Counter[str]  # summed over the sessions
    milestones_ms: dict[str, list[float]]  # per milestone, over the sessions that reached it

    def milestones_p50_ms(self) -> dict[str, float]:
        return {milestone: statistics.median(times) for milestone, times in self.milestones_ms.items()}


async def _histories(client: Client, ids: list[str]) -> _Histories:
    totals: list[int] = []
    kinds: Counter[str] = Counter()
    milestones_ms: dict[str, list[float]] = {}
    local_activities = 0
    for session_id in ids:
        history = await client.get_workflow_handle(session_workflow_id(session_id)).fetch_history()
        actions = count_actions(history)
        totals.append(sum(actions.values()))
        kinds.update(actions)
        local_activities = max(
            local_activities,
            sum(1 for e in history.events if e.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER),
        )
        for milestone, at_ms in session_milestones_ms(history.events).items():
            milestones_ms.setdefault(milestone, []).append(at_ms)
    assert local_activities == SESSION_ACTIVITIES, f"sessions ran {local_activities} local activities"
    return _Histories(totals, kinds, milestones_ms)


async def _payout_actions(client: Client, settings: Settings) -> tuple[int, int]:
    """Stage 9's cost: every payee released once (as a daily schedule would), then the billable actions of
    all payout workflows counted from their histories; and the number of batches paid."""
    with open_database(settings.database_url) as database:
        released = await release_now(
            client, database.writes, task_queue=settings.task_queue, poll_seconds=settings.payout_poll_s
        )
        total = 0
        for done in released:
            history = await client.get_workflow_handle(payout_workflow_id(done.payee, done.currency)).fetch_history()
            total += sum(count_actions(history).values())
        with database.reads() as db:
            batches = len(payouts.all_batches(db))
    return total, batches


@asynccontextmanager
async def _watched(database_url: str) -> AsyncIterator[_Finals]:
    finals_of = _Finals(database_url)
    watcher = asyncio.create_task(finals_of.watch())
    try:
        yield finals_of
    finally:
        watcher.cancel()


async def _saturated(
    stack: DevStack, client: Client, finals_of: _Finals, sessions: int, concurrency: int
) -> tuple[_Sessions, dict[str, Any]]:
    """``sessions`` with ``concurrency`` at a time: their rate, the CPU each role spent on them and their billable
    actions (what the CI guard checks)."""
    before = _cpu(stack)
    saturated = await _sessions(stack.api_url, finals_of, sessions, concurrency=concurrency)
    after = _cpu(stack)
    histories = await _histories(client, saturated.ids)
    return saturated, {
        "sessions": sessions,
        "concurrency": concurrency,
        "finals": dict(saturated.finals),
        "started": len(saturated.ids),
        "sessions_per_s": sessions / saturated.elapsed_s,
        "cpu_ms_per_session": {role: (after[role] - before[role]) * 1000 / sessions for role in sorted(after)},
        "actions_per_session_mean": statistics.mean(histories.actions),
        "actions_per_session_max": max(histories.actions),
        "actions_by_kind": {k: round(v / len(saturated.ids), 2) for k, v in sorted(histories.kinds.items())},
        "session_milestones_p50_ms": histories.milestones_p50_ms(),
    }


async def _measure_guarded(stack: DevStack, sessions: int, concurrency: int) -> dict[str, Any]:
    client = await connect_temporal(stack.settings.temporal_address)
    async with _watched(stack.settings.database_url) as finals_of:
        _, figures = await _saturated(stack, client, finals_of, sessions, concurrency)
    return figures


async def _measure(stack: DevStack, sessions: int, concurrency: int) -> dict[str, Any]:
    client = await connect_temporal(stack.settings.temporal_address)
    async with _watched(stack.settings.database_url) as finals_of:
        saturated, figures = await _saturated(stack, client, finals_of, sessions, concurrency)
        sessions_per_s = figures["sessions_per_s"]
        steady = await _sessions(stack.api_url, finals_of, max(1, sessions // 2), per_s=sessions_per_s / 2)
        overload_per_s = OVERLOAD_FACTOR * sessions_per_s
        overload = await _sessions(stack.api_url, finals_of, round(OVERLOAD_S * overload_per_s), per_s=overload_per_s)
    with open_database(stack.settings.database_url) as database, database.reads() as db:
        cdr_to_settled_ms = session_bench.cdr_to_settled_ms(db, saturated.ids)
    remote = await _bare(stack, client, BareRemoteWorkflow, sessions, concurrency)
    local = await _bare(stack, client, BareLocalWorkflow, sessions, concurrency)
    bare_session = await _bare(stack, client, BareSessionWorkflow, sessions, concurrency)
    authorisations = await _authorisations(stack, AUTHORISATIONS, concurrency)
    payout_actions, batches = await _payout_actions(client, stack.settings)
    return figures | {
        "finals": dict(saturated.finals + steady.finals + overload.finals),
        "started": len(saturated.ids) + len(steady.ids) + len(overload.ids),
        "bare_remote_per_s": remote.per_s,
        "bare_local_per_s": local.per_s,
        "bare_session_per_s": bare_session.per_s,
        "bare_session_actions": bare_session.actions,
        "bare_cpu_ms_per_workflow": {"remote": remote.cpu(), "local": local.cpu(), "session": bare_session.cpu()},
        "post_p50_ms_saturated": statistics.median(saturated.post_ms),
        "post_p99_ms_saturated": percentile(saturated.post_ms, 0.99),
        "post_steady_per_s": sessions_per_s / 2,
        "post_p50_ms_steady": statistics.median(steady.post_ms),
        "post_p99_ms_steady": percentile(steady.post_ms, 0.99),
        "post_overload_per_s": overload_per_s,
        "post_p50_ms_overload": statistics.median(overload.post_ms),
        "post_p99_ms_overload": percentile(overload.post_ms, 0.99),
        "post_overload_answers": {"202": len(overload.ids)} | {str(k): n for k, n in sorted(overload.refused.items())},
        "post_overload_refused_p99_ms": percentile(overload.refused_ms, 0.99) if overload.refused_ms else None,
        "post_overload_refused_without_retry_after": overload.refused_without_retry_after,
        "cdr_to_settled_p50_ms": statistics.median(cdr_to_settled_ms),
        "payout_actions_per_session": payout_actions / len(saturated.ids),
        "payout_batches": batches,
        "authorised_per_s": authorisations.capacity_per_s,
        "authorise_steady_per_s": authorisations.steady_per_s,
        "authorise_p50_ms": statistics.median(authorisations.steady_ms),
        "authorise_p99_ms": percentile(authorisations.steady_ms, 0.99),
        "authorised": dict(authorisations.answers),
    }


async def _workers_polling(settings: Settings, workers: int, timeout_s: float = 120.0) -> None:
    """Until every worker polls: a worker compiles the e-invoice rules before it polls, which would otherwise
    fall into the first sessions' time and CPU."""
    deadline = time.monotonic() + timeout_s
    while await task_queue_pollers(settings) < workers:
        if time.monotonic() > deadline:
            raise SystemExit(f"{workers} workers did not all poll the task queue within {timeout_s:.0f} s")
        await asyncio.sleep(0.5)


@contextmanager
def _app_database(workdir: Path, postgres_server_url: str | None) -> Iterator[str]:
    """A SQLite file in the bench's folder; or, given a PostgreSQL server, a scratch database on it, dropped
    after the run (the database named in the URL is only connected to, to create and drop it)."""
    if postgres_server_url is None:
        yield f"sqlite:///{workdir / 'networkcore.db'}"
        return
    if backend_name(postgres_server_url) != "postgresql":
        raise SystemExit("--database-url takes a PostgreSQL server's URL; without it the bench runs on SQLite")
    with scratch_postgres(postgres_server_url) as url:
        if url is None:
            raise SystemExit("no PostgreSQL server answers at the --database-url given")
        yield url


Measure = Callable[[DevStack, int, int], Coroutine[Any, Any, dict[str, Any]]]


def _end_to_end(
    measure: Measure, *, sessions: int, concurrency: int, workers: int, postgres_server_url: str | None, out: TextIO
) -> dict[str, Any]:
    """The stack started on a fresh database, measured, stopped; then the books checked on that database."""
    console = Console(file=out)
    with (
        tempfile.TemporaryDirectory(prefix="networkcore-bench-") as workdir,
        _app_database(Path(workdir), postgres_server_url) as database_url,
    ):
        settings = _settings(Path(workdir), database_url)
        stack = DevStack(
            settings,
            charge_duration_s=CHARGE_S,
            patch_interval_s=0.5,
            log_dir=Path(workdir) / "logs",
            report=console.print,  # with --json, stdout is the JSON object's alone
            workers=workers,
        )
        database = backend_name(database_url)
        console.print(f"Embedded stack in {workdir}: Temporal on SQLite, app DB on {database}, {workers} worker(s)")
        stack.start()
        try:
            asyncio.run(_workers_polling(stack.settings, workers))
            result = asyncio.run(measure(stack, sessions, concurrency))
        finally:
            stack.stop()
        with open_database(database_url) as opened:
            books_ok = run_check(opened.reads, out=out) == 0
    return result | {"database": database, "workers": workers, "books_ok": books_ok}


def _all_settled(result: dict[str, Any]) -> bool:
    """Every session started settled (a start refused for load started none)."""
    return bool(result["finals"] == {"SETTLED": result["started"]})


def run_guard(baseline_file: Path, *, sessions: int, concurrency: int, workers: int, database_url: str | None) -> int:
    """CI's guard: the saturated sessions only, their figures against the recorded baseline; 1 on a regression."""
    baseline = load_baseline(baseline_file)
    result = _end_to_end(
        _measure_guarded,
        sessions=sessions,
        concurrency=concurrency,
        workers=workers,
        postgres_server_url=database_url,
        out=sys.stdout,
    )
    figures = GuardFigures(
        shape=RunShape(sessions, concurrency, workers, result["database"]),
        actions_per_session_max=result["actions_per_session_max"],
        cpu_ratio=cpu_ratio(result["cpu_ms_per_session"]),
        settled=_all_settled(result),
        books_ok=result["books_ok"],
    )
    print(f"bench guard against {baseline_file} (commit {baseline.commit}, {baseline.machine}):")
    print(f"  {figures.shape.shown()}: {result['sessions_per_s']:.2f} sessions/s (not checked)")
    cpu = ", ".join(f"{role} {ms:.0f}" for role, ms in result["cpu_ms_per_session"].items())
    print(f"  CPU ms per session: {cpu}")
    for limit in limits(figures, baseline):
        print(f"  {limit.shown()}: {'EXCEEDED' if limit.exceeded else 'ok'}")
    failures = regressions(figures, baseline)
    for failure in failures:
        print(f"bench guard FAILED: {failure}")
    if not failures:
        print("bench guard: OK")
    return 1 if failures else 0


TARGET_RATED_PER_S = 20_000
RATING_ROUNDS = 20_000


def _rating_rate() -> float:
    """CDRs rated per second on this one core: a typical three-period CDR (charging split at a
    time-of-day boundary, then parking) against the time-of-day tariff with steps."""
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from domain.tariffs.model import parse_tariff
    from domain.tariffs.rating import RatingPeriod, rate
    from simulator.catalogue import CPOS

    tariff = parse_tariff(next(c for c in CPOS if c.country_code == "DE").tariff)
    start = datetime(2026, 6, 1, 16, 40, tzinfo=UTC)
    periods = [
        RatingPeriod(start, (("ENERGY", Decimal("11.3")), ("TIME", Decimal("0.3333")))),
        RatingPeriod(start + timedelta(minutes=20), (("ENERGY", Decimal("14.9")), ("TIME", Decimal("0.5")))),
        RatingPeriod(start + timedelta(minutes=50), (("PARKING_TIME", Decimal("0.25")),)),
    ]
    zone = ZoneInfo("Europe/Berlin")
    end = start + timedelta(minutes=65)
    began = time.perf_counter()
    for _ in range(RATING_ROUNDS):
        rate(tariff, periods, start=start, end=end, time_zone=zone)
    return RATING_ROUNDS / (time.perf_counter() - began)


TARGET_RATIO_TO_BARE = 0.6
TARGET_CDR_TO_SETTLED_MS = 1000.0


def run_bench(
    *,
    sessions: int,
    concurrency: int,
    workers: int = 1,
    database_url: str | None = None,
    end_to_end_only: bool = False,
    as_json: bool = False,
) -> int:
    """The table for people; with ``as_json`` one JSON object on stdout (progress on stderr) instead. The end to
    end part runs on a scratch database of the PostgreSQL server ``database_url`` names, else on SQLite, with
    ``workers`` worker processes; ``end_to_end_only`` leaves out the benchmarks of single components (rating,
    e-invoices, ledger, holds, bank statements), which neither of those changes."""
    out = sys.stderr if as_json else sys.stdout
    console = Console(file=out)
    result = _end_to_end(
        _measure,
        sessions=sessions,
        concurrency=concurrency,
        workers=workers,
        postgres_server_url=database_url,
        out=out,
    )
    succeeded = _all_settled(result) and result["books_ok"]
    components = None if end_to_end_only else _Components.measured()
    if components is not None:
        result |= components.as_json()
    if as_json:
        print(json.dumps(result, sort_keys=True))
        return 0 if succeeded else 1
    table = Table(
        title=f"networkcore bench: {sessions} sessions, {concurrency} at a time, {workers} worker(s), app DB on "
        f"{result['database']}, 2 cores shared by everything"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    _end_to_end_rows(table, result)
    if components is not None:
        components.add_rows(table)
    console.print(table)
    console.print(f"actions per session by kind: {result['actions_by_kind']}")
    console.print(f"final states: {result['finals']}")
    console.print(f"authorisation answers: {result['authorised']}")
    return 0 if succeeded else 1


def _end_to_end_rows(table: Table, result: dict[str, Any]) -> None:
    sessions, concurrency = result["sessions"], result["concurrency"]
    rate, remote, local = result["sessions_per_s"], result["bare_remote_per_s"], result["bare_local_per_s"]
    table.add_row("sessions/s, stages 1-8 end to end (API + OCPI + simulator)", f"{rate:.1f}", "")
    table.add_row(f"bare workflows/s, {SESSION_ACTIVITIES} remote activities", f"{remote:.1f}", "")
    table.add_row(f"bare workflows/s, {SESSION_ACTIVITIES} local activities", f"{local:.1f}", "")
    table.add_row("ratio sessions / bare (remote activities)", f"{rate / remote:.2f}", f">= {TARGET_RATIO_TO_BARE:.2f}")
    table.add_row("ratio sessions / bare (local activities)", f"{rate / local:.2f}", "")
    cpu = result["cpu_ms_per_session"]
    for role, ms in cpu.items():
        table.add_row(f"CPU ms per session: {role} (its process trees, over the {sessions} sessions)", f"{ms:.0f}", "")
    ours = cpu.get("api", 0.0) + cpu.get("worker", 0.0)
    table.add_row("CPU ms per session: API + worker", f"{ours:.0f}", f"<= {cpu.get('temporal', 0.0):.0f} (Temporal's)")
    table.add_row(
        f"bare workflows/s, a session's billable actions ({result['bare_session_actions']:.1f}) and nothing in them",
        f"{result['bare_session_per_s']:.1f}",
        "",
    )
    for kind, bare in result["bare_cpu_ms_per_workflow"].items():
        table.add_row(
            f"CPU ms per bare workflow ({kind}): the SDK's client and worker / Temporal",
            f"{bare['sdk']:.1f} / {bare['temporal']:.1f}",
            "",
        )
    table.add_row(
        f"POST /v1/sessions p50 / p99 ms ({concurrency} clients, saturated)",
        f"{result['post_p50_ms_saturated']:.1f} / {result['post_p99_ms_saturated']:.1f}",
        "",
    )
    table.add_row(
        f"POST /v1/sessions p50 / p99 ms (steady {result['post_steady_per_s']:.1f}/s, half of capacity)",
        f"{result['post_p50_ms_steady']:.1f} / {result['post_p99_ms_steady']:.1f}",
        f"p99 <= {TARGET_POST_P99_MS:.0f}",
    )
    overload_per_s = result["post_overload_per_s"]
    overload = f"arriving at {overload_per_s:.1f}/s, {OVERLOAD_FACTOR:.0f}x capacity, for {OVERLOAD_S:.0f} s"
    table.add_row(
        f"POST /v1/sessions p50 / p99 ms, {overload}",
        f"{result['post_p50_ms_overload']:.1f} / {result['post_p99_ms_overload']:.1f}",
        "",
    )
    refused_p99 = result["post_overload_refused_p99_ms"]
    table.add_row(
        f"POST /v1/sessions answers {overload}; refusals' p99 ms",
        f"{result['post_overload_answers']}; {'-' if refused_p99 is None else f'{refused_p99:.1f}'}",
        f"{result['post_overload_refused_without_retry_after']} without Retry-After",
    )
    table.add_row(
        "CDR received to SETTLED p50 ms", f"{result['cdr_to_settled_p50_ms']:.0f}", f"<= {TARGET_CDR_TO_SETTLED_MS:.0f}"
    )
    steps = result["session_milestones_p50_ms"]
    table.add_row(
        f"a saturated session's steps, p50 ms after its start ({SIMULATED_CPO_WAIT_MS:.0f} ms are the CPO's)",
        " / ".join(f"{steps[m]:.0f}" for m in MILESTONES if m in steps),
        " / ".join(m for m in MILESTONES if m in steps),
    )
    table.add_row(
        f"real-time token authorisations/s ({concurrency} at a time, each with its credit hold)",
        f"{result['authorised_per_s']:.1f}",
        "",
    )
    steady = f"at a steady {result['authorise_steady_per_s']:.0f}/s, half of that"
    table.add_row(f"real-time token authorisation p50 ms ({steady})", f"{result['authorise_p50_ms']:.1f}", "")
    table.add_row(
        f"real-time token authorisation p99 ms ({steady})",
        f"{result['authorise_p99_ms']:.1f}",
        f"<= {TARGET_AUTHORISE_P99_MS:.0f}",
    )
    table.add_row(
        "billable actions per session, mean", f"{result['actions_per_session_mean']:.2f}", f"<= {TARGET_ACTIONS}"
    )
    table.add_row("billable actions per session, max", str(result["actions_per_session_max"]), f"<= {TARGET_ACTIONS}")
    table.add_row(
        f"payout actions per session, amortised ({result['payout_batches']} batches, every payee released once)",
        f"{result['payout_actions_per_session']:.2f}",
        "",
    )
    table.add_row("ledger check on the app database afterwards", "OK" if result["books_ok"] else "FAILED", "OK")


@dataclass(frozen=True, slots=True)
class _Components:
    """The benchmarks of single components, each on databases of its own."""

    rated_per_s: float
    einvoices: EInvoiceRates
    transfers_per_s: dict[str, float | None]
    hold_ms: dict[str, HoldLatency | None]
    statement_entries_per_s: dict[str, float | None]

    @staticmethod
    def measured() -> _Components:
        rated_per_s = _rating_rate()
        einvoices = einvoice_rates()
        with tempfile.TemporaryDirectory(prefix="networkcore-ledger-bench-") as workdir:
            transfers = ledger_rates(Path(workdir))
            hold_ms = hold_latencies(Path(workdir))
            statement_entries = bank_rates(Path(workdir))
        return _Components(rated_per_s, einvoices, transfers, hold_ms, statement_entries)

    def as_json(self) -> dict[str, Any]:
        return {
            "rated_per_s": self.rated_per_s,
            "einvoices_per_s": self.einvoices.per_second,
            "einvoice_compile_s": self.einvoices.compile_s,
            "ledger_transfers_per_s": self.transfers_per_s,
            "statement_entries_per_s": self.statement_entries_per_s,
            "credit_hold_ms": {
                backend: None if latency is None else latency.as_json() for backend, latency in self.hold_ms.items()
            },
        }

    def add_rows(self, table: Table) -> None:
        table.add_row(
            "CDRs rated per second, one core (3-period CDR)", f"{self.rated_per_s:,.0f}", f">= {TARGET_RATED_PER_S:,}"
        )
        for document, documents_per_s in self.einvoices.per_second.items():
            table.add_row(
                f"e-invoices built and validated per second, one thread: {document} "
                f"({1000 / documents_per_s:.0f} ms each)",
                f"{documents_per_s:,.1f}",
                "",
            )
        table.add_row(
            "e-invoice rules compiled once per process (every XSD and stylesheet), s",
            f"{self.einvoices.compile_s:.1f}",
            "",
        )
        for backend, per_s in self.transfers_per_s.items():
            table.add_row(
                f"ledger: balanced transfers/s on {backend} (batches of {BATCH}, 8 postings)",
                "not reachable" if per_s is None else f"{per_s:,.0f}",
                f">= {TARGET_TRANSFERS_PER_S:,}" if backend == "postgresql" else "",
            )
        history = f"{HISTORY_POSTINGS:,} postings and {HISTORY_HOLDS:,} settled holds on the partner's accounts"
        for backend, latency in self.hold_ms.items():
            for name, share in (("p50", 0.5), ("p99", 0.99)):
                table.add_row(
                    f"credit hold at authorisation {name} ms on {backend}: empty ledger / {history}",
                    "not reachable" if latency is None else latency.shown(share),
                    f"<= x{TARGET_HISTORY_RATIO:.2f}",
                )
        for backend, per_s in self.statement_entries_per_s.items():
            table.add_row(
                f"bank statement entries matched and booked/s on {backend} (one camt.053 of {ENTRIES:,} payments)",
                "not reachable" if per_s is None else f"{per_s:,.0f}",
                f">= {TARGET_ENTRIES_PER_S:,}" if backend == "postgresql" else "",
            )
