"""Collecting by SEPA Direct Debit (``money-in.md`` §1, §6): mandates, sequence types, collection dates,
what each R-transaction reason code makes us do, and the ledger entries of a collection's life.

A collection is PENDING (planned), SUBMITTED (in a pain.008 handed to the rail), SETTLED (its collection
date came: Dr cash in transit / Cr the partner's receivable), CREDITED (the bank statement shows the money:
Dr bank / Cr cash in transit), or REJECTED (pain.002 before settlement: the transit posting, if made, is
reversed) or RETURNED (a debit on the statement after settlement: Dr receivable / Cr bank). Either of the
last two reopens the receivable, and so takes the partner's available credit down again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.eu import at_02

from domain.collections.postings import BANK, KEY_PREFIX
from domain.ledger.accounts import AccountKind, demand_partner, platform
from domain.ledger.entries import JournalEntry, Posting
from domain.partners import FieldInvalid

CASH_IN_TRANSIT = platform(AccountKind.CASH_IN_TRANSIT, "collections")
SDD_CURRENCY = "EUR"
MANDATE_ID_MAX = 35
# EPC: a mandate lapses 36 months after the last collection presented under it (or its signature).
LAPSE_MONTHS = 36
# Collections reach our bank at least one inter-bank business day before the collection date (D-1).
PRESENTATION_DAYS = 1
MIN_AMOUNT_MINOR = 1
MAX_AMOUNT_MINOR = 99_999_999_999  # 999 999 999.99 EUR
# SEPA identifiers (MndtId, EndToEndId) take letters, digits and / - ? : ( ) . , ' + and space; EPC
# forbids a leading or trailing '/' and '//' inside.
_IDENTIFIER = re.compile(r"[A-Za-z0-9/\-?:().,'+ ]+")


class Scheme(StrEnum):
    CORE = "CORE"
    B2B = "B2B"


class SequenceType(StrEnum):
    RECURRING = "RCUR"
    ONE_OFF = "OOFF"


class MandateStatus(StrEnum):
    ACTIVE = "ACTIVE"
    REVOKED = "REVOKED"  # by ops (the partner withdrew it)
    LAPSED = "LAPSED"  # 36 months without a collection
    BLOCKED = "BLOCKED"  # a return said the account or the mandate is no good (MD01, AC01, AC04, AC06)


class CollectionState(StrEnum):
    PENDING = "PENDING"
    SUBMITTED = "SUBMITTED"
    SETTLED = "SETTLED"
    CREDITED = "CREDITED"
    REJECTED = "REJECTED"
    RETURNED = "RETURNED"


def checked_creditor_id(creditor_id: str) -> str:
    """The SEPA creditor identifier (AT-02), compact, if its ISO 7064 check digits are right."""
    compact = at_02.compact(creditor_id)
    if not at_02.is_valid(compact):
        raise FieldInvalid("creditor_id", f"{creditor_id!r} is not a valid SEPA creditor identifier")
    return compact


def checked_identifier(field: str, value: str, max_length: int = MANDATE_ID_MAX) -> str:
    value = value.strip()
    if not 0 < len(value) <= max_length or not _IDENTIFIER.fullmatch(value):
        raise FieldInvalid(
            field, f"must be 1 to {max_length} SEPA characters (letters, digits, / - ? : ( ) . , ' + space)"
        )
    if value.startswith("/") or value.endswith("/") or "//" in value:
        raise FieldInvalid(field, "must not start or end with '/' nor contain '//'")
    return value


@dataclass(frozen=True, slots=True)
class Mandate:
    partner_id: str
    mandate_id: str  # the UMR
    signed_on: date
    scheme: Scheme
    iban: str
    bic: str | None
    status: MandateStatus = MandateStatus.ACTIVE
    recurring: bool = True
    last_collection_on: date | None = None

    @property
    def sequence_type(self) -> SequenceType:
        return SequenceType.RECURRING if self.recurring else SequenceType.ONE_OFF

    def lapses_on(self) -> date:
        return add_months(self.last_collection_on or self.signed_on, LAPSE_MONTHS)

    def usable_on(self, on: date) -> bool:
        return self.status == MandateStatus.ACTIVE and on < self.lapses_on()


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("every month has 28 days")


def checked_mandate(
    *,
    partner_id: str,
    mandate_id: str,
    signed_on: date,
    scheme: str,
    iban: str,
    bic: str | None,
    today: date,
    recurring: bool = True,
) -> Mandate:
    """A mandate, every field checked with its name: a SEPA identifier as UMR, signed no later than today,
    CORE or B2B, an IBAN (checksum) of a SEPA country, and a BIC of that bank when one is given."""
    umr = checked_identifier("mandate_id", mandate_id)
    if signed_on > today:
        raise FieldInvalid("signed_on", f"{signed_on} is in the future: a mandate is signed before it is used")
    try:
        checked_scheme = Scheme(scheme.strip().upper())
    except ValueError as error:
        raise FieldInvalid("scheme", f"must be CORE or B2B, not {scheme!r}") from error
    try:
        account = IBAN(iban)
    except SchwiftyException as error:
        raise FieldInvalid("iban", f"{iban!r} is not a valid IBAN: {error}") from error
    if not account.in_sepa_zone:
        raise FieldInvalid("iban", f"{account.country_code} is not a SEPA country: no SEPA Direct Debit from there")
    checked_bic = None
    if bic:
        try:
            checked_bic = BIC(bic).compact
        except SchwiftyException as error:
            raise FieldInvalid("bic", f"{bic!r} is not a valid BIC: {error}") from error
        if account.bic is not None and account.bic.compact[:6] != checked_bic[:6]:
            raise FieldInvalid("bic", f"{bic} is not the bank of IBAN {account.formatted}")
    return Mandate(partner_id, umr, signed_on, checked_scheme, account.compact, checked_bic, recurring=recurring)


def collection_date(due_date: date, run_date: date) -> date:
    """When a collection planned on ``run_date`` is debited: its due date, but never before the file can
    reach the bank (D-1)."""
    return max(due_date, run_date + timedelta(days=PRESENTATION_DAYS))


def is_due(due_date: date, run_date: date) -> bool:
    """A run on ``run_date`` presents what falls due by the next presentation day."""
    return due_date <= run_date + timedelta(days=PRESENTATION_DAYS)


@dataclass(frozen=True, slots=True)
class ReasonAction:
    """What a reject or return with this reason makes us do (``money-in.md`` §1.6)."""

    meaning: str
    block_mandate: bool = False
    represent: bool = False  # present once more, at the next collection date


UNKNOWN_REASON = ReasonAction("not a reason we know: treated as unpaid")
REASON_ACTIONS: dict[str, ReasonAction] = {
    "AC01": ReasonAction("account identifier incorrect", block_mandate=True),
    "AC04": ReasonAction("account closed", block_mandate=True),
    "AC06": ReasonAction("account blocked", block_mandate=True),
    "AG01": ReasonAction("transaction forbidden on the account (no B2B?)"),
    "AM04": ReasonAction("insufficient funds", represent=True),
    "AM05": ReasonAction("duplicate collection"),
    "MD01": ReasonAction("no valid mandate", block_mandate=True),
    "MD02": ReasonAction("mandate data missing or incorrect"),
    "MD06": ReasonAction("refund requested by the debtor"),
    "MS02": ReasonAction("refused by the debtor"),
    "MS03": ReasonAction("reason not specified by the bank"),
    "SL01": ReasonAction("specific service of the debtor's bank (creditor blocked?)"),
    "FF01": ReasonAction("invalid file format: our bug"),
}


def reason_action(code: str | None) -> ReasonAction:
    return REASON_ACTIONS.get((code or "").upper(), UNKNOWN_REASON)


def representation_allowed(code: str | None, attempt: int) -> bool:
    """Re-present once: only where the reason allows it and only after the first attempt."""
    return reason_action(code).represent and attempt == 1


def end_to_end_id(invoice_key: int, attempt: int) -> str:
    """Our collection's EndToEndId (≤ 35): one per invoice and attempt, so a re-presentation gets its own."""
    return f"NCDD{invoice_key:012d}A{attempt}"


