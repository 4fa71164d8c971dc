"""The credentials tokens we present to CPOs, encrypted at rest (OCPI: tokens we send are kept encrypted,
read only where the HTTP call is made). Fernet (AES-128-CBC with HMAC-SHA256) under one key from the
settings (``NETWORKCORE_OCPI_TOKEN_KEY``); a stored value is ``enc:v1:<Fernet token>``, so a later key or
scheme can be told apart. The empty string stays empty: a CPO not registered yet has no token."""

from __future__ import annotations

from typing import Final

from cryptography.fernet import Fernet, InvalidToken

SEALED_PREFIX: Final = "enc:v1:"
KEY_SETTING: Final = "NETWORKCORE_OCPI_TOKEN_KEY"


class TokenKeyMissing(Exception):
    """No usable key is configured: the API and the worker refuse to start rather than keep tokens in clear."""


class TokenUnreadable(Exception):
    """A stored token is not one this key sealed (another key, or tampered with)."""


class TokenCipher:
    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except ValueError as error:
            raise TokenKeyMissing(f"{KEY_SETTING} is not a Fernet key (32 url-safe Base64 bytes)") from error

    @classmethod
    def configured(cls, key: str) -> TokenCipher:
        """The cipher of the configured key; without one, the production rule: refuse."""
        if not key:
            raise TokenKeyMissing(
                f"{KEY_SETTING} is not set: generate one with `networkcore token-key` and keep it with the "
                "database's secrets (`networkcore dev` makes one under .data for the local stack)"
            )
        return cls(key)

    def seal(self, token: str) -> str:
        if not token:
            return ""
        return SEALED_PREFIX + self._fernet.encrypt(token.encode()).decode()

    def reveal(self, stored: str) -> str:
        if not stored:
            return ""
        if not stored.startswith(SEALED_PREFIX):
            raise TokenUnreadable("the stored token is not sealed")
        try:
            return self._fernet.decrypt(stored.removeprefix(SEALED_PREFIX).encode()).decode()
        except InvalidToken as error:
            raise TokenUnreadable("the stored token was sealed with another key") from error


def new_token_key() -> str:
    return Fernet.generate_key().decode()
