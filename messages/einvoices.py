"""Payloads of the e-invoice delivery run (a Temporal Schedule starts it while an outbox is configured)."""

from __future__ import annotations

from messages.sessions import Payload


class EInvoiceDelivery(Payload):
    """Write the e-invoices not delivered yet to the outbox."""


class EInvoiceDeliveryResult(Payload):
    delivered: list[str]  # the documents' numbers, in the order written
