"""The execution-metrics table of many Abaco actors: this client against agavepy 0.9.5 and tapipy, one sandbox.

Starts its own sandbox (temporary state folder; stopped at the end), seeds ``--actors`` actors with
``--executions`` real executions in total through the public API (messages to the fast ``abacosamples/test``
image, sent concurrently; the seeding time is reported separately), then times the same table built:

* with this client: ``execution_metrics(client)`` (search API, paged; median of ``--repeat`` runs) and
  ``method="details"`` (summaries, then one GET per execution over the pooled session, concurrently);
* with agavepy 0.9.5 (``benchmarks/.venvs/agavepy``) as its users do: ``ag.actors.list()``, then
  ``listExecutions`` and ``getExecution`` for each execution (v2 server, camelCase);
* with tapipy 25.x (``benchmarks/.venvs/tapipy``): ``list_actors``, ``list_executions``, ``get_execution``.

Then, on top of those executions, ``--new`` more messages: the time of
``refresh_execution_metrics(client, frame)`` (fetches only what is newer than the frame's newest row) against a
full build, and the peak RSS of a fresh process that builds the whole frame (``VmHWM`` of
``/proc/self/status``: ``ru_maxrss`` would report the benchmark's own peak, as Linux keeps it across
``fork``/``exec``).

Both peers run in their own virtualenvs (``scripts/make_peer_venvs.sh agavepy tapipy``) and only fetch (they
build no DataFrame); our figure includes building the typed DataFrame. Finally it measures the per-call
overhead of our :class:`~swan_jupyter.transport.Transport` against a bare ``requests.Session`` on the same GET.

With ``--latency MS`` the table is timed twice, on loopback and with ``MS`` added to every request by the
sandbox's fault layer (what a remote Abaco costs), each with the peers.

Usage: ``.venv/bin/python benchmarks/actors_metrics.py [--actors 50] [--executions 10000] [--calls 2000]
[--latency 20]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench_sandbox import latency, running_sandbox  # this folder is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
VENVS = ROOT / "benchmarks" / ".venvs"

#: The start of every agavepy peer script: ``agave_client(base)`` is agavepy 0.9.5 on the sandbox's loopback URL
#: (its resource document names https; agavepy compares the authenticator's host with the request's hostname,
#: which has no port). Shared with functions_map.py.
AGAVEPY_CLIENT = r"""
import json, os, sys, time, urllib.parse
from agavepy.agave import Agave, load_resource
def http(o):
    if isinstance(o, dict):
        return {k: http(v) for k, v in o.items()}
    if isinstance(o, list):
        return [http(v) for v in o]
    if isinstance(o, str) and o.startswith("https://"):
        return "http://" + o[len("https://"):]
    return o
def agave_client(base):
    ag = Agave(api_server=base, token=os.environ["BENCH_TOKEN"], resources=http(load_resource(base)))
    ag.all.http_client.authenticator.host = urllib.parse.urlparse(base).hostname
    return ag
"""

AGAVEPY_SCRIPT = AGAVEPY_CLIENT + r"""
base = sys.argv[1]
t0 = time.perf_counter()
ag = agave_client(base)
rows = []
for actor in ag.actors.list():
    summary = ag.actors.listExecutions(actorId=actor["id"])
    for item in summary["executions"]:
        ex = ag.actors.getExecution(actorId=actor["id"], executionId=item["id"])
        rows.append((actor["id"], ex["id"], ex["status"], ex.get("cpu"), ex.get("io"), ex.get("runtime"),
                     ex.get("messageReceivedTime"), ex.get("startTime"), ex.get("finishTime"),
                     ex.get("workerId"), ex.get("exitCode")))
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": len(rows)}))
"""

TAPIPY_SCRIPT = r"""
import json, os, sys, time
from tapipy.tapis import Tapis

