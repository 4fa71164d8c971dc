"""A simulated bank for the demo and the tests: it takes pain.001 files and reports like a pain.002.

It checks each file against the XSD (an invalid file is rejected FF01, as banks do), refuses a duplicate
message id by keeping the first, accepts at once (ACCP) and settles (ACSC) after ``delay``, or rejects
with a configured reason: ``rejections`` maps a creditor IBAN to the reason codes of its successive
transfers, e.g. ``{"FR76...": ["AC04"]}`` rejects the first transfer to that account as closed and
settles the next one. Its memory is a table, so it outlives worker crashes like a real bank would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from adapters.iso20022 import (
    PaymentMessageInvalid,
    StatusReport,
    TransferStatus,
    read_status_report,
    status_report_file,
    validate,
)
from domain.money import to_minor
from persistence.db import dialect_insert
from persistence.tables import SimulatedBankTransferRow

REASONS = {
    "AC01": "incorrect account number",
    "AC04": "closed account number",
    "AC06": "blocked account",
    "AM04": "insufficient funds",
    "FF01": "invalid file format",
    "MS03": "reason not specified",
}


def _field(document: etree._Element, name: str) -> str:
    return str(document.xpath(f"string(//*[local-name()='{name}'])"))


class SimulatedBank:
    name = "simulated"

    def __init__(
        self,
        writes: sessionmaker[Session],
        *,
        delay: timedelta = timedelta(0),
        rejections: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self._writes = writes
        self._delay = delay
        # Public: tests plan rejections for their own payees' accounts.
        self.rejections = {iban: list(codes) for iban, codes in (rejections or {}).items()}

    def submit(self, message_id: str, document: bytes, *, now: datetime) -> None:
        reason: str | None = None
        try:
            validate(document)
            parsed = etree.fromstring(document)
            iban = _field(parsed, "CdtrAcct").strip()
            currency = str(parsed.xpath("string(//*[local-name()='InstdAmt']/@Ccy)"))
            amount = to_minor(Decimal(_field(parsed, "InstdAmt")), currency)
        except (PaymentMessageInvalid, etree.XMLSyntaxError, ArithmeticError, ValueError):
            iban, currency, amount, reason = "", "", 0, "FF01"
        with self._writes.begin() as db:
            if reason is None:
                earlier = db.scalar(select(func.count()).where(SimulatedBankTransferRow.creditor_iban == iban)) or 0
                planned = self.rejections.get(iban, [])
                reason = planned[earlier] if earlier < len(planned) else None
            db.execute(
                dialect_insert(db, SimulatedBankTransferRow).on_conflict_do_nothing(),
                [
                    {
                        "message_id": message_id,
                        "creditor_iban": iban,
                        "currency": currency,
                        "amount_minor": amount,
                        "received_at": now,
                        "decided_at": now + self._delay,
                        "status_code": (TransferStatus.REJECTED if reason else TransferStatus.SETTLED).value,
                        "reason_code": reason,
                        "document": document.decode(),
                    }
                ],
            )

    def status(self, message_id: str, *, now: datetime) -> tuple[StatusReport, bytes] | None:
        with self._writes() as db:
            row = db.get(SimulatedBankTransferRow, message_id)
            if row is None:
                return None
            final = now >= row.decided_at
            status = TransferStatus(row.status_code) if final else TransferStatus.ACCEPTED
            reason_code = row.reason_code if final else None
        report = StatusReport(
            original_message_id=message_id,
            status=status,
            reason_code=reason_code,
            reason=None if reason_code is None else REASONS.get(reason_code, "rejected"),
        )
        document = status_report_file(report, message_id=f"SIMBANK-{status.value}-{message_id}"[:35], created_at=now)
        return read_status_report(document), document

    def transfers(self) -> list[SimulatedBankTransferRow]:
        """Every file the bank received (tests prove with it that nobody was paid twice)."""
        with self._writes() as db:
            return list(db.scalars(select(SimulatedBankTransferRow).order_by(SimulatedBankTransferRow.received_at)))
