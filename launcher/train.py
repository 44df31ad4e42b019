"""Train the Rasa model when the training data, domain or config changed since the last one."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

from launcher.settings import MODEL_NAME, ROOT, StackSettings

TRAINING_INPUTS = ("config.yml", "domain.yml", "data", "components")


def fingerprint(root: Path = ROOT) -> str:
    """A hash of what shapes the model: config, domain, data, custom components, Rasa version."""
    import rasa

    digest = hashlib.sha256(f"rasa=={rasa.__version__}\n".encode())
    for name in TRAINING_INPUTS:
        path = root / name
        if not path.exists():
            continue
        files = (
            sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
            if path.is_dir()
            else [path]
        )
        for file in files:
            digest.update(str(file.relative_to(root)).encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()


def display(path: Path) -> str:
    """A path relative to the project when it lies inside it."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def _stamp_path(settings: StackSettings) -> Path:
    return settings.models_dir / f"{MODEL_NAME}.fingerprint.json"


def model_is_current(settings: StackSettings, root: Path = ROOT) -> bool:
    """True when the model exists and was trained from the current inputs."""
    stamp = _stamp_path(settings)
    if not settings.model_path.exists() or not stamp.exists():
        return False
    try:
        recorded = json.loads(stamp.read_text())["fingerprint"]
    except (ValueError, KeyError):
        return False
    return bool(recorded == fingerprint(root))


def train(settings: StackSettings, *, force: bool = False) -> Path:
    """Train (logging to var/log/train.log) unless the model is current; print a summary."""
    if not force and model_is_current(settings):
        print(f"Model is current: {display(settings.model_path)}")
        return settings.model_path
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.log_dir / "train.log"
    inputs = fingerprint()
    command = [
        str(Path(sys.executable).parent / "rasa"),
        "train",
        "--config",
        "config.yml",
        "--domain",
        "domain.yml",
        "--data",
        "data",
        "--out",
        str(settings.models_dir),
        "--fixed-model-name",
        MODEL_NAME,
        "--force",
    ]
    print(f"Training the model (log: {log_path}) ...", flush=True)
    started = time.monotonic()
    with open(log_path, "wb") as log:
        result = subprocess.run(
            command, cwd=ROOT, env=settings.child_env(), stdout=log, stderr=subprocess.STDOUT
        )
    elapsed = time.monotonic() - started
    if result.returncode != 0 or not settings.model_path.exists():
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])
        raise SystemExit(
            f"Training failed after {elapsed:.0f} s. Last lines of {log_path}:\n{tail}"
        )
    _stamp_path(settings).write_text(json.dumps({"fingerprint": inputs}))
    size_mb = settings.model_path.stat().st_size / 1e6
    print(
        f"Trained in {elapsed:.0f} s: {display(settings.model_path)} ({size_mb:.1f} MB)",
        flush=True,
    )
    return settings.model_path
