"""The supervisor with tiny real child processes: killed with SIGKILL, crashing, outlived."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from launcher.supervisor import (
    PortInUse,
    Program,
    RestartPolicy,
    Supervisor,
    check_ports,
    port_holder,
)

ROOT = Path(__file__).resolve().parents[2]
SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]
CRASHER = [sys.executable, "-c", "raise SystemExit(3)"]


class FakeClock:
    """Supervision time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    """Poll `condition` until true or the timeout (a bound on waiting, not a timing assert)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def supervisor(tmp_path: Path, clock: FakeClock) -> Iterator[Supervisor]:
    programs = [Program("actions", SLEEPER), Program("mall", SLEEPER)]
    supervisor = Supervisor(
        programs,
        log_dir=tmp_path,
        policy=RestartPolicy(base_delay=1.0, max_delay=8.0, budget=3, window=300.0),
        clock=clock,
    )
    supervisor.start()
    yield supervisor
    supervisor.stop(grace=2.0)


def test_a_child_killed_with_sigkill_comes_back_after_its_back_off_and_the_rest_keep_serving(
    supervisor: Supervisor, clock: FakeClock
) -> None:
    actions, mall = supervisor.program("actions"), supervisor.program("mall")
    first, mall_pid = actions.pid, mall.pid
    assert first is not None and mall_pid is not None
    os.kill(first, signal.SIGKILL)
    assert wait_until(lambda: actions.process is not None and actions.process.poll() is not None)

    [event] = supervisor.poll()
    assert event.startswith("actions killed by SIGKILL; restarting in 1 s (restart 1 of 3")
    assert supervisor.poll() == []  # the back-off has not passed yet
    assert supervisor.running() == ["mall"]

    clock.now += 1.0
    assert supervisor.poll() == [f"actions restarted (pid {actions.pid})"]
    assert actions.pid != first and alive(actions.pid)  # type: ignore[arg-type]
    assert mall.pid == mall_pid and alive(mall_pid)
    assert supervisor.running() == ["actions", "mall"]


def test_back_off_doubles_and_a_program_that_keeps_crashing_is_given_up(
    tmp_path: Path, clock: FakeClock
) -> None:
    supervisor = Supervisor(
        [Program("broken", CRASHER), Program("mall", SLEEPER)],
        log_dir=tmp_path,
        policy=RestartPolicy(base_delay=1.0, max_delay=8.0, budget=3, window=300.0),
        clock=clock,
    )
    supervisor.start()
    broken = supervisor.program("broken")
    try:
        delays = []
        for _ in range(3):
            assert wait_until(lambda: broken.process is not None and broken.process.poll() == 3)
            [event] = supervisor.poll()
            assert event.startswith("broken exited with code 3; restarting in ")
            delays.append(event.split("restarting in ")[1].split(" s")[0])
            clock.now += float(delays[-1])
            assert supervisor.poll() == [f"broken restarted (pid {broken.pid})"]
        assert delays == ["1", "2", "4"]
        assert wait_until(lambda: broken.process is not None and broken.process.poll() == 3)
        [event] = supervisor.poll()
        assert "crashed 4 times in 300 s, so it stays down; the others keep serving" in event
        assert broken.given_up
        clock.now += 60
        assert supervisor.poll() == []
        assert supervisor.running() == ["mall"]
    finally:
        supervisor.stop(grace=2.0)


def test_restarts_outside_the_window_do_not_count_against_the_budget(
    tmp_path: Path, clock: FakeClock
) -> None:
    supervisor = Supervisor(
        [Program("flaky", CRASHER)],
        log_dir=tmp_path,
        policy=RestartPolicy(base_delay=1.0, budget=1, window=60.0),
        clock=clock,
    )
    supervisor.start()
    flaky = supervisor.program("flaky")
    try:
        for _ in range(3):  # one crash an hour is within a budget of one per minute
            assert wait_until(lambda: flaky.process is not None and flaky.process.poll() == 3)
            [event] = supervisor.poll()
            assert "restarting in 1 s (restart 1 of 1" in event
            clock.now += 3600
            supervisor.poll()
        assert not flaky.given_up
    finally:
        supervisor.stop(grace=2.0)


def test_stop_ends_every_child_and_whatever_it_spawned(tmp_path: Path) -> None:
    # A child that starts a grandchild in its own process group (as sanic workers are).
    spawner = [
        sys.executable,
        "-c",
        "import subprocess, sys, time; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
        "print(p.pid, flush=True); time.sleep(120)",
    ]
    supervisor = Supervisor([Program("spawner", spawner)], log_dir=tmp_path)
    supervisor.start()
    log = tmp_path / "spawner.log"
    assert wait_until(lambda: log.exists() and log.read_text().strip().isdigit())
    grandchild = int(log.read_text())
    child = supervisor.program("spawner").pid
    assert child is not None and alive(child) and alive(grandchild)
    supervisor.stop(grace=5.0)
    assert not alive(child)
    assert wait_until(lambda: not alive(grandchild))
    assert supervisor.poll() == []  # a stopped supervisor restarts nothing


SUPERVISOR_SCRIPT = textwrap.dedent(
    """
    import signal, sys, time
    from pathlib import Path
    from launcher.supervisor import Program, Supervisor

    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
    supervisor = Supervisor(
        [Program("one", sleeper), Program("two", sleeper)], log_dir=Path(sys.argv[1])
    )

    def stop(signum, frame):
        supervisor.stop(grace=5.0)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    supervisor.start()
    print(" ".join(str(p.pid) for p in supervisor.programs), flush=True)
    while True:
        supervisor.poll()
        time.sleep(0.1)
    """
)


def start_supervisor_process(tmp_path: Path) -> tuple[subprocess.Popen[str], list[int]]:
    process = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR_SCRIPT, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    pids = [int(pid) for pid in process.stdout.readline().split()]
    assert len(pids) == 2 and all(alive(pid) for pid in pids)
    return process, pids


def test_children_die_with_a_supervisor_killed_by_sigkill(tmp_path: Path) -> None:
    process, pids = start_supervisor_process(tmp_path)
    process.kill()  # SIGKILL: no handler, no clean-up code runs
    process.wait(timeout=10)
    assert wait_until(lambda: not any(alive(pid) for pid in pids)), "a child outlived it"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_stop_everything_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    process, pids = start_supervisor_process(tmp_path)
    process.send_signal(sig)
    assert process.wait(timeout=15) == 0
    assert not any(alive(pid) for pid in pids)


def test_a_port_in_use_is_reported_with_the_process_that_holds_it(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        holder = port_holder(port)
        assert holder is not None and holder.pid == os.getpid()
        assert "python" in holder.command
        with pytest.raises(PortInUse) as refused:
            check_ports([Program("mall", SLEEPER, port=port), Program("desk", SLEEPER)])
        message = str(refused.value)
        assert f"port {port} for mall is already in use by pid {os.getpid()}" in message
        assert f"kill {os.getpid()}" in message
        supervisor = Supervisor([Program("mall", SLEEPER, port=port)], log_dir=tmp_path)
        with pytest.raises(PortInUse):
            supervisor.start()
        assert supervisor.program("mall").process is None  # nothing was started
    assert port_holder(port) is None
    check_ports([Program("mall", SLEEPER, port=port)])  # free again: no complaint


def test_a_port_held_by_a_child_of_another_process_names_that_child(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import socket, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
            "print(s.getsockname()[1], flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        holder = port_holder(port)
        assert holder is not None and holder.pid == server.pid
        assert "socket.socket()" in holder.command
    finally:
        server.kill()
        server.wait()
