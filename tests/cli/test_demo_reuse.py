"""``networkcore demo`` uses a stack already running only when it serves the demo's own database: the API's
``/health/ready`` names its database by ``database_identity``, keyed with the OCPI token key. A stack of
another checkout answering on the same ports, or anything else, is refused with a message, instead of the
demo seeding its own file while booking in the other."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cli.demo import running_stack_is_ours
from config.settings import Settings
from persistence.db import database_identity

KEY = "the-token-key"


def test_a_database_is_named_the_same_however_its_url_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    relative = database_identity("sqlite:///data/networkcore.db", KEY)
    assert relative == database_identity(f"sqlite:///{tmp_path}/data/networkcore.db", KEY)
    assert relative == database_identity(f"sqlite:///{tmp_path}/data/../data/networkcore.db", KEY)
    assert relative != database_identity(f"sqlite:///{tmp_path}/other/networkcore.db", KEY)
    server = database_identity("postgresql://app:secret@db.internal:5432/networkcore", KEY)
    assert server == database_identity("postgresql+psycopg://app:other-secret@db.internal:5432/networkcore", KEY)
    assert server == database_identity("postgres://app@db.internal:5432/networkcore", KEY)
    assert server == database_identity("postgresql://app@db.internal/networkcore", KEY)  # the default port
    assert server != database_identity("postgresql://app@db.internal:5433/networkcore", KEY)
    assert server != database_identity("postgresql://app@db.internal:5432/staging", KEY)
    assert "secret" not in server
    assert len(server) == 16


def test_without_the_key_the_name_cannot_be_guessed_from_the_digest() -> None:
    url = "postgresql://app@db.internal:5432/networkcore"
    assert database_identity(url, KEY) != database_identity(url, "another-key")


class RunningStack:
    """What answers on the API's and the simulator's ports: ``ready`` is ``/health/ready``'s answer."""

    def __init__(self) -> None:
        self.ready: tuple[int, object] = (200, {"status": "ready", "database": ""})
        stack = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = stack.ready if self.path == "/health/ready" else (200, {"status": "ok"})
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port: int = self.server.server_address[1]


@pytest.fixture
def running() -> Iterator[RunningStack]:
    stack = RunningStack()
    thread = threading.Thread(target=stack.server.serve_forever, daemon=True)
    thread.start()
    yield stack
    stack.server.shutdown()
    stack.server.server_close()


def demo_settings(port: int, tmp_path: Path) -> Settings:
    database_url = f"sqlite:///{tmp_path / 'networkcore.db'}"
    return Settings(database_url=database_url, api_port=port, simulator_port=port, ocpi_token_key=KEY)


def test_the_demo_uses_a_running_stack_on_its_own_database(running: RunningStack, tmp_path: Path) -> None:
    settings = demo_settings(running.port, tmp_path)
    running.ready = (200, {"status": "ready", "database": database_identity(settings.database_url, KEY)})
    assert running_stack_is_ours(f"http://127.0.0.1:{running.port}", settings)


def test_a_stack_on_another_database_is_refused_with_what_to_do(running: RunningStack, tmp_path: Path) -> None:
    settings = demo_settings(running.port, tmp_path)
    running.ready = (200, {"status": "ready", "database": database_identity(f"sqlite:///{tmp_path}/other.db", KEY)})
    with pytest.raises(SystemExit) as refused:
        running_stack_is_ours(f"http://127.0.0.1:{running.port}", settings)
    message = str(refused.value)
    assert f"http://127.0.0.1:{running.port} is not a NetworkCore stack on this demo's database" in message
    assert settings.database_url in message
    assert "NETWORKCORE_API_PORT" in message


def test_something_else_answering_there_is_refused_not_a_crash(running: RunningStack, tmp_path: Path) -> None:
    settings = demo_settings(running.port, tmp_path)
    for answer in ({"status": "ready"}, ["ready"], "ready", b"<html>ready</html>"):  # an older API, or not ours
        running.ready = (200, answer)
        with pytest.raises(SystemExit, match="is not a NetworkCore stack on this demo's database"):
            running_stack_is_ours(f"http://127.0.0.1:{running.port}", settings)


def test_a_stack_whose_database_does_not_answer_is_not_used(running: RunningStack, tmp_path: Path) -> None:
    settings = demo_settings(running.port, tmp_path)
    running.ready = (503, {"detail": "database unavailable"})
    assert not running_stack_is_ours(f"http://127.0.0.1:{running.port}", settings)


def test_with_nothing_running_the_demo_starts_its_own(running: RunningStack, tmp_path: Path) -> None:
    running.server.shutdown()
    running.server.server_close()
    settings = demo_settings(running.port, tmp_path)
    assert not running_stack_is_ours(f"http://127.0.0.1:{running.port}", settings)
