"""A session's request fingerprint is what the API stored before services/sessions.py made it: a retried
start of a session made then must still be recognised as the same request."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from api.schemas import SessionCreate
from services.sessions import SessionRequest

amounts = st.none() | st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("9999999999"), places=4)


@given(
    evse_id=st.from_regex(r"^[\x21-\x7e]{1,48}$", fullmatch=True),  # printable ASCII, as the API takes it
    driver_reference=st.from_regex(r"^[\x20-\x7e]{1,36}$", fullmatch=True),
    max_amount=amounts,
)
def test_the_fingerprint_is_the_hash_of_the_request_body_as_json(
    evse_id: str, driver_reference: str, max_amount: Decimal | None
) -> None:
    body = SessionCreate(evse_id=evse_id, driver_reference=driver_reference, max_amount=max_amount)
    # What the API stored before sessions could name a quote: the body without ``quote_id``.
    stored = body.model_dump(mode="json", exclude={"quote_id"})
    before = hashlib.sha256(json.dumps(stored, sort_keys=True).encode()).hexdigest()
    assert SessionRequest(body.evse_id, body.driver_reference, body.max_amount).fingerprint() == before


def test_a_different_cap_is_a_different_request() -> None:
    with_cap = SessionRequest("DE*ABC*E0001", "driver-1", Decimal("25.00"))
    assert with_cap.fingerprint() != SessionRequest("DE*ABC*E0001", "driver-1", None).fingerprint()


def test_a_quote_is_part_of_the_request() -> None:
    plain = SessionRequest("DE*ABC*E0001", "driver-1", None)
    quoted = SessionRequest("DE*ABC*E0001", "driver-1", None, "quote-1")
    assert (
        len(
            {
                plain.fingerprint(),
                quoted.fingerprint(),
                SessionRequest("DE*ABC*E0001", "driver-1", None, "quote-2").fingerprint(),
            }
        )
        == 3
    )
