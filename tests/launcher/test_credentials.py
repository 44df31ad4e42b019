"""The credentials Rasa runs with: unconfigured channels are off, the rest keep their secrets."""

from __future__ import annotations

from pathlib import Path

import yaml

from launcher.credentials import write_credentials
from launcher.settings import StackSettings

SOURCE = """
rest:
channels.handoff.HandoffInput:
  token: ${HANDOFF_TOKEN}
channels.wechat.WeChatInput:
  token: ${WECHAT_TOKEN}
  app_id: ${WECHAT_APP_ID}
  encoding_aes_key: ${WECHAT_ENCODING_AES_KEY}
"""


def test_a_channel_with_no_variable_set_is_switched_off(tmp_path: Path) -> None:
    source = tmp_path / "credentials.yml"
    source.write_text(SOURCE)
    env = {"HANDOFF_TOKEN": "t"}
    off = write_credentials(source, tmp_path / "out.yml", env)
    written = yaml.safe_load((tmp_path / "out.yml").read_text())
    assert off == ["channels.wechat.WeChatInput"]
    assert list(written) == ["rest", "channels.handoff.HandoffInput"]
    # Secrets stay references: Rasa expands them from the environment, nothing is copied.
    assert written["channels.handoff.HandoffInput"] == {"token": "${HANDOFF_TOKEN}"}


def test_optional_variables_of_a_configured_channel_become_empty(tmp_path: Path) -> None:
    source = tmp_path / "credentials.yml"
    source.write_text(SOURCE)
    env = {"HANDOFF_TOKEN": "t", "WECHAT_TOKEN": "w", "WECHAT_APP_ID": "wx1"}
    assert write_credentials(source, tmp_path / "out.yml", env) == []
    assert env["WECHAT_ENCODING_AES_KEY"] == ""


def test_shared_secrets_are_generated_once_and_kept(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("HANDOFF_TOKEN", raising=False)
    settings = StackSettings(var_dir=tmp_path)
    first = settings.child_env()["HANDOFF_TOKEN"]
    assert len(first) >= 32
    assert StackSettings(var_dir=tmp_path).child_env()["HANDOFF_TOKEN"] == first
    assert (tmp_path / "secrets" / "HANDOFF_TOKEN").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("HANDOFF_TOKEN", "from-env")
    assert StackSettings(var_dir=tmp_path).child_env()["HANDOFF_TOKEN"] == "from-env"
