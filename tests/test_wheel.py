"""Issue 14: the built wheel installed into a fresh virtualenv, as a pip user gets it: first without the sandbox
extra (the magics and the CLI say what to install), then with it (install-chain, then the sandbox starts outside
any checkout). Uses PyPI (or pip's cache) and the npm registry (or npm's cache) only; bounded in time."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INSTALL_TIMEOUT = 600


def run(cmd: list[str], *, cwd: Path, environ: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=environ, capture_output=True, text=True, timeout=timeout)


@pytest.mark.chain  # installs anvil into its own data folder and starts a full sandbox
@pytest.mark.timeout(1500)
def test_the_wheel_without_and_with_the_sandbox_extra(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    # A pip user's environment: nothing of this checkout on the path, config and data folders of their own.
    environ = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "SWAN_SANDBOX_STATE", "SWAN_ANVIL", "VIRTUAL_ENV")}
    environ.update(XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"),
                   SWAN_JUPYTER_CONFIG=str(home / "config.toml"), PIP_DISABLE_PIP_VERSION_CHECK="1")
    source = tmp_path / "source"  # built from a copy: setuptools writes build/ into the tree it builds
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "swan_jupyter", source / "swan_jupyter",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    wheels = tmp_path / "wheels"
    built = run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(source)],
                cwd=tmp_path, environ=environ, timeout=INSTALL_TIMEOUT)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = wheels.glob("swan_jupyter-*.whl")
    venv = tmp_path / "venv"
    made = run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path, environ=environ)
    assert made.returncode == 0, made.stderr
    python, cli = str(venv / "bin" / "python"), str(venv / "bin" / "swan-jupyter")

    plain = run([python, "-m", "pip", "install", "--quiet", str(wheel)], cwd=tmp_path, environ=environ,
                timeout=INSTALL_TIMEOUT)
    assert plain.returncode == 0, plain.stderr[-2000:]
    where = run([python, "-c", "import swan_jupyter; print(swan_jupyter.__file__)"], cwd=tmp_path, environ=environ)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr
    refused = run([cli, "sandbox", "start", "--state", str(home / "state")], cwd=tmp_path, environ=environ)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert 'pip install "swan-jupyter[sandbox]"' in refused.stderr
    magic = run([python, "-c", "from IPython.core.interactiveshell import InteractiveShell\n"
                 "ip = InteractiveShell.instance(); ip.run_line_magic('load_ext', 'swan_jupyter')\n"
                 "ip.run_cell('%swan_config')\n"], cwd=tmp_path, environ=environ)
    shown = magic.stdout + magic.stderr
    assert 'pip install "swan-jupyter[sandbox]"' in shown and "Traceback" not in shown, shown
    assert "No module named" not in shown, shown

    extra = run([python, "-m", "pip", "install", "--quiet", f"{wheel}[sandbox]"], cwd=tmp_path, environ=environ,
                timeout=INSTALL_TIMEOUT)
    assert extra.returncode == 0, extra.stderr[-2000:]
    no_chain = run([cli, "sandbox", "start", "--state", str(home / "state")], cwd=tmp_path, environ=environ)
    assert no_chain.returncode == 1 and "install-chain" in no_chain.stderr, no_chain.stderr
    chain = run([cli, "sandbox", "install-chain"], cwd=tmp_path, environ=environ, timeout=INSTALL_TIMEOUT)
    assert chain.returncode == 0 and str(home / "data" / "swan-jupyter" / "chain") in chain.stdout, chain.stderr
    try:
        started = run([cli, "sandbox", "start", "--state", str(home / "state")], cwd=tmp_path, environ=environ)
        assert started.returncode == 0, started.stdout + started.stderr
        description = json.loads((home / "state" / "sandbox.json").read_text())
        assert description["chain"]["rpc_url"] and description["host"]["time_scale"] == 60
        status = run([cli, "sandbox", "status", "--state", str(home / "state")], cwd=tmp_path, environ=environ)
        assert status.returncode == 0, status.stdout + status.stderr
    finally:
        stopped = run([cli, "sandbox", "stop", "--state", str(home / "state")], cwd=tmp_path, environ=environ)
    assert stopped.returncode == 0 and "sandbox stopped" in stopped.stdout, stopped.stdout + stopped.stderr
