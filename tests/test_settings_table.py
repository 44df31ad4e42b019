"""The README's settings table is the one the settings classes generate, and the generator
refuses a variable documented twice or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field

from scripts import settings_table
from scripts.settings_table import TableError, collect, in_readme, render, table
from security.settings import ProcessSettings


def test_the_readme_table_is_the_generated_one() -> None:
    current = in_readme(settings_table.README.read_text(encoding="utf-8"))
    assert current == table(), "README.md is out of date: run `python scripts/settings_table.py`"
    assert settings_table.main(["--check"]) == 0


class _Shop(ProcessSettings):
    port: int = Field(default=8000, env="SHOP_PORT", description="the shop's port")
    token: str = Field(default="", env="SHOP_TOKEN", shown="generated", description="its token")


class _Reader(ProcessSettings):
    port: int = Field(default=8000, env="SHOP_PORT")


class _Again(ProcessSettings):
    port: int = Field(default=9000, env="SHOP_PORT", description="another meaning")


class _Silent(ProcessSettings):
    secret: str = Field(default="", env="UNSAID_SECRET")


def test_a_variable_is_described_once_and_lists_who_reads_it() -> None:
    rows = {row.variable: row for row in collect([("shop", _Shop), ("reader", _Reader)])}
    assert rows["SHOP_PORT"].readers == ["shop", "reader"]
    assert (rows["SHOP_PORT"].default, rows["SHOP_TOKEN"].default) == ("8000", "generated")
    assert rows["MALL_ASSISTANT_ENV"].readers == ["every process"]
    assert "| `SHOP_TOKEN` | generated | shop | its token |" in render(list(rows.values()))


def test_twice_or_never_described_is_refused() -> None:
    with pytest.raises(TableError, match="SHOP_PORT is described twice"):
        collect([("shop", _Shop), ("again", _Again)])
    with pytest.raises(TableError, match="UNSAID_SECRET has no description"):
        collect([("silent", _Silent)])


def test_an_edited_table_fails_the_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = tmp_path / "README.md"
    text = settings_table.README.read_text(encoding="utf-8")
    readme.write_text(text.replace("| `RASA_PORT` | 5005 |", "| `RASA_PORT` | 5006 |"))
    monkeypatch.setattr(settings_table, "README", readme)
    assert settings_table.main(["--check"]) == 1
    assert settings_table.main([]) == 0  # rewrites it
    assert readme.read_text(encoding="utf-8") == text
