"""The daily direct-debit run (``domain.collections.direct_debit``), each step one transaction or one call
to the rail, and each idempotent:

1. settle: SUBMITTED collections whose collection date has come move the receivable to cash in transit;
2. plan and build: a PENDING collection per due invoice of a DIRECT_DEBIT partner (unique per invoice and
   attempt), then one pain.008 per run holding the PENDING ones due, one PmtInf per (scheme, sequence type,
   collection date), validated (XSD and EPC rules) and stored with its collections SUBMITTED in the same
   transaction: a retry finds nothing PENDING and builds no second file;
3. send: every file not yet handed over goes to the rail, which is idempotent by message id.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.clock import utcnow
from adapters.iso20022 import PaymentMessageInvalid
from adapters.pain008 import DebitBatch, DirectDebit, DirectDebitFile, direct_debit_file
from adapters.payout_rails import PayoutRail
from domain.money import from_minor
from domain.payouts.bank import BankAccount
from messages.collections import CollectionRun, CollectionRunResult
from persistence import direct_debits
from persistence.direct_debits import PendingDebit

DIRECT_DEBIT_FILE_INVALID = "DirectDebitFileInvalid"


def _debit(pending: PendingDebit) -> DirectDebit:
    debtor = BankAccount(
        holder=pending.debtor_name,
        country=pending.debtor_country,
        iban=pending.mandate.iban,
        bic=pending.mandate.bic or "",
        address=pending.debtor_address,
    )
    return DirectDebit(
        end_to_end_id=pending.end_to_end_id,
        amount=from_minor(pending.amount_minor, "EUR"),
        mandate_id=pending.mandate.mandate_id,
        signed_on=pending.mandate.signed_on,
        debtor=debtor,
        reference=pending.reference,
    )


class Collector:
    """The run's steps, for the workflow's activity and for ``networkcore bank collect``."""

    def __init__(
        self, writes: sessionmaker[Session], *, rail: PayoutRail, creditor: BankAccount, creditor_id: str
    ) -> None:
        self._writes = writes
        self._rail = rail
        self._creditor = creditor
        self._creditor_id = creditor_id

    def run(self, run_date: date, *, now: datetime | None = None) -> CollectionRunResult:
        now = now or utcnow()
        with self._writes.begin() as db:
            settled = direct_debits.settle_due(db, run_date, now=now)
        with self._writes.begin() as db:
            notes = direct_debits.plan(db, run_date, now=now)
        files = []
        with self._writes.begin() as db:
            built = self._build(db, run_date, now=now)
            if built is not None:
                files.append(built)
        return CollectionRunResult(
            run_date=run_date, settled=settled, files=files, sent=self.send(now=now), notes=notes
        )

    def _build(self, db: Session, run_date: date, *, now: datetime) -> str | None:
        pending = direct_debits.pending_debits(db, run_date)
        if not pending:
            return None
        message_id = f"NCDD{run_date:%Y%m%d}{direct_debits.files_of_run(db, run_date) + 1:03d}"
        groups: dict[tuple[str, str, date], list[PendingDebit]] = defaultdict(list)
        for item in pending:
            groups[(item.mandate.scheme.value, item.mandate.sequence_type.value, item.collection_date)].append(item)
        batches = []
        for number, ((scheme, sequence, when), items) in enumerate(sorted(groups.items()), start=1):
            pmt_id = f"{message_id}-{number:02d}-{scheme}-{sequence}-{when:%m%d}"
            batches.append((pmt_id, items))
        document = direct_debit_file(
            DirectDebitFile(
                message_id=message_id,
                created_at=now,
                creditor=self._creditor,
                creditor_id=self._creditor_id,
                batches=tuple(
                    DebitBatch(
                        payment_information_id=pmt_id,
                        scheme=items[0].mandate.scheme,
                        sequence_type=items[0].mandate.sequence_type,
                        collection_date=items[0].collection_date,
                        debits=tuple(_debit(i) for i in items),
                    )
                    for pmt_id, items in batches
                ),
            )
        )
        direct_debits.record_file(
            db,
            message_id=message_id,
            run_date=run_date,
            rail=self._rail.name,
            document=document,
            batches=batches,
            now=now,
        )
        return message_id

    def send(self, *, now: datetime) -> list[str]:
        with self._writes() as db:
            unsent = [(f.message_id, f.document.encode()) for f in direct_debits.unsent_files(db)]
        for message_id, document in unsent:
            self._rail.submit(message_id, document, now=now)
            with self._writes.begin() as db:
                direct_debits.mark_sent(db, message_id, now=now)
        return [m for m, _ in unsent]


class CollectionActivities:
    def __init__(self, collector: Collector) -> None:
        self._collector = collector

    @activity.defn
    def run_collections(self, run: CollectionRun) -> CollectionRunResult:
        assert run.run_date is not None, "the workflow decides the day"
        try:
            return self._collector.run(run.run_date)
        except PaymentMessageInvalid as invalid:  # our bug or bad master data: a retry builds the same file
            raise ApplicationError(str(invalid), type=DIRECT_DEBIT_FILE_INVALID, non_retryable=True) from invalid
