"""The sandbox host: background start, readiness, sandbox.json, status, stop with no leftovers."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from swan_jupyter.sandbox import host


@pytest.fixture
def state(tmp_path: Path) -> Path:
    yield tmp_path / "state"
    host.stop(tmp_path / "state", grace=10)


def test_start_status_stop_without_chain(state: Path) -> None:
    description = host.start(state, chain=False, timeout=60)
    pid = description["host"]["pid"]
    assert psutil.pid_exists(pid)
    path = state / "sandbox.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    # starting again is a no-op returning the same running sandbox
    assert host.start(state, chain=False)["host"]["pid"] == pid
    report = host.status(state)
    assert report["running"] and report["pid"] == pid
    for name, svc in report["services"].items():
        assert svc["healthy"], name
        assert svc["url"].startswith("http://127.0.0.1:")
    children = psutil.Process(pid).children(recursive=True)
    assert host.stop(state) is True
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    for child in children:
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    assert host.status(state)["running"] is False
    assert host.stop(state) is False


def test_cli_status_of_a_stopped_sandbox(state: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "swan_jupyter.sandbox", "status", "--state", str(state)],
        capture_output=True, text=True, env={**os.environ},
    )
    assert out.returncode == 3
    assert "stopped" in out.stdout


def test_a_second_host_on_the_same_state_is_refused(state: Path) -> None:
    host.start(state, chain=False, timeout=60)
    out = subprocess.run(
        [sys.executable, "-m", "swan_jupyter.sandbox", "serve", "--state", str(state), "--no-chain"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 1
    assert "Another sandbox is already running" in out.stderr


def test_the_host_never_imports_from_the_folder_it_was_started_in(state: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """``python -m`` puts the working folder first on ``sys.path``: a notebook folder holding a ``uvicorn.py`` (or
    a ``swan_jupyter/`` folder, or a ``requests.py``) must not be imported by the sandbox's host."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    marker = tmp_path / "imported"
    for name in ("uvicorn.py", "starlette.py", "psutil.py"):
        (notebooks / name).write_text(f"open({str(marker)!r}, 'a').write({name!r})\nraise ImportError('planted')\n")
    monkeypatch.chdir(notebooks)
    description = host.start(state, chain=False, timeout=60)
    assert psutil.pid_exists(description["host"]["pid"])
    assert not marker.exists(), marker.read_text()


@pytest.mark.chain  # the extension starts the full sandbox
def test_the_extension_starts_the_sandbox_outside_the_notebook_folder(state: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from swan_jupyter.sandbox_link import ensure_sandbox

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    marker = tmp_path / "imported"
    (notebooks / "swan_jupyter").mkdir()  # a folder named like the package, next to the notebooks
    (notebooks / "swan_jupyter" / "__init__.py").write_text(
        f"open({str(marker)!r}, 'a').write('swan_jupyter')\nraise ImportError('planted')\n")
    monkeypatch.chdir(notebooks)
    description = ensure_sandbox(state, notify=lambda _m: None, timeout=120)
    assert psutil.pid_exists(description["host"]["pid"])
    assert not marker.exists()


def test_status_says_how_executions_start(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Warm by default (a fork server); cold when forced, with the reason, in the report and in the CLI's text."""
    host.start(state, chain=False, timeout=60)
    executions = host.status(state)["services"]["abaco"]["executions"]
    assert executions["start"] == "warm" and psutil.pid_exists(executions["fork_server_pid"]), executions
    out = subprocess.run([sys.executable, "-m", "swan_jupyter.sandbox", "status", "--state", str(state)],
                         capture_output=True, text=True, timeout=60)
    assert f"executions: warm start (forked from a fork server, pid {executions['fork_server_pid']}" in out.stdout
    assert host.stop(state) is True
    assert not psutil.pid_exists(executions["fork_server_pid"])
    monkeypatch.setenv("SWAN_SANDBOX_ABACO_WARM", "0")
    host.start(state, chain=False, timeout=60)
    executions = host.status(state)["services"]["abaco"]["executions"]
    assert executions == {"start": "cold", "reason": "cold start forced by SWAN_SANDBOX_ABACO_WARM=0"}
    assert "executions: cold start (a fresh interpreter each): cold start forced by SWAN_SANDBOX_ABACO_WARM=0" in \
        host.format_status(host.status(state))
