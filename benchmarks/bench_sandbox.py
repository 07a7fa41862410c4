"""The sandbox a benchmark runs against: started in a state folder, stopped at the end whatever happens.

Shared by the benchmark scripts (they add this folder to ``sys.path`` when run as scripts).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
import tempfile
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


def set_latency(description: dict[str, Any], latency_ms: float) -> None:
    """Add ``latency_ms`` to every request a client sends to any sandbox port (the fault layer's admin route; 0
    removes it): what a notebook far from Abaco or a chain RPC feels on each round trip. The emulators' own
    reads of the chain (the Orchestrator checking a payment) are spared, as for a service next to its node."""
    import requests

    url = description["abaco"]["url"] + "/_sandbox/faults"
    headers = {"X-Sandbox-Admin": description["host"]["admin_token"]}
    if latency_ms > 0:
        answer = requests.put(url, json={"rules": [{"target": "*", "latency_ms": latency_ms,
                                                                "emulators": False}]}, headers=headers,
                              timeout=10)
    else:
        answer = requests.delete(url, headers=headers, timeout=10)
    answer.raise_for_status()


@contextlib.contextmanager
def latency(description: dict[str, Any], ms: float) -> Iterator[None]:
    """:func:`set_latency` for the block (nothing with ``ms`` 0), removed at its end whatever happens."""
    if ms > 0:
        set_latency(description, ms)
    try:
        yield
    finally:
        if ms > 0:
            set_latency(description, 0)
