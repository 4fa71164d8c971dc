"""ISO 11649 structured creditor references ("RF"), the payment reference every open item carries.

An RF is ``RF`` + two check digits (ISO 7064 MOD 97-10, the IBAN algorithm) + 1 to 21 letters and digits.
Ours derive from the document number alone (its letters and digits), so a re-issued PDF quotes the same
reference and a bank statement line leads back to exactly one document. Payers often type the
reference into free text, with spaces or in lower case: ``references_in`` finds every valid one there.
"""

from __future__ import annotations

import re

_MAX_BODY = 21
_NOT_ALPHANUMERIC = re.compile(r"[^0-9A-Z]")
_CANDIDATE = re.compile(r"R\s?F\s?\d\s?\d(?:\s?[0-9A-Z]){1,21}")


class InvalidCreditorReference(ValueError):
    """The text cannot be, or does not make, an ISO 11649 reference."""


# Letters as 10..35, digits unchanged (ISO 7064): a statement's import computes thousands of these.
_AS_DIGITS = {ord(c): str(int(c, 36)) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def _numeric(text: str) -> int:
    """The text read as one number, letters as two digits each."""
    return int(text.translate(_AS_DIGITS))


def creditor_reference(document_number: str) -> str:
    """The RF reference of a document, e.g. ``NC-2026-000123`` -> ``RF..NC2026000123``."""
    body = _NOT_ALPHANUMERIC.sub("", document_number.upper())
    if not 1 <= len(body) <= _MAX_BODY:
        raise InvalidCreditorReference(f"{document_number!r}: needs 1 to {_MAX_BODY} letters and digits")
    return f"RF{98 - _numeric(body + 'RF00') % 97:02d}{body}"


def is_valid(reference: str) -> bool:
    """Whether the text is a well-formed RF with correct check digits (spaces and case ignored)."""
    compact = reference.replace(" ", "").upper()
    if not (5 <= len(compact) <= 25 and compact.startswith("RF") and compact[2:4].isdigit()):
        return False
    if _NOT_ALPHANUMERIC.search(compact):
        return False
    return _numeric(compact[4:] + compact[:4]) % 97 == 1


def printed(reference: str) -> str:
    """In groups of four, as invoices print it (``RF18 5390 0754 7034``)."""
    compact = reference.replace(" ", "").upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def references_in(text: str) -> list[str]:
    """Every valid RF in free text (a statement's ``Ustrd``), compact and upper case, in order, no repeats.

    Where the text runs on after a reference (``RF37 NC20 2600 0002 ok``), where it ends is not written
    down, and a longer reading can be valid too (1 in 97: ``RF37NC2026000002O``): every valid reading is
    returned, longest first, for the caller to look up among the references it issued."""
    found: list[str] = []
    for match in _CANDIDATE.finditer(text.upper()):
        compact = match.group().replace(" ", "")
        for end in range(len(compact), 4, -1):
            if is_valid(compact[:end]) and compact[:end] not in found:
                found.append(compact[:end])
    return found
