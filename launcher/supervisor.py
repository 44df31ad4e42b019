"""A small process supervisor: a table of programs, restarted with back-off when they crash.

Supervision as data, as Procfile / supervisord tables do it: each `Program` is a command, its
environment and its log file. The `Supervisor` starts them, restarts one that exits on its own
(exponential back-off, a restart budget per time window, every step logged) while the others
keep serving, and stops them all: SIGTERM to each process group, SIGKILL after a grace time.

Children die with the supervisor even when it is killed with SIGKILL and has no chance to clean
up: on Linux each child asks the kernel for SIGKILL when its parent dies
(`prctl(PR_SET_PDEATHSIG)`, set between fork and exec).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


class PortInUse(RuntimeError):
    """A program's port is taken by another process."""


@dataclass(frozen=True)
class RestartPolicy:
    """How a crashed program comes back: 1 s, 2 s, 4 s ... up to `max_delay`.

    More than `budget` restarts within `window` seconds and the supervisor gives up on that
    program (it keeps crashing: a restart loop only fills the log) and says so.
    """

    base_delay: float = 1.0
    max_delay: float = 30.0
    budget: int = 5
    window: float = 300.0

    def delay(self, restarts_in_window: int) -> float:
        """The wait before the next start, given the restarts already in the window."""
        return float(min(self.max_delay, self.base_delay * 2**restarts_in_window))


@dataclass
class Program:
    """One supervised child: its command, environment, log file and (optional) port."""

    name: str
    command: list[str]
    # Variables this process gets on top of the environment the supervisor is handed.
    env: dict[str, str] = field(default_factory=dict)
    port: int | None = None
    host: str = "127.0.0.1"
    # The environment it starts with (None: the supervisor's); `env` goes on top.
    base_env: dict[str, str] | None = None
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    # Supervision state: when it last (re)started, restart times, a pending restart.
    restarts: list[float] = field(default_factory=list)
    restart_at: float | None = None
    given_up: bool = False

    @property
    def pid(self) -> int | None:
        """The running child's process id."""
        return self.process.pid if self.process is not None else None


@dataclass(frozen=True)
class PortHolder:
    """The process listening on a port, as far as /proc tells."""

    pid: int | None
    command: str

    def __str__(self) -> str:
        if self.pid is None:
            return "a process this user cannot see (another user's, or a container's)"
        return f"pid {self.pid} ({self.command})"


def _libc_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    prctl: Callable[..., int] = libc.prctl
    return prctl


_PRCTL = _libc_prctl()


def die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn that makes the child get SIGKILL when this process dies (Linux)."""
    if _PRCTL is None:
        return None
    parent = os.getpid()
    prctl = _PRCTL

    def preexec() -> None:  # runs in the child between fork and exec: keep it tiny
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the prctl took effect
            os._exit(1)

    return preexec


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            next(lines, None)
            for line in lines:
                fields = line.split()
                # local_address is HEXIP:HEXPORT; state 0A is LISTEN.
                listening = len(fields) > 9 and fields[3] == "0A"
                if listening and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    return inodes


def port_holder(port: int) -> PortHolder | None:
    """Who listens on TCP `port` on this machine (None: nobody does)."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in wanted:
                    raw = (entry / "cmdline").read_bytes()
                    command = raw.replace(b"\0", b" ").decode(errors="replace").strip()
                    return PortHolder(int(entry.name), command[:200])
        except OSError:  # gone meanwhile, or not ours to look at
            continue
    return PortHolder(None, "")


def _port_is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As the servers themselves do: a port in TIME_WAIT is free to listen on.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def check_ports(programs: Iterable[Program]) -> None:
    """Raise PortInUse naming the holder of every program port that is already taken."""
    problems = []
    for program in programs:
        if program.port is None:
            continue
        holder = port_holder(program.port)
        if holder is None and _port_is_free(program.host, program.port):
            continue
        problems.append(
            f"port {program.port} for {program.name} is already in use by "
            f"{holder or 'another process'}"
            + (f"; stop it (kill {holder.pid})" if holder and holder.pid else "")
            + " or choose another port"
        )
    if problems:
        raise PortInUse("\n".join(problems))


def _exit_description(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exited with code {code}"


class Supervisor:
    """Start programs, restart the ones that crash (with back-off), stop them all."""

    def __init__(
        self,
        programs: Iterable[Program],
        *,
        log_dir: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        policy: RestartPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.programs = list(programs)
        self.log_dir = log_dir
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.policy = policy or RestartPolicy()
        self._clock = clock
        self.stopping = False

    def program(self, name: str) -> Program:
        """The program called `name`."""
        return next(program for program in self.programs if program.name == name)

    def spawn(self, program: Program) -> None:
        """Start `program` now, its output appended to <log_dir>/<name>.log."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if program.log is None or program.log.closed:
            program.log = open(self.log_dir / f"{program.name}.log", "ab")  # noqa: SIM115
        program.process = subprocess.Popen(
            program.command,
            cwd=self.cwd,
            env={**(self.env if program.base_env is None else program.base_env), **program.env},
            stdout=program.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Own process group: Ctrl-C on the supervisor must not reach the children twice,
            # and stopping kills whatever a child spawned too.
            start_new_session=True,
            preexec_fn=die_with_parent(),
        )
        program.restart_at = None

    def start_check(self) -> None:
        """Refuse (PortInUse, naming the holder) when a program's port is taken."""
        self.stopping = False
        check_ports(self.programs)

    def start(self) -> None:
        """Check every port, then start every program."""
        self.start_check()
        for program in self.programs:
            self.spawn(program)

    def poll(self) -> list[str]:
        """Notice crashed programs and restart those whose back-off has passed; say what."""
        if self.stopping:
            return []
        events = []
        now = self._clock()
        for program in self.programs:
            if program.given_up or program.process is None:
                continue
            if program.restart_at is not None:
                if now >= program.restart_at:
                    self.spawn(program)
                    events.append(f"{program.name} restarted (pid {program.pid})")
                continue
            code = program.process.poll()
            if code is None:
                continue
            recent = [at for at in program.restarts if now - at < self.policy.window]
            how = _exit_description(code)
            if len(recent) >= self.policy.budget:
                program.given_up = True
                events.append(
                    f"{program.name} {how}; it crashed {len(recent) + 1} times in "
                    f"{self.policy.window:.0f} s, so it stays down; the others keep serving"
                )
                continue
            delay = self.policy.delay(len(recent))
            program.restarts = [*recent, now]
            program.restart_at = now + delay
            events.append(
                f"{program.name} {how}; restarting in {delay:.0f} s "
                f"(restart {len(program.restarts)} of {self.policy.budget} "
                f"in {self.policy.window:.0f} s); the others keep serving"
            )
        for event in events:
            logger.info("%s", event)
        return events

    def running(self) -> list[str]:
        """The names of the programs whose process is alive."""
        return [
            program.name
            for program in self.programs
            if program.process is not None and program.process.poll() is None
        ]

    def stop(self, grace: float = 10.0) -> None:
        """Stop every program: SIGTERM to its process group, SIGKILL after the grace time."""
        self.stopping = True
        for program in reversed(self.programs):
            if program.process is not None and program.process.poll() is None:
                signal_group(program.process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for program in reversed(self.programs):
            if program.process is None:
                continue
            try:
                program.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                signal_group(program.process, signal.SIGKILL)
                program.process.wait()
            # Children the program spawned itself (sanic workers) share its group.
            signal_group(program.process, signal.SIGKILL)
            if program.log is not None:
                program.log.close()


def signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Send `sig` to the process group `process` leads (nothing if it is gone)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
