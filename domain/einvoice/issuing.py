"""Every document is issued with its e-invoice, validated first (``einvoice.md`` §6.3), pure: what issuing
takes from the entry points, and how it refuses.

Persistence issues documents (``persistence.invoices``) but may neither read the settings nor render and
validate XML (that is ``adapters.einvoice``): the entry points hand both down in an ``EInvoiceIssuing``, as
they hand down the platform's ``TaxParty``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from domain.einvoice.build import PartyDetails
from domain.einvoice.model import EInvoice, EInvoiceFormat
from domain.errors import DomainError

# Renders an e-invoice in a format and validates it: its XML, or EInvoiceInvalid naming the rules it fails.
EInvoiceWriter = Callable[[EInvoice, EInvoiceFormat], bytes]


class EInvoiceInvalid(DomainError):
    """A document's e-invoice fails a rule (``rules`` lists their ids, the message their texts) or lacks a
    datum (the message names the field): the document is not issued, its transaction rolls back with its
    number."""

    code = "EINVOICE_INVALID"

    def __init__(self, message: str, rules: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.rules = tuple(rules)


@dataclass(frozen=True, slots=True)
class EInvoiceIssuing:
    """The platform's e-invoice details (BT-30 legal registration, BT-34 electronic address, BG-6 contact:
    from the settings) and the writer that renders and validates."""

    platform: PartyDetails
    write: EInvoiceWriter
