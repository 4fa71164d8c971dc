"""Matching a statement's transactions to what they pay (``money-in.md`` §3.5): ordered rules, the first
that hits wins and is recorded by its id.

1. Our payouts: a debit by EndToEndId, then MsgId, then PmtInfId (a batch entry), always with the batch's
   amount; a credit that returns one of them (``RtrInf`` or BTC PMNT/ICDT/RRTN) reopens it.
   Our direct-debit collections: a credit by EndToEndId, then PmtInfId (a batch entry: the batch's total),
   then mandate and amount; a debit that returns one of them (``RtrInf`` or BTC PMNT/IDDT/UPDD) by
   EndToEndId, then mandate and amount.
2. A demand partner's credit transfer: the structured reference (SCOR/QRR) is an invoice's RF, then RFs
   found in the free text, then an invoice number in the free text, then a payer IBAN known for exactly
   one partner with an amount equal to one open invoice or to its whole open balance.
3. Anything else: suspense.

Amounts are minor units, positive; a payment is applied to the invoices in order (the references' order,
else oldest first), each up to its open amount, and what is left is the partner's credit balance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from domain.collections.statements import QR_REFERENCE, STRUCTURED_REFERENCE, Direction
from domain.invoicing.creditor_reference import InvalidCreditorReference, creditor_reference, references_in

PAYOUT_RETURN_CODE = "PMNT/ICDT/RRTN"
COLLECTION_RETURN_CODE = "PMNT/IDDT/UPDD"


class Rule(StrEnum):
    PAYOUT_END_TO_END_ID = "payout.end_to_end_id"
    PAYOUT_MESSAGE_ID = "payout.message_id"
    PAYOUT_PAYMENT_INFORMATION_ID = "payout.payment_information_id"
    PAYOUT_RETURN = "payout.return"
    COLLECTION_END_TO_END_ID = "collection.end_to_end_id"
    COLLECTION_PAYMENT_INFORMATION_ID = "collection.payment_information_id"
    COLLECTION_MANDATE_AND_AMOUNT = "collection.mandate_and_amount"
    COLLECTION_RETURN = "collection.return"
    INVOICE_STRUCTURED_REFERENCE = "invoice.structured_reference"
    INVOICE_REFERENCE_IN_TEXT = "invoice.reference_in_text"
    INVOICE_NUMBER_IN_TEXT = "invoice.number_in_text"
    INVOICE_PAYER_IBAN_AND_AMOUNT = "invoice.payer_iban_and_amount"
    SUSPENSE = "suspense"
    ASSIGNED = "assigned"  # ops moved it out of suspense


class Outcome(StrEnum):
    PAYOUT = "PAYOUT"
    PAYOUT_RETURN = "PAYOUT_RETURN"
    COLLECTION = "COLLECTION"
    COLLECTION_RETURN = "COLLECTION_RETURN"
    PARTNER = "PARTNER"
    SUSPENSE = "SUSPENSE"
    ASSIGNED = "ASSIGNED"


@dataclass(frozen=True, slots=True)
class Line:
    """One transaction to match, as the statement gives it."""

    direction: Direction
    amount_minor: int
    end_to_end_id: str | None = None
    message_id: str | None = None
    payment_information_id: str | None = None
    structured_references: tuple[tuple[str, str], ...] = ()
    unstructured: str = ""
    debtor_iban: str | None = None
    return_reason: str | None = None
    bank_transaction_code: str | None = None
    mandate_id: str | None = None

    @property
    def is_return(self) -> bool:
        return self.return_reason is not None or self.bank_transaction_code == PAYOUT_RETURN_CODE

    @property
    def is_collection_return(self) -> bool:
        return self.return_reason is not None or self.bank_transaction_code == COLLECTION_RETURN_CODE


@dataclass(frozen=True, slots=True)
class PayoutRef:
    """A payout batch we sent: its pain.001 MsgId, PmtInfId and EndToEndId are all ``message_id``."""

    message_id: str
    amount_minor: int
    paid: bool  # the batch is PAID (by the rail's report or a statement)


@dataclass(frozen=True, slots=True)
class CollectionRef:
    """A direct-debit collection we presented and the bank has not credited yet (or, for a return, one it
    credited or settled)."""

    end_to_end_id: str
    payment_information_id: str
    mandate_id: str
    amount_minor: int
    credited: bool  # the bank's credit was matched (only those can come back as a return)


@dataclass(frozen=True, slots=True)
class OpenInvoice:
    key: int
    number: str
    partner_id: str
    open_minor: int  # total less what was applied to it; 0 when paid


@dataclass(frozen=True, slots=True)
class Allocation:
    invoice_key: int
    amount_minor: int


@dataclass(frozen=True, slots=True)
class Match:
    rule: Rule
    outcome: Outcome
    amount_minor: int
    payout: str | None = None
    partner_id: str | None = None
    allocations: tuple[Allocation, ...] = ()
    excess_minor: int = 0  # to the partner's credit balance
    collections: tuple[str, ...] = ()  # EndToEndIds of our direct-debit collections

    @property
    def suspense_minor(self) -> int:
        return self.amount_minor if self.outcome == Outcome.SUSPENSE else 0

    @property
    def allocated_minor(self) -> int:
        return sum(a.amount_minor for a in self.allocations)


def apply_payment(amount_minor: int, invoices: Sequence[OpenInvoice]) -> tuple[tuple[Allocation, ...], int]:
    """Apply ``amount_minor`` to the invoices in order, each up to its open amount: the allocations and
    the excess (what is left over)."""
    assert amount_minor >= 0, "a payment is never negative"
    left = amount_minor
    allocations = []
    for invoice in invoices:
        part = min(left, max(invoice.open_minor, 0))
        if part > 0:
            allocations.append(Allocation(invoice.key, part))
            left -= part
    return tuple(allocations), left


_WORD_CHARACTERS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass(frozen=True, slots=True)
class InvoiceNumbers:
    """The book's invoice numbers, upper-cased, for finding them in a payment's text: a lookup per place a
    number could start and per length the numbers have, instead of a search of the text per invoice."""

    keys: Mapping[str, tuple[int, ...]]  # number -> its invoices' keys
    lengths: tuple[int, ...]
    position: Mapping[int, int]  # an invoice's key -> its place in the book, oldest first

    @classmethod
    def of(cls, invoices: Sequence[OpenInvoice]) -> InvoiceNumbers:
        keys: dict[str, list[int]] = {}
        for invoice in invoices:
            if invoice.number:
                keys.setdefault(invoice.number.upper(), []).append(invoice.key)
        return cls(
            {number: tuple(found) for number, found in keys.items()},
            tuple(sorted({len(number) for number in keys})),
            {invoice.key: place for place, invoice in enumerate(invoices)},
        )

    def found_in(self, text: str) -> list[int]:
        """The keys of the invoices whose number is in ``text`` (upper-cased) with no letter or digit of ``A-Z``
        and ``0-9`` right before or after it, in the book's order."""
        found: set[int] = set()
        for start in range(len(text)):
            if start > 0 and text[start - 1] in _WORD_CHARACTERS:
                continue
            for length in self.lengths:
                end = start + length
                if end > len(text):
                    break
                if end < len(text) and text[end] in _WORD_CHARACTERS:
                    continue
                found.update(self.keys.get(text[start:end], ()))
        return sorted(found, key=self.position.__getitem__)


