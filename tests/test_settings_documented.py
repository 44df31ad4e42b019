"""Every environment variable the processes read is documented once: README or docs/wechat.md."""

from __future__ import annotations

import re

from actions.settings import Settings as ActionSettings
from channels.settings import ChannelSettings
from launcher.settings import ROOT

PACKAGES = (
    "actions",
    "analytics",
    "channels",
    "components",
    "desk",
    "launcher",
    "mall",
    "security",
)
# How the settings modules read a variable: env.get("X"), os.environ.get("X"), _port("X", ...),
# _positive_int(env, "X", ...) and friends.
READ = re.compile(
    r'(?:environ|env)\.get\(\s*"([A-Z][A-Z0-9_]+)"'
    r"|\b_(?:port|flag|limit|url|positive_int|positive_float|non_negative_int)\((?:env, )?"
    r'"([A-Z][A-Z0-9_]+)"'
)
# Not ours: TensorFlow's log level, the WSGI request environment.
FOREIGN = {"TF_CPP_MIN_LOG_LEVEL", "QUERY_STRING"}


def variables_read() -> set[str]:
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for match in READ.finditer(path.read_text(encoding="utf-8")):
                found.add(match.group(1) or match.group(2))
    for name, field in ChannelSettings.__fields__.items():
        found.add(str(field.field_info.extra.get("env") or name.upper()))
    # The BaseSettings objects name their variables in their fields.
    for settings in (ActionSettings,):
        found.update(settings.variables())
    return found - FOREIGN


def test_every_variable_read_is_documented() -> None:
    documented = (ROOT / "README.md").read_text() + (ROOT / "docs" / "wechat.md").read_text()
    read = variables_read()
    assert len(read) > 30  # the pattern still finds the settings modules' reads
    missing = sorted(name for name in read if f"`{name}`" not in documented)
    assert not missing, f"document these in the README's settings table: {missing}"
