"""Start the assistant's processes, wait until each is healthy, keep them up, stop them all.

The processes, as data (`build_services`): the mall API, the action server and the analytics
consumer on loopback, the Rasa server (channels) and the desk (shop, agent console,
dashboard) where browsers reach them.
`launcher.supervisor` runs them: a crashed process is restarted with back-off while the
others keep serving, and none outlives the launcher.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from launcher.settings import ROOT, StackSettings
from launcher.supervisor import PortInUse, Program, RestartPolicy, Supervisor

logger = logging.getLogger(__name__)

BIN = Path(sys.executable).parent


class StackError(RuntimeError):
    """A process failed to start or to become healthy."""


@dataclass(kw_only=True)
class Service(Program):
    """One supervised child process and how to tell that it is ready."""

    # None for a worker with no HTTP side (the scheduler): healthy while it runs.
    health_url: str | None
    headers: dict[str, str] = field(default_factory=dict)

    def is_healthy(self) -> bool:
        """True when the service answers its health check (a worker: while it runs)."""
        if self.health_url is None:
            return self.process is not None and self.process.poll() is None
        try:
            answer = requests.get(self.health_url, headers=self.headers, timeout=1.0)
        except requests.RequestException:
            return False
        return answer.status_code == 200


def mall_database_init(settings: StackSettings, *, seed: bool = True) -> None:
    """Migrate the mall database to the latest schema and seed the demo data when empty."""
    command = [str(BIN / "python"), "-m", "mall", "init-db"] + (["--seed"] if seed else [])
    result = subprocess.run(
        command, cwd=ROOT, env=settings.child_env(), capture_output=True, text=True
    )
    if result.returncode != 0:
        raise StackError(f"mall database setup failed:\n{result.stderr[-2000:]}")


ALL_SERVICES = ("mall", "actions", "rasa", "analytics", "desk")
# `make run` also starts the proactive-message scheduler (mall/scheduler.py), which writes to
# customers on its own: test stacks leave it out and run its passes themselves.
RUN_SERVICES = (*ALL_SERVICES, "scheduler")
# The endpoints file whose values come from the environment (child_env fills them).
ENDPOINTS = "endpoints.production.yml"


def build_services(settings: StackSettings, names: Iterable[str] = ALL_SERVICES) -> list[Service]:
    """The commands for the requested services, in start order."""
    wanted = set(names)
    services = []
    if "mall" in wanted:
        services.append(
            Service(
                name="mall",
                command=[
                    str(BIN / "python"),
                    "-m",
                    "mall",
                    "serve",
                    "--host",
                    settings.mall_host,
                    "--port",
                    str(settings.mall_port),
                ],
                health_url=f"{settings.mall_url}/health",
                port=settings.mall_port,
                host=settings.mall_host,
            )
        )
    if "actions" in wanted:
        services.append(
            Service(
                name="actions",
                command=[
                    str(BIN / "python"),
                    "-m",
                    "rasa_sdk",
                    "--actions",
                    "actions",
                    "--port",
                    str(settings.actions_port),
                ],
                health_url=f"{settings.actions_url}/health",
                # rasa_sdk has no --host: it listens on SANIC_HOST, all interfaces if unset.
                env={"SANIC_HOST": settings.actions_host},
                port=settings.actions_port,
                host=settings.actions_host,
            )
        )
    if "rasa" in wanted:
        services.append(
            Service(
                name="rasa",
                command=[
                    str(BIN / "rasa"),
                    "run",
                    "--model",
                    str(settings.model_path),
                    "--interface",
                    settings.host,
                    "--port",
                    str(settings.rasa_port),
                    # Ports and the tracker store follow the settings (ENDPOINTS reads them
                    # from the environment); the channels read their own (credentials.yml).
                    "--endpoints",
                    ENDPOINTS,
                    "--credentials",
                    "credentials.yml",
                    "--enable-api",
                    # Pages of these origins may call the web channel from a browser.
                    "--cors",
                    *settings.cors_origins,
                    # One argument: a token may start with "-", which argparse would take
                    # for an option.
                    f"--auth-token={settings.rasa_api_token}",
                    "--log-file",
                    str(settings.log_dir / "rasa-events.log"),
                ],
                # /status answers only once the model is loaded.
                health_url=f"{settings.rasa_url}/status?token={settings.rasa_api_token}",
                port=settings.rasa_port,
                host=settings.host,
            )
        )
    if "scheduler" in wanted:
        services.append(
            Service(
                name="scheduler",
                command=[
                    str(BIN / "python"),
                    "-m",
                    "mall",
                    "outreach",
                    "--interval",
                    str(settings.outreach_interval),
                    "--rasa-url",
                    settings.rasa_url,
                ],
                health_url=None,
            )
        )
    if "analytics" in wanted:
        # Rasa's event broker -> the facts store; /health, /metrics, the dashboard's API.
        services.append(
            Service(
                name="analytics",
                command=[str(BIN / "python"), "-m", "analytics", "consume"],
                health_url=f"{settings.analytics_url}/health",
                port=settings.analytics_port,
                host="127.0.0.1",
            )
        )
    if "desk" in wanted:
        services.append(
            Service(
                name="desk",
                command=[str(BIN / "python"), "-m", "desk", "serve"],
                health_url=f"{settings.desk_url}/health",
                port=settings.desk_port,
                host=settings.host,
            )
        )
    return services


class Stack:
    """The running assistant: start every service, wait until healthy, keep up, stop all."""

    def __init__(
        self,
        settings: StackSettings,
        services: Iterable[str] = ALL_SERVICES,
        *,
        policy: RestartPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.services = build_services(settings, services)
        self.supervisor = Supervisor(
            self.services, log_dir=settings.log_dir, cwd=ROOT, policy=policy, env={}
        )
        # Restarted services not yet answering their health check again.
        self._recovering: set[str] = set()

    def start(self, timeout: float = 180.0) -> None:
        """Start every service and return once all answer their health checks."""
        self.settings.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.supervisor.start_check()
        except PortInUse as error:
            raise StackError(str(error)) from None
        if any(service.name == "mall" for service in self.services):
            mall_database_init(self.settings)
        env = self.settings.child_env()
        for service in self.services:
            # Replicas (rasa-1, actions-2) get the secrets of their kind.
            kind = service.name.split("-", 1)[0]
            service.base_env = self.settings.service_env(kind, env)
            self.supervisor.spawn(service)
        try:
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise

    def wait_healthy(self, timeout: float) -> None:
        """Poll the health checks until every service answers, or fail with its log tail."""
        deadline = time.monotonic() + timeout
        pending = list(self.services)
        while pending:
            for service in list(pending):
                assert service.process is not None
                if service.process.poll() is not None:
                    raise StackError(
                        f"{service.name} exited with code {service.process.returncode}:\n"
                        f"{self.log_tail(service.name)}"
                    )
                if service.is_healthy():
                    logger.info("%s is ready", service.name)
                    pending.remove(service)
            if not pending:
                return
            if time.monotonic() > deadline:
                names = ", ".join(service.name for service in pending)
                raise StackError(f"not healthy after {timeout:.0f} s: {names}")
            time.sleep(0.25)

    def supervise(self) -> list[str]:
        """One round of supervision: restart what crashed, report what is back; say what."""
        events = self.supervisor.poll()
        for event in events:
            name = event.split(" ", 1)[0]
            if " restarted " in event:
                self._recovering.add(name)
            elif "stays down" in event:
                events[events.index(event)] += f"\n{self.log_tail(name)}"
        for service in self.services:
            if service.name in self._recovering and service.is_healthy():
                self._recovering.discard(service.name)
                events.append(f"{service.name} is serving again")
        return events

    def check_alive(self) -> str | None:
        """The name of a service that is down (crashed, restarting or given up), if any."""
        for service in self.services:
            if service.process is not None and service.process.poll() is not None:
                return service.name
        return None

    def log_tail(self, name: str, lines: int = 30) -> str:
        """The last lines of a service's log."""
        path = self.settings.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, grace: float = 10.0) -> None:
        """Stop every service (SIGTERM to its process group, SIGKILL after the grace time)."""
        self.supervisor.stop(grace)

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
