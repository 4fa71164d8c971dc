"""Payout rails: where a validated pain.001 goes, and where its pain.002 status comes back from.

A rail is idempotent by message id: submitting the same file again is a no-op (banks refuse a duplicate
MsgId; the file rail never writes a file twice), so a retry after a crash cannot pay twice.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Protocol

from adapters.iso20022 import PaymentMessageInvalid, StatusReport, read_status_report


class PayoutRail(Protocol):
    name: str

    def submit(self, message_id: str, document: bytes, *, now: datetime) -> None:
        """Hand the file to the bank; the same message id again changes nothing."""

    def status(self, message_id: str, *, now: datetime) -> tuple[StatusReport, bytes] | None:
        """The bank's latest pain.002 for the message (parsed, and as received), or None before any."""


class FileRail:
    """ISO 20022 files on disk: pain.001 written to ``outbox`` (for the bank's upload channel: EBICS, SFTP),
    pain.002 read from ``inbox`` (downloaded from the bank, or imported with ``networkcore payouts
    import-status``)."""

    name = "file"

    def __init__(self, outbox: Path, inbox: Path) -> None:
        self._outbox = outbox
        self._inbox = inbox

    def submit(self, message_id: str, document: bytes, *, now: datetime) -> None:
        self._outbox.mkdir(parents=True, exist_ok=True)
        target = self._outbox / f"{message_id}.xml"
        if target.exists():
            if target.read_bytes() != document:
                raise PaymentMessageInvalid(f"{target} exists with other content: a message id is never reused")
            return
        partial = target.with_suffix(".partial")
        partial.write_bytes(document)
        os.replace(partial, target)  # the upload channel never sees half a file

    def status(self, message_id: str, *, now: datetime) -> tuple[StatusReport, bytes] | None:
        latest: tuple[StatusReport, bytes] | None = None
        for path in sorted(self._inbox.glob("*.xml"), key=lambda p: p.stat().st_mtime) if self._inbox.is_dir() else []:
            document = path.read_bytes()
            try:
                report = read_status_report(document)
            except PaymentMessageInvalid:
                continue  # not a status report: another file of the bank's
            if report.original_message_id == message_id:
                latest = (report, document)
        return latest
