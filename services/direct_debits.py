"""Direct debits for ops: mandates (add, revoke, list), the collection run (``networkcore bank collect``,
the same steps the daily Schedule's workflow runs), the bank's pain.002 on our files, and the collections
with their state, so a returned or rejected one (and the partner it flags) shows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from activities.collections import Collector
from adapters.pain008 import read_collection_status
from adapters.payout_rails import FileRail
from domain.collections.direct_debit import MandateStatus, checked_creditor_id, checked_mandate
from domain.payouts.bank import BankAccount
from messages.collections import CollectionRunResult
from persistence import direct_debits
from persistence.db import SessionFactory
from persistence.direct_debits import CollectionLine
from persistence.tables import SddMandateRow


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class MandateLine:
    partner_id: str
    mandate_id: str
    signed_on: date
    scheme: str
    iban: str
    bic: str | None
    sequence_type: str
    status: str
    status_reason: str | None
    last_collection_on: date | None


def _line(row: SddMandateRow) -> MandateLine:
    mandate = direct_debits.as_mandate(row)
    return MandateLine(
        row.partner_id,
        row.mandate_id,
        row.signed_on,
        row.scheme,
        row.iban,
        row.bic,
        mandate.sequence_type.value,
        row.status,
        row.status_reason,
        row.last_collection_on,
    )


def add_mandate(
    writes: SessionFactory,
    *,
    partner_id: str,
    mandate_id: str,
    signed_on: date,
    scheme: str,
    iban: str,
    bic: str | None,
    recurring: bool = True,
    clock: Callable[[], datetime] = _now,
) -> MandateLine:
    """Store a signed mandate; ``FieldInvalid`` names a refused field, ``MandateRefused`` a duplicate UMR
    or an unknown partner."""
    now = clock()
    mandate = checked_mandate(
        partner_id=partner_id,
        mandate_id=mandate_id,
        signed_on=signed_on,
        scheme=scheme,
        iban=iban,
        bic=bic,
        today=now.date(),
        recurring=recurring,
    )
    with writes.begin() as db:
        return _line(direct_debits.add_mandate(db, mandate, now=now))


def revoke_mandate(
    writes: SessionFactory, mandate_id: str, reason: str, *, clock: Callable[[], datetime] = _now
) -> MandateLine:
    with writes.begin() as db:
        return _line(direct_debits.set_mandate_status(db, mandate_id, MandateStatus.REVOKED, reason, now=clock()))


def mandates(reads: SessionFactory, partner_id: str | None = None) -> list[MandateLine]:
    with reads() as db:
        return [_line(row) for row in direct_debits.mandates(db, partner_id)]


def collector(
    writes: SessionFactory, *, outbox: Path, inbox: Path, creditor: BankAccount, creditor_id: str
) -> Collector:
    """The collection run's steps, writing pain.008 files to ``outbox`` (the bank's upload channel)."""
    return Collector(
        writes, rail=FileRail(outbox, inbox), creditor=creditor, creditor_id=checked_creditor_id(creditor_id)
    )


def collect(collector_: Collector, run_date: date, *, clock: Callable[[], datetime] = _now) -> CollectionRunResult:
    return collector_.run(run_date, now=clock())


@dataclass(frozen=True, slots=True)
class StatusImported:
    message_id: str
    status: str
    known: bool  # one of our files
    outcomes: tuple[str, ...]


def import_status(writes: SessionFactory, content: bytes, *, clock: Callable[[], datetime] = _now) -> StatusImported:
    """The bank's pain.002 on a pain.008 of ours: rejected collections (the whole file, a PmtInf, or single
    transactions) are REJECTED with the reason and their transit posting reversed; the rest stays as is."""
    report = read_collection_status(content)
    text = content.decode(errors="replace")
    status = report.group_status.value if report.group_status is not None else "PART"
    outcomes: list[str] = []
    with writes.begin() as db:
        known = direct_debits.set_file_status(db, report.original_message_id, status, text)
        carried = direct_debits.file_collections(db, report.original_message_id) if known else []
        if report.group_status is not None and report.group_status.is_rejected:
            outcomes += direct_debits.rejected(
                db, [e for e, _ in carried], report.group_reason, report=None, now=clock()
            )
        for batch_id, reason in report.rejected_batches:
            ids = [e for e, p in carried if p == batch_id]
            outcomes += direct_debits.rejected(db, ids, reason, report=None, now=clock())
        for item in report.transactions:
            if item.status.is_rejected:
                outcomes += direct_debits.rejected(db, [item.end_to_end_id], item.reason_code, report=None, now=clock())
    return StatusImported(report.original_message_id, status, known, tuple(outcomes))


def collections(reads: SessionFactory, partner_id: str | None = None) -> list[CollectionLine]:
    with reads() as db:
        return direct_debits.collection_lines(db, partner_id)


def flagged_partners(lines: list[CollectionLine]) -> dict[str, str]:
    """Partners ops should look at: a collection returned or rejected and its invoice not collected since
    (re-presented or not), or a mandate blocked; what happened, by partner."""
    by_invoice: dict[tuple[str, str | None], list[CollectionLine]] = {}
    for line in lines:
        by_invoice.setdefault((line.partner_id, line.invoice_number), []).append(line)
    flags: dict[str, str] = {}
    for attempts in by_invoice.values():
        latest = max(attempts, key=lambda a: a.attempt)
        failed = [a for a in attempts if a.state in ("RETURNED", "REJECTED")]
        if latest.mandate_status == MandateStatus.BLOCKED.value:
            flags[latest.partner_id] = f"mandate {latest.mandate_id} blocked"
        elif failed and latest.state != "CREDITED" and latest.partner_id not in flags:
            last = failed[-1]
            flags[last.partner_id] = f"{last.end_to_end_id} {last.state.lower()} ({last.reason_code}): {last.reason}"
    return flags
