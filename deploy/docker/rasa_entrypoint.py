"""Start one Rasa replica in a container: the configured channels only, the cluster endpoints.

As `make run` does (launcher/credentials.py): a channel none of whose variables is set is
left out, so an image without WeChat accounts still starts. Then exec `rasa run`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from launcher.credentials import write_credentials  # noqa: E402


def main() -> None:
    """Write the runnable credentials, then become `rasa run`."""
    env = dict(os.environ)
    credentials = Path(env.get("RASA_CREDENTIALS_OUT", "/tmp/credentials.yml"))
    write_credentials(ROOT / "credentials.yml", credentials, env)
    origins = env.get("WIDGET_ALLOWED_ORIGINS", "").replace(",", " ").split()
    token = env.get("RASA_API_TOKEN", "")
    if len(token) < 16:
        sys.exit("RASA_API_TOKEN must be set (16+ characters): Rasa's HTTP API needs it")
    command = [
        "rasa",
        "run",
        "--model",
        env.get("RASA_MODEL", str(ROOT / "models" / "mall-assistant.tar.gz")),
        "--interface",
        "0.0.0.0",
        "--port",
        env.get("RASA_PORT", "5005"),
        "--endpoints",
        env.get("RASA_ENDPOINTS", str(ROOT / "deploy" / "endpoints.cluster.yml")),
        "--credentials",
        str(credentials),
        "--enable-api",
        f"--auth-token={token}",  # one argument: a token may start with "-"
    ]
    if origins:
        command += ["--cors", *origins]
    os.execvpe(command[0], command, env)


if __name__ == "__main__":
    main()
