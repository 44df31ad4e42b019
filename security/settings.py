"""The base of every process's settings object: pydantic's BaseSettings, read once.

Each field reads the environment variable named in its `env` (the README's settings table is
generated from these fields: `scripts/settings_table.py`); `.env` is read first (variables
already set win). `from_env` also takes a plain mapping, which then is the whole environment
(tests, subprocesses). Values are stripped and a blank one means "not set". A malformed value
fails with the variable's name in the message, never a stack trace. Outside development
(`MALL_ASSISTANT_ENV=production`) a field marked as a secret is refused when it is short or a
placeholder, and a required one when it is missing, instead of being generated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, BaseSettings, Field, ValidationError, validator
from pydantic.fields import ModelField

from security.dotenv import ROOT, load_dotenv
from security.tokens import DEVELOPMENT, check_environment, require_secret

S = TypeVar("S", bound="ProcessSettings")
Source = Callable[[BaseSettings], dict[str, Any]]

# The `secret` marker of a field: refused when weak outside development; "required" ones also
# when missing (the process would otherwise invent a key that other hosts must share).
SECRET = "secret"
REQUIRED_SECRET = "required"


def _cleaned(values: Mapping[str, Any]) -> dict[str, Any]:
    """Strings stripped; blank ones dropped, so that the field's default applies."""
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, str):
            value = value.strip()
            if not value:
                continue
        cleaned[key] = value
    return cleaned


def _blank_is_unset(source: Source) -> Source:
    def read(settings: BaseSettings) -> dict[str, Any]:
        return _cleaned(source(settings))

    return read


class ProcessSettings(BaseSettings):
    """Settings read from the environment into one immutable, typed object."""

    environment: str = Field(
        default=DEVELOPMENT,
        env="MALL_ASSISTANT_ENV",
        description="`production` refuses missing, short or placeholder secrets instead of "
        "generating them under `var/secrets/`",
    )

    class Config:
        case_sensitive = False
        allow_mutation = False
        extra = "ignore"
        # The error a malformed variable raises (a ValueError naming it).
        error: type[ValueError] = ValueError

        @classmethod
        def parse_env_var(cls, field_name: str, raw_val: str) -> Any:
            # Lists and mappings come as plain text ("a, b"): the fields' validators parse
            # them and name the variable when they cannot (pydantic would expect JSON).
            return raw_val

        @classmethod
        def customise_sources(
            cls, init_settings: Source, env_settings: Source, file_secret_settings: Source
        ) -> tuple[Source, ...]:
            return init_settings, _blank_is_unset(env_settings)

    @validator("environment")
    def _known_environment(cls, value: str) -> str:
        return check_environment(value)

    @classmethod
    def from_env(cls: type[S], environ: Mapping[str, str] | None = None, **given: Any) -> S:
        """The settings from `environ` (default: the environment and `.env`); `given` fields
        (parts built from the same environment) are taken as they are."""
        try:
            if environ is None:
                load_dotenv()
                settings = cls(**given)
            else:
                # The mapping alone, not the process's environment as BaseSettings would read.
                settings = cls._validated({**cls.values_in(environ), **given})
        except ValidationError as error:
            raise cls.__config__.error(_messages(cls, error)) from None  # type: ignore[attr-defined]
        settings.check_secrets()
        return settings

    @classmethod
    def _validated(cls: type[S], values: dict[str, Any]) -> S:
        settings = cls.__new__(cls)
        BaseModel.__init__(settings, **values)
        return settings

    @classmethod
    def values_in(cls, environ: Mapping[str, str]) -> dict[str, Any]:
        """The fields' raw values in `environ`, by their variables' names (blank: left out)."""
        lowered = _cleaned({key.lower(): value for key, value in environ.items()})
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
        return [name for field in cls.__fields__.values() for name in variables_of(field)]

    def check_secrets(self) -> None:
        """Outside development: refuse weak secrets, and missing required ones (SecretError)."""
        if self.environment == DEVELOPMENT:
            return
        for name, field in self.__fields__.items():
            kind = field.field_info.extra.get(SECRET)
            value = getattr(self, name)
            if kind and (value or kind == REQUIRED_SECRET):
                require_secret(variable_of(field), value)

    def replace(self: S, **changes: Any) -> S:
        """A validated copy with `changes`, read from nowhere else (as dataclasses.replace)."""
        unknown = set(changes) - set(self.__fields__)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(sorted(unknown))}")
        values = {name: getattr(self, name) for name in self.__fields__}
        try:
            return self._validated({**values, **changes})
        except ValidationError as error:
            raise self.__config__.error(_messages(type(self), error)) from None  # type: ignore[attr-defined]


def variables_of(field: ModelField) -> list[str]:
    """The environment variables a field reads (upper case; none for a computed part)."""
    return sorted(str(name).upper() for name in field.field_info.extra.get("env_names", ()))


def variable_of(field: ModelField) -> str:
    """The variable that names a field in messages."""
    names = variables_of(field)
    return names[0] if names else field.name


def _messages(cls: type[BaseModel], error: ValidationError) -> str:
    messages = []
    for item in error.errors():
        message = str(item["msg"])
        field = cls.__fields__.get(str(item["loc"][0])) if item["loc"] else None
        variable = variable_of(field) if field is not None else ""
        # pydantic's own messages ("value is not a valid integer") do not say which variable.
        messages.append(
            message if not variable or variable in message else f"{variable}: {message}"
        )
    return "; ".join(messages)


def blank_is_default(value: Any, default: Any) -> Any:
    """An empty or blank variable means "not set"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    return value.strip() if isinstance(value, str) else value


def shown_path(path: Path) -> str:
    """A path as the README shows it: relative to the repository when under it."""
    try:
        return f"{path.relative_to(ROOT)}/"
    except ValueError:
        return str(path)


def whole_number(value: Any, field: ModelField, *, low: int = 1, high: int | None = None) -> int:
    """A whole number from `low` to `high` (ValueError naming the variable otherwise)."""
    if high == 65535 and low == 1:
        wanted = "a TCP port number"
    elif high is not None:
        wanted = f"a whole number from {low} to {high}"
    else:
        wanted = "a positive whole number" if low == 1 else f"a whole number of at least {low}"
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise ValueError(f"{variable_of(field)} must be {wanted}, got {value!r}")
    if number < low or (high is not None and number > high):
        raise ValueError(f"{variable_of(field)} must be {wanted}, got {value!r}")
    return number


def port_number(value: Any, field: ModelField) -> int:
    """A TCP port (1-65535)."""
    return whole_number(value, field, low=1, high=65535)


def http_url(value: Any, field: ModelField) -> str:
    """An http(s) URL without its trailing slash."""
    url = str(value).strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{variable_of(field)} must be an http(s) URL, got {url!r}")
    return url


def flag(value: Any, field: ModelField) -> bool:
    """1/true/yes/on or 0/false/no/off."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{variable_of(field)} must be true or false, got {value!r}")
