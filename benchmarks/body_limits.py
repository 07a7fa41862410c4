"""What hostile request bodies cost the sandbox host: peak memory (VmHWM) while it is sent 200 MB bodies.

Starts a sandbox (temporary state, stopped at the end), then for each listener (Abaco, the Orchestrator, the
chain's RPC proxy, the admin route) sends ``--count`` bodies of ``--mb`` MB without credentials, by
``Content-Length`` and chunked, over loopback, streamed from a generator. Before each listener the host's peak is
reset to its current RSS (Linux ``/proc/PID/clear_refs``); printed per listener: RSS before, peak during, RSS
after (kB), the answers' statuses, the bytes the client got to send, and the time.

The package measured is the one the interpreter imports, so the same script measures another checkout by its
own virtualenv: ``/path/to/other/.venv/bin/python benchmarks/body_limits.py``.

Usage: ``.venv/bin/python benchmarks/body_limits.py [--count 5] [--mb 200]``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

from bench_sandbox import running_sandbox  # this folder is on sys.path when a script runs

RAW_HTTP = Path(__file__).resolve().parent.parent / "tests" / "sandbox" / "raw_http.py"


def _raw_http() -> ModuleType:
    """The tests' raw loopback client, loaded by path (the repository root is not put on ``sys.path``, so the
    package measured stays the interpreter's own)."""
    spec = importlib.util.spec_from_file_location("raw_http", RAW_HTTP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def targets(desc: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    """(URL, method, path) of a route of each listener that takes a body without credentials."""
    return {"abaco": (desc["abaco"]["url"], "POST", "/v3/actors"),
            "orchestrator": (desc["orchestrator"]["url"], "POST", "/login_by_api_key"),
            "chain": (desc["chain"]["rpc_url"], "POST", "/"),
            "admin": (desc["orchestrator"]["url"], "PUT", "/_sandbox/faults")}


def measure(raw: ModuleType, pid: int, target: tuple[str, str, str], count: int, size: int) -> dict[str, Any]:
    """Send ``count`` bodies by Content-Length and ``count`` chunked; the host's memory and the answers."""
    url, method, path = target
    raw.reset_peak(pid)
    before = raw.memory(pid)["VmRSS"]
    statuses: Counter[str] = Counter()
    sent = 0
    started = time.monotonic()
    for chunked in (False, True):
        for _ in range(count):
            headers = {"Content-Type": "application/json", **({} if chunked else {"Content-Length": str(size)})}
            answer = raw.request(url, method, path, headers, raw.zeros(size), chunked=chunked, timeout=60)
            statuses[f"{'chunked' if chunked else 'length'}:{answer.status}"] += 1
            sent += answer.sent
    elapsed = time.monotonic() - started
    time.sleep(0.5)
    after = raw.memory(pid)
    return {"rss_before_kb": before, "peak_kb": after["VmHWM"], "peak_growth_kb": after["VmHWM"] - before,
            "rss_after_kb": after["VmRSS"], "answers": dict(statuses), "client_sent_mb": round(sent / 1e6, 1),
            "seconds": round(elapsed, 2)}


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print one JSON object per listener, then a summary table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=5, help="bodies per listener and framing (default 5)")
    parser.add_argument("--mb", type=int, default=200, help="size of each body in MB (default 200)")
    args = parser.parse_args(argv)
    raw = _raw_http()
    import swan_jupyter

    print(f"package: {Path(swan_jupyter.__file__).parent}", flush=True)
    results = {}
    with running_sandbox("swan-body-limits-") as (_state, desc):
        pid = desc["host"]["pid"]
        for name, target in targets(desc).items():
            results[name] = measure(raw, pid, target, args.count, args.mb * 1_000_000)
            print(json.dumps({"listener": name, **results[name]}), flush=True)
    print(f"\n{args.count} x {args.mb} MB by Content-Length + {args.count} x {args.mb} MB chunked, per listener "
          "(host memory in MB)")
    print(f"{'listener':14s}{'RSS before':>12s}{'peak':>10s}{'growth':>10s}{'RSS after':>12s}{'seconds':>10s}")
    for name, r in results.items():
        print(f"{name:14s}{r['rss_before_kb'] / 1024:12.1f}{r['peak_kb'] / 1024:10.1f}"
              f"{r['peak_growth_kb'] / 1024:10.1f}{r['rss_after_kb'] / 1024:12.1f}{r['seconds']:10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
