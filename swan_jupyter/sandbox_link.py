"""How the client finds (and, if needed, starts) the local sandbox, without importing the sandbox package.

The client only reads ``STATE_DIR/sandbox.json`` and checks each endpoint's health route; to start the
sandbox it runs ``python -m swan_jupyter.sandbox start`` as a separate process.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .config import read_sandbox_description
from .errors import ConfigurationError
from .sandbox_contract import HEALTH_PATH

_announced: set[str] = set()
_lock = threading.Lock()
_notice_handler: Callable[[str], None] | None = None


def set_notice_handler(handler: Callable[[str], None] | None) -> None:
    """Where notices go when the caller names no ``notify`` (the IPython layer displays them as information;
    ``None``: stderr)."""
    global _notice_handler
    _notice_handler = handler


#: The modules of the ``[sandbox]`` extra (import names): without them the sandbox cannot run.
SANDBOX_MODULES: tuple[str, ...] = ("starlette", "uvicorn", "multipart", "jwt", "hashids", "cloudpickle", "psutil")
INSTALL_SANDBOX = 'pip install "swan-jupyter[sandbox]"'
REAL_ENDPOINTS = ("or use real endpoints: %swan_config --profile testnet, or set SWAN_ORCHESTRATOR_URL and "
                  "ABACO_URL (README: Configuration)")


def missing_sandbox_modules() -> list[str]:
    """The modules of the ``[sandbox]`` extra that cannot be imported here (empty when it is installed)."""
    out = []
    for name in SANDBOX_MODULES:
        try:
            if importlib.util.find_spec(name) is None:
                out.append(name)
        except (ImportError, ValueError):
            out.append(name)
    return out


def sandbox_not_installed(missing: list[str]) -> ConfigurationError:
    """The error of a sandbox that cannot run because the ``[sandbox]`` extra is not installed."""
    return ConfigurationError(
        f"The local sandbox is not installed (missing: {', '.join(missing)}).",
        hint=f"{INSTALL_SANDBOX}   {REAL_ENDPOINTS}",
    )


def cli_command() -> str:
    """How to run the ``swan-jupyter`` command of this installation, as a user would type it: the bare name when
    ``PATH`` finds this very installation's script, else its full path (a checkout's ``.venv/bin`` is often not on
    ``PATH``), else ``python -m swan_jupyter.cli``."""
    script = Path(sys.executable).parent / "swan-jupyter"
    on_path = shutil.which("swan-jupyter")
    if on_path and script.exists() and os.path.samefile(on_path, script):
        return "swan-jupyter"
    if script.exists():
        return shlex.quote(str(script))
    return f"{shlex.quote(sys.executable)} -m swan_jupyter.cli"


def stop_command(state_dir: Path) -> str:
    """The shell command that stops the sandbox of ``state_dir``, ready to paste into a terminal."""
    return f"{cli_command()} sandbox stop --state {shlex.quote(str(state_dir))}"


def _healthy(url: str, timeout: float = 1.5) -> bool:
    """Whether the sandbox at ``url`` answers its health check. A plain urllib GET, not the client's transport: this
    runs before any client exists and must not load requests; imported here, not at the top, because urllib.request
    pulls http.client, email and ssl (tens of ms) onto the extension's load path."""
    import urllib.request

    try:
        with urllib.request.urlopen(url.rstrip("/") + HEALTH_PATH, timeout=timeout) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def sandbox_running(description: dict[str, Any] | None) -> bool:
    """True when every service listed in ``description`` answers its health check."""
    if not description:
        return False
    urls = [s["url"] for k, s in description.items() if k in ("orchestrator", "abaco") and isinstance(s, dict)]
    return bool(urls) and all(_healthy(u) for u in urls)


