"""How the client finds (and, if needed, starts) the local sandbox, without importing the sandbox package.

The client only reads ``STATE_DIR/sandbox.json`` and checks each endpoint's health route; to start the
sandbox it runs ``python -m swan_jupyter.sandbox start`` as a separate process.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .config import read_sandbox_description
from .errors import ConfigurationError

HEALTH_PATH = "/_sandbox/health"
_announced: set[str] = set()
_lock = threading.Lock()


def _healthy(url: str, timeout: float = 1.5) -> bool:
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
    state_dir: Path, *, start: bool = True, notify: Callable[[str], None] | None = None, timeout: float = 180.0
) -> dict[str, Any]:
    """Return the running sandbox's description, starting the sandbox in the background if needed.

    Says so once per state folder and process, in one line (through ``notify``, default: stderr).
    """
    with _lock:
        description = read_sandbox_description(state_dir)
        started = False
        if not sandbox_running(description):
            if not start:
                raise ConfigurationError(
                    f"No sandbox is running on {state_dir}.",
                    hint="Start it with: swan-jupyter sandbox start   (or configure real endpoints; see %swan_config)",
                )
            description = _start(state_dir, timeout)
            started = True
        assert description is not None
        key = str(state_dir)
        if key not in _announced:
            _announced.add(key)
            how = "started it in the background" if started else "already running"
            message = (
                f"swan_jupyter: no endpoints configured, so using the local sandbox ({how}; state in {state_dir}; "
                "stop it with `swan-jupyter sandbox stop`)."
            )
            (notify or (lambda m: print(m, file=sys.stderr)))(message)
        return description


def _start(state_dir: Path, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "swan_jupyter.sandbox", "start", "--state", str(state_dir), "--timeout", str(timeout)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 10)
    except subprocess.TimeoutExpired:
        raise ConfigurationError(
            f"The local sandbox did not start within {timeout:.0f} s.",
            hint=f"Look at {state_dir}/host.log, or start it by hand: swan-jupyter sandbox start --foreground",
        ) from None
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise ConfigurationError(
            "The local sandbox could not be started: " + " | ".join(detail),
            hint=f"Run `swan-jupyter sandbox start --state {state_dir}` in a terminal to see why.",
        )
    description = read_sandbox_description(state_dir)
    if not description:
        raise ConfigurationError(f"The sandbox started but wrote no {state_dir}/sandbox.json.")
    return description
