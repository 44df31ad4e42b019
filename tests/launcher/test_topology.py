"""Which process listens where, what each is handed, and who may call the web channel."""

from __future__ import annotations

from pathlib import Path

import pytest

from launcher.settings import ROOT, StackSettings
from launcher.stack import build_services


def test_internal_processes_listen_on_loopback_and_the_desk_is_its_own(tmp_path: Path) -> None:
    settings = StackSettings(var_dir=tmp_path, host="0.0.0.0")
    services = {service.name: service for service in build_services(settings)}
    assert list(services) == ["mall", "actions", "rasa", "analytics", "desk"]
    assert services["analytics"].command[-2:] == ["analytics", "consume"]
    assert services["analytics"].host == "127.0.0.1" and services["analytics"].port == 5058
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
    token_at = next(i for i, arg in enumerate(rasa) if arg.startswith("--auth-token="))
    origins = rasa[rasa.index("--cors") + 1 : token_at]
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


def test_shared_secrets_are_generated_once_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HANDOFF_TOKEN", raising=False)
    settings = StackSettings(var_dir=tmp_path)
    first = settings.child_env()["HANDOFF_TOKEN"]
    assert len(first) >= 32
    assert StackSettings(var_dir=tmp_path).child_env()["HANDOFF_TOKEN"] == first
    assert (tmp_path / "secrets" / "HANDOFF_TOKEN").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("HANDOFF_TOKEN", "from-env")
    assert StackSettings(var_dir=tmp_path).child_env()["HANDOFF_TOKEN"] == "from-env"


def test_rasa_runs_on_the_checked_in_credentials_and_the_environment_endpoints(
    tmp_path: Path,
) -> None:
    settings = StackSettings(var_dir=tmp_path, actions_port=6055)
    rasa = build_services(settings, ["rasa"])[0].command
    assert rasa[rasa.index("--credentials") + 1] == "credentials.yml"
    endpoints = rasa[rasa.index("--endpoints") + 1]
    assert "${ACTION_ENDPOINT_URL}" in (ROOT / endpoints).read_text()
    env = settings.child_env()
    assert env["ACTION_ENDPOINT_URL"] == "http://127.0.0.1:6055/webhook"
    assert env["TRACKER_DB_URL"] == f"sqlite:///{tmp_path / 'trackers.db'}"
    # No block of credentials.yml needs a variable: plain `rasa run` reads it as it is.
    assert "${" not in "".join(
        line.split("#")[0] for line in (ROOT / "credentials.yml").read_text().splitlines()
    )


def test_a_token_that_starts_with_a_dash_stays_the_tokens_value(tmp_path: Path) -> None:
    settings = StackSettings(var_dir=tmp_path, rasa_api_token="-Ab3_secret-token-value")
    rasa = build_services(settings, ["rasa"])[0].command
    assert "--auth-token=-Ab3_secret-token-value" in rasa
