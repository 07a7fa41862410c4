"""Remote Python functions on the sandbox: ``FunctionHandle.map`` against the agavepy way, client overhead, RSS.

Starts its own sandbox (temporary state folder; stopped at the end) and registers one ``abacosamples/py3_func``
actor with ``--workers`` workers (the sandbox's admin user: Abaco lets only admins add workers). Then:

* **map**: ``handle.map(range(N))`` of a trivial function (``x + 1``), ``--items`` inputs (default 1,000),
  ``max_in_flight`` twice the workers; calls per second, every row checked. The sandbox starts each execution
  from its warm interpreter (a fork server; ``SWAN_SANDBOX_ABACO_WARM=0`` forces cold starts, to compare); the
  run says which.
* **the agavepy way** (agavepy 0.9.5 in ``benchmarks/.venvs/agavepy``, v2 server, same actor): a loop of
  ``sendBinaryMessage`` with ``cloudpickle.dumps({"func", "args", "kwargs"})``, polling ``getExecution``
  every 50 ms until ``COMPLETE``, ``getOneExecutionResult``, ``cloudpickle.loads``; ``--peer-items`` calls
  (default 200: the loop is sequential, so its rate is steady and 1,000 calls would only take longer).
  Calls per second and the ratio.
* **at a distance** (``--latency MS``): both again with ``MS`` added to every request on every sandbox port (the
  fault layer, as a remote Abaco 20-100 ms away would), and a table of the loopback and latency figures side by
  side.
* **client overhead per call**: the three requests one call makes (POST the binary message, GET the
  execution, GET the result) with this client (pickling the call, models, decoding the result included)
  against bare ``requests.Session`` calls with a pre-pickled payload; medians over ``--calls`` repetitions.
* **peak RSS** of a fresh process mapping ``--rss-items`` small inputs (default 10,000; target < 300 MB), read
  from ``VmHWM`` (``ru_maxrss`` would report this benchmark's own peak: Linux keeps it across ``fork``/``exec``).

Usage: ``.venv/bin/python benchmarks/functions_map.py [--items 1000] [--workers 8] [--peer-items 200]
[--rss-items 10000] [--calls 200] [--latency 20]``. The machine's load matters: the sandbox runs every execution
as a local Python process, so the figures are the sandbox's, not Abaco's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from actors_metrics import AGAVEPY_CLIENT, run_peer
from bench_sandbox import running_sandbox, set_latency  # this folder is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent

AGAVEPY_SCRIPT = AGAVEPY_CLIENT + r"""
import cloudpickle
base, actor_id, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ag = agave_client(base)
def f(x):
    return x + 1
t0 = time.perf_counter()
results = []
for i in range(n):
    msg = cloudpickle.dumps({"func": f, "args": [i], "kwargs": {}})
    ex = ag.actors.sendBinaryMessage(actorId=actor_id, message=msg)
    eid = ex["executionId"]
    while ag.actors.getExecution(actorId=actor_id, executionId=eid)["status"] != "COMPLETE":
        time.sleep(0.05)
    raw = ag.actors.getOneExecutionResult(actorId=actor_id, executionId=eid)
    data = raw if isinstance(raw, bytes) else getattr(raw, "content", raw)
    results.append(cloudpickle.loads(data))
seconds = time.perf_counter() - t0
assert results == [i + 1 for i in range(n)], results[:5]
print(json.dumps({"seconds": seconds, "calls": n}))
"""

RSS_SCRIPT = r"""
import json, sys, time
sys.path.insert(0, sys.argv[4])
from swan_jupyter.actors import Actors

url, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = Actors(url, token=token, flavor="v3", pool_size=64)
def inc(x):
    return x + 1