@dataclass(frozen=True, slots=True)
class Book:
    """What a line can match: our payouts by message id, the open invoices of demand partners in the
    line's currency by key (oldest first), and the partners' IBANs."""

    payouts: Mapping[str, PayoutRef]
    invoices: Mapping[int, OpenInvoice]  # in order, oldest first
    partners_by_iban: Mapping[str, tuple[str, ...]]
    references: Mapping[str, int]  # an invoice's RF -> its key
    numbers: InvoiceNumbers
    collections: tuple[CollectionRef, ...] = ()

    @classmethod
    def of(
        cls,
        payouts: Mapping[str, PayoutRef],
        invoices: Sequence[OpenInvoice],
        partners_by_iban: Mapping[str, tuple[str, ...]],
        collections: Sequence[CollectionRef] = (),
    ) -> Book:
        references = {ref: i.key for i in invoices if (ref := _reference_of(i)) is not None}
        return cls(
            payouts,
            {i.key: i for i in invoices},
            partners_by_iban,
            references,
            InvoiceNumbers.of(invoices),
            tuple(collections),
        )

    def settled(self, match: Match) -> Book:
        """The book after ``match``: its allocations no longer open, its collections credited (or, returned,
        gone)."""
        if match.collections:
            return replace(self, collections=_collections_after(self.collections, match))
        if not match.allocations:
            return self
        invoices = dict(self.invoices)
        _settle(invoices, match)
        return replace(self, invoices=invoices)


