"""The e-invoice outbox run: every issued e-invoice not delivered yet is written to its recipient's folder
(``<outbox>/<dp|cpo>/<party id>/<number>.xml``, a Factur-X as the ``.pdf`` carrying it), then marked
delivered. The files of a batch are written first and marked after, in one transaction: a run that dies in
between writes them again next time, which replaces each file with the same bytes; none is ever lost."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.clock import utcnow
from adapters.einvoice.issue import delivered_file
from adapters.einvoice.outbox import write_file
from messages.einvoices import EInvoiceDelivery, EInvoiceDeliveryResult
from persistence import einvoices

BATCH = 100
# Per run: a backlog (an outbox configured after months of documents) is worked off by the next runs.
MAX_PER_RUN = 2000


class EInvoiceDeliveryActivities:
    def __init__(self, writes: sessionmaker[Session], *, outbox: Path | None) -> None:
        self._writes = writes
        self._outbox = outbox

    @activity.defn
    def deliver_einvoices(self, run: EInvoiceDelivery) -> EInvoiceDeliveryResult:
        """Deliver what is pending, a batch at a time; nothing without an outbox."""
        delivered: list[str] = []
        while self._outbox is not None and len(delivered) < MAX_PER_RUN:
            written = self.deliver_batch(self._outbox)
            if not written:
                break
            delivered.extend(written)
            activity.heartbeat(len(delivered))
        return EInvoiceDeliveryResult(delivered=delivered)

    def deliver_batch(self, outbox: Path) -> list[str]:
        """Write up to ``BATCH`` pending e-invoices, then mark them delivered; their numbers."""
        with self._writes() as db:
            pending = einvoices.pending_deliveries(db, BATCH)
        for _, einvoice in pending:
            content, _, extension = delivered_file(einvoice.document, einvoice.format, einvoice.xml)
            kind, _, party_id = einvoice.recipient.partition(":")
            write_file(outbox, (kind, party_id), f"{einvoice.number}.{extension}", content)
        if pending:
            with self._writes.begin() as db:
                now = utcnow()
                for key, _ in pending:
                    einvoices.mark_delivered(db, key, now=now)
        return [einvoice.number for _, einvoice in pending]
