"""The shared settings base: blank is unset, a bad value names its variable, production
refuses weak secrets, copies are validated, `.env` is read by every object."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field, validator

from security import settings as base
from security.dotenv import load_dotenv
from security.settings import REQUIRED_SECRET, SECRET, ProcessSettings, port_number
from security.tokens import SecretError

STRONG = "a-long-random-secret-0123456789"


class Example(ProcessSettings):
    port: int = Field(default=8000, env="EXAMPLE_PORT")
    origins: tuple[str, ...] = Field(default=(), env="EXAMPLE_ORIGINS")
    key: str = Field(default="", env="EXAMPLE_KEY", secret=SECRET)
    token: str = Field(default="", env="EXAMPLE_TOKEN", secret=REQUIRED_SECRET)

    @validator("port", pre=True)
    def _port(cls, value: object, field: object) -> int:
        return port_number(value, field)  # type: ignore[arg-type]

    @validator("origins", pre=True)
    def _origins(cls, value: object) -> object:
        return tuple(value.split(",")) if isinstance(value, str) else value


def test_blank_means_unset_and_values_are_stripped() -> None:
    settings = Example.from_env({"EXAMPLE_PORT": "  ", "EXAMPLE_KEY": " k "})
    assert (settings.port, settings.key) == (8000, "k")


@pytest.mark.parametrize("value", ["http", "0", "70000"])
def test_a_bad_value_names_its_variable(value: str) -> None:
    with pytest.raises(ValueError, match="EXAMPLE_PORT must be a TCP port number"):
        Example.from_env({"EXAMPLE_PORT": value})


def test_pydantic_s_own_messages_get_the_variable_too() -> None:
    class Typed(ProcessSettings):
        retries: int = Field(default=1, env="EXAMPLE_RETRIES")

    with pytest.raises(ValueError, match="^EXAMPLE_RETRIES: value is not a valid integer"):
        Typed.from_env({"EXAMPLE_RETRIES": "two"})


def test_the_process_environment_is_read_lists_as_plain_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EXAMPLE_ORIGINS", "https://a.example,https://b.example")
    monkeypatch.setenv("EXAMPLE_PORT", "")
    settings = Example.from_env()
    assert settings.origins == ("https://a.example", "https://b.example")
    assert settings.port == 8000


def test_dotenv_is_read_by_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("EXAMPLE_PORT=8100\n")
    monkeypatch.delenv("EXAMPLE_PORT", raising=False)
    monkeypatch.setattr(base, "load_dotenv", lambda: load_dotenv(dotenv))
    try:
        assert Example.from_env().port == 8100
    finally:
        monkeypatch.delenv("EXAMPLE_PORT", raising=False)


def test_development_takes_any_secret_production_only_real_ones() -> None:
    assert Example.from_env({"EXAMPLE_KEY": "changeme"}).key == "changeme"
    production = {"MALL_ASSISTANT_ENV": "production", "EXAMPLE_TOKEN": STRONG}
    assert Example.from_env(production).key == ""  # optional: unset is fine
    for weak in ("changeme", "short"):
        with pytest.raises(SecretError, match="EXAMPLE_KEY"):
            Example.from_env({**production, "EXAMPLE_KEY": weak})
    with pytest.raises(SecretError, match="EXAMPLE_TOKEN is not set"):
        Example.from_env({"MALL_ASSISTANT_ENV": "production"})
    with pytest.raises(ValueError, match="MALL_ASSISTANT_ENV must be one of"):
        Example.from_env({"MALL_ASSISTANT_ENV": "staging"})


def test_replace_validates_and_reads_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Example.from_env({})
    monkeypatch.setenv("EXAMPLE_KEY", "from-the-environment")
    changed = settings.replace(port="8200")
    assert (changed.port, changed.key, settings.port) == (8200, "", 8000)
    with pytest.raises(ValueError, match="EXAMPLE_PORT"):
        settings.replace(port=0)
    with pytest.raises(TypeError, match="no field colour"):
        settings.replace(colour="red")
    with pytest.raises(TypeError):
        settings.port = 1  # type: ignore[misc]