def settlement_key(e2e: str) -> str:
    return f"sdd:{e2e}:settled"


def settlement_entry(e2e: str, partner_id: str, amount_minor: int) -> JournalEntry:
    """The collection date came: Dr cash in transit / Cr the partner's receivable."""
    return JournalEntry(
        settlement_key(e2e),
        (
            Posting(CASH_IN_TRANSIT, SDD_CURRENCY, amount_minor),
            Posting(demand_partner(partner_id, AccountKind.RECEIVABLE), SDD_CURRENCY, -amount_minor),
        ),
    )


def reject_entry(e2e: str, partner_id: str, amount_minor: int) -> JournalEntry:
    """A pain.002 rejected it after its settlement was posted: the receivable reopens, transit clears."""
    return JournalEntry(
        f"sdd:{e2e}:rejected",
        (
            Posting(demand_partner(partner_id, AccountKind.RECEIVABLE), SDD_CURRENCY, amount_minor),
            Posting(CASH_IN_TRANSIT, SDD_CURRENCY, -amount_minor),
        ),
    )


def credit_entry(key: str, amount_minor: int) -> JournalEntry:
    """The bank credited collections (one transaction or a whole batch): Dr bank / Cr cash in transit."""
    return JournalEntry(
        key, (Posting(BANK, SDD_CURRENCY, amount_minor), Posting(CASH_IN_TRANSIT, SDD_CURRENCY, -amount_minor))
    )


def return_key(e2e: str) -> str:
    """Booked from a bank statement, so under the statements' key prefix (the payout check sets those apart)."""
    return f"{KEY_PREFIX}sdd-return:{e2e}"


def return_entry(e2e: str, partner_id: str, amount_minor: int) -> JournalEntry:
    """The debtor's bank took it back (return or refund): Dr receivable (reopened) / Cr bank."""
    return JournalEntry(
        return_key(e2e),
        (
            Posting(demand_partner(partner_id, AccountKind.RECEIVABLE), SDD_CURRENCY, amount_minor),
            Posting(BANK, SDD_CURRENCY, -amount_minor),
        ),
    )
