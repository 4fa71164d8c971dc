"""The tokens we present to CPOs, sealed at rest (``adapters/token_cipher.py``)."""

from __future__ import annotations

import pytest

from adapters.token_cipher import SEALED_PREFIX, TokenCipher, TokenKeyMissing, TokenUnreadable, new_token_key

TOKEN = "cpo-token-b-0123456789abcdef0123456789abcdef0123456789abcdef012345"  # 64 characters, the most


def test_a_sealed_token_is_kept_unreadable_and_revealed_with_the_same_key() -> None:
    cipher = TokenCipher(new_token_key())
    sealed = cipher.seal(TOKEN)
    assert sealed.startswith(SEALED_PREFIX)
    assert TOKEN not in sealed
    assert len(sealed) <= 255, "fits cpos.outbound_token"
    assert cipher.seal(TOKEN) != sealed, "a fresh nonce each time: equal tokens do not show"
    assert cipher.reveal(sealed) == TOKEN


def test_no_token_stays_no_token() -> None:
    cipher = TokenCipher(new_token_key())
    assert (cipher.seal(""), cipher.reveal("")) == ("", "")


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param("in-clear", id="clear"),
        pytest.param(TokenCipher(new_token_key()).seal(TOKEN), id="another key"),
        pytest.param(SEALED_PREFIX + "garbage", id="tampered"),
    ],
)
def test_what_this_key_did_not_seal_is_refused(stored: str) -> None:
    with pytest.raises(TokenUnreadable):
        TokenCipher(new_token_key()).reveal(stored)


@pytest.mark.parametrize("key", ["", "not-a-fernet-key"])
def test_without_a_usable_key_nothing_starts(key: str) -> None:
    with pytest.raises(TokenKeyMissing, match="NETWORKCORE_OCPI_TOKEN_KEY"):
        TokenCipher.configured(key)
