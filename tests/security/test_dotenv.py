"""Every process reads the git-ignored .env; variables already set win."""

from __future__ import annotations

from pathlib import Path

import pytest

from channels.settings import ChannelSettings
from security.dotenv import load_dotenv


def test_dotenv_fills_what_the_environment_leaves_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# a comment\nREST_CHANNEL_TOKEN='from-the-dotenv-file-0123'\nWECHAT_TOKEN=file\n"
    )
    monkeypatch.delenv("REST_CHANNEL_TOKEN", raising=False)  # restored (unset) afterwards
    monkeypatch.setenv("WECHAT_TOKEN", "from-the-environment")
    load_dotenv(dotenv)
    settings = ChannelSettings()
    assert settings.rest_channel_token == "from-the-dotenv-file-0123"
    assert settings.wechat_token == "from-the-environment"
