"""What the bot says lives in domain.yml: only a handful of Chinese literals stay in actions/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

from launcher.settings import ROOT

HAN = re.compile(r"[\u4e00-\u9fff]")
# Date, size and coupon wording the Jinja2 sales lines use as filters (actions/formatting.py,
# actions/lines.py); the issue allows a handful.
MAX_CHINESE_LITERALS = 15


def chinese_literals(path: Path) -> list[str]:
    """Chinese string literals of a module, docstrings aside (an f-string counts once)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    inside_fstrings = {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in node.values
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(part.value for part in node.values if isinstance(part, ast.Constant))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and id(node) not in inside_fstrings
        ):
            text = node.value
        else:
            continue
        if HAN.search(str(text)):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text}")
    return found


def test_at_most_a_handful_of_chinese_literals_remain_in_actions() -> None:
    found = [
        line for path in sorted((ROOT / "actions").rglob("*.py")) for line in chinese_literals(path)
    ]
    assert len(found) <= MAX_CHINESE_LITERALS, "\n".join(found)


def test_every_response_an_action_names_is_in_the_domain() -> None:
    responses = set(yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"])
    named = {
        name
        for path in (ROOT / "actions").rglob("*.py")
        for name in re.findall(r"\"(utter_[a-z_]+)\"", path.read_text(encoding="utf-8"))
    }
    assert named and named <= responses, named - responses
