"""The dev stack hands its settings to child processes through the environment: every setting, the
structured ones included, must read back the same there."""

from __future__ import annotations

import pytest

from cli.devstack import settings_env
from config.settings import Settings


def test_every_setting_reads_back_from_the_environment_it_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(platform_vat_ids={"DE": "DE312987657", "CH": "CHE-301.845.272 MWST"}, api_port=8123)
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    assert Settings() == settings
