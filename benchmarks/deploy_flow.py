"""Create + pay + validate a task: this client against swan-sdk 0.1.4, in one run on one sandbox.

Starts its own sandbox (temporary state folder; stopped at the end), then times ``--runs`` full flows with each
client: create the task (source: the ``hello_world`` example app, 1 h on C1ae.small), approve if needed, pay
``submitPayment`` on the local chain, and have the server validate it. swan-sdk runs in its own virtualenv
(``benchmarks/.venvs/swan-sdk``, built by ``scripts/make_peer_venvs.sh``) exactly as its users call it:
``swan.resource(...).create_task(..., auto_pay=True)``. Its flow includes the fixed ``time.sleep(3)`` it makes
before validating; the figures are reported with and without it.

Usage: ``.venv/bin/python benchmarks/deploy_flow.py [--runs 5]``
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

from bench_sandbox import running_sandbox  # this folder is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
SDK_PYTHON = ROOT / "benchmarks" / ".venvs" / "swan-sdk" / "bin" / "python"

SDK_SCRIPT = r"""
import json, os, sys, time
import swan

url, key, wallet, runs = sys.argv[1], os.environ["BENCH_API_KEY"], sys.argv[2], int(sys.argv[3])
pk = os.environ["BENCH_PRIVATE_KEY"]
orch = swan.resource(api_key=key, service_name="Orchestrator", login_url=url, url_endpoint=url)
times = []
for _ in range(runs):
    t0 = time.perf_counter()
    r = orch.create_task(wallet_address=wallet, instance_type="C1ae.small", duration=3600,
                         app_repo_image="hello_world", private_key=pk, auto_pay=True)
    times.append(time.perf_counter() - t0)
    assert r and r["task_uuid"] and r["tx_hash"], r
print(json.dumps(times))
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    with running_sandbox("swan-bench-") as (state, description):
        from eth_account import Account

        from swan_jupyter.config import load_settings
        from swan_jupyter.orchestrator import Orchestrator

        orch_desc, chain = description["orchestrator"], description["chain"]
        key_file = Path(chain["wallet"]["private_key_file"])
        wallet = Account.from_key(key_file.read_text().strip()).address
        settings = load_settings("sandbox", env={}, orchestrator_url=orch_desc["url"], api_key=orch_desc["api_key"],
                                 wallet_address=wallet, private_key_file=str(key_file),
                                 chain_rpc_url=chain["rpc_url"], ledger_path=str(state / "bench-ledger.sqlite"),
                                 sandbox_state_dir=str(state))
        ours: list[float] = []
        client = Orchestrator.from_settings(settings)
        client.get_hardware()  # warm-up: login, catalogue (swan-sdk does the same in its constructor)
        for _ in range(args.runs):
            t0 = time.perf_counter()
            result = client.create_task(instance_type="C1ae.small", duration=3600, app_repo_image="hello_world",
                                        auto_pay=True)
            ours.append(time.perf_counter() - t0)
            assert result["receipt"].validated or result["tx_hash"]
        theirs: list[float] | None = None
        if ensure_sdk_venv():
            env = {**os.environ, "BENCH_API_KEY": orch_desc["api_key"],
                   "BENCH_PRIVATE_KEY": key_file.read_text().strip()}
            out = subprocess.run([str(SDK_PYTHON), "-c", SDK_SCRIPT, orch_desc["url"], wallet, str(args.runs)],
                                 capture_output=True, text=True, env=env, timeout=600)
            if out.returncode != 0:
                print("swan-sdk failed:\n" + out.stderr[-3000:])
            else:
                theirs = json.loads(out.stdout.strip().splitlines()[-1])
        ours_m = statistics.median(ours)
        print(f"create + pay + validate, median of {args.runs} runs (same sandbox, same chain)")
        print(f"  swan_jupyter : {ours_m * 1000:8.1f} ms   (runs: {', '.join(f'{t * 1000:.0f}' for t in ours)})")
        if theirs is None:
            print("  swan-sdk     : virtualenv missing or failed (scripts/make_peer_venvs.sh swan-sdk)")
            return 1
        theirs_m = statistics.median(theirs)
        print(f"  swan-sdk     : {theirs_m * 1000:8.1f} ms   (runs: {', '.join(f'{t * 1000:.0f}' for t in theirs)})")
        print(f"  ratio        : {theirs_m / ours_m:8.1f}x faster")
        print(f"  ratio without swan-sdk's fixed 3 s sleep before validating: {(theirs_m - 3.0) / ours_m:.1f}x")
        print(f"  target >= 5x: {'met' if theirs_m / ours_m >= 5 else 'NOT met'} (the flow as each client runs it)")
        return 0


if __name__ == "__main__":
    sys.exit(main())
