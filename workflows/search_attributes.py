"""Custom search attributes: what ops filter sessions and payout workflows by in the Temporal UI.

Registered by ``networkcore dev`` (dev server flags), ``networkcore setup`` (a running cluster) and the
tests, all from ``ALL``. They fit the SQL visibility limits (at most 10 Keyword, 3 Bool).
Values are stored unencrypted: ids and stages only, never personal data.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

DEMAND_PARTNER = SearchAttributeKey.for_keyword("DemandPartner")
CPO = SearchAttributeKey.for_keyword("Cpo")
CHARGER_COUNTRY = SearchAttributeKey.for_keyword("ChargerCountry")
SESSION_STAGE = SearchAttributeKey.for_keyword("SessionStage")
NEEDS_ATTENTION = SearchAttributeKey.for_bool("NeedsAttention")
# Why a workflow stopped or needs attention (e.g. FxRateMissing, TariffInvalid, PayoutRejected); unset again
# once it recovers.
ERROR_TYPE = SearchAttributeKey.for_keyword("ErrorType")

ALL: tuple[SearchAttributeKey[str] | SearchAttributeKey[bool], ...] = (
    DEMAND_PARTNER,
    CPO,
    CHARGER_COUNTRY,
    SESSION_STAGE,
    NEEDS_ATTENTION,
    ERROR_TYPE,
)


def error_type_update(error_type: str | None) -> SearchAttributeUpdate[str]:
    return ERROR_TYPE.value_set(error_type) if error_type else ERROR_TYPE.value_unset()


# The temporal CLI's type names, for `temporal server start-dev --search-attribute NAME=TYPE`.
CLI_TYPE_NAMES = {"KEYWORD": "Keyword", "BOOL": "Bool"}


def cli_flags() -> list[str]:
    flags: list[str] = []
    for key in ALL:
        flags += [
            "--search-attribute",
            f"{key.name}={CLI_TYPE_NAMES[key.indexed_value_type.name.removeprefix('INDEXED_VALUE_TYPE_')]}",
        ]
    return flags
