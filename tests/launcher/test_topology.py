"""Which process listens where, what each is handed, and who may call the web channel."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from launcher.credentials import write_credentials
from launcher.settings import ROOT, StackSettings
from launcher.stack import build_services


def test_internal_processes_listen_on_loopback_and_the_desk_is_its_own(tmp_path: Path) -> None:
    settings = StackSettings(var_dir=tmp_path, host="0.0.0.0")
    services = {service.name: service for service in build_services(settings)}
    assert list(services) == ["mall", "actions", "rasa", "desk"]
    mall = services["mall"].command
    assert mall[mall.index("--host") + 1] == "127.0.0.1"  # whatever ASSISTANT_HOST says
    assert services["actions"].env == {"SANIC_HOST": "127.0.0.1"}  # rasa_sdk's default is 0.0.0.0
    rasa = services["rasa"].command
    assert rasa[rasa.index("--interface") + 1] == "0.0.0.0"
    assert services["desk"].command[-2:] == ["desk", "serve"]
    assert settings.child_env()["DESK_HOST"] == "0.0.0.0"


def test_cors_is_the_shops_own_origin_unless_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WIDGET_ALLOWED_ORIGINS", raising=False)
    rasa = build_services(StackSettings(var_dir=tmp_path), ["rasa"])[0].command
    origins = rasa[rasa.index("--cors") + 1 : rasa.index("--auth-token")]
    assert origins == ["http://127.0.0.1:5057", "http://localhost:5057"]
    assert "*" not in rasa
    monkeypatch.setenv("WIDGET_ALLOWED_ORIGINS", "https://shop.example.com, https://m.example.com")
    assert StackSettings.from_env().cors_origins == [
        "https://shop.example.com",
        "https://m.example.com",
    ]
    monkeypatch.setenv("WIDGET_ALLOWED_ORIGINS", "*")
    with pytest.raises(ValueError, match="WIDGET_ALLOWED_ORIGINS"):
        StackSettings.from_env()


def test_each_process_gets_only_the_secrets_it_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REST_CHANNEL_TOKEN", "rest-token-0123456789")
    settings = StackSettings(var_dir=tmp_path)
    env = settings.child_env()
    mall = settings.service_env("mall", env)
    assert mall["MALL_API_TOKEN"] == env["MALL_API_TOKEN"]
    for name in ("WEB_CHANNEL_SECRET", "HANDOFF_TOKEN", "RASA_API_TOKEN", "REST_CHANNEL_TOKEN"):
        assert name not in mall
    desk = settings.service_env("desk", env)
    assert {"MALL_API_TOKEN", "RASA_API_TOKEN", "HANDOFF_TOKEN"} <= set(desk)
    assert "REST_CHANNEL_TOKEN" not in desk and "CONSOLE_DEMO_PASSWORD" not in desk
    assert settings.service_env("rasa", env)["REST_CHANNEL_TOKEN"] == "rest-token-0123456789"
    assert "HANDOFF_TOKEN" not in settings.service_env("actions", env)
    assert (tmp_path / "secrets" / "MALL_API_TOKEN").exists()  # generated once, kept


def test_the_rest_channel_is_off_unless_its_token_is_set(tmp_path: Path) -> None:
    target = tmp_path / "credentials.yml"
    off = write_credentials(
        ROOT / "credentials.yml", target, {"HANDOFF_TOKEN": "h", "WEB_CHANNEL_SECRET": "w"}
    )
    assert "channels.rest.RestInput" in off
    channels = yaml.safe_load(target.read_text())
    assert "rest" not in channels and "channels.rest.RestInput" not in channels
    write_credentials(
        ROOT / "credentials.yml",
        target,
        {"HANDOFF_TOKEN": "h", "WEB_CHANNEL_SECRET": "w", "REST_CHANNEL_TOKEN": "r"},
    )
    assert "channels.rest.RestInput" in yaml.safe_load(target.read_text())
