"""Create + pay + validate a task: this client against swan-sdk 0.1.4, in one run on one sandbox.

Starts its own sandbox (temporary state folder; stopped at the end), then times ``--runs`` full flows with each
client: create the task (source: the ``hello_world`` example app, 1 h on C1ae.small), approve if needed, pay
``submitPayment`` on the local chain, and have the server validate it. swan-sdk runs in its own virtualenv
(``benchmarks/.venvs/swan-sdk``, built by ``scripts/make_peer_venvs.sh``) exactly as its users call it:
``swan.resource(...).create_task(..., auto_pay=True)``. Its flow includes the fixed ``time.sleep(3)`` it makes
before validating; the figures are reported with and without it.

Each client's HTTP requests per flow are counted as they leave its process (a pass-through wrapper around
requests' ``HTTPAdapter.send``; a JSON-RPC batch is one request). With ``--latency MS`` the flows run twice:
on loopback, then with every sandbox port (the Orchestrator and the chain's RPC) answering ``MS`` later, as a
remote service does; both figures are printed side by side.

Usage: ``.venv/bin/python benchmarks/deploy_flow.py [--runs 5] [--latency 50]``
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

from bench_sandbox import latency, running_sandbox  # this folder is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
SDK_PYTHON = ROOT / "benchmarks" / ".venvs" / "swan-sdk" / "bin" / "python"

COUNTER = r"""
import requests.adapters
SENT = [0]
_send = requests.adapters.HTTPAdapter.send
def _counting(self, request, *args, **kwargs):
    SENT[0] += 1
    return _send(self, request, *args, **kwargs)
requests.adapters.HTTPAdapter.send = _counting
"""

SDK_SCRIPT = COUNTER + r"""
import json, os, sys, time
import swan

url, key, wallet, runs = sys.argv[1], os.environ["BENCH_API_KEY"], sys.argv[2], int(sys.argv[3])
pk = os.environ["BENCH_PRIVATE_KEY"]
orch = swan.resource(api_key=key, service_name="Orchestrator", login_url=url, url_endpoint=url)
times, sent = [], []
for _ in range(runs):
    before = SENT[0]
    t0 = time.perf_counter()
    r = orch.create_task(wallet_address=wallet, instance_type="C1ae.small", duration=3600,
                         app_repo_image="hello_world", private_key=pk, auto_pay=True)
    times.append(time.perf_counter() - t0)
    sent.append(SENT[0] - before)
    assert r and r["task_uuid"] and r["tx_hash"], r
print(json.dumps({"times": times, "sent": sent}))
"""


def ensure_sdk_venv() -> bool:
    """Build swan-sdk 0.1.4's own virtualenv when it is missing (scripts/make_peer_venvs.sh, else venv + pip)."""
    if SDK_PYTHON.exists():
        return True
    script = ROOT / "scripts" / "make_peer_venvs.sh"
    print("building benchmarks/.venvs/swan-sdk (swan-sdk 0.1.4) ...", flush=True)
    if script.exists():
        done = subprocess.run(["bash", str(script), "swan-sdk"], cwd=ROOT, timeout=900)
    else:
        venv = SDK_PYTHON.parent.parent
        done = subprocess.run(["python3", "-m", "venv", str(venv)], timeout=300)
        if done.returncode == 0:
            done = subprocess.run([str(SDK_PYTHON), "-m", "pip", "install", "--quiet", "swan-sdk==0.1.4"], timeout=900)
    return done.returncode == 0 and SDK_PYTHON.exists()


def ours(client: Any, runs: int, counter: dict[str, Any]) -> tuple[list[float], list[int]]:
    """``runs`` flows of this client: their times and the requests each sent."""
    from swan_jupyter.orchestrator import TaskDescription

    times, sent = [], []
    for _ in range(runs):
        before = counter["SENT"][0]
        t0 = time.perf_counter()
        plan = client.plan(TaskDescription(hardware="C1ae.small", duration=3600, app_image="hello_world"))
        result = client.create(plan, pay=True)
        times.append(time.perf_counter() - t0)
        sent.append(counter["SENT"][0] - before)
        assert result["receipt"].validated or result["tx_hash"]
    return times, sent


def theirs(orch_desc: dict[str, Any], key: str, wallet: str, runs: int) -> tuple[list[float], list[int]] | None:
    """``runs`` flows of swan-sdk 0.1.4 in its own virtualenv, or None when it cannot run."""
    env = {**os.environ, "BENCH_API_KEY": orch_desc["api_key"], "BENCH_PRIVATE_KEY": key}
    out = subprocess.run([str(SDK_PYTHON), "-c", SDK_SCRIPT, orch_desc["url"], wallet, str(runs)],
                         capture_output=True, text=True, env=env, timeout=900)
    if out.returncode != 0:
        print("swan-sdk failed:\n" + out.stderr[-3000:])
        return None
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return data["times"], data["sent"]


def report(label: str, mine: tuple[list[float], list[int]], peer: tuple[list[float], list[int]] | None) -> None:
    ours_m = statistics.median(mine[0])
    print(f"create + pay + validate, {label}, median of {len(mine[0])} runs (same sandbox, same chain)")
    print(f"  swan_jupyter : {ours_m * 1000:8.1f} ms  {statistics.median(mine[1]):4.0f} requests   "
          f"(runs: {', '.join(f'{t * 1000:.0f}' for t in mine[0])})")
    if peer is None:
        print("  swan-sdk     : virtualenv missing or failed (scripts/make_peer_venvs.sh swan-sdk)")
        return
    theirs_m = statistics.median(peer[0])
    print(f"  swan-sdk     : {theirs_m * 1000:8.1f} ms  {statistics.median(peer[1]):4.0f} requests   "
          f"(runs: {', '.join(f'{t * 1000:.0f}' for t in peer[0])})")
    print(f"  ratio        : {theirs_m / ours_m:8.1f}x faster; without swan-sdk's fixed 3 s sleep before "
          f"validating: {(theirs_m - 3.0) / ours_m:.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.0, help="also run with this many ms per request")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    counter: dict[str, Any] = {}
    exec(COUNTER, counter)  # the same pass-through counter the swan-sdk process runs

    with running_sandbox("swan-bench-") as (state, description):
        from eth_account import Account

        from swan_jupyter.config import load_settings
        from swan_jupyter.orchestrator import Orchestrator

        orch_desc, chain = description["orchestrator"], description["chain"]
        key_file = Path(chain["wallet"]["private_key_file"])
        key = key_file.read_text().strip()
        wallet = Account.from_key(key).address
        settings = load_settings("sandbox", env={}, orchestrator_url=orch_desc["url"], api_key=orch_desc["api_key"],
                                 wallet_address=wallet, private_key_file=str(key_file),
                                 chain_rpc_url=chain["rpc_url"], ledger_path=str(state / "bench-ledger.sqlite"),
                                 sandbox_state_dir=str(state))
        client = Orchestrator.from_settings(settings)
        client.get_hardware()  # warm-up: login, catalogue (swan-sdk does the same in its constructor)
        sdk = ensure_sdk_venv()
        ok = True
        for ms in ([0.0, args.latency] if args.latency > 0 else [0.0]):
            with latency(description, ms):
                mine = ours(client, args.runs, counter)
                peer = theirs(orch_desc, key, wallet, args.runs) if sdk else None
            report("on loopback" if ms == 0 else f"at {ms:g} ms per request", mine, peer)
            ok = ok and peer is not None
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
