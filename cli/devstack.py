"""The embedded stack for a fresh machine: Temporal dev server (SQLite file, WAL, our search attributes,
Web UI), migrations, our side of the demo network, then the worker, the API and the CPO simulator as child
processes; then each demo CPO not yet registered is onboarded as ops would (``invite-cpo`` with its company
details and terms) and registers over OCPI with its token A, publishing its tariffs and locations.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import httpx

from adapters.token_cipher import new_token_key
from cli.processes import http_ok, port_open, python_module, spawn, stop, venv_binary, wait_until
from cli.seed import seed_database
from cli.temporal_admin import register_search_attributes
from config.settings import DATA_DIR, Settings
from domain.partners import FieldInvalid
from persistence.db import SessionFactory, open_database
from persistence.migrate import upgrade
from services import cpo_onboarding
from services.cpo_onboarding import CpoCompany, CpoTerms
from services.fx_rates import latest_rate_publication
from services.ocpi.credentials import VERSIONS_PATH
from simulator.catalogue import COMMISSION, CPOS, DemoCpo, simulator_config
from workflows.search_attributes import cli_flags

LOG_DIR = DATA_DIR / "logs"
DEV_RATE_GRACE_DAYS = 5
SIMULATOR_CONFIG = DATA_DIR / "simulator.json"
SIMULATOR_STATE = DATA_DIR / "simulator-state.json"  # the simulated CPOs' OCPI credentials
REGISTRATION_TIMEOUT_S = 120.0


def demo_cpo_onboarding(cpo: DemoCpo) -> tuple[CpoCompany, CpoTerms]:
    """What ops type into ``invite-cpo`` for a demo CPO."""
    payout = cpo.payout
    minimum = payout.get("minimum", {}).get(cpo.currency)
    company = CpoCompany(
        vat_id=cpo.vat_id, address=cpo.address, payout_currency=cpo.currency, iban=cpo.iban, bic=cpo.bic
    )
    terms = CpoTerms(
        commission_percent=Decimal(COMMISSION["percent"]),
        commission_minimum=Decimal(COMMISSION["minimum"]),
        commission_maximum=Decimal(COMMISSION["maximum"]),
        payout_frequency=payout.get("schedule"),
        payout_time=payout.get("time"),
        payout_weekday=payout.get("weekday"),
        payout_day=payout.get("day"),
        payout_minimum=None if minimum is None else Decimal(minimum),
    )
    return company, terms


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def register_demo_cpos(writes: SessionFactory, simulator_url: str, versions_url: str, *, now: datetime) -> list[str]:
    """Each demo CPO the database does not hold as registered: invited, then registered by the simulator with
    its token A (which publishes its tariffs and locations). One line per CPO, saying what we hold of it."""
    lines = []
    with httpx.Client(base_url=simulator_url, timeout=REGISTRATION_TIMEOUT_S) as simulator:
        simulated = simulator.get("/admin/cpos").raise_for_status().json()
        for cpo in CPOS:
            name = f"{cpo.country_code}*{cpo.party_id}"
            with writes() as db:
                held = cpo_onboarding.registered_catalogue(db, cpo.id)
            # A simulator that lost its credentials (its state file) is given a new token A, as ops would
            # re-issue one to a CPO that lost our answer (ocpi-connect.md §3.2).
            lost = held.registered and not simulated[cpo.party]["registered"]
            if lost or not held.registered:
                company, terms = demo_cpo_onboarding(cpo)
                try:
                    with writes.begin() as db:
                        invitation = cpo_onboarding.invite_cpo(
                            db, cpo.country_code, cpo.party_id, cpo.name, company, terms, now=now, reissue=lost
                        )
                except FieldInvalid as invalid:
                    raise SystemExit(f"{cpo.id}: its demo data is refused: {invalid}") from invalid
                reply = simulator.post(
                    f"/admin/cpos/{cpo.party}/register", json={"versions_url": versions_url, "token": invitation.token}
                )
                if reply.status_code != 200:
                    raise SystemExit(f"CPO {name} did not register over OCPI: {reply.text}")
                with writes() as db:
                    held = cpo_onboarding.registered_catalogue(db, cpo.id)
            lines.append(
                f"CPO {name} registered over OCPI: {_counted(held.locations, 'location')}, "
                f"{_counted(held.evses, 'EVSE')}, {_counted(held.tariffs, 'tariff')}"
            )
    return lines


DEV_TOKEN_KEY = DATA_DIR / "ocpi-token.key"


def temporal_command(settings: Settings) -> list[str]:
    host, _, port = settings.temporal_address.rpartition(":")
    return [
        venv_binary("temporal"),
        "server",
        "start-dev",
        "--ip",
        host or "127.0.0.1",
        "--port",
        port,
        "--ui-port",
        str(settings.temporal_ui_port),
        "--db-filename",
        str(settings.temporal_db_file),
        # WAL keeps the file-backed server close to in-memory speed (temporal.md §3.2).
        "--sqlite-pragma",
        "journal_mode=WAL",
        "--sqlite-pragma",
        "synchronous=NORMAL",
        "--log-level",
        "warn",
        *cli_flags(),
    ]


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives child processes these same settings."""
    env = {"DATABASE_URL": settings.database_url}
    for name, value in settings.model_dump(mode="json", exclude={"database_url"}).items():
        if value is None:  # unset (an optional path): the child's default, not the text "None"
            continue
        env[f"NETWORKCORE_{name.upper()}"] = json.dumps(value) if isinstance(value, dict | list) else str(value)
    return env


