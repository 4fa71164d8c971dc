"""ISO 11649 creditor references: the published example, the checksum's invariants, and finding them in
the free text payers type."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iso11649

from domain.invoicing.creditor_reference import (
    InvalidCreditorReference,
    creditor_reference,
    is_valid,
    printed,
    references_in,
)

BODIES = st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=21)


def test_the_standards_example() -> None:
    assert creditor_reference("539007547034") == "RF18539007547034"
    assert printed("RF18539007547034") == "RF18 5390 0754 7034"


def test_a_document_number_keeps_its_letters_and_digits() -> None:
    assert creditor_reference("nc-2026-000123")[4:] == "NC2026000123"
    assert creditor_reference("NC-2026-000123") == creditor_reference("nc 2026 000123")


@pytest.mark.parametrize("number", ["", "---", "A" * 22, "ÄÖÜ"])
def test_a_number_that_cannot_make_a_reference_is_refused(number: str) -> None:
    with pytest.raises(InvalidCreditorReference):
        creditor_reference(number)


@given(BODIES)
def test_every_reference_we_make_is_valid_for_an_independent_implementation(body: str) -> None:
    reference = creditor_reference(body)
    assert is_valid(reference)
    assert iso11649.is_valid(reference)
    assert is_valid(printed(reference).lower())


@given(
    st.text(alphabet="0123456789", min_size=1, max_size=21),
    st.integers(min_value=2, max_value=24),
    st.sampled_from("0123456789"),
)
def test_one_wrong_digit_is_caught(body: str, position: int, replacement: str) -> None:
    # MOD 97-10 catches every single-digit error (a letter counts as two digits, so only digits are certain)
    reference = creditor_reference(body)
    position = min(position, len(reference) - 1)
    if reference[position] == replacement:
        return
    altered = reference[:position] + replacement + reference[position + 1 :]
    assert not is_valid(altered)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Invoice RF18 5390 0754 7034 thank you", ["RF18539007547034"]),
        ("rf18539007547034", ["RF18539007547034"]),
        ("RF18539007547035", []),  # one digit off
        ("pay RF18539007547034 and RF18539007547034 again", ["RF18539007547034"]),
        ("no reference, just NC-2026-000123", []),
        # Where the reference ends is not written: both valid readings, longest first.
        ("rf37 nc20 2600 0002 ok", ["RF37NC2026000002O", "RF37NC2026000002"]),
    ],
)
def test_references_are_found_in_free_text(text: str, found: list[str]) -> None:
    assert references_in(text) == found


@given(BODIES, st.text(alphabet=" .,;:/abc-", max_size=10), st.text(alphabet=" .,;:/-", max_size=10))
def test_a_reference_is_found_whatever_surrounds_it(body: str, before: str, after: str) -> None:
    reference = creditor_reference(body)
    assert reference in references_in(f"{before} {printed(reference)}{after}")
