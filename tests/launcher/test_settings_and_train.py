"""The launcher's settings, model freshness check and interpreter discovery."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from launcher import train as training
from launcher.settings import ROOT, StackSettings
from security.dotenv import load_dotenv
from security.tokens import SecretError


def test_ports_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASA_PORT", "6005")
    monkeypatch.setenv("MALL_PORT", "6056")
    settings = StackSettings.from_env()
    assert settings.rasa_url.endswith(":6005")
    assert settings.child_env()["MALL_API_URL"].endswith(":6056")
    assert settings.child_env()["ACTION_ENDPOINT_URL"].endswith(":5055/webhook")


def test_a_bad_port_is_refused_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASA_PORT", "http")
    with pytest.raises(ValueError, match="RASA_PORT"):
        StackSettings.from_env()


def test_embedded_defaults_are_sqlite_under_var(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MALL_DATABASE_URL", "TRACKER_DB_URL", "MALL_ASSISTANT_VAR"):
        monkeypatch.delenv(name, raising=False)
    env = StackSettings.from_env().child_env()
    assert env["MALL_DATABASE_URL"] == f"sqlite:///{ROOT / 'var' / 'mall.db'}"
    assert env["TRACKER_DB_URL"] == f"sqlite:///{ROOT / 'var' / 'trackers.db'}"
    # Rasa's SQL event broker and the analytics consumer's facts, beside them.
    assert env["EVENT_BROKER_DB_URL"] == f"sqlite:///{ROOT / 'var' / 'events.db'}"
    assert env["EVENT_BROKER_DB"] == str(ROOT / "var" / "events.db")


def test_dotenv_never_overrides_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("# comment\nRASA_PORT=7005\nMALL_PORT='7056'\n")
    monkeypatch.setenv("RASA_PORT", "6005")
    monkeypatch.delenv("MALL_PORT", raising=False)
    load_dotenv(dotenv)
    assert os.environ["RASA_PORT"] == "6005"
    assert os.environ["MALL_PORT"] == "7056"


def _project(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir(parents=True)
    (tmp_path / "config.yml").write_text("language: zh\n")
    (tmp_path / "domain.yml").write_text("intents: [greet]\n")
    (tmp_path / "data" / "nlu.yml").write_text("nlu: []\n")
    return tmp_path


def test_fingerprint_changes_with_any_training_input(tmp_path: Path) -> None:
    root = _project(tmp_path)
    first = training.fingerprint(root)
    assert training.fingerprint(root) == first
    (root / "data" / "nlu.yml").write_text("nlu: [x]\n")
    second = training.fingerprint(root)
    assert second != first
    (root / "data" / "new.yml").write_text("rules: []\n")
    third = training.fingerprint(root)
    assert third != second
    (root / "components").mkdir()
    (root / "components" / "sentiment.py").write_text("THRESHOLD = 0.5\n")
    assert training.fingerprint(root) != third


def test_model_is_stale_without_a_model_or_after_a_change(tmp_path: Path) -> None:
    root = _project(tmp_path / "project")
    settings = StackSettings(models_dir=tmp_path / "models")
    assert not training.model_is_current(settings, root)
    settings.models_dir.mkdir()
    settings.model_path.write_bytes(b"model")
    stamp = settings.models_dir / f"{settings.model_path.name.split('.')[0]}.fingerprint.json"
    stamp.write_text(json.dumps({"fingerprint": training.fingerprint(root)}))
    assert training.model_is_current(settings, root)
    (root / "domain.yml").write_text("intents: [greet, goodbye]\n")
    assert not training.model_is_current(settings, root)


def test_find_python310_reports_a_310_interpreter() -> None:
    result = subprocess.run(
        [str(ROOT / "scripts" / "find-python310.sh")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    version = subprocess.run(
        [result.stdout.strip(), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
    )
    assert version.stdout.strip() == "(3, 10)"


def test_find_python310_explains_what_to_install(tmp_path: Path) -> None:
    # A PATH with the shell tools the script uses but no Python at all.
    for tool in ("cat", "grep", "sort"):
        (tmp_path / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path)}
    result = subprocess.run(
        ["/bin/sh", str(ROOT / "scripts" / "find-python310.sh")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 1
    assert "No Python 3.10 interpreter found" in result.stderr
    assert "pyenv install 3.10" in result.stderr


SHARED = ("MALL_API_TOKEN", "WEB_CHANNEL_SECRET", "HANDOFF_TOKEN")


def test_production_invents_no_secret_and_refuses_missing_or_weak_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (*SHARED, "CONSOLE_DEMO_PASSWORD", "SHOP_EVENT_KEY", "WIDGET_EVENT_KEY"):
        monkeypatch.delenv(name, raising=False)
    env = {"MALL_ASSISTANT_ENV": "production", "MALL_ASSISTANT_VAR": str(tmp_path)}
    with pytest.raises(SecretError, match="MALL_API_TOKEN is not set"):
        StackSettings.from_env(env)
    strong = {name: f"{name.lower()}-0123456789abcdef" for name in SHARED}
    with pytest.raises(SecretError, match="HANDOFF_TOKEN"):
        StackSettings.from_env({**env, **strong, "HANDOFF_TOKEN": "changeme"})
    with pytest.raises(SecretError, match="RASA_API_TOKEN"):
        StackSettings.from_env({**env, **strong, "RASA_API_TOKEN": "short"})
    child = StackSettings.from_env({**env, **strong}).child_env()
    assert all(child[name] == value for name, value in strong.items())
    assert "CONSOLE_DEMO_PASSWORD" not in child and "SHOP_EVENT_KEY" not in child
    assert not (tmp_path / "secrets").exists()


def test_the_launcher_says_what_is_wrong_without_a_traceback() -> None:
    env = {**os.environ, "MALL_ASSISTANT_ENV": "production", "MALL_API_TOKEN": "changeme"}
    result = subprocess.run(
        [sys.executable, "-m", "launcher", "train"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "MALL_API_TOKEN is a placeholder" in result.stderr
    assert "Traceback" not in result.stderr
