"""Every environment variable the processes read is documented once: README or docs/wechat.md.

The settings classes name their variables in their fields; the README's table is generated
from them (tests/test_settings_table.py keeps it current). What is read outside a class
(`os.environ.get("X")` and the like) is found by a pattern, so a new direct read cannot slip
past undocumented either.
"""

from __future__ import annotations

import re

from launcher.settings import ROOT
from scripts.settings_table import processes

PACKAGES = (
    "actions",
    "analytics",
    "channels",
    "components",
    "desk",
    "launcher",
    "mall",
    "monitoring",
    "security",
)
# How code outside the settings classes reads a variable: env.get("X"), os.environ["X"],
# os.getenv("X").
READ = re.compile(
    r'(?:environ|env)\.get\(\s*"([A-Z][A-Z0-9_]+)"'
    r'|environ\[\s*"([A-Z][A-Z0-9_]+)"\s*\]'
    r'|getenv\(\s*"([A-Z][A-Z0-9_]+)"'
)
# Not ours: TensorFlow's log level, the WSGI request environment.
FOREIGN = {"TF_CPP_MIN_LOG_LEVEL", "QUERY_STRING"}


def read_directly() -> set[str]:
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for match in READ.finditer(path.read_text(encoding="utf-8")):
                found.add(next(group for group in match.groups() if group))
    return found - FOREIGN


def read_by_settings() -> set[str]:
    return {variable for _process, settings in processes() for variable in settings.variables()}


def documented() -> str:
    return (ROOT / "README.md").read_text() + (ROOT / "docs" / "wechat.md").read_text()


def test_every_variable_the_settings_read_is_documented() -> None:
    read = read_by_settings()
    assert len(read) > 60  # every process's class is in the list
    missing = sorted(name for name in read if f"`{name}`" not in documented())
    assert not missing, f"describe these in their settings fields: {missing}"


def test_settings_are_read_through_the_classes() -> None:
    # What is still read directly (from the environment handed to a child, say) is a
    # variable some settings class reads, and so documents.
    direct = read_directly()
    assert not direct - read_by_settings(), "read these through a settings class"
    assert [name for name in direct if f"`{name}`" not in documented()] == []


def test_the_wechat_variables_are_explained_in_the_wechat_guide() -> None:
    from channels.settings import ChannelSettings

    guide = (ROOT / "docs" / "wechat.md").read_text()
    wechat = [name for name in ChannelSettings.variables() if name.startswith("WECHAT_")]
    assert len(wechat) >= 10
    assert [name for name in wechat if f"`{name}`" not in guide] == []


def test_the_production_endpoints_read_only_documented_variables() -> None:
    from launcher.settings import EndpointSettings

    text = (ROOT / "endpoints.production.yml").read_text()
    used = {
        name
        for line in text.splitlines()
        if not line.lstrip().startswith("#")
        for name in re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}", line)
    }
    assert used and used <= set(EndpointSettings.variables())
