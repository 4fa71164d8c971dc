"""`networkcore payouts list|release|export|import-status`: payouts from the command line (and the demo)."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from activities.payouts import start_payout_workflows
from adapters.iso20022 import read_status_report
from domain.money import from_minor
from domain.payouts.batches import Payee
from messages.payouts import PayoutView, ReleaseNow
from messages.workflow_ids import payout_workflow_id
from persistence import payouts
from persistence.payout_reconciliation import payee_positions
from persistence.tables import PayoutBatchRow
from workflows.payouts import PayoutWorkflow


@dataclass(frozen=True)
class Released:
    payee: str
    currency: str
    view: PayoutView


async def release_now(
    client: Client,
    sessions: sessionmaker[Session],
    *,
    task_queue: str,
    poll_seconds: int,
    payee: str | None = None,
    timeout_s: float = 60,
) -> list[Released]:
    """Release every payee's payouts now (or one payee's), as ops would by hand, and wait until each
    release has run and its batch has the rail's answer."""
    with sessions() as db:
        wanted = [(p, c) for p, c in payouts.payees_with_items(db) if payee is None or str(p) == payee]
    await start_payout_workflows(client, wanted, task_queue=task_queue, poll_seconds=poll_seconds)
    handles = [client.get_workflow_handle(payout_workflow_id(str(p), c)) for p, c in wanted]
    before = [(await h.query(PayoutWorkflow.view)).releases for h in handles]
    for handle in handles:
        await handle.signal(PayoutWorkflow.release_now, ReleaseNow(requested_by="networkcore payouts release"))
    deadline = asyncio.get_running_loop().time() + timeout_s
    released: list[Released] = []
    for (who, currency), handle, count in zip(wanted, handles, before, strict=True):
        while True:
            view = await handle.query(PayoutWorkflow.view)
            if view.releases > count and view.open_batch is None:
                released.append(Released(str(who), currency, view))
                break
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{who} {currency} did not finish its release within {timeout_s:.0f} s: {view}")
            await asyncio.sleep(0.2)
    return released


def export_files(sessions: sessionmaker[Session], folder: Path, *, payee: Payee | None = None) -> list[Path]:
    """Write each batch's pain.001 (as validated and sent) to ``folder``; an existing file is left as is."""
    folder.mkdir(parents=True, exist_ok=True)
    with sessions() as db:
        batches: list[PayoutBatchRow] = list(
            payouts.all_batches(db) if payee is None else payouts.batches_of(db, payee)
        )
    written = []
    for batch in batches:
        path = folder / f"{batch.message_id}.xml"
        if not path.exists():
            path.write_text(batch.document)
        written.append(path)
    return written


def import_status(report: Path, inbox: Path) -> str:
    """Check a bank's pain.002 and put it in the file rail's inbox; the original message id it answers."""
    parsed = read_status_report(report.read_bytes())
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(report, inbox / report.name)
    return f"{parsed.original_message_id}: {parsed.status.value}" + (
        f" ({parsed.reason_code})" if parsed.reason_code else ""
    )


def payout_report(sessions: sessionmaker[Session], *, since: datetime | None = None) -> dict[str, Any]:
    """The batches (all, or those created since ``since``) and every payee's reconciled position, as plain
    data (the demo prints it, or JSON)."""
    with sessions() as db:
        batches = [b for b in payouts.all_batches(db) if since is None or b.created_at >= since]
        counts = payouts.item_counts(db, [b.key for b in batches])
        positions = payee_positions(db)
    return {
        "batches": [
            {
                "id": b.message_id,
                "payee": b.payee,
                "currency": b.currency,
                "amount": str(from_minor(b.amount_minor, b.currency)),
                "netted": str(from_minor(b.netted_minor, b.currency)),
                "state": b.state,
                "sessions": counts.get(b.key, 0),
                "reason": b.reason,
                "rail": b.rail,
            }
            for b in batches
        ],
        "positions": [
            {
                "payee": p.payee,
                "currency": p.currency,
                "earned": str(from_minor(p.earned_minor, p.currency)),
                "netted": str(from_minor(p.netted_minor, p.currency)),
                "paid": str(from_minor(p.paid_minor, p.currency)),
                "in_transit": str(from_minor(p.pending_minor, p.currency)),
                "payable": str(from_minor(p.payable_minor, p.currency)),
                "reconciles": p.reconciles,
            }
            for p in positions
        ],
    }


def print_payouts(console: Console, report: dict[str, Any]) -> None:
    batches = Table(
        title="Payout batches (pain.001 through the rail; n = sessions carried)",
        title_justify="left",
        box=box.SIMPLE,
        pad_edge=False,
        show_edge=False,
    )
    for column in ("message id", "payee", "amount", "n", "state"):
        batches.add_column(column, justify="right" if column in ("amount", "n") else "left", no_wrap=True)
    for b in report["batches"]:
        code = (b["reason"] or "").partition(":")[0]
        state = f"{b['state']} {code}" if code else b["state"]
        payee = b["payee"].partition(":")[2]  # ids already say cpo- or dp-
        batches.add_row(b["id"], payee, f"{b['amount']} {b['currency']}", str(b["sessions"]), state)
    console.print(batches)
    for b in report["batches"]:
        if b["reason"]:
            console.print(f"  {b['id']} rejected ({b['reason']}): paid again by the next release", soft_wrap=True)
    positions = Table(
        title="Payees: paid + in transit + payable = earned - netted", title_justify="left", box=box.SIMPLE
    )
    for column in ("payee", "earned", "netted", "paid", "in transit", "payable"):
        positions.add_column(column, justify="left" if column == "payee" else "right")
    for p in report["positions"]:
        mark = "" if p["reconciles"] else " [red]does not reconcile[/]"
        positions.add_row(
            f"{p['payee']} {p['currency']}{mark}", p["earned"], p["netted"], p["paid"], p["in_transit"], p["payable"]
        )
    console.print(positions)
