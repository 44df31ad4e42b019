"""The action server's client types are the mall's schemas, regenerated, not rewritten."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "generate_client_models.py"


def test_the_generated_client_models_are_current() -> None:
    spec = importlib.util.spec_from_file_location("generate_client_models", SCRIPT)
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    current = (ROOT / "actions" / "clients" / "models.py").read_text(encoding="utf-8")
    assert generator.render() == current, "run python scripts/generate_client_models.py"


def test_the_action_server_loads_the_schemas_without_the_database_layer() -> None:
    import subprocess
    import sys

    code = "import sys, mall.schemas; print(any(m.startswith('sqlalchemy') for m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "False"
