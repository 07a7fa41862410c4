"""The sandbox a benchmark runs against: started in a state folder, stopped at the end whatever happens.

Shared by the benchmark scripts (they add this folder to ``sys.path`` when run as scripts).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def running_sandbox(prefix: str, state: Path | None = None, *,
                    time_scale: float = 60.0) -> Iterator[tuple[Path, dict[str, Any]]]:
    """``(state folder, sandbox description)`` of a sandbox started for the block and stopped after it.

    Without ``state`` the folder is temporary (named ``prefix...``) and removed at the end; a given one is kept
    (a later run can reuse what it holds). A ``SIGTERM`` (``kill``, a CI timeout) ends the block through its
    ``finally`` too, so a killed benchmark leaves no sandbox, chain or worker process behind.
    """
    from swan_jupyter.sandbox import host

    temporary = state is None
    folder = state if state is not None else Path(tempfile.mkdtemp(prefix=prefix))
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    try:
        yield folder, host.start(folder, time_scale=time_scale)
    finally:
        host.stop(folder)
        signal.signal(signal.SIGTERM, previous)
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)


def set_faults(description: dict[str, Any], target: str, body: dict[str, Any] | None) -> None:
    """PUT (or DELETE with None) the fault rules of ``target`` (``orchestrator``, ``abaco`` or ``chain``) through
    its port's admin route."""
    url = description["chain"]["rpc_url"] if target == "chain" else description[target]["url"]
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + "/_sandbox/faults", data=data, method="PUT" if body else "DELETE",
                                     headers={"X-Sandbox-Admin": description["host"]["admin_token"],
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10):
        pass


@contextlib.contextmanager
def latency(description: dict[str, Any], ms: float) -> Iterator[None]:
    """Every request to every sandbox port (the emulators and the chain's RPC proxy) waits ``ms`` milliseconds
    first, as a remote service would, for the block (through the sandbox's fault layer)."""
    targets = ("orchestrator", "abaco", "chain")
    if ms > 0:
        for target in targets:
            set_faults(description, target, {"rules": [{"target": target, "latency_ms": ms}]})
    try:
        yield
    finally:
        if ms > 0:
            for target in targets:
                set_faults(description, target, None)
