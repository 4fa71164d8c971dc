"""`networkcore payouts list|release|export|import-status`: payouts from the command line (and the demo)."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from adapters.iso20022 import PaymentMessageInvalid, read_status_report
from adapters.temporal_client import connect_temporal
from config.settings import Settings
from domain.money import from_minor
from domain.payouts.batches import Payee
from domain.payouts.funding import describe_waiting
from persistence.db import SessionFactory
from services import payouts

# cli/bench.py (another branch) imports it from here; that import moves to services.payouts at the merge.
release_now = payouts.release_now


def list_payouts(reads: SessionFactory, floors: Mapping[str, Decimal]) -> int:
    print_payouts(Console(), payouts.payout_report(reads, floors=floors))
    return 0


def release(settings: Settings, writes: SessionFactory, *, payee: Payee | None) -> None:
    """Release now and print each payee's outcome."""

    async def run() -> None:
        client = await connect_temporal(settings.temporal_address, settings.temporal_namespace)
        for done in await payouts.release_now(
            client,
            writes,
            task_queue=settings.task_queue,
            poll_seconds=settings.payout_poll_s,
            payee=None if payee is None else str(payee),
        ):
            print(f"{done.payee} {done.currency}: {done.view.last_note or ''}")

    asyncio.run(run())


def export(reads: SessionFactory, folder: Path, *, payee: Payee | None) -> int:
    written = export_files(reads, folder, payee=payee)
    print(f"{len(written)} pain.001 file(s) in {folder}/")
    return 0


def import_status_file(report: Path, inbox: Path) -> int:
    try:
        print(import_status(report, inbox))
    except (OSError, PaymentMessageInvalid) as error:
        print(f"networkcore payouts import-status: {error}", file=sys.stderr)
        return 2
    return 0


def export_files(reads: SessionFactory, folder: Path, *, payee: Payee | None = None) -> list[Path]:
    """Write each batch's pain.001 (as validated and sent) to ``folder``; an existing file is left as is."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for batch in payouts.batches(reads, payee):
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


def report_json(report: payouts.Payouts) -> dict[str, Any]:
    """The batches and positions as plain data (``networkcore demo --json``)."""
    return {
        "batches": [
            {
                "id": b.message_id,
                "payee": b.payee,
                "currency": b.currency,
                "amount": str(from_minor(b.amount_minor, b.currency)),
                "netted": str(from_minor(b.netted_minor, b.currency)),
                "state": b.state,
                "sessions": b.sessions,
                "reason": b.reason,
                "rail": b.rail,
            }
            for b in report.batches
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
                "waiting": {
                    reason.value: str(from_minor(amount, p.currency))
                    for reason, amount in sorted(report.waiting_of(p).items())
                },
                "reconciles": p.reconciles,
            }
            for p in report.positions
        ],
    }


def print_payouts(console: Console, report: payouts.Payouts) -> None:
    batches = Table(
        title="Payout batches (pain.001 through the rail; n = sessions carried)",
        title_justify="left",
        box=box.SIMPLE,
        pad_edge=False,
        show_edge=False,
    )
    for column in ("message id", "payee", "amount", "n", "state"):
        batches.add_column(column, justify="right" if column in ("amount", "n") else "left", no_wrap=True)
    for b in report.batches:
        code = (b.reason or "").partition(":")[0]
        state = f"{b.state} {code}" if code else b.state
        payee = b.payee.partition(":")[2]  # ids already say cpo- or dp-
        amount = from_minor(b.amount_minor, b.currency)
        batches.add_row(b.message_id, payee, f"{amount} {b.currency}", str(b.sessions), state)
    console.print(batches)
    for b in report.batches:
        if b.reason:
            console.print(f"  {b.message_id} rejected ({b.reason}): paid again by the next release", soft_wrap=True)
    positions = Table(
        title="Payees: paid + in transit + payable = earned - netted", title_justify="left", box=box.SIMPLE
    )
    for column in ("payee", "earned", "netted", "paid", "in transit", "payable", "of it waiting"):
        positions.add_column(column, justify="left" if column == "payee" else "right")
    for p in report.positions:
        mark = "" if p.reconciles else " [red]does not reconcile[/]"
        waiting = sum(report.waiting_of(p).values())
        amounts = (p.earned_minor, p.netted_minor, p.paid_minor, p.pending_minor, p.payable_minor, waiting)
        positions.add_row(f"{p.payee} {p.currency}{mark}", *(str(from_minor(a, p.currency)) for a in amounts))
    console.print(positions)
    for p in report.positions:
        if report.waiting_of(p):
            why = describe_waiting(report.waiting_of(p), p.currency)
            console.print(f"  {p.payee}: {why}; released by a later release once funded", soft_wrap=True)