def _collections_after(collections: tuple[CollectionRef, ...], match: Match) -> tuple[CollectionRef, ...]:
    """A credit marks its collections credited; a return takes them out of what can still be matched."""
    done = set(match.collections)
    credited = match.outcome == Outcome.COLLECTION
    return tuple(
        replace(c, credited=True) if c.end_to_end_id in done and credited else c
        for c in collections
        if credited or c.end_to_end_id not in done
    )


def _settle(invoices: dict[int, OpenInvoice], match: Match) -> None:
    for allocation in match.allocations:
        invoice = invoices[allocation.invoice_key]
        invoices[allocation.invoice_key] = replace(invoice, open_minor=invoice.open_minor - allocation.amount_minor)


def match_lines(lines: Sequence[Line], book: Book) -> list[Match]:
    """Each line's match, in order, each against the book as the lines before it left it: invoices less
    what was applied to them (as ``Book.settled``), a payout matched is paid, a payout returned is no
    longer one to match, a collection credited or returned as ``Book.settled`` says. In time linear in
    the lines (one working copy of the book)."""
    invoices, payouts = dict(book.invoices), dict(book.payouts)
    working = replace(book, invoices=invoices, payouts=payouts)
    matches = []
    for line in lines:
        match = match_line(line, working)
        _settle(invoices, match)
        if match.collections:
            working = replace(working, collections=_collections_after(working.collections, match))
        if match.payout is not None and match.outcome == Outcome.PAYOUT:
            payouts[match.payout] = replace(payouts[match.payout], paid=True)
        elif match.payout is not None:
            payouts.pop(match.payout, None)
        matches.append(match)
    return matches


def match_line(line: Line, book: Book) -> Match:
    """The first rule that matches ``line``, or suspense."""
    if line.direction == Direction.DEBIT:
        return (
            _collection_return(line, book)
            or _our_payout(line, book)
            or Match(Rule.SUSPENSE, Outcome.SUSPENSE, line.amount_minor)
        )
    return (
        _payout_return(line, book)
        or _our_collection(line, book)
        or _invoices_by_reference(line, book)
        or _invoices_by_number(line, book)
        or _invoices_by_payer(line, book)
        or Match(Rule.SUSPENSE, Outcome.SUSPENSE, line.amount_minor)
    )


def _payout(book: Book, reference: str | None, amount_minor: int) -> PayoutRef | None:
    found = None if reference is None else book.payouts.get(reference)
    return found if found is not None and found.amount_minor == amount_minor else None


def _our_payout(line: Line, book: Book) -> Match | None:
    for rule, reference in (
        (Rule.PAYOUT_END_TO_END_ID, line.end_to_end_id),
        (Rule.PAYOUT_MESSAGE_ID, line.message_id),
        (Rule.PAYOUT_PAYMENT_INFORMATION_ID, line.payment_information_id),
    ):
        payout = _payout(book, reference, line.amount_minor)
        if payout is not None:
            return Match(rule, Outcome.PAYOUT, line.amount_minor, payout=payout.message_id)
    return None


def _payout_return(line: Line, book: Book) -> Match | None:
    if not line.is_return:
        return None
    for reference in (line.end_to_end_id, line.message_id, line.payment_information_id):
        payout = _payout(book, reference, line.amount_minor)
        if payout is not None and payout.paid:
            return Match(Rule.PAYOUT_RETURN, Outcome.PAYOUT_RETURN, line.amount_minor, payout=payout.message_id)
    return None


def _collection_match(rule: Rule, outcome: Outcome, line: Line, found: Sequence[CollectionRef]) -> Match:
    return Match(rule, outcome, line.amount_minor, collections=tuple(c.end_to_end_id for c in found))


def _by_mandate_and_amount(line: Line, candidates: Sequence[CollectionRef]) -> list[CollectionRef]:
    if not line.mandate_id:
        return []
    return [c for c in candidates if c.mandate_id == line.mandate_id and c.amount_minor == line.amount_minor][:1]


