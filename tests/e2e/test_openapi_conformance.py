"""Schemathesis over every operation of the OpenAPI document, against the real app served over HTTP: valid
and invalid requests, authenticated as the caller each route is for, and every answer must be one the
document declares (status, media type, headers, body), never a 500."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from adapters.cpo import ocpi_token_header
from api.app import create_app
from api.context import ApiContext
from services.ocpi.credentials import invite_cpo
from services.operators import add_operator
from tests.conftest import fresh_party_id
from tests.e2e.conftest import ROAMLY, STROMNETZ, Stack

pytestmark = pytest.mark.asyncio(loop_scope="session")

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Examples per operation and generation mode: enough to reach every refusal of a route, few enough that
# the whole module stays within a minute and a half. PostgreSQL runs the same cases with fewer examples.
EXAMPLES = {"sqlite": 100, "postgres": 25}
# Schemathesis draws random states lazily: the first draw imports hypothesis's random strategy module. That
# import, in the thread the cases run in while the worker's sandbox compiles workflows in another, once hit
# CPython 3.11's "AST constructor recursion depth mismatch". Done here, it happens once, in this thread.
st.randoms().validate()


async def _no_context() -> tuple[ApiContext, Any]:
    raise AssertionError("the document is built without a context")


SCHEMA = schemathesis.openapi.from_dict(create_app(context_factory=_no_context).openapi())
Operation = APIOperation[Any, Any, Any, Any]
# An operation schemathesis cannot read fails the collection here (an Err has no ok()).
OPERATIONS: list[Operation] = [result.ok() for result in SCHEMA.get_all_operations()]  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def operator_key(stack: Stack) -> str:
    with stack.writes.begin() as db:
        return add_operator(db, f"conformance-{uuid.uuid4().hex[:6]}", now=datetime.now(UTC))


@pytest.fixture(scope="module")
def token_a(stack: Stack) -> str:
    """An invited CPO's token A: the credentials module's cases never register it (their versions URLs
    lead nowhere), so they cannot unregister or rotate a CPO other tests use."""
    with stack.writes.begin() as db:
        return invite_cpo(db, "NL", fresh_party_id(), "Conformance B.V.", now=datetime.now(UTC)).token


def _caller(operation: Operation, operator_key: str, token_a: str, token_c: str) -> dict[str, str]:
    """The credentials the route is for: the operators' routes get an operator key, OCPI a CPO's token
    (the credentials module a token A)."""
    if operation.path.startswith(("/v1/disputes", "/v1/partners")):
        return {"Authorization": f"Bearer {operator_key}"}
    if operation.path.endswith("/credentials"):
        return {"Authorization": ocpi_token_header(token_a)}
    if operation.path.startswith("/ocpi/"):
        return {"Authorization": ocpi_token_header(token_c)}
    return {"Authorization": f"Bearer {ROAMLY.api_key}"}


def _cases(operation: Operation) -> st.SearchStrategy[Case[Operation]]:
    valid = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
    if not operation.body and not any(True for _ in operation.iter_parameters()):
        return valid  # nothing to make invalid
    return st.one_of(valid, operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))


def _conform(operation: Operation, base_url: str, headers: dict[str, str], examples: int) -> None:
    @settings(
        max_examples=examples,
        database=None,  # nothing written into the repository
        deadline=None,
        derandomize=True,  # the same cases every run: make test stays reproducible
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_cases(operation))
    def run(case: Case[Operation]) -> None:
        case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=10)

    run()


@pytest.mark.parametrize("operation", OPERATIONS, ids=[operation.label for operation in OPERATIONS])
async def test_every_answer_is_one_the_document_declares(
    stack: Stack, database_url: str, operator_key: str, token_a: str, operation: Operation
) -> None:
    examples = EXAMPLES["postgres" if database_url.startswith("postgresql") else "sqlite"]
    # The cases call the API synchronously: off the event loop that serves it.
    await asyncio.to_thread(
        _conform,
        operation,
        stack.api_url,
        _caller(operation, operator_key, token_a, stack.cpo_token(STROMNETZ.id)),
        examples,
    )