base, tenant = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
t = Tapis(base_url=base, tenant_id=tenant, access_token=os.environ["BENCH_TOKEN"])
rows = []
for actor in t.actors.list_actors():
    summary = t.actors.list_executions(actor_id=actor.id)
    for item in summary.executions:
        ex = t.actors.get_execution(actor_id=actor.id, execution_id=item.id)
        rows.append((actor.id, ex.id, ex.status, ex.cpu, ex.io, ex.runtime, ex.message_received_time,
                     ex.start_time, ex.finish_time, ex.worker_id, ex.exit_code))
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": len(rows)}))
"""


def run_peer(name: str, script: str, args: list[str], token: str) -> dict[str, Any] | str:
    python = VENVS / name / "bin" / "python"
    if not python.exists():
        return f"virtualenv missing (scripts/make_peer_venvs.sh {name})"
    out = subprocess.run([str(python), "-c", script, *args], capture_output=True, text=True,
                         env={**os.environ, "BENCH_TOKEN": token}, timeout=3600, cwd=tempfile.gettempdir())
    if out.returncode != 0:
        return "failed:\n" + out.stderr[-3000:]
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def seed(client: Any, n_actors: int, n_executions: int, concurrency: int) -> tuple[list[str], float, float]:
    """Create the actors and send the messages concurrently; wait until every execution is final."""
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        actors = list(pool.map(
            lambda i: client.add({"image": "abacosamples/test", "name": f"bench-{i}"}), range(n_actors)))
        ids = [a.id for a in actors]
        list(pool.map(lambda i: client.send_message(ids[i % len(ids)], f"m{i}"), range(n_executions)))
    sent = time.perf_counter() - t0
    deadline = time.monotonic() + 3600
    while True:
        pending = client.search("executions", {"status.in": ["SUBMITTED", "RUNNING"]}, limit=1).total_count
        if not pending:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"seeding did not finish: {pending} executions still pending")
        time.sleep(0.5)
    return ids, sent, time.perf_counter() - t0


RSS_SCRIPT = r"""
import json, os, sys
sys.path.insert(0, sys.argv[3])
from swan_jupyter.actors import Actors
from swan_jupyter.frames.actors import execution_metrics
client = Actors(sys.argv[1], token=os.environ["BENCH_TOKEN"], flavor="v3")
frame = execution_metrics(client, progress_after=-1)
# VmHWM is this process's own peak; ru_maxrss keeps the parent's across fork/exec.
hwm_kb = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
print(json.dumps({"rows": len(frame), "peak_rss_mb": hwm_kb / 1024,
                  "frame_mb": frame.memory_usage(deep=True).sum() / 2**20}))
