"""Drivers' tokens a demand partner registers (OCPI Tokens, our Sender): the rules of their fields, and the
eMA-ID (contract id) format of ISO 15118 / eMI3 with its check character. Pure; storage is
``persistence/tokens.py``."""

from __future__ import annotations

import re
from enum import StrEnum

from domain.partners import FieldInvalid


class TokenType(StrEnum):
    """OCPI 2.2.1 TokenType (uid + type is unique)."""

    AD_HOC_USER = "AD_HOC_USER"
    APP_USER = "APP_USER"
    OTHER = "OTHER"
    RFID = "RFID"


class WhitelistType(StrEnum):
    """OCPI 2.2.1 WhitelistType: how the CPO may authorise the token."""

    ALWAYS = "ALWAYS"  # from its cache only, never in real time
    ALLOWED = "ALLOWED"  # cache or real time, the CPO chooses
    ALLOWED_OFFLINE = "ALLOWED_OFFLINE"  # real time, allowed when we cannot be reached
    NEVER = "NEVER"  # real time, always


# An RFID card's uid as its reader gives it: 4, 7 or 10 bytes in hex (ISO 14443), any case.
RFID_UID = re.compile(r"[0-9A-Fa-f]{8}|[0-9A-Fa-f]{14}|[0-9A-Fa-f]{20}")
# An app or ad-hoc user's id: an OCPI CiString(36), printable ASCII without spaces.
OTHER_UID = re.compile(r"[\x21-\x7e]{1,36}")
# eMA-ID: country (2 letters), provider (3 alphanumerics), instance (9 alphanumerics), optional check
# character; hyphens either everywhere or nowhere (ISO 15118-2 Annex H, eMI3).
EMAID = re.compile(r"([A-Za-z]{2})(-?)([0-9A-Za-z]{3})\2([0-9A-Za-z]{9})(?:\2([0-9A-Za-z]))?")

# The check character (eMI3 "Check Digit Calculation for Contract-IDs"): each character is a 2x2 matrix
# over Z2 (top row) and Z3 (bottom row); the 14 characters are weighted with powers of two matrices and
# summed, and the sum is decoded back into a character. Detects single errors, adjacent and jump
# transpositions, twin and jump-twin errors.
_CODES = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", (
    0, 16, 32, 4, 20, 36, 8, 24, 40, 2, 18, 34, 6, 22, 38, 10, 26, 42,
    1, 17, 33, 5, 21, 37, 9, 25, 41, 3, 19, 35, 7, 23, 39, 11, 27, 43,
), strict=True))  # fmt: skip
Matrix = tuple[int, int, int, int]  # m11, m12, m21, m22


def _matrix(code: int) -> Matrix:
    return code & 1, (code >> 1) & 1, (code >> 2) & 3, code >> 4


def _product(a: Matrix, b: Matrix) -> Matrix:
    return (
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
    )


def _powers(base: Matrix, count: int) -> list[Matrix]:
    powers = [base]
    while len(powers) < count:
        powers.append(_product(powers[-1], base))
    return powers


# An eMA-ID's characters before its check character (country, provider, instance).
EMAID_LENGTH_WITHOUT_CHECK = 14
_P1 = _powers((0, 1, 1, 1), EMAID_LENGTH_WITHOUT_CHECK)
_P2 = _powers((0, 1, 1, 2), EMAID_LENGTH_WITHOUT_CHECK)
_MINUS_P2_TO_THE_MINUS_15: Matrix = (0, 2, 2, 1)
_CHARACTERS = {_matrix(code): character for character, code in _CODES.items()}


def _weighted(row: tuple[int, int], weight: Matrix) -> tuple[int, int]:
    """A row vector times a matrix."""
    return row[0] * weight[0] + row[1] * weight[2], row[0] * weight[1] + row[1] * weight[3]


def _sum(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return a[0] + b[0], a[1] + b[1]


def emaid_check_character(emaid: str) -> str:
    """The check character of a normalised 14-character eMA-ID (upper case, no hyphens)."""
    assert len(emaid) == len(_P1), emaid
    assert all(character in _CODES for character in emaid), emaid
    top, bottom = (0, 0), (0, 0)
    for character, p1, p2 in zip(emaid, _P1, _P2, strict=True):
        m = _matrix(_CODES[character])
        top = _sum(top, _weighted((m[0], m[1]), p1))
        bottom = _sum(bottom, _weighted((m[2], m[3]), p2))
    row = _weighted(bottom, _MINUS_P2_TO_THE_MINUS_15)
    return _CHARACTERS[(top[0] % 2, top[1] % 2, row[0] % 3, row[1] % 3)]


def normalised_contract_id(contract_id: str) -> str:
    """A contract id as it is matched: upper case, without hyphens (``NL-TNM-C00122045-K`` is
    ``NLTNMC00122045K``). Refuses (``FieldInvalid`` naming ``contract_id``) one that is no eMA-ID, or
    whose check character is wrong."""
    found = EMAID.fullmatch(contract_id)
    if found is None:
        raise FieldInvalid(
            "contract_id",
            "must be an eMA-ID: country (2 letters), provider (3 letters or digits), instance (9), "
            "optional check character, e.g. NL-TNM-C00122045-K or NLTNMC00122045K",
        )
    country, _, provider, instance, check = found.groups()
    normalised = f"{country}{provider}{instance}".upper()
    if check is not None:
        expected = emaid_check_character(normalised)
        if check.upper() != expected:
            raise FieldInvalid("contract_id", f"check character {check} is wrong: {normalised} has {expected}")
        normalised += expected
    return normalised


def check_uid(uid: str, token_type: TokenType) -> None:
    """An RFID uid is the card's hex uid; other tokens' uids are ids of up to 36 characters."""
    if token_type == TokenType.RFID and RFID_UID.fullmatch(uid) is None:
        raise FieldInvalid("uid", "an RFID uid is the card's uid in hex: 8, 14 or 20 hex digits (4, 7 or 10 bytes)")
    if OTHER_UID.fullmatch(uid) is None:
        raise FieldInvalid("uid", "must be 1 to 36 printable ASCII characters without spaces")
