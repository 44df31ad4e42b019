"""The base of every process's settings object: pydantic's BaseSettings, read once.

Each field reads the environment variable named in its `env` (the names the README's
settings table documents); `.env` is read first (variables already set win). `from_env`
also takes a plain mapping, which then is the whole environment (tests, subprocesses).
A malformed value fails with the variable's name in the message, never a stack trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, BaseSettings, ValidationError

from security.dotenv import load_dotenv

S = TypeVar("S", bound="ProcessSettings")


class ProcessSettings(BaseSettings):
    """Settings read from the environment into one immutable, typed object."""

    class Config:
        case_sensitive = False
        allow_mutation = False
        extra = "ignore"
        # The error a malformed variable raises (a ValueError naming it).
        error: type[ValueError] = ValueError

    @classmethod
    def from_env(cls: type[S], environ: Mapping[str, str] | None = None) -> S:
        """The settings from `environ` (default: the environment and `.env`)."""
        try:
            if environ is None:
                load_dotenv()
                return cls()
            settings = cls.__new__(cls)
            # The mapping alone, not the process's environment as BaseSettings would read.
            BaseModel.__init__(settings, **cls.values_in(environ))
            return settings
        except ValidationError as error:
            raise cls.__config__.error(_messages(error)) from None  # type: ignore[attr-defined]

    @classmethod
    def values_in(cls, environ: Mapping[str, str]) -> dict[str, Any]:
        """The fields' raw values in `environ`, by their variables' names."""
        lowered = {key.lower(): value for key, value in environ.items()}
        values: dict[str, Any] = {}
        for name, field in cls.__fields__.items():
            for variable in field.field_info.extra.get("env_names", ()):
                if variable in lowered:
                    values[name] = lowered[variable]
                    break
        return values

    @classmethod
    def variables(cls) -> list[str]:
        """Every environment variable this object reads."""
        return [
            str(field.field_info.extra.get("env") or name).upper()
            for name, field in cls.__fields__.items()
        ]


def _messages(error: ValidationError) -> str:
    return "; ".join(str(item["msg"]) for item in error.errors())


def blank_is_default(value: Any, default: Any) -> Any:
    """An empty or blank variable means "not set"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    return value.strip() if isinstance(value, str) else value