handle = client.function(inc, actor=sys.argv[5], workers=int(sys.argv[6]))
t0 = time.perf_counter()
frame = handle.map(range(n), progress_after=-1, verbose=False)
seconds = time.perf_counter() - t0
ok = int((frame["status"] == "ok").sum())
# VmHWM is this process's own peak; ru_maxrss keeps the parent's across fork/exec.
hwm_kb = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
print(json.dumps({"seconds": seconds, "ok": ok, "items": n, "max_rss_mb": hwm_kb / 1024}))
"""


def inc(x: int) -> int:
    return x + 1


def overhead(client: Any, handle: Any, token: str, calls: int) -> dict[str, tuple[float, float]]:
    """Median seconds per request, ours and bare, for the three requests of one call."""
    import cloudpickle
    import requests

    from swan_jupyter.actors.functions import encode_call

    base = client.base_url + f"/{handle.actor_id}"
    bare = requests.Session()
    bare.headers["X-Tapis-Token"] = token
    payload = cloudpickle.dumps({"func": inc, "args": [1], "kwargs": {}})
    done = handle.submit(1)
    done.result(timeout=120)
    eid = client.list_executions(handle.actor_id).executions[-1].id

    def ours_post() -> Any:
        return client.send_binary(handle.actor_id, encode_call(handle._blob, (1,), {}, handle.max_message_bytes))

    def bare_post() -> Any:
        r = bare.post(base + "/messages", data=payload, headers={"Content-Type": "application/octet-stream"},
                      timeout=(5, 30))
        r.raise_for_status()
        return r.json()["result"]["execution_id"]

    pairs = {
        "POST message": (ours_post, bare_post),
        "GET execution": (lambda: client.get_execution(handle.actor_id, eid),
                          lambda: bare.get(f"{base}/executions/{eid}", timeout=(5, 30)).json()["result"]),
        "GET result": (lambda: client.get_result(handle.actor_id, eid),
                       lambda: bare.get(f"{base}/executions/{eid}/results", timeout=(5, 30)).content),
    }
    out: dict[str, tuple[float, float]] = {}
    for label, (ours, theirs) in pairs.items():
        n = calls if label != "POST message" else max(20, calls // 4)  # each POST starts an execution
        samples: dict[str, list[float]] = {"ours": [], "bare": []}
        for _ in range(n):  # interleaved, so both see the same server conditions
            for name, fn in (("ours", ours), ("bare", theirs)):
                t0 = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - t0)
        out[label] = (statistics.median(samples["ours"]), statistics.median(samples["bare"]))
    bare.close()
    return out


def measure_map(handle: Any, items: int, label: str) -> tuple[float, Any]:
    """Calls per second of ``handle.map`` over ``items`` inputs (every row checked), and its frame."""
    t0 = time.perf_counter()
    frame = handle.map(range(items), progress_after=-1, verbose=False)
    seconds = time.perf_counter() - t0
    assert frame["result"].tolist() == [x + 1 for x in range(items)], frame.attrs["summary"]
    rate = items / seconds
    print(f"[{label}] map of {items} calls, {handle.workers} workers: {seconds:.1f} s, {rate:.1f} calls/s "
          f"(median duration {frame['duration'].median().total_seconds() * 1000:.0f} ms, "
          f"median queue wait {frame['queue_wait'].median().total_seconds() * 1000:.0f} ms)", flush=True)
    return rate, frame


def measure_peer(url: str, actor_id: str, items: int, token: str, label: str) -> float | None:
    """Calls per second of the agavepy loop, or ``None`` when it could not run (said on the output)."""
    outcome = run_peer("agavepy", AGAVEPY_SCRIPT, [url, actor_id, str(items)], token)
    if isinstance(outcome, str):
        print(f"[{label}] agavepy 0.9.5 loop: {outcome}")
        return None
    rate = float(outcome["calls"] / outcome["seconds"])
    print(f"[{label}] agavepy 0.9.5 loop of {outcome['calls']} calls: {outcome['seconds']:.1f} s, {rate:.2f} calls/s",
          flush=True)
    return rate


def cpu_per_execution(handle: Any, frame: Any, rate: float) -> None:
    """What one execution costs the machine, and how close the map came to the cores' bound."""
    from swan_jupyter.frames.functions import function_metrics

    metrics = function_metrics(handle)
    cpu_s = metrics[metrics["execution_id"].isin(frame["execution_id"])]["cpu_ns"].mean() / 1e9
    cores = os.cpu_count() or 1
    print(f"  CPU per execution {cpu_s * 1000:.1f} ms on {cores} core(s): at most {cores / cpu_s:.0f} calls/s if the "
          f"executions alone used every core; the map reached {rate * cpu_s / cores:.0%} of that", flush=True)


