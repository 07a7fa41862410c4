"""A short load run on a sandbox of its own (actor messages, listings, paid deployments), SIGKILLed mid-run and
restarted while the clients keep going: nothing accepted is lost, nothing paid twice. The long run is
``benchmarks/reliability.py``."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swan_jupyter.sandbox import host
from swan_jupyter.sandbox.reliability import check_after_restart, run_load
from swan_jupyter.session import Session


@pytest.fixture
def own_sandbox(tmp_path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """A second sandbox in its own folder (it gets killed; the session's sandbox must not be)."""
    state = tmp_path / "sandbox"
    description = host.start(state, time_scale=60)
    try:
        yield state, description
    finally:
        host.stop(state)


def kill_and_restart(state: Path) -> None:
    pid = int((state / "host.pid").read_text())
    os.killpg(os.getpgid(pid), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    host.start(state, time_scale=60)


def test_load_then_sigkill_and_restart_loses_nothing(own_sandbox: tuple[Path, dict[str, Any]]) -> None:
    state, _ = own_sandbox

    def make_session() -> Session:
        return Session(sandbox_state_dir=state, start_sandbox=False, notify=lambda _m: None)

    setup = make_session()
    actors = [str(setup.actors().add({"image": "abacosamples/test", "name": f"load-{i}"}).id) for i in range(3)]
    first_pid = int((state / "host.pid").read_text())
    report = run_load(make_session, actors, threads=4, seconds=8.0, during=lambda: kill_and_restart(state))
    assert int((state / "host.pid").read_text()) != first_pid  # it really was killed and restarted
    assert report.messages and report.paid, f"the load run did no work: {report.line()}"
    check = check_after_restart(make_session(), report, settle=90)
    assert check.ok(), f"[load + SIGKILL] {report.line()}\n[after restart] {check.line()}"
    setup.close()