def _our_collection(line: Line, book: Book) -> Match | None:
    """The bank credited collections of ours: one by its EndToEndId, a batch by its PmtInfId (the batch's
    total), or one by its mandate and amount."""
    waiting = [c for c in book.collections if not c.credited]
    one = [c for c in waiting if c.end_to_end_id == line.end_to_end_id and c.amount_minor == line.amount_minor]
    if line.end_to_end_id and one:
        return _collection_match(Rule.COLLECTION_END_TO_END_ID, Outcome.COLLECTION, line, one)
    batch = [
        c for c in waiting if line.payment_information_id and c.payment_information_id == line.payment_information_id
    ]
    if batch and sum(c.amount_minor for c in batch) == line.amount_minor:
        return _collection_match(Rule.COLLECTION_PAYMENT_INFORMATION_ID, Outcome.COLLECTION, line, batch)
    by_mandate = _by_mandate_and_amount(line, waiting)
    if by_mandate:
        return _collection_match(Rule.COLLECTION_MANDATE_AND_AMOUNT, Outcome.COLLECTION, line, by_mandate)
    return None


def _collection_return(line: Line, book: Book) -> Match | None:
    """A debit that takes one of our collections back (a return or a refund)."""
    if not line.is_collection_return:
        return None
    found = [
        c for c in book.collections if c.end_to_end_id == line.end_to_end_id and c.amount_minor == line.amount_minor
    ]
    found = found[:1] if line.end_to_end_id else []
    found = found or _by_mandate_and_amount(line, [c for c in book.collections if c.credited])
    return _collection_match(Rule.COLLECTION_RETURN, Outcome.COLLECTION_RETURN, line, found) if found else None


def _reference_of(invoice: OpenInvoice) -> str | None:
    try:
        return creditor_reference(invoice.number)
    except InvalidCreditorReference:
        return None


def _partner_payment(rule: Rule, line: Line, invoices: Sequence[OpenInvoice]) -> Match:
    """Apply the line to ``invoices`` (all of the first one's partner), the rest to its credit balance."""
    partner = invoices[0].partner_id
    allocations, excess = apply_payment(line.amount_minor, [i for i in invoices if i.partner_id == partner])
    return Match(
        rule, Outcome.PARTNER, line.amount_minor, partner_id=partner, allocations=allocations, excess_minor=excess
    )


def _by_references(references: Sequence[str], book: Book) -> list[OpenInvoice]:
    keys = [book.references.get(reference.replace(" ", "").upper()) for reference in references]
    wanted = dict.fromkeys(key for key in keys if key is not None)
    return [book.invoices[key] for key in wanted if key in book.invoices]


def _invoices_by_reference(line: Line, book: Book) -> Match | None:
    structured = [ref for kind, ref in line.structured_references if kind in (STRUCTURED_REFERENCE, QR_REFERENCE)]
    found = _by_references(structured, book)
    if found:
        return _partner_payment(Rule.INVOICE_STRUCTURED_REFERENCE, line, found)
    in_text = references_in(" ".join([line.unstructured, *(ref for _, ref in line.structured_references)]))
    found = _by_references(in_text, book)
    return _partner_payment(Rule.INVOICE_REFERENCE_IN_TEXT, line, found) if found else None


def _invoices_by_number(line: Line, book: Book) -> Match | None:
    text = line.unstructured.upper()
    if not text:
        return None
    found = [book.invoices[key] for key in book.numbers.found_in(text) if key in book.invoices]
    found.sort(key=lambda i: text.index(i.number.upper()))  # stable: the book's order where two start together
    return _partner_payment(Rule.INVOICE_NUMBER_IN_TEXT, line, found) if found else None


def _invoices_by_payer(line: Line, book: Book) -> Match | None:
    iban = (line.debtor_iban or "").replace(" ", "").upper()
    partners = book.partners_by_iban.get(iban, ())
    if len(partners) != 1:
        return None
    open_items = [i for i in book.invoices.values() if i.partner_id == partners[0] and i.open_minor > 0]
    exact = [i for i in open_items if i.open_minor == line.amount_minor]
    if exact:
        return _partner_payment(Rule.INVOICE_PAYER_IBAN_AND_AMOUNT, line, exact[:1])
    if open_items and sum(i.open_minor for i in open_items) == line.amount_minor:
        return _partner_payment(Rule.INVOICE_PAYER_IBAN_AND_AMOUNT, line, open_items)
    return None


def assignment(amount_minor: int, partner_id: str, invoices: Sequence[OpenInvoice]) -> Match:
    """Ops assign a line in suspense to a partner: applied to ``invoices`` in order, the rest its credit
    balance."""
    allocations, excess = apply_payment(amount_minor, invoices)
    return Match(
        Rule.ASSIGNED,
        Outcome.ASSIGNED,
        amount_minor,
        partner_id=partner_id,
        allocations=allocations,
        excess_minor=excess,
    )