"""


def refresh_figures(client: Any, ids: list[str], n_new: int, concurrency: int) -> tuple[float, float, int]:
    """(full build s, refresh s, rows added) after ``n_new`` more executions on top of what is there."""
    from swan_jupyter.frames.actors import execution_metrics, refresh_execution_metrics

    frame = execution_metrics(client, progress_after=-1)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        sent = list(pool.map(lambda i: client.send_message(ids[i % len(ids)], f"new{i}"), range(n_new)))
    for execution in sent:
        execution.wait(600, poll=0.2)
    t0 = time.perf_counter()
    full = execution_metrics(client, progress_after=-1)
    full_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    refreshed = refresh_execution_metrics(client, frame, progress_after=-1)
    refresh_s = time.perf_counter() - t0
    assert len(refreshed) == len(full) == len(frame) + n_new, (len(refreshed), len(full), len(frame))
    return full_s, refresh_s, len(refreshed) - len(frame)


def peak_rss(url: str, token: str) -> dict[str, Any]:
    """Peak RSS of a fresh process that imports the client and builds the whole frame."""
    out = subprocess.run([sys.executable, "-c", RSS_SCRIPT, url, "", str(ROOT)], capture_output=True, text=True,
                         env={**os.environ, "BENCH_TOKEN": token}, timeout=600, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def per_call_overhead(url: str, path: str, token: str, header: str, calls: int) -> tuple[float, float]:
    """Median seconds per GET (decoded JSON) with our Transport and with a bare requests.Session."""
    import requests

    from swan_jupyter.transport import TokenAuth, Transport

    transport = Transport(url, envelope="abaco", auth=TokenAuth(token, header=header, prefix=""), retries=0)
    bare = requests.Session()
    bare.headers[header] = token

    def ours() -> Any:
        return transport.get(path)

    def theirs() -> Any:
        response = bare.get(url + path, timeout=(5, 30))
        response.raise_for_status()
        return response.json()["result"]

    for fn in (ours, theirs):  # warm the connections
        for _ in range(20):
            fn()
    samples: dict[str, list[float]] = {"ours": [], "bare": []}
    # Interleave blocks so both see the same server conditions.
    block = 50
    for _ in range(max(1, calls // block)):
        for name, fn in (("ours", ours), ("bare", theirs)):
            t0 = time.perf_counter()
            for _ in range(block):
                fn()
            samples[name].append((time.perf_counter() - t0) / block)
    transport.close()
    bare.close()
    return statistics.median(samples["ours"]), statistics.median(samples["bare"])


def time_table(args: Any, v3: Any, v2: Any, url: str, tenant: str, token: str) -> dict[str, float]:
    """Time the table with our search and details paths and with the peers; print each figure and the ratios."""
    from swan_jupyter.frames.actors import execution_metrics

    results: dict[str, float] = {}
    for label, client, method in (("swan_jupyter v3 search", v3, "search"),
                                  ("swan_jupyter v2 search", v2, "search"),
                                  ("swan_jupyter v3 details", v3, "details")):
        times = []
        for _ in range(1 if method == "details" else args.repeat):
            t0 = time.perf_counter()
            frame = execution_metrics(client, method=method, progress_after=-1, max_workers=16)
            times.append(time.perf_counter() - t0)
            assert len(frame) >= args.executions, (label, len(frame))
            assert not frame.attrs["failures"], frame.attrs["failures"]
        results[label] = statistics.median(times)
        spread = f", median of {len(times)}: {min(times):.2f}-{max(times):.2f} s" if len(times) > 1 else ""
        print(f"  {label:26s}: {results[label]:7.2f} s  ({len(frame)} rows, DataFrame included{spread})",
              flush=True)
    if not args.skip_peers:
        for label, name, script, peer_args in (
            ("agavepy 0.9.5 (v2)", "agavepy", AGAVEPY_SCRIPT, [url]),
            ("tapipy (v3)", "tapipy", TAPIPY_SCRIPT, [url, tenant.lower()]),
        ):
            outcome = run_peer(name, script, peer_args, token)
            if isinstance(outcome, str):
                print(f"  {label:26s}: {outcome}")
                continue
            results[label] = float(outcome["seconds"])
            print(f"  {label:26s}: {results[label]:7.2f} s  ({outcome['rows']} rows, fetch only)", flush=True)
    best = results["swan_jupyter v3 search"]
    details = results["swan_jupyter v3 details"]
    for label in ("agavepy 0.9.5 (v2)", "tapipy (v3)"):
        if label in results:
            print(f"  ratio {label}: {results[label] / best:6.1f}x slower than our search path, "
                  f"{results[label] / details:6.1f}x slower than our details path")

    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actors", type=int, default=50)
    parser.add_argument("--executions", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=2000, help="GETs for the per-call overhead figure")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent senders while seeding")
    parser.add_argument("--time-scale", type=float, default=60.0)
    parser.add_argument("--skip-peers", action="store_true", help="only time this client")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timings of each search path (the median is reported; the peers run once: their "
                             "10,000 requests already average out)")
    parser.add_argument("--new", type=int, default=100, help="executions added before timing a refresh")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="also time the table with this many ms added to every request (a remote Abaco)")
    parser.add_argument("--state", type=Path, default=None,
                        help="sandbox state folder kept after the run; a later run with the same folder reuses the "
                             "seeded actors instead of seeding again (the refresh step adds --new each time)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from swan_jupyter.actors import Actors
    from swan_jupyter.frames.actors import execution_metrics

    with running_sandbox("swan-bench-actors-", args.state, time_scale=args.time_scale) as (state, description):
        seeded_file = state / "bench-seeded.json"
        abaco = description["abaco"]
        url, tenant = abaco["url"], str(abaco.get("tenant") or "dev")
        token = abaco["users"]["user"]["token"]
        v3 = Actors(url, token=token, flavor="v3", pool_size=64)
        v2 = Actors(url, token=token, flavor="v2", pool_size=64)
        if seeded_file.exists():
            ids = json.loads(seeded_file.read_text())["ids"]
            print(f"reusing the seeded sandbox in {state} ({len(ids)} actors)", flush=True)
        else:
            ids, sent_s, seeded_s = seed(v3, args.actors, args.executions, args.concurrency)
            seeded_file.write_text(json.dumps({"ids": ids}))
            print(f"seeding: {args.actors} actors, {args.executions} executions sent in {sent_s:.1f} s "
                  f"({args.executions / sent_s:.0f} msg/s), all final after {seeded_s:.1f} s "
                  f"({args.executions / seeded_s:.0f} executions/s)", flush=True)

        # Warm-up (imports pandas/tqdm, opens pooled connections), as the peers' scripts import before timing.
        execution_metrics(v3, ids[:1], progress_after=-1)
        execution_metrics(v2, ids[:1], progress_after=-1)
        for ms in ([0.0, args.latency] if args.latency > 0 else [0.0]):
            print("on loopback:" if ms == 0 else f"at {ms:g} ms per request (every sandbox port):", flush=True)
            with latency(description, ms):
                time_table(args, v3, v2, url, tenant, token)

        full_s, refresh_s, added = refresh_figures(v3, ids, args.new, args.concurrency)
        print(f"refresh after {added} new executions on top of {args.executions}: {refresh_s:.3f} s, full build "
              f"{full_s:.2f} s: {refresh_s / full_s:.1%} of a full build", flush=True)
        rss = peak_rss(url, token)
        print(f"peak RSS of a fresh process building the {rss['rows']}-row frame: {rss['peak_rss_mb']:.0f} MB "
              f"(the frame itself {rss['frame_mb']:.1f} MB)", flush=True)

        path = f"/v3/actors/{ids[0]}"
        ours, bare = per_call_overhead(url, path, token, "X-Tapis-Token", args.calls)
        print(f"per-call GET {path.replace(ids[0], '<id>')} ({args.calls} calls each, median of blocks): "
              f"Transport {ours * 1e6:.0f} us, bare requests.Session {bare * 1e6:.0f} us, "
              f"overhead {(ours / bare - 1) * 100:+.1f}%")
        v2.close()
        v3.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
