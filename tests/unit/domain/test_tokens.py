"""Token fields: the eMA-ID check character (eMI3 vectors), the accepted spellings of a contract id and
what is refused, naming the field; RFID uids in hex."""

from __future__ import annotations

import pytest

from domain.partners import FieldInvalid
from domain.tokens import TokenType, check_uid, emaid_check_character, normalised_contract_id


@pytest.mark.parametrize(
    ("emaid", "check"),
    [
        ("NN123ABCDEFGHI", "T"),
        ("FRXYZ123456789", "2"),
        ("ITA1B2C3E4F5G6", "4"),
        ("ESZU8WOX834H1D", "R"),
        ("PT73902837ABCZ", "Z"),
        ("DE83DUIEN83QGZ", "D"),
        ("DE83DUIEN83ZGQ", "M"),  # a transposition changes the check character
        ("DE8AA001234567", "0"),
        ("NLTNMC00122045", "K"),  # ocpi-connect.md §7.4's example
    ],
)
def test_the_check_character_is_emi3s(emaid: str, check: str) -> None:
    assert emaid_check_character(emaid) == check


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("NL-TNM-C00122045-K", "NLTNMC00122045K"),
        ("nl-tnm-c00122045-k", "NLTNMC00122045K"),
        ("NLTNMC00122045K", "NLTNMC00122045K"),
        ("NL-TNM-C00122045", "NLTNMC00122045"),  # without a check character: nothing to check
        ("DE8AA001234567", "DE8AA001234567"),
    ],
)
def test_a_contract_id_is_normalised(written: str, normalised: str) -> None:
    assert normalised_contract_id(written) == normalised


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("NL-TNM-C00122045-X", "check character X is wrong"),
        ("NL-TNM-C00122045-"[:-1] + "-1", "check character 1 is wrong"),
        ("NLTNM-C00122045K", "must be an eMA-ID"),  # hyphens everywhere or nowhere
        ("N1-TNM-C00122045", "must be an eMA-ID"),  # a country is letters
        ("NL-TNM-C0012204", "must be an eMA-ID"),  # instance of 8
        ("NL-TN*-C00122045", "must be an eMA-ID"),
        ("NL-TNM-C00122045-KK", "must be an eMA-ID"),
        ("", "must be an eMA-ID"),
    ],
)
def test_a_malformed_contract_id_is_refused_naming_the_field(written: str, why: str) -> None:
    with pytest.raises(FieldInvalid) as refused:
        normalised_contract_id(written)
    assert refused.value.field == "contract_id"
    assert why in str(refused.value)


@pytest.mark.parametrize("uid", ["04A1B2C3", "04a1b2c3d4e5f6", "0123456789ABCDEF0123"])
def test_rfid_uids_are_4_7_or_10_bytes_of_hex(uid: str) -> None:
    check_uid(uid, TokenType.RFID)


@pytest.mark.parametrize("uid", ["04A1B2", "04A1B2C3D", "04A1B2G3", "04 A1 B2 C3", "x" * 37])
def test_other_rfid_uids_are_refused(uid: str) -> None:
    with pytest.raises(FieldInvalid) as refused:
        check_uid(uid, TokenType.RFID)
    assert refused.value.field == "uid"


def test_an_app_users_uid_is_any_id_of_up_to_36_characters() -> None:
    check_uid("driver-42@roamly", TokenType.APP_USER)
    for refused_uid in ("", "two words", "x" * 37):
        with pytest.raises(FieldInvalid):
            check_uid(refused_uid, TokenType.APP_USER)