def ensure_sandbox(
    state_dir: Path, *, start: bool = True, notify: Callable[[str], None] | None = None, timeout: float = 180.0,
    services: str | None = None,
) -> dict[str, Any]:
    """Return the running sandbox's description, starting the sandbox in the background if needed.

    Says so once per state folder and process, in one line naming the services that use it (``services``,
    e.g. ``"Abaco"`` when the Orchestrator has its own endpoint; None: both), the state folder and the exact
    command that stops it (through ``notify``, else the handler of :func:`set_notice_handler`, else stderr).
    A start is announced before the wait (it can take half a minute on a busy machine).
    """
    say = notify or _notice_handler or (lambda m: print(m, file=sys.stderr))
    with _lock:
        description = read_sandbox_description(state_dir)
        started = False
        if not sandbox_running(description):
            if not start:
                raise ConfigurationError(
                    f"No sandbox is running on {state_dir}.",
                    hint=f"Start it with: {cli_command()} sandbox start --state {shlex.quote(str(state_dir))}   "
                    "(or configure real endpoints; see %swan_config)",
                )
            say(f"swan_jupyter: starting the local sandbox (state in {state_dir}); this takes a few seconds…")
            description = _start(state_dir, timeout)
            started = True
        assert description is not None
        key = str(state_dir)
        if key not in _announced:
            _announced.add(key)
            how = "started it in the background" if started else "already running"
            env_name = {"Abaco": "ABACO_URL", "the Orchestrator": "SWAN_ORCHESTRATOR_URL"}.get(services or "")
            who = ("no endpoints configured, so using the local sandbox" if services is None else
                   f"{services} uses the local sandbox ({env_name or 'its URL'} is not set)")
            message = f"swan_jupyter: {who} ({how}; state in {state_dir}; stop it with `{stop_command(state_dir)}`)."
            say(message)
        return description


def start_failure(output: str, state_dir: Path) -> ConfigurationError:
    """The error of a sandbox start that failed: the last lines the start printed, each reason once and on its
    own line, and how to see more."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    detail = list(dict.fromkeys(line.removeprefix("error: ") for line in lines[-5:])) or ["(it printed nothing)"]
    return ConfigurationError(
        "The local sandbox could not be started:\n  " + "\n  ".join(detail),
        hint=f"Run `{cli_command()} sandbox start --state {shlex.quote(str(state_dir))}` in a terminal to see why.",
    )


def _previous_time_scale(state_dir: Path) -> float | None:
    """The time scale the sandbox of ``state_dir`` last ran at (its stale ``sandbox.json``), if readable."""
    try:
        value = ((read_sandbox_description(state_dir) or {}).get("host") or {}).get("time_scale")
        scale = float(value) if value is not None and not isinstance(value, bool) else None
    except (ConfigurationError, OSError, TypeError, ValueError):
        return None
    return scale if scale is not None and 0 < scale <= 1e6 else None


def _start(state_dir: Path, timeout: float) -> dict[str, Any]:
    missing = missing_sandbox_modules()
    if missing:
        raise sandbox_not_installed(missing)
    import subprocess  # here, not at the top: only a sandbox start needs it, never the extension's loading

    from ._files import private_dir

    cmd = [sys.executable, "-m", "swan_jupyter.sandbox", "start", "--state", str(state_dir), "--timeout", str(timeout)]
    previous = _previous_time_scale(state_dir)
    if previous is not None and not os.environ.get("SWAN_TIME_SCALE"):
        cmd += ["--time-scale", repr(previous)]  # the scale the user last ran this sandbox at
    try:
        # cwd: the private state folder, never the notebook's (`python -m` imports from the working folder first)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 10, cwd=private_dir(state_dir))
    except subprocess.TimeoutExpired:
        raise ConfigurationError(
            f"The local sandbox did not start within {timeout:.0f} s.",
            hint=f"Look at {state_dir}/host.log, or start it by hand: {cli_command()} sandbox start --foreground",
        ) from None
    if proc.returncode != 0:
        raise start_failure(proc.stderr or proc.stdout, state_dir)
    description = read_sandbox_description(state_dir)
    if not description:
        raise ConfigurationError(f"The sandbox started but wrote no {state_dir}/sandbox.json.")
    return description