def side_by_side(rows: dict[str, dict[str, float | None]], goal: float) -> None:
    """The figures of each setting in one table."""
    labels = list(rows)
    print("\n" + " " * 24 + "".join(f"{label:>18s}" for label in labels))
    for name, key in (("swan_jupyter map", "ours"), ("agavepy 0.9.5 loop", "peer")):
        cells = [rows[label][key] for label in labels]
        print(f"{name:24s}" + "".join(f"{'-' if c is None else f'{c:.1f} calls/s':>18s}" for c in cells))
    ratios = [(r["ours"] / r["peer"]) if r["ours"] and r["peer"] else None for r in rows.values()]
    print(f"{'ratio':24s}" + "".join(f"{'-' if x is None else f'{x:.1f}x':>18s}" for x in ratios)
          + f"   (goal >= {goal:g}x on loopback)", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--peer-items", type=int, default=200)
    parser.add_argument("--rss-items", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=200, help="repetitions for the overhead figure")
    parser.add_argument("--time-scale", type=float, default=60.0)
    parser.add_argument("--latency", type=float, default=0.0, metavar="MS",
                        help="also measure with MS milliseconds added to every sandbox request (fault layer)")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--skip-rss", action="store_true")
    args = parser.parse_args()
    if args.latency < 0 or args.latency > 10_000:
        parser.error("--latency takes milliseconds between 0 and 10000")
    sys.path.insert(0, str(ROOT))
    from swan_jupyter.actors import Actors

    with running_sandbox("swan-bench-functions-", time_scale=args.time_scale) as (_state, description):
        abaco = description["abaco"]
        url, token = abaco["url"], abaco["users"]["admin"]["token"]
        start = requests_health(url).get("executions", {})
        print(f"executions start {start.get('start', '?')}" + (f" ({start['reason']})" if start.get("reason") else ""),
              flush=True)
        client = Actors(url, token=token, flavor="v3", pool_size=64)
        handle = client.function(inc, workers=args.workers)
        handle.map(range(2 * args.workers), progress_after=-1, verbose=False)  # warm: imports, workers up
        settings = {"loopback": 0.0, **({f"{args.latency:g} ms latency": args.latency} if args.latency else {})}
        rows: dict[str, dict[str, float | None]] = {}
        for label, latency in settings.items():
            set_latency(description, latency)
            ours, frame = measure_map(handle, args.items, label)
            if latency == 0:
                cpu_per_execution(handle, frame, ours)
            peer = None if args.skip_peer else measure_peer(url, handle.actor_id, args.peer_items, token, label)
            rows[label] = {"ours": ours, "peer": peer}
        set_latency(description, 0)
        side_by_side(rows, 5)
        for label, (ours, bare) in overhead(client, handle, token, args.calls).items():
            print(f"per call, {label:14s}: swan_jupyter {ours * 1e3:6.2f} ms, bare requests {bare * 1e3:6.2f} ms, "
                  f"overhead {(ours - bare) * 1e3:+.2f} ms ({(ours / bare - 1) * 100:+.0f}%)", flush=True)
        if not args.skip_rss:
            out = subprocess.run([sys.executable, "-c", RSS_SCRIPT, url, token, str(args.rss_items), str(ROOT),
                                  handle.actor_id, str(args.workers)], capture_output=True, text=True, timeout=7200)
            if out.returncode != 0:
                print("RSS run failed:\n" + out.stderr[-3000:])
            else:
                rss = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"map of {rss['items']} small inputs in a fresh process: {rss['ok']} ok in "
                      f"{rss['seconds']:.0f} s; peak RSS {rss['max_rss_mb']:.0f} MB (target < 300 MB)", flush=True)
        client.close()
        return 0


def requests_health(url: str) -> dict[str, Any]:
    """The Abaco emulator's health answer (how its executions start)."""
    import requests

    answer = requests.get(url + "/_sandbox/health", timeout=10)
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


if __name__ == "__main__":
    sys.exit(main())
