"""The dev stack hands its settings to child processes through the environment: every setting, the
structured ones included, must read back the same there."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from adapters.token_cipher import TokenCipher, new_token_key
from cli import devstack
from cli.devstack import settings_env
from config.settings import Settings


@pytest.mark.parametrize("outbox", [None, Path("/srv/einvoices")])  # an optional setting, unset and set
def test_every_setting_reads_back_from_the_environment_it_is_given(
    monkeypatch: pytest.MonkeyPatch, outbox: Path | None
) -> None:
    settings = Settings(
        platform_vat_ids={"DE": "DE312987657", "CH": "CHE-301.845.272 MWST"}, api_port=8123, einvoice_outbox=outbox
    )
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    assert Settings() == settings


def test_the_local_stack_makes_its_token_key_once_readable_by_its_user_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key_file = tmp_path / ".data" / "ocpi-token.key"
    monkeypatch.setattr(devstack, "DEV_TOKEN_KEY", key_file)
    first = devstack.local_settings(Settings(ocpi_token_key="", ocpi_allow_insecure_peers=False))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.ocpi_token_key == key_file.read_text()
    assert first.ocpi_allow_insecure_peers, "its simulator is a CPO on http://127.0.0.1"
    TokenCipher.configured(first.ocpi_token_key)  # a usable key
    again = devstack.local_settings(Settings(ocpi_token_key=""))
    assert again.ocpi_token_key == first.ocpi_token_key, "kept for the next start: sealed tokens stay readable"
    configured = new_token_key()
    assert devstack.local_settings(Settings(ocpi_token_key=configured)).ocpi_token_key == configured
