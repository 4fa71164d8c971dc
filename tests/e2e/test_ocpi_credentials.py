"""OCPI 2.2.1 Credentials over real HTTP, both ways, on both databases: a CPO we invited registers with
token A, rotates its token, unregisters; we register with a CPO that gave us its token A. The CPO is a
small FastAPI app of its own, written from the spec's examples (versions, version details, credentials)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from adapters.cpo import ocpi_token_header
from cli import partners as cli_partners
from cli.main import parser
from cli.processes import free_port
from messages.workflow_ids import cpo_sync_workflow_id
from persistence.tables import CpoRow, LocationRow, OcpiConnectionRow, OcpiEndpointRow, OcpiInboxRow
from services.ocpi.credentials import OurPlatform, PeerAccess, our_platform, platform_role, token_sha256
from tests.conftest import TEST_PEERS, fresh_party_id
from tests.e2e.conftest import STROMNETZ, Stack, serve
from tests.e2e.test_ocpi_intake import OCPI
from tests.e2e.test_ocpi_locations import location

CREDENTIALS = f"{OCPI}/credentials"
VERSIONS = ("2.1.1", "2.2.1")
MODULES = (("credentials", "SENDER"), ("commands", "RECEIVER"), ("locations", "SENDER"))


def token_headers(token: str) -> dict[str, str]:
    return {"Authorization": ocpi_token_header(token), "Content-Type": "application/json"}


def ok(data: Any) -> dict[str, Any]:
    return {"data": data, "status_code": 1000, "status_message": "Success", "timestamp": "2026-12-03T09:15:00Z"}


@dataclass
class FakeCpo:
    """A CPO's OCPI configuration modules: versions, 2.2.1 details and credentials, each checking the
    token it expects, recording what it was sent."""

    url: str
    party_id: str
    country_code: str = "NL"
    accepted: set[str] = field(default_factory=set)  # tokens that may call it
    versions: list[str] = field(default_factory=lambda: list(VERSIONS))
    modules: list[tuple[str, str]] = field(default_factory=lambda: list(MODULES))
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    # When we register with it: the token C it issues, and what our callback with token B answered.
    token_c: str = field(default_factory=lambda: f"cpo-c-{uuid.uuid4().hex}")
    callback_status: int | None = None
    emsp_token: str | None = None  # the token B our credentials gave it
    other_parties: list[str] = field(default_factory=list)  # more CPO roles of its company
    endpoints_at: str | None = None  # where its details say its modules are (default: where it listens)

    @property
    def versions_url(self) -> str:
        return f"{self.url}/ocpi/versions"

    def credentials(self, token: str) -> dict[str, Any]:
        return {
            "token": token,
            "url": self.versions_url,
            "roles": [
                {
                    "role": "CPO",
                    "party_id": party_id,
                    "country_code": self.country_code,
                    "business_details": {"name": "Fake Charging B.V.", "website": "https://example.com"},
                }
                for party_id in (self.party_id, *self.other_parties)
            ],
        }

    def app(self) -> FastAPI:
        app = FastAPI()

        def caller(request: Request) -> JSONResponse | None:
            self.seen.append((f"{request.method} {request.url.path}", dict(request.headers)))
            presented = request.headers.get("Authorization", "")
            if not any(presented == ocpi_token_header(token) for token in self.accepted):
                return JSONResponse({"status_code": 2000, "status_message": "unknown token"}, status_code=401)
            return None

        @app.get("/ocpi/versions")
        async def versions(request: Request) -> JSONResponse:
            refused = caller(request)
            found = [{"version": v, "url": f"{self.url}/ocpi/{v}"} for v in self.versions]
            return refused or JSONResponse(ok(found))

        @app.get("/ocpi/2.2.1")
        async def details(request: Request) -> JSONResponse:
            refused = caller(request)
            endpoints = [
                {"identifier": module, "role": role, "url": f"{self.endpoints_at or self.url}/ocpi/2.2.1/{module}"}
                for module, role in self.modules
            ]
            return refused or JSONResponse(ok({"version": "2.2.1", "endpoints": endpoints}))

        @app.post("/ocpi/2.2.1/credentials")
        async def register(request: Request) -> JSONResponse:
            refused = caller(request)
            if refused:
                return refused
            ours = await request.json()
            self.emsp_token = ours["token"]
            # As a CPO does before answering: read the eMSP's versions with the token it just got.
            async with httpx.AsyncClient() as http:
                reply = await http.get(ours["url"], headers=token_headers(ours["token"]))
            self.callback_status = reply.status_code
            self.accepted = {self.token_c}
            return JSONResponse(ok(self.credentials(self.token_c)))

        return app


@pytest_asyncio.fixture
async def fake_cpo() -> AsyncIterator[FakeCpo]:
    port = free_port()
    cpo = FakeCpo(url=f"http://127.0.0.1:{port}", party_id=fresh_party_id())
    server, task = await serve(cpo.app(), port)
    try:
        yield cpo
    finally:
        server.should_exit = True
        await task


def ours(stack: Stack) -> OurPlatform:
    return our_platform(stack.api_url, platform_role("CH", "NWC", "NetworkCore GmbH"), TEST_PEERS)


def temporal(stack: Stack) -> cli_partners.TemporalTarget:
    """Our Temporal as the CLI reaches it (the CLI runs its own event loop, so its own client)."""
    return cli_partners.TemporalTarget(
        stack.temporal.service_client.config.target_host, stack.temporal.namespace, stack.task_queue
    )


def invite(stack: Stack, cpo: FakeCpo, capsys: pytest.CaptureFixture[str], *options: str) -> str:
    """``networkcore partners invite-cpo --json``: token A."""
    argv = ["partners", "invite-cpo", "--country-code", cpo.country_code, "--party-id", cpo.party_id]
    assert (
        cli_partners.run(
            stack.writes,
            parser().parse_args([*argv, "--name", "Fake", "--json", *options]),
            ours(stack),
            temporal(stack),
        )
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed["versions_url"] == f"{stack.api_url}/ocpi/versions"
    return str(printed["token"])


def connection(stack: Stack, cpo_id: str) -> OcpiConnectionRow:
    with stack.writes() as db:
        return db.scalars(select(OcpiConnectionRow).where(OcpiConnectionRow.cpo_id == cpo_id)).one()


def revealed(cpo: CpoRow) -> str:
    """The token we present to the CPO, as the activities that call it read it."""
    return TEST_PEERS.token_cipher.reveal(cpo.outbound_token)


def stack_cpo(stack: Stack, cpo_id: str) -> CpoRow:
    with stack.writes() as db:
        return db.get_one(CpoRow, cpo_id)


def cpo_row(stack: Stack, cpo: FakeCpo) -> CpoRow:
    with stack.writes() as db:
        return db.scalars(select(CpoRow).where(CpoRow.party_id == cpo.party_id)).one()


def credentials_inbox(stack: Stack, cpo_id: str) -> list[OcpiInboxRow]:
    with stack.writes() as db:
        return list(
            db.scalars(
                select(OcpiInboxRow)
                .where(OcpiInboxRow.cpo_id == cpo_id, OcpiInboxRow.kind == "CREDENTIALS")
                .order_by(OcpiInboxRow.key)
            )
        )


async def status_of(stack: Stack, method: str, path: str, token: str, body: Any = None) -> tuple[int, int | None]:
    content = None if body is None else json.dumps(body)
    reply = await stack.http.request(method, path, content=content, headers=token_headers(token))
    return reply.status_code, reply.json().get("status_code")


async def test_a_cpo_registers_with_token_a_rotates_and_unregisters(
    stack: Stack, fake_cpo: FakeCpo, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token_a = invite(stack, fake_cpo, capsys)
    invited = cpo_row(stack, fake_cpo)
    assert not invited.active, "inactive until it registers"
    # Token A opens versions and credentials only.
    assert await status_of(stack, "GET", "/ocpi/versions", token_a) == (200, 1000)
    assert await status_of(stack, "GET", OCPI, token_a) == (200, 1000)
    assert (await status_of(stack, "POST", f"{OCPI}/cdrs", token_a, {}))[0] == 401
    # Not registered yet: nothing to update or unregister.
    assert await status_of(stack, "PUT", CREDENTIALS, token_a, fake_cpo.credentials("cpo-b")) == (405, 2000)
    assert await status_of(stack, "DELETE", CREDENTIALS, token_a) == (405, 2000)

    token_b = f"cpo-b-{uuid.uuid4().hex}"
    fake_cpo.accepted = {token_b}
    reply = await stack.http.post(
        CREDENTIALS,
        content=json.dumps(fake_cpo.credentials(token_b)),
        headers={**token_headers(token_a), "X-Correlation-ID": "corr-registration"},
    )
    assert (reply.status_code, reply.json()["status_code"]) == (200, 1000), reply.text
    answer = reply.json()["data"]
    token_c = answer["token"]
    assert answer["url"] == f"{stack.api_url}/ocpi/versions"
    assert answer["roles"] == [
        {"role": "EMSP", "business_details": {"name": "NetworkCore GmbH"}, "party_id": "NWC", "country_code": "CH"}
    ]
    assert token_c not in (token_a, token_b)
    # We read its versions and details with token B, with our transport headers.
    assert [what for what, _ in fake_cpo.seen] == ["GET /ocpi/versions", "GET /ocpi/2.2.1"]
    for _, headers in fake_cpo.seen:
        assert headers["authorization"] == "Token " + base64.b64encode(token_b.encode()).decode()
        assert headers["x-request-id"]
        assert headers["x-correlation-id"] == "corr-registration"
    assert len({headers["x-request-id"] for _, headers in fake_cpo.seen}) == 2

    registered = cpo_row(stack, fake_cpo)
    assert registered.active
    assert registered.commands_url == f"{fake_cpo.url}/ocpi/2.2.1/commands/"
    assert token_b not in registered.outbound_token, "sealed at rest"
    assert revealed(registered) == token_b
    stored = connection(stack, registered.id)
    assert (stored.state, stored.version, stored.versions_url) == ("REGISTERED", "2.2.1", fake_cpo.versions_url)
    assert stored.inbound_token_sha256 == token_sha256(token_c)
    assert stored.token_a_sha256 is None
    with stack.writes() as db:
        endpoints = db.scalars(select(OcpiEndpointRow).where(OcpiEndpointRow.connection_key == stored.key)).all()
    assert {(e.identifier, e.role) for e in endpoints} == set(fake_cpo.modules)

    # Token A is spent; token C works everywhere, and a second POST is 405.
    assert (await status_of(stack, "GET", "/ocpi/versions", token_a))[0] == 401
    assert await status_of(stack, "POST", CREDENTIALS, token_a, fake_cpo.credentials(token_b)) == (401, 2000)
    assert await status_of(stack, "POST", f"{OCPI}/cdrs", token_c, {}) == (200, 2001)
    assert await status_of(stack, "POST", CREDENTIALS, token_c, fake_cpo.credentials(token_b)) == (405, 2000)
    got = await stack.http.get(CREDENTIALS, headers=token_headers(token_c))
    assert got.json()["data"]["token"] == token_c

    # PUT: a new token B; we read its versions again with it and issue a new C; the old C stops at once.
    new_b = f"cpo-b2-{uuid.uuid4().hex}"
    fake_cpo.accepted, fake_cpo.seen = {new_b}, []
    rotated = await stack.http.put(
        CREDENTIALS, content=json.dumps(fake_cpo.credentials(new_b)), headers=token_headers(token_c)
    )
    assert rotated.json()["status_code"] == 1000, rotated.text
    new_c = rotated.json()["data"]["token"]
    assert new_c != token_c
    assert [headers["authorization"] for _, headers in fake_cpo.seen] == [ocpi_token_header(new_b)] * 2
    assert revealed(cpo_row(stack, fake_cpo)) == new_b
    assert (await status_of(stack, "POST", f"{OCPI}/cdrs", token_c, {}))[0] == 401
    assert (await status_of(stack, "GET", "/ocpi/versions", token_c))[0] == 401
    assert await status_of(stack, "POST", f"{OCPI}/cdrs", new_c, {}) == (200, 2001)

    # DELETE: its token stops working, the CPO is inactive, its data stays.
    assert await status_of(stack, "DELETE", CREDENTIALS, new_c) == (200, 1000)
    assert (await status_of(stack, "POST", f"{OCPI}/cdrs", new_c, {}))[0] == 401
    assert (await status_of(stack, "GET", CREDENTIALS, new_c))[0] == 401
    assert not cpo_row(stack, fake_cpo).active
    assert connection(stack, registered.id).state == "UNREGISTERED"

    inbox = credentials_inbox(stack, registered.id)
    assert [(m.object_id, m.outcome, m.status_code) for m in inbox] == [
        ("PUT", "REJECTED", 2000),
        ("DELETE", "REJECTED", 2000),
        ("POST", "APPLIED", 1000),
        ("POST", "REJECTED", 2000),
        ("PUT", "APPLIED", 1000),
        ("DELETE", "APPLIED", 1000),
    ]
    secrets = (token_a, token_b, token_c, new_b, new_c)
    assert all(secret not in (m.body or "") for m in inbox for secret in secrets), "no token stored in the inbox"
    assert caplog.records, "the exchange was logged"
    assert not any(secret in caplog.text for secret in secrets), "no token logged"


@pytest.mark.parametrize(
    ("broken", "status"),
    [
        pytest.param({"url": "http://127.0.0.1:1/ocpi/versions"}, 3001, id="versions unreachable"),
        pytest.param({"versions": ["2.1.1"]}, 3002, id="no 2.2.1"),
        pytest.param({"modules": [("credentials", "SENDER"), ("locations", "SENDER")]}, 3003, id="no commands"),
    ],
)
async def test_a_registration_we_cannot_complete_is_refused_and_token_a_still_works(
    stack: Stack, fake_cpo: FakeCpo, capsys: pytest.CaptureFixture[str], broken: dict[str, Any], status: int
) -> None:
    token_a = invite(stack, fake_cpo, capsys)
    token_b = f"cpo-b-{uuid.uuid4().hex}"
    fake_cpo.accepted = {token_b}
    offered = fake_cpo.credentials(token_b) | {k: v for k, v in broken.items() if k == "url"}
    for name in ("versions", "modules"):
        if name in broken:
            setattr(fake_cpo, name, broken[name])

    assert await status_of(stack, "POST", CREDENTIALS, token_a, offered) == (200, status)
    cpo = cpo_row(stack, fake_cpo)
    stored = connection(stack, cpo.id)
    assert (stored.state, stored.inbound_token_sha256, stored.versions_url) == ("INVITED", None, None)
    assert not cpo.active
    assert cpo.outbound_token == ""
    [refused] = credentials_inbox(stack, cpo.id)
    assert (refused.outcome, refused.status_code) == ("REJECTED", status)

    # Nothing was spent: once the CPO is fixed, the same token A registers.
    fake_cpo.versions, fake_cpo.modules = list(VERSIONS), list(MODULES)
    assert await status_of(stack, "POST", CREDENTIALS, token_a, fake_cpo.credentials(token_b)) == (200, 1000)


async def test_roles_that_do_not_name_the_invited_cpo_are_refused(
    stack: Stack, fake_cpo: FakeCpo, capsys: pytest.CaptureFixture[str]
) -> None:
    token_a = invite(stack, fake_cpo, capsys)
    offered = fake_cpo.credentials("cpo-b") | {"roles": [{**fake_cpo.credentials("x")["roles"][0], "party_id": "ZZ9"}]}
    assert await status_of(stack, "POST", CREDENTIALS, token_a, offered) == (200, 2001)
    assert await status_of(stack, "POST", CREDENTIALS, token_a, {"token": "has space", "url": "u"}) == (200, 2001)
    assert fake_cpo.seen == [], "refused before calling it"
    assert await status_of(stack, "GET", "/ocpi/versions", token_a) == (200, 1000)


async def test_we_register_with_a_cpo_that_gave_us_its_token_a(stack: Stack, fake_cpo: FakeCpo) -> None:
    their_a = f"their-a-{uuid.uuid4().hex}"
    fake_cpo.accepted = {their_a}
    argv = ["partners", "connect-cpo", "--versions-url", fake_cpo.versions_url, "--token", their_a]
    # The CLI runs its own event loop; the CPO and our API keep serving on this one.
    code = await asyncio.to_thread(
        cli_partners.run, stack.writes, parser().parse_args(argv), ours(stack), temporal(stack)
    )
    assert code == 0

    assert [what for what, _ in fake_cpo.seen] == [
        "GET /ocpi/versions",
        "GET /ocpi/2.2.1",
        "POST /ocpi/2.2.1/credentials",
    ]
    assert all(headers["authorization"] == ocpi_token_header(their_a) for _, headers in fake_cpo.seen)
    assert fake_cpo.callback_status == 200, "our token B worked while it registered us"
    cpo = cpo_row(stack, fake_cpo)
    assert cpo.active
    assert revealed(cpo) == fake_cpo.token_c
    assert fake_cpo.token_c not in cpo.outbound_token, "sealed at rest"
    assert cpo.commands_url == f"{fake_cpo.url}/ocpi/2.2.1/commands/"
    stored = connection(stack, cpo.id)
    assert stored.state == "REGISTERED"
    assert stored.token_a_sha256 is None
    # Connected: the pull of its lists has started.
    assert (await stack.temporal.get_workflow_handle(cpo_sync_workflow_id(cpo.id)).describe()).workflow_type == (
        "CpoSyncWorkflow"
    )

    # The CPO calls us with the token B we sent it; only its digest is kept.
    assert fake_cpo.emsp_token is not None
    assert stored.inbound_token_sha256 == token_sha256(fake_cpo.emsp_token)
    assert await status_of(stack, "POST", f"{OCPI}/cdrs", fake_cpo.emsp_token, {}) == (200, 2001)


async def test_connecting_to_a_cpo_without_the_modules_we_need_posts_nothing(stack: Stack, fake_cpo: FakeCpo) -> None:
    fake_cpo.accepted = {"their-a"}
    fake_cpo.modules = [("credentials", "SENDER")]
    argv = ["partners", "connect-cpo", "--versions-url", fake_cpo.versions_url, "--token", "their-a"]
    code = await asyncio.to_thread(
        cli_partners.run, stack.writes, parser().parse_args(argv), ours(stack), temporal(stack)
    )
    assert code == 1
    assert [what for what, _ in fake_cpo.seen] == ["GET /ocpi/versions", "GET /ocpi/2.2.1"]
    with stack.writes() as db:
        assert db.scalars(select(CpoRow).where(CpoRow.party_id == fake_cpo.party_id)).first() is None


async def registered(stack: Stack, cpo: FakeCpo, token_a: str) -> str:
    """The CPO registers with ``token_a`` and a new token B: its token C."""
    token_b = f"cpo-b-{uuid.uuid4().hex}"
    cpo.accepted = {token_b}
    reply = await stack.http.post(
        CREDENTIALS, content=json.dumps(cpo.credentials(token_b)), headers=token_headers(token_a)
    )
    assert reply.json()["status_code"] == 1000, reply.text
    return str(reply.json()["data"]["token"])


@pytest.mark.parametrize(
    ("versions_url", "endpoints_at", "named"),
    [
        pytest.param(
            "https://10.0.0.1/ocpi/versions",
            None,
            "https://10.0.0.1/ocpi/versions: 10.0.0.1 is a private address",
            id="versions URL in a private network",
        ),
        pytest.param(
            "http://93.184.215.14/ocpi/versions", None, "http://93.184.215.14/ocpi/versions: not https", id="http"
        ),
        pytest.param(
            None,
            "https://169.254.169.254",
            "https://169.254.169.254/ocpi/2.2.1/credentials: 169.254.169.254 is a link-local address",
            id="an endpoint at the cloud metadata address",
        ),
    ],
)
async def test_a_registration_naming_a_url_we_must_not_call_is_refused_with_3001_and_stores_nothing(
    stack: Stack,
    fake_cpo: FakeCpo,
    capsys: pytest.CaptureFixture[str],
    versions_url: str | None,
    endpoints_at: str | None,
    named: str,
) -> None:
    token_a = invite(stack, fake_cpo, capsys)
    token_b = f"cpo-b-{uuid.uuid4().hex}"
    fake_cpo.accepted, fake_cpo.endpoints_at = {token_b}, endpoints_at
    offered = fake_cpo.credentials(token_b) | ({"url": versions_url} if versions_url else {})
    reply = await stack.http.post(CREDENTIALS, content=json.dumps(offered), headers=token_headers(token_a))
    assert (reply.status_code, reply.json()["status_code"]) == (200, 3001)
    assert named in reply.json()["status_message"]
    assert [what for what, _ in fake_cpo.seen] == ([] if versions_url else ["GET /ocpi/versions", "GET /ocpi/2.2.1"])
    cpo = cpo_row(stack, fake_cpo)
    stored = connection(stack, cpo.id)
    assert (stored.state, stored.inbound_token_sha256, stored.versions_url) == ("INVITED", None, None)
    assert (cpo.active, cpo.outbound_token, cpo.commands_url) == (False, "", "")
    with stack.writes() as db:
        assert db.scalars(select(OcpiEndpointRow).where(OcpiEndpointRow.connection_key == stored.key)).all() == []
    assert await status_of(stack, "GET", "/ocpi/versions", token_a) == (200, 1000), "token A still works"


@pytest.mark.parametrize(("scheme", "why"), [("http", "not https"), ("https", "127.0.0.1 is a loopback address")])
async def test_without_the_local_stack_flag_we_do_not_connect_to_a_cpo_on_loopback(
    stack: Stack, fake_cpo: FakeCpo, capsys: pytest.CaptureFixture[str], scheme: str, why: str
) -> None:
    strict = our_platform(
        stack.api_url,
        platform_role("CH", "NWC", "NetworkCore GmbH"),
        PeerAccess(TEST_PEERS.token_cipher, allow_insecure=False),
    )
    fake_cpo.accepted = {"their-a"}
    versions_url = fake_cpo.versions_url.replace("http://", f"{scheme}://")
    argv = ["partners", "connect-cpo", "--versions-url", versions_url, "--token", "their-a"]
    code = await asyncio.to_thread(cli_partners.run, stack.writes, parser().parse_args(argv), strict, temporal(stack))
    assert code == 1
    assert f"{versions_url}: {why}" in capsys.readouterr().err
    assert fake_cpo.seen == [], "never called"
    with stack.writes() as db:
        assert db.scalars(select(CpoRow).where(CpoRow.party_id == fake_cpo.party_id)).first() is None
        assert (
            db.scalars(select(OcpiConnectionRow).where(OcpiConnectionRow.versions_url == versions_url)).first() is None
        )


async def test_after_a_put_the_replaced_token_may_only_repeat_that_put_and_gets_the_same_answer(
    stack: Stack, fake_cpo: FakeCpo, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_cpo.modules = [("credentials", "SENDER"), ("commands", "RECEIVER")]  # nothing to pull: each sync ends
    token_c = await registered(stack, fake_cpo, invite(stack, fake_cpo, capsys))
    cpo_id = cpo_row(stack, fake_cpo).id
    sync = stack.temporal.get_workflow_handle(cpo_sync_workflow_id(cpo_id))
    await sync.result()
    pulled_after_post = (await sync.describe()).run_id

    new_b = f"cpo-b2-{uuid.uuid4().hex}"
    fake_cpo.accepted = {new_b}
    put = json.dumps(fake_cpo.credentials(new_b))
    first = await stack.http.put(CREDENTIALS, content=put, headers=token_headers(token_c))
    assert first.json()["status_code"] == 1000, first.text
    new_c = first.json()["data"]["token"]

    # Its answer was lost: the same PUT with the token it replaced gets the same answer, fetching nothing.
    fake_cpo.seen = []
    again = await stack.http.put(CREDENTIALS, content=put, headers=token_headers(token_c))
    assert (again.status_code, again.json()["status_code"]) == (200, 1000)
    assert again.json()["data"] == first.json()["data"]
    assert fake_cpo.seen == []
    # Anything else with the replaced token is 401.
    other_put = fake_cpo.credentials(f"cpo-b3-{uuid.uuid4().hex}")
    assert await status_of(stack, "PUT", CREDENTIALS, token_c, other_put) == (401, 2000)
    for method, path in (
        ("GET", CREDENTIALS),
        ("DELETE", CREDENTIALS),
        ("GET", "/ocpi/versions"),
        ("POST", f"{OCPI}/cdrs"),
    ):
        assert (await status_of(stack, method, path, token_c, {} if method == "POST" else None))[0] == 401, path
    assert await status_of(stack, "POST", f"{OCPI}/cdrs", new_c, {}) == (200, 2001)
    assert revealed(cpo_row(stack, fake_cpo)) == new_b

    stored = connection(stack, cpo_id)
    assert stored.grace_token_sha256 == token_sha256(token_c)
    assert stored.grace_reply_token is not None
    assert new_c not in stored.grace_reply_token, "the answer is kept sealed"
    assert [(m.object_id, m.outcome, m.status_code) for m in credentials_inbox(stack, cpo_id)] == [
        ("POST", "APPLIED", 1000),
        ("PUT", "APPLIED", 1000),
        ("PUT", "DUPLICATE", 1000),
        ("PUT", "REJECTED", 2000),
    ]
    # After the PUT its lists are pulled again.
    deadline = asyncio.get_running_loop().time() + 20
    while (await sync.describe()).run_id == pulled_after_post:
        assert asyncio.get_running_loop().time() < deadline, "no pull after the PUT"
        await asyncio.sleep(0.1)


async def test_a_reissued_token_a_replaces_a_registration_whose_answer_was_lost(
    stack: Stack, fake_cpo: FakeCpo, capsys: pytest.CaptureFixture[str]
) -> None:
    token_c = await registered(stack, fake_cpo, invite(stack, fake_cpo, capsys))
    argv = ["partners", "invite-cpo", "--country-code", fake_cpo.country_code, "--party-id", fake_cpo.party_id]
    plain = parser().parse_args([*argv, "--name", "Fake"])
    assert cli_partners.run(stack.writes, plain, ours(stack), temporal(stack)) == 1
    assert "--reissue" in capsys.readouterr().err

    token_a = invite(stack, fake_cpo, capsys, "--reissue")
    # Until the CPO registers with it, its token C keeps working; the new token A opens registration only.
    assert await status_of(stack, "POST", f"{OCPI}/cdrs", token_c, {}) == (200, 2001)
    assert await status_of(stack, "GET", "/ocpi/versions", token_a) == (200, 1000)
    assert (await status_of(stack, "POST", f"{OCPI}/cdrs", token_a, {}))[0] == 401
    assert await status_of(stack, "PUT", CREDENTIALS, token_a, fake_cpo.credentials("x")) == (405, 2000)

    fake_cpo.endpoints_at = f"{fake_cpo.url}/moved"
    new_c = await registered(stack, fake_cpo, token_a)
    cpo = cpo_row(stack, fake_cpo)
    stored = connection(stack, cpo.id)
    assert (stored.state, stored.inbound_token_sha256, stored.token_a_sha256) == (
        "REGISTERED",
        token_sha256(new_c),
        None,
    )
    assert cpo.commands_url == f"{fake_cpo.url}/moved/ocpi/2.2.1/commands/"
    with stack.writes() as db:
        urls = db.scalars(select(OcpiEndpointRow.url).where(OcpiEndpointRow.connection_key == stored.key)).all()
    assert all(url.startswith(f"{fake_cpo.url}/moved/") for url in urls), "its endpoints replaced"
    assert (await status_of(stack, "POST", f"{OCPI}/cdrs", token_c, {}))[0] == 401, "replaced"
    assert (await status_of(stack, "GET", "/ocpi/versions", token_a))[0] == 401, "spent"
    assert await status_of(stack, "POST", f"{OCPI}/cdrs", new_c, {}) == (200, 2001)


async def test_a_connection_with_two_cpo_roles_pushes_for_both_and_for_no_third(
    stack: Stack, fake_cpo: FakeCpo, capsys: pytest.CaptureFixture[str]
) -> None:
    second = f"{fake_cpo.party_id[:2]}{'Z' if fake_cpo.party_id[2] != 'Z' else 'Y'}"
    third = f"{fake_cpo.party_id[:2]}{'X' if fake_cpo.party_id[2] != 'X' else 'W'}"
    fake_cpo.other_parties = [second]
    token_a = invite(stack, fake_cpo, capsys)
    # A party that has a connection of its own (the demo CPO Stromnetz) is not another's to claim.
    stromnetz_token = revealed(stack_cpo(stack, STROMNETZ.id))
    claiming = fake_cpo.credentials("cpo-b-claiming")
    claiming["roles"].append({**claiming["roles"][0], "country_code": "DE", "party_id": "stn"})
    fake_cpo.accepted = {"cpo-b-claiming"}
    reply = await stack.http.post(CREDENTIALS, content=json.dumps(claiming), headers=token_headers(token_a))
    assert (reply.status_code, reply.json()["status_code"]) == (200, 2001)
    assert "CPO DE*stn belong to another connection" in reply.json()["status_message"]
    assert revealed(stack_cpo(stack, STROMNETZ.id)) == stromnetz_token, "untouched"

    token_c = await registered(stack, fake_cpo, token_a)
    with stack.writes() as db:
        parties = {
            row.party_id: row
            for row in db.scalars(
                select(CpoRow).where(CpoRow.country_code == "NL", CpoRow.party_id.in_([fake_cpo.party_id, second]))
            )
        }
    first_cpo, second_cpo = parties[fake_cpo.party_id], parties[second]
    assert second_cpo.id == f"cpo-nl-{second.lower()}"
    assert (first_cpo.active, second_cpo.active) == (True, True)
    assert first_cpo.commands_url == second_cpo.commands_url == f"{fake_cpo.url}/ocpi/2.2.1/commands/"
    assert revealed(first_cpo) == revealed(second_cpo), "one token for the connection"

    async def push(party_id: str, *, sender: str | None = None, token: str | None = None) -> tuple[int, int]:
        location_id = f"LOC{uuid.uuid4().hex[:6].upper()}"
        body = location(location_id) | {"country_code": "NL", "party_id": party_id}
        routing = {} if sender is None else {"OCPI-from-country-code": "NL", "OCPI-from-party-id": sender}
        reply = await stack.http.put(
            f"{OCPI}/locations/NL/{party_id}/{location_id}",
            content=json.dumps(body),
            headers={**token_headers(token or token_c), **routing},
        )
        return reply.status_code, reply.json()["status_code"]

    assert (await push(fake_cpo.party_id))[1] == 1000
    assert (await push(second))[1] == 1000
    assert (await push(second.lower(), sender=second.lower()))[1] == 1000, "CiStrings"
    # A third party's push: 404 (ocpi-connect.md §3.5, §4.5), stored with its refusal by the module; with
    # routing headers naming it, refused at the door.
    assert await push(third) == (404, 2000)
    assert await push(third, sender=third) == (404, 2000)
    with stack.writes() as db:
        owners = db.scalars(
            select(LocationRow.cpo_id).where(LocationRow.cpo_id.in_([first_cpo.id, second_cpo.id]))
        ).all()
        foreign = db.scalars(
            select(OcpiInboxRow).where(
                OcpiInboxRow.cpo_id == first_cpo.id,
                OcpiInboxRow.kind == "LOCATION_PUT",
                OcpiInboxRow.outcome == "REJECTED",
            )
        ).all()
    assert sorted(owners) == sorted([first_cpo.id, second_cpo.id, second_cpo.id])
    assert len(foreign) == 1, "the third party's push is stored with its refusal"

    # A PUT whose roles drop the second party: it is inactive (no command goes to it), its data stays.
    new_b = f"cpo-b2-{uuid.uuid4().hex}"
    fake_cpo.other_parties, fake_cpo.accepted = [], {new_b}
    rotated = await stack.http.put(
        CREDENTIALS, content=json.dumps(fake_cpo.credentials(new_b)), headers=token_headers(token_c)
    )
    assert rotated.json()["status_code"] == 1000, rotated.text
    new_c = rotated.json()["data"]["token"]
    assert (stack_cpo(stack, first_cpo.id).active, stack_cpo(stack, second_cpo.id).active) == (True, False)
    assert await push(second, token=new_c) == (404, 2000)
    assert (await push(fake_cpo.party_id, sender=fake_cpo.party_id, token=new_c))[1] == 1000

    # Unregistering ends the connection's parties.
    assert await status_of(stack, "DELETE", CREDENTIALS, new_c) == (200, 1000)
    assert not stack_cpo(stack, first_cpo.id).active