def local_settings(settings: Settings) -> Settings:
    """What a stack on this machine needs without set-up: its simulator is a CPO on http://127.0.0.1, and
    the key tokens are encrypted with, when none is configured, is made once under .data (readable by
    this user only) and kept for the next start."""
    key = settings.ocpi_token_key
    if not key:
        if not DEV_TOKEN_KEY.exists():
            DEV_TOKEN_KEY.parent.mkdir(parents=True, exist_ok=True)
            DEV_TOKEN_KEY.touch(mode=0o600)
            DEV_TOKEN_KEY.write_text(new_token_key())
        key = DEV_TOKEN_KEY.read_text().strip()
    return settings.model_copy(update={"ocpi_token_key": key, "ocpi_allow_insecure_peers": True})


def _accept_embedded_rates(settings: Settings, latest: date | None) -> Settings:
    """The dev stack's FX source is the ECB history shipped with a package, so its last rate ages with the
    package. Let the local stack accept it (saying so) rather than park every cross-currency session;
    production workers keep the configured limit, and `networkcore fx-import` brings current rates."""
    if latest is None:
        return settings
    age_days = (date.today() - latest).days
    if age_days <= settings.fx_max_age_days:
        return settings
    print(
        f"note: the newest FX reference rate stored is of {latest.isoformat()} ({age_days} days old); this dev "
        f"stack accepts rates up to {age_days + DEV_RATE_GRACE_DAYS} days old. Import current rates with "
        "`networkcore fx-import --file eurofxref-daily.xml`.",
        file=sys.stderr,
    )
    return settings.model_copy(update={"fx_max_age_days": age_days + DEV_RATE_GRACE_DAYS})


@dataclass
class DevStack:
    settings: Settings
    with_simulator: bool = True
    charge_duration_s: float = 2.0
    patch_interval_s: float = 0.5
    log_dir: Path = LOG_DIR
    report: Callable[[str], None] = print
    workers: int = 1  # worker processes polling the one task queue, as replicas of a deployment would
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    # temporal, worker, api, simulator: the processes of each (several workers)
    roles: dict[str, list[subprocess.Popen[bytes]]] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://{self.settings.api_host}:{self.settings.api_port}"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.temporal_ui_port}"

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        settings = self.settings = local_settings(self.settings)
        host, _, port = settings.temporal_address.rpartition(":")
        for what, (h, p) in {
            "Temporal": (host, int(port)),
            "the API": (settings.api_host, settings.api_port),
            "the simulator": (settings.simulator_host, settings.simulator_port),
        }.items():
            if port_open(h, p):
                raise SystemExit(f"port {p} for {what} is taken: is another `networkcore dev` running?")
        settings.temporal_db_file.parent.mkdir(parents=True, exist_ok=True)
        temporal = self._spawn("temporal", temporal_command(settings))
        upgrade(settings.database_url, ocpi_token_key=settings.ocpi_token_key)
        with open_database(settings.database_url) as database:
            seed_database(database.writes)
            latest_rate = latest_rate_publication(database.reads)
        settings = self.settings = _accept_embedded_rates(settings, latest_rate)
        env = settings_env(settings)
        simulator_file = self.log_dir.parent / SIMULATOR_CONFIG.name
        simulator_file.write_text(
            json.dumps(
                simulator_config(
                    settings.simulator_url,
                    state_file=str(self.log_dir.parent / SIMULATOR_STATE.name),
                    charge_duration_s=self.charge_duration_s,
                    patch_interval_s=self.patch_interval_s,
                ),
                indent=2,
            )
        )
        wait_until(lambda: port_open(host, int(port)), "the Temporal dev server", timeout_s=60, process=temporal)
        # start-dev registers its --search-attribute flags only when it creates its database: a database
        # from before an attribute existed gets it here.
        asyncio.run(register_search_attributes(settings.temporal_address, settings.temporal_namespace))
        for _ in range(self.workers):
            self._spawn("worker", python_module("cli.main", "worker"), env)
        api = self._spawn("api", python_module("cli.main", "api"), env)
        if self.with_simulator:
            simulator = self._spawn(
                "simulator", python_module("cli.main", "simulator", "--config", str(simulator_file)), env
            )
            wait_until(
                lambda: http_ok(f"{settings.simulator_url}/health"),
                "the CPO simulator",
                timeout_s=60,
                process=simulator,
            )
        wait_until(lambda: http_ok(f"{self.api_url}/health"), "the API", timeout_s=60, process=api)
        if self.with_simulator:
            with open_database(settings.database_url) as database:
                registered = register_demo_cpos(
                    database.writes,
                    settings.simulator_url,
                    settings.public_base_url + VERSIONS_PATH,
                    now=datetime.now(UTC),
                )
            for line in registered:
                self.report(line)

    def _spawn(self, role: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        started = self.roles.setdefault(role, [])
        log_name = f"{role}-{len(started) + 1}.log" if started else f"{role}.log"  # worker.log, worker-2.log...
        process = spawn(args, log_file=self.log_dir / log_name, env=env)
        self.processes.append(process)
        started.append(process)
        return process

    def stop(self) -> None:
        stop(self.processes)
        self.processes.clear()
        self.roles.clear()
