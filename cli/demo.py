"""``networkcore demo``: sessions end to end through the real API, the real OCPI endpoints and the CPO
simulator, with a progress bar and a summary of what happened."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from adapters.einvoice.issue import delivered_file
from adapters.einvoice.validation import validate
from adapters.invoice_documents import render_html, render_pdf, title
from adapters.temporal_client import connect_temporal
from cli.demo_collections import (
    RunCollections,
    RunReminders,
    collect,
    print_collections,
    print_reconciliation,
    print_reminders,
    reconcile,
    remind,
)
from cli.demo_corrections import correct, print_corrections
from cli.demo_direct_debits import DEBITED_PARTNER, RunDirectDebits, debit, enrol, print_direct_debits
from cli.demo_funding import RunFunding, fund, pay_when_paid, print_funding, release
from cli.devstack import DevStack, local_settings
from cli.load_refusals import REFUSED_FOR_LOAD, retry_after_s
from cli.payouts import export_files, print_payouts, report_json
from cli.processes import http_ok, wait_for_interrupt
from cli.seed import DEMO_TOKENS, PARTNERS, DemoToken
from config.settings import DATA_DIR, Settings
from domain.einvoice.model import EInvoiceFormat
from domain.invoicing.documents import PLATFORM_ISSUER
from domain.money import from_minor
from domain.sessions.lifecycle import SessionStage, is_final
from messages.invoicing import StatementRun
from messages.ocpi import AllowedType
from persistence.db import database_identity, open_database
from services.invoices import invoices_of_sessions
from services.ledger import Books, books
from services.payouts import Payouts, payout_report
from simulator.catalogue import CPOS, DemoCpo, all_evse_ids
from workflows.statements import MonthlyStatementWorkflow

FINISH_TIMEOUT_S = 300.0
POLL_INTERVAL_S = 0.5


@dataclass(frozen=True, slots=True)
class DemoTap:
    """A driver at the charger instead of a remote start: the simulator's CPO authorises the token in real
    time with us, and charges on our ``authorization_reference`` (our session's id) when ALLOWED."""

    cpo_party: str  # the simulator's name of the CPO, e.g. de-stn
    token_uid: str  # an RFID card's uid, or a Plug & Charge car's eMA-ID
    token_type: str = "RFID"


@dataclass
class DemoSession:
    label: str
    partner_id: str
    api_key: str
    evse_id: str
    driver_reference: str
    expected: SessionStage | AllowedType  # a tap refused at the charger makes no session: its answer
    stop_after_s: float | None = None
    max_amount: str | None = None
    tap: DemoTap | None = None
    id: str = ""
    refused: AllowedType | None = None  # a tap's answer when not ALLOWED
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def stage(self) -> SessionStage | None:
        stage = self.detail.get("stage")
        return None if stage is None else SessionStage(stage)

    @property
    def outcome(self) -> SessionStage | AllowedType | None:
        return self.refused or self.stage

    @property
    def finished(self) -> bool:
        return self.refused is not None or (self.stage is not None and is_final(self.stage))


def plan(count: int) -> list[DemoSession]:
    """``count`` regular sessions spread over every charger and both active partners, plus five edge
    cases a real network meets every day, and drivers at the chargers (``taps``). (An inactive partner is
    refused at the door, 401, and makes no session.)"""
    active = [p for p in PARTNERS if p.active]
    evses = all_evse_ids()
    sessions = [
        DemoSession(
            label="regular",
            partner_id=active[i % len(active)].id,
            api_key=active[i % len(active)].api_key,
            evse_id=evses[i % len(evses)],
            driver_reference=f"driver-{i:04d}",
            expected=SessionStage.SETTLED,
        )
        for i in range(count)
    ]
    sessions += [
        DemoSession(
            "edge: stopped by the demand partner",
            active[0].id,
            active[0].api_key,
            evses[0],
            "sim-until-stop-demo",
            SessionStage.SETTLED,
            stop_after_s=2.0,
        ),
        DemoSession(
            "edge: stopped by the platform at the partner's max_amount",
            active[1].id,
            active[1].api_key,
            evses[2],
            "sim-until-stop-capped",
            SessionStage.SETTLED,
            max_amount="1.00",
        ),
        DemoSession(
            "edge: CPO refuses the start",
            active[1].id,
            active[1].api_key,
            evses[1],
            "sim-reject-demo",
            SessionStage.START_FAILED,
        ),
        DemoSession(
            "edge: a cap beyond the partner's credit limit",
            active[0].id,
            active[0].api_key,
            evses[0],
            "driver-big-spender",
            SessionStage.REJECTED,
            max_amount="1000000.00",
        ),
        DemoSession(
            "edge: the CPO prices 10 % above its tariff (disputed, then decided)",
            active[1].id,
            active[1].api_key,
            evses[0],
            "sim-overcharge-demo",
            SessionStage.SETTLED,
        ),
    ]
    return sessions + taps()


def taps() -> list[DemoSession]:
    """Drivers tap their RFID cards at chargers of each demo CPO, a car of the first card's contract plugs and
    charges with its eMA-ID (the CPO sends it as the uid), and a blocked card is refused."""
    partners = {partner.id: partner for partner in PARTNERS}

    def tapping(
        cpo: DemoCpo, token: DemoToken, tap: DemoTap, label: str, expected: SessionStage | AllowedType
    ) -> DemoSession:
        partner = partners[token.partner_id]
        evse_id = cpo.locations[0].evses[0].evse_id
        return DemoSession(label, partner.id, partner.api_key, evse_id, token.uid, expected, tap=tap)

    cards = [token for token in DEMO_TOKENS if token.valid]
    blocked = next(token for token in DEMO_TOKENS if not token.valid)
    car = cards[0]
    return [
        *(
            tapping(cpo, card, DemoTap(cpo.party, card.uid), "tap: a driver's RFID card", SessionStage.SETTLED)
            for cpo, card in zip(CPOS, cards, strict=False)
        ),
        tapping(
            CPOS[0],
            car,
            DemoTap(CPOS[0].party, car.contract_id, "OTHER"),
            "tap: a car plugs and charges (ISO 15118, its contract id)",
            SessionStage.SETTLED,
        ),
        tapping(CPOS[-1], blocked, DemoTap(CPOS[-1].party, blocked.uid), "tap: a blocked card", AllowedType.BLOCKED),
    ]


async def _tap(simulator: httpx.AsyncClient, session: DemoSession, tap: DemoTap) -> None:
    reply = await simulator.post(
        f"/admin/cpos/{tap.cpo_party}/tap",
        json={"evse_id": session.evse_id, "uid": tap.token_uid, "type": tap.token_type},
    )
    reply.raise_for_status()
    answer = reply.json()
    if answer["allowed"] is None:
        raise RuntimeError(
            f"tap of {tap.token_uid} not decided: OCPI {answer['status_code']} {answer['status_message']}"
        )
    allowed = AllowedType(answer["allowed"])
    if allowed == AllowedType.ALLOWED:
        session.id = answer["authorization_reference"]
    else:
        session.refused = allowed


async def _start(http: httpx.AsyncClient, session: DemoSession, run_id: str, index: int) -> None:
    """As a partner should: a start refused for load (503, or 429) is sent again, with the same idempotency
    key, after the ``Retry-After`` it got, for up to a minute."""
    deadline = time.monotonic() + 60
    while True:
        reply = await http.post(
            "/v1/sessions",
            json={"evse_id": session.evse_id, "driver_reference": session.driver_reference}
            | ({"max_amount": session.max_amount} if session.max_amount else {}),
            headers={"Authorization": f"Bearer {session.api_key}", "Idempotency-Key": f"demo-{run_id}-{index}"},
        )
        if reply.status_code not in REFUSED_FOR_LOAD or time.monotonic() > deadline:
            break
        await asyncio.sleep(retry_after_s(reply))
    reply.raise_for_status()
    session.id = reply.json()["id"]


async def _refresh(http: httpx.AsyncClient, session: DemoSession) -> None:
    if not session.id:
        return
    reply = await http.get(f"/v1/sessions/{session.id}", headers={"Authorization": f"Bearer {session.api_key}"})
    if session.tap is not None and reply.status_code == 404:
        return  # the CPO's Session PUT is on its way
    reply.raise_for_status()
    session.detail = reply.json()


async def _stop_later(http: httpx.AsyncClient, session: DemoSession) -> None:
    assert session.stop_after_s is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        await asyncio.sleep(session.stop_after_s)
        reply = await http.post(
            f"/v1/sessions/{session.id}/stop", headers={"Authorization": f"Bearer {session.api_key}"}
        )
        if reply.status_code == 202:
            return


async def drive(api_url: str, simulator_url: str, sessions: list[DemoSession], *, show_progress: bool) -> float:
    run_id = uuid.uuid4().hex[:8]
    started = time.monotonic()
    limits = httpx.Limits(max_connections=20)
    async with (
        httpx.AsyncClient(base_url=api_url, timeout=30, limits=limits) as http,
        httpx.AsyncClient(base_url=simulator_url, timeout=30) as simulator,
    ):
        with Progress(
            TextColumn("[bold]sessions[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            disable=not show_progress,
            transient=False,
        ) as progress:
            task = progress.add_task("run", total=len(sessions))
            gate = asyncio.Semaphore(10)

            async def start(index: int, session: DemoSession) -> None:
                async with gate:
                    if session.tap is None:
                        await _start(http, session, run_id, index)
                    else:
                        await _tap(simulator, session, session.tap)

            await asyncio.gather(*(start(i, s) for i, s in enumerate(sessions)))
            stoppers = [asyncio.create_task(_stop_later(http, s)) for s in sessions if s.stop_after_s is not None]
            deadline = time.monotonic() + FINISH_TIMEOUT_S
            pending = [s for s in sessions if not s.finished]
            while pending and time.monotonic() < deadline:
                await asyncio.sleep(POLL_INTERVAL_S)
                await asyncio.gather(*(_refresh(http, s) for s in pending))
                pending = [s for s in pending if not s.finished]
                progress.update(task, completed=len(sessions) - len(pending))
            for stopper in stoppers:
                stopper.cancel()
    return time.monotonic() - started


@dataclass(frozen=True, slots=True)
class Links:
    api_docs: str
    temporal_ui: str
    temporal_ui_by_cpo: dict[str, str]


@dataclass(frozen=True, slots=True)
class SessionOutcome:
    id: str
    label: str
    stage: str | None
    expected: str
    cpo: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class RunSummary:
    """How the sessions ended, per CPO and partner; amounts are strings of exact decimals."""

    elapsed_s: float
    sessions: int
    final_states: dict[str, int]
    as_expected: int
    sessions_by_cpo: dict[str, int]
    kwh_by_cpo: dict[str, str]
    cleared_incl_vat_by_cpo: dict[str, str]
    price_discrepancies: int
    billed_by_partner: dict[str, str]
    links: Links
    ids: list[SessionOutcome]


@dataclass(frozen=True, slots=True)
class WrittenInvoice:
    """An issued invoice of the run, written out as an HTML page, a PDF (Factur-X: carrying its e-invoice) and
    its e-invoice's XML."""

    number: str
    title: str
    supplier: str
    customer: str
    total: str
    vat: str
    notes: list[str]
    html: str
    pdf: str
    api: str | None  # where its recipient fetches it, for a demand partner's invoice
    due: str | None  # when it is due, for a demand partner's invoice
    party: str = ""  # whom the platform deals with on it: dp:<id> or cpo:<id>
    xml: str | None = None  # its e-invoice (None: issued without one)
    einvoice_format: str | None = None
    einvoice_valid: bool | None = None  # validated again here: no fatal rule fails


@dataclass(frozen=True, slots=True)
class DraftStatement:
    recipient: str
    period: str | None
    sessions: int


@dataclass(frozen=True, slots=True)
class RunInvoices:
    issued: list[WrittenInvoice]
    open_statements: list[DraftStatement]
    folder: str


@dataclass(frozen=True, slots=True)
class RunPayouts:
    payouts: Payouts
    folder: str
    files: int


@dataclass(frozen=True, slots=True)
class DemoReport:
    summary: RunSummary
    corrections: dict[str, Any]  # as cli/demo_corrections.py reports them
    payouts: RunPayouts
    books: Books
    invoices: RunInvoices
    collections: RunCollections
    direct_debits: RunDirectDebits
    funding: RunFunding
    reminders: RunReminders

    def to_json(self) -> dict[str, Any]:
        """The report as ``networkcore demo --json`` prints it."""
        check = self.books.check
        return asdict(self.summary) | {
            "corrections": self.corrections,
            "payouts": report_json(self.payouts.payouts) | {"folder": self.payouts.folder, "files": self.payouts.files},
            "books": {
                "balances": [
                    {
                        "account": b.account,
                        "currency": b.currency,
                        "balance": str(from_minor(b.balance_minor, b.currency)),
                    }
                    for b in self.books.balances
                ],
                "ledger_check": {
                    "ok": check.ok,
                    "entries": check.entries,
                    "settled_sessions": check.settled_sessions,
                    "currency_totals_minor": check.currency_totals,
                    "problems": check.problems,
                },
            },
            "invoices": asdict(self.invoices),
            "collections": asdict(self.collections),
            "direct_debits": asdict(self.direct_debits),
            "funding": asdict(self.funding),
            "reminders": asdict(self.reminders),
        }


def summary(sessions: list[DemoSession], elapsed_s: float, stack: DevStack) -> RunSummary:
    kwh_by_cpo: dict[str, Decimal] = {}
    cleared_by_cpo: dict[str, Decimal] = {}
    currency_by_cpo: dict[str, str] = {}
    for s in sessions:
        if s.detail.get("cpo_id") and s.stage == SessionStage.SETTLED:
            cpo_id = s.detail["cpo_id"]
            kwh_by_cpo[cpo_id] = kwh_by_cpo.get(cpo_id, Decimal(0)) + Decimal(str(s.detail.get("kwh", "0")))
            clearing = s.detail.get("clearing") or {}
            if clearing:
                paid = Decimal(str(clearing["total_cost"]["incl_vat"]))
                cleared_by_cpo[cpo_id] = cleared_by_cpo.get(cpo_id, Decimal(0)) + paid
                currency_by_cpo[cpo_id] = clearing["currency"]
    return RunSummary(
        elapsed_s=round(elapsed_s, 1),
        sessions=len(sessions),
        final_states=dict(Counter(s.outcome.value if s.outcome else "UNFINISHED" for s in sessions)),
        as_expected=sum(1 for s in sessions if s.outcome == s.expected),
        sessions_by_cpo=dict(Counter(s.detail["cpo_id"] for s in sessions if s.detail.get("cpo_id"))),
        kwh_by_cpo={cpo_id: str(kwh) for cpo_id, kwh in sorted(kwh_by_cpo.items())},
        cleared_incl_vat_by_cpo={
            cpo_id: f"{amount.quantize(Decimal('0.01'))} {currency_by_cpo[cpo_id]}"
            for cpo_id, amount in sorted(cleared_by_cpo.items())
        },
        price_discrepancies=sum(1 for s in sessions if (s.detail.get("clearing") or {}).get("discrepancy")),
        billed_by_partner=_billed_by_partner(sessions),
        links=Links(
            api_docs=f"{stack.api_url}/docs",
            temporal_ui=stack.ui_url,
            temporal_ui_by_cpo={c.id: ui_query(stack.ui_url, f'Cpo="{c.id}"') for c in CPOS},
        ),
        ids=[
            SessionOutcome(
                id=s.id,
                label=s.label,
                stage=s.outcome.value if s.outcome else None,
                expected=s.expected.value,
                cpo=s.detail.get("cpo_id"),
                reason=s.detail.get("reason"),
            )
            for s in sessions
        ],
    )


def _billed_by_partner(sessions: list[DemoSession]) -> dict[str, str]:
    billed: dict[tuple[str, str], Decimal] = {}
    for s in sessions:
        billing = s.detail.get("billing")
        if billing:
            key = (s.partner_id, billing["currency"])
            billed[key] = billed.get(key, Decimal(0)) + Decimal(str(billing["total"]))
    return {f"{partner} ({currency})": str(amount) for (partner, currency), amount in sorted(billed.items())}


def ledger_books(settings: Settings) -> Books:
    """The ledger after the run: every account's balance and the `ledger check` report."""
    with open_database(settings.database_url) as database:
        return books(database.reads)


def issued_invoices(settings: Settings, session_ids: list[str], api_url: str) -> RunInvoices:
    """The invoices of this run's sessions, each written out as an HTML page, a PDF and its e-invoice's XML
    (validated again) under ``.data/invoices/``, and the open monthly statements that carry some of them."""
    out = DATA_DIR / "invoices"
    out.mkdir(parents=True, exist_ok=True)
    with open_database(settings.database_url) as database:
        invoices = invoices_of_sessions(database.reads, session_ids)
    issued, drafts = [], []
    for invoice in invoices:
        if invoice.document is None:
            drafts.append(DraftStatement(invoice.recipient, invoice.period, invoice.sessions))
            continue
        document = invoice.document
        assert invoice.number is not None  # issued: it has its document, so its number
        html, pdf, xml = (out / f"{invoice.number}.{extension}" for extension in ("html", "pdf", "xml"))
        html.write_text(render_html(document), encoding="utf-8")
        fmt = None if invoice.einvoice_format is None else EInvoiceFormat(invoice.einvoice_format)
        valid = None
        if fmt is None or invoice.einvoice_xml is None:
            pdf.write_bytes(render_pdf(document))
        else:
            content = invoice.einvoice_xml.encode("utf-8")
            xml.write_bytes(content)
            pdf.write_bytes(
                delivered_file(document, fmt, content)[0] if fmt == EInvoiceFormat.FACTURX else render_pdf(document)
            )
            valid = not any(failure.fatal for failure in validate(content, fmt))
        issued.append(
            WrittenInvoice(
                number=invoice.number,
                title=title(document),
                supplier=document["supplier"]["name"],
                customer=document["customer"]["name"],
                total=f"{document['totals']['gross']} {document['currency']}",
                vat=f"{document['totals']['vat']} {document['currency']}",
                notes=document["notes"],
                html=str(html),
                pdf=str(pdf),
                api=f"{api_url}/v1/invoices/{invoice.number}" if invoice.recipient.startswith("dp:") else None,
                due=(document.get("payment") or {}).get("due_date"),
                party=invoice.recipient if document["issuer"] == PLATFORM_ISSUER else document["issuer"],
                xml=None if valid is None else str(xml),
                einvoice_format=None if fmt is None else fmt.value,
                einvoice_valid=valid,
            )
        )
    return RunInvoices(issued, drafts, str(out))


def issue_revenue_share_statements(settings: Settings) -> list[str]:
    """Issue the run's self-billed revenue-share statements now, as the 1st's statement run will (the
    partners' monthly statements stay open, to show a draft)."""

    async def run() -> list[str]:
        client = await connect_temporal(settings.temporal_address, settings.temporal_namespace)
        result = await client.execute_workflow(
            MonthlyStatementWorkflow.run,
            StatementRun(before_period="9999-12", recipient=PLATFORM_ISSUER),
            id=f"demo-revenue-share-statements-{uuid.uuid4().hex[:8]}",
            task_queue=settings.task_queue,
        )
        return result.issued

    return asyncio.run(run())


def ui_query(ui_url: str, query: str) -> str:
    return f"{ui_url}/namespaces/default/workflows?query={quote(query)}"


def print_summary(console: Console, report: DemoReport) -> None:
    run = report.summary
    states = Table(title=f"{run.sessions} sessions in {run.elapsed_s} s")
    states.add_column("final state")
    states.add_column("sessions", justify="right")
    for state, count in sorted(run.final_states.items()):
        states.add_row(state, str(count))
    console.print(states)
    cpos = Table(title="Cleared sessions by CPO, at the official tariff")
    cpos.add_column("CPO")
    cpos.add_column("sessions", justify="right")
    cpos.add_column("kWh", justify="right")
    cpos.add_column("cleared incl. VAT", justify="right")
    for cpo_id, count in sorted(run.sessions_by_cpo.items()):
        cpos.add_row(
            cpo_id,
            str(count),
            run.kwh_by_cpo.get(cpo_id, "0"),
            run.cleared_incl_vat_by_cpo.get(cpo_id, "-"),
        )
    console.print(cpos)
    billed = Table(title="Invoiced to demand partners (their currency, ECB reference rate, VAT included)")
    billed.add_column("partner")
    billed.add_column("invoiced incl. VAT", justify="right")
    for partner, amount in run.billed_by_partner.items():
        billed.add_row(partner, amount)
    console.print(billed)
    accounts = Table(title="Ledger balances (+ owed to us, - owed by us)")
    accounts.add_column("account")
    accounts.add_column("currency")
    accounts.add_column("balance", justify="right")
    for balance in report.books.balances:
        accounts.add_row(balance.account, balance.currency, str(from_minor(balance.balance_minor, balance.currency)))
    console.print(accounts)
    for outcome in run.ids:
        if outcome.label != "regular":
            console.print(
                f"  {outcome.label}: {outcome.stage} [dim]{outcome.id}[/] {outcome.reason or ''}", soft_wrap=True
            )
    print_corrections(console, report.corrections)
    print_invoices(console, report.invoices)
    print_payouts(console, report.payouts.payouts)
    console.print(
        f"{report.payouts.files} pain.001 files (validated against the ISO 20022 XSD): {report.payouts.folder}/",
        soft_wrap=True,
    )
    print_collections(console, report.collections)
    print_direct_debits(console, report.direct_debits)
    print_funding(console, report.funding)
    print_reminders(console, report.reminders)
    print_reconciliation(console, report.collections)
    check = report.books.check
    totals = ", ".join(f"{c} {t:+d}" for c, t in sorted(check.currency_totals.items()))
    verdict = "[green]OK[/]" if check.ok else f"[red]FAILED[/]: {'; '.join(check.problems)}"
    console.print(
        f"ledger check (the bank reconciliation included): {verdict} ({check.entries} entries, "
        f"{check.settled_sessions} settled sessions; sum per currency in minor units: {totals})",
        soft_wrap=True,
    )
    links = run.links
    console.print(f"\nAPI docs     {links.api_docs}")
    console.print(f"Temporal UI  {links.temporal_ui}")
    for cpo_id, url in links.temporal_ui_by_cpo.items():
        console.print(f"  sessions of {cpo_id}: {url}", soft_wrap=True)
    console.print(
        "Try the API:  curl -H 'Authorization: Bearer nc_dev_roamly_4c1f0a9e7b2d44e8' "
        f"{links.api_docs.removesuffix('/docs')}/v1/sessions?limit=5",
        soft_wrap=True,
    )


def print_invoices(console: Console, invoices: RunInvoices) -> None:
    issued = invoices.issued
    table = Table(title=f"Invoices issued (stage 7): {len(issued)}; the first of each series and kind")
    for column in ("number", "from -> to", "VAT", "total", "mentions"):
        table.add_column(
            column, justify="right" if column in ("VAT", "total") else "left", no_wrap=column != "from -> to"
        )
    shown: set[tuple[str, str]] = set()
    for invoice in issued:
        kind = (invoice.number.rsplit("-", 1)[0], ",".join(invoice.notes))
        if kind in shown:
            continue
        shown.add(kind)
        table.add_row(
            invoice.number,
            f"{invoice.supplier} -> {invoice.customer}",
            invoice.vat,
            invoice.total,
            ", ".join(invoice.notes),
        )
    console.print(table)
    for draft in invoices.open_statements:
        console.print(
            f"  open statement for {draft.recipient} ({draft.period}): {draft.sessions} sessions, "
            "issued on the 1st by the networkcore-monthly-statements Schedule",
            soft_wrap=True,
        )
    print_einvoices(console, issued)
    xml_files = sum(1 for invoice in issued if invoice.xml)
    console.print(
        f"Every invoice as an HTML page, a PDF ({len(issued)}) and its EN 16931 XML ({xml_files}): {invoices.folder}/",
        soft_wrap=True,
    )
    example = next((invoice for invoice in issued if invoice.api), None)
    if example is not None:
        console.print(f"  open one: {example.pdf}", soft_wrap=True)
        console.print(
            "  or through the API: curl -H 'Authorization: Bearer <the partner's key>' "
            f"{example.api}.pdf -o invoice.pdf",
            soft_wrap=True,
        )


def print_einvoices(console: Console, issued: list[WrittenInvoice]) -> None:
    """Per partner and CPO, the e-invoice formats its documents were issued in and how many pass the rules
    (validated at issue, and again here from the stored XML)."""
    table = Table(title="E-invoices (EN 16931; Factur-X, XRechnung and Peppol rules where they apply)")
    for column in ("partner or CPO", "documents", "formats", "passed validation"):
        table.add_column(column, justify="right" if column in ("documents", "passed validation") else "left")
    for party in sorted({invoice.party for invoice in issued}):
        own = [invoice for invoice in issued if invoice.party == party]
        formats = Counter(invoice.einvoice_format or "none" for invoice in own)
        passed = sum(1 for invoice in own if invoice.einvoice_valid)
        verdict = f"{passed}/{len(own)}" if passed == len(own) else f"[red]{passed}/{len(own)}[/]"
        table.add_row(party, str(len(own)), ", ".join(f"{f} x{n}" for f, n in sorted(formats.items())), verdict)
    console.print(table)


def _borneo_iban() -> str:
    [borneo] = [c for c in CPOS if c.id == "cpo-fr-brn"]
    assert borneo.iban is not None
    return borneo.iban


def pay_out(settings: Settings, *, since: datetime) -> RunPayouts:
    """Release every payee's payouts now, as ops can by hand (INSTANT payees were paid during the run),
    release again those the bank rejected, and write every batch's pain.001 to ``.data/payouts/``."""
    with open_database(settings.database_url) as database:
        asyncio.run(release(settings, database.writes))
        folder = DATA_DIR / "payouts"
        files = export_files(database.reads, folder)
        return RunPayouts(payout_report(database.reads, since=since), str(folder), len(files))


def corrections(stack: DevStack, planned: list[DemoSession]) -> dict[str, Any]:
    """A regular session credited and re-issued by its CPO, and the overcharged one's dispute decided."""
    credited = next(s.id for s in planned if s.label == "regular" and s.stage == SessionStage.SETTLED)
    disputed = next((s.id for s in planned if s.driver_reference.startswith("sim-overcharge")), None)
    with open_database(stack.settings.database_url) as database:
        return asyncio.run(
            correct(stack.settings, database.writes, stack.api_url, credited=credited, disputed=disputed)
        )


def running_stack_is_ours(api_url: str, settings: Settings) -> bool:
    """Whether a NetworkCore stack already answers here on this demo's database: ``networkcore dev`` left
    running, which the demo uses. One that serves another database (another checkout's) is refused: the
    demo would seed its own file while the sessions it starts are booked in the other."""
    try:
        ready = httpx.get(f"{api_url}/health/ready", timeout=1.0)
    except httpx.HTTPError:
        return False
    if ready.status_code != 200 or not http_ok(f"{settings.simulator_url}/health"):
        return False
    try:
        answer = ready.json()
    except ValueError:
        answer = None
    served = answer.get("database") if isinstance(answer, dict) else None
    ours = database_identity(settings.database_url, local_settings(settings).ocpi_token_key)
    if served != ours:
        raise SystemExit(
            f"What answers at {api_url} is not a NetworkCore stack on this demo's database "
            f"({settings.database_url}): stop it, or give the demo other ports "
            "(NETWORKCORE_API_PORT, NETWORKCORE_SIMULATOR_PORT, NETWORKCORE_TEMPORAL_ADDRESS)."
        )
    return True


def run_demo(settings: Settings, *, sessions: int, as_json: bool, keep_running: bool | None) -> int:
    console = Console(stderr=as_json)
    # Payouts in the demo: new payees get their workflow within 2 s, INSTANT ones are released every
    # second; the simulated bank bounces the first transfer to Borneo's account (AC04), so that a rejection
    # and its retry show. The worker checks the books every 10 s, so /metrics shows the check during the run.
    settings = settings.model_copy(
        update={
            "payout_poll_s": 1,
            "payout_sweep_s": 2,
            "ledger_check_interval_s": 10,
            "simulated_bank_rejections": {_borneo_iban(): ["AC04"]} | settings.simulated_bank_rejections,
        }
    )
    stack = DevStack(settings, report=console.print)
    reuse = running_stack_is_ours(stack.api_url, settings)
    if reuse:
        console.print("Using the NetworkCore stack that is already running.")
    else:
        console.print("Starting the embedded stack (Temporal dev server, worker, API, CPO simulator)...")
        stack.start()
    try:
        with open_database(stack.settings.database_url) as database:
            # Before the sessions start, so that they use these contracts: one partner is collected by
            # direct debit, one CPO is paid when paid.
            enrol(database.writes, now=datetime.now(UTC))
            pay_when_paid(database.writes, now=datetime.now(UTC))
        planned = plan(sessions)
        run_started = datetime.now(UTC)
        elapsed = asyncio.run(
            drive(
                stack.api_url,
                stack.settings.simulator_url,
                planned,
                show_progress=not as_json and sys.stderr.isatty(),
            )
        )
        run = summary(planned, elapsed, stack)
        # Before the corrections, so that a credit note names the statement it corrects, and before payouts,
        # so that the partners are paid the VAT their revenue-share statements charge.
        shares = issue_revenue_share_statements(stack.settings)
        console.print(f"Revenue-share statements issued in the partners' names: {len(shares)}")
        # Before payouts, so the payouts take back what the credit reversed.
        corrected = corrections(stack, planned)
        paid_out = pay_out(stack.settings, since=run_started)
        invoices = issued_invoices(stack.settings, [s.id for s in planned if s.id], stack.api_url)
        # The partners pay what was issued (a monthly statement still in draft is not due yet): by transfer,
        # or collected by direct debit over scaled days; then the CPO paid when paid is released again.
        billed = [i for i in invoices.issued if i.api is not None]
        collected = collect(stack.settings, [i.number for i in billed], debited={DEBITED_PARTNER})
        today = datetime.now(UTC).date()
        debited = debit(stack.settings, [i.number for i in billed], today)
        funded = fund(stack.settings, paid_out.payouts)
        reminded = remind(stack.settings, max((date.fromisoformat(i.due) for i in billed if i.due), default=today))
        reconcile(stack.settings, collected)
        report = DemoReport(
            run,
            corrections=corrected,
            payouts=paid_out,
            books=ledger_books(stack.settings),
            invoices=invoices,
            collections=collected,
            direct_debits=debited,
            funding=funded,
            reminders=reminded,
        )
        if as_json:
            print(json.dumps(report.to_json(), indent=2))
        else:
            print_summary(console, report)
        ok = (
            report.summary.as_expected == len(planned)
            and report.books.check.ok
            and all(report.collections.agrees.values())
            and report.direct_debits.settled
            and all(invoice.einvoice_valid for invoice in report.invoices.issued)
        )
        if not ok:
            console.print(
                "[red]some sessions did not end as expected, the books or the bank do not check, or an e-invoice is "
                "missing or invalid; see .data/logs/[/]"
            )
        stay = keep_running if keep_running is not None else (sys.stdin.isatty() and not as_json)
        if stay and not reuse:
            console.print("\nThe stack keeps running for you to look around. Press Ctrl-C to stop it.")
            wait_for_interrupt()
        return 0 if ok else 1
    finally:
        if not reuse:
            stack.stop()
