"""Reliability under faults, load and crashes, with counts (the long runs; fast versions are in tests/).

1. Payment trials: create a task and pay it, killing the payer at a random step (before signing, after signing,
   after sending, after the receipt, before/after validation) or losing the validation answer, then resume with
   a fresh client: counts of double payments, lost payments, unvalidated payments, ledger/chain mismatches.
2. Reads under 30% injected 503s and connection resets: right answers vs clear transport errors.
3. A bounded load run (threads x seconds) of listings and deployments: throughput, p50/p99 latency, errors;
   then the sandbox is SIGKILLed mid-run and restarted: every validated payment must still have its order on the
   server and its amount on chain.

Usage: ``.venv/bin/python benchmarks/reliability.py [--trials 200] [--threads 8] [--seconds 20]``
Everything runs on 127.0.0.1 against a sandbox this script starts (temporary state) and stops.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()

    from swan_jupyter.errors import SwanJupyterError, TransportError
    from swan_jupyter.sandbox import host
    from swan_jupyter.session import Session
    from swan_jupyter.transport import Transport
    from tests.reliability_tools import run_payment_trials, set_faults

    state = Path(tempfile.mkdtemp(prefix="swan-reliability-"))
    os.environ["SWAN_SANDBOX_STATE"] = str(state)
    description = host.start(state, time_scale=60)
    try:
        def client() -> Any:
            return Session(notify=lambda _m: None).orchestrator()

        # 1. payments
        t0 = time.perf_counter()
        report = run_payment_trials(client, description, args.trials, seed=20261122)
        print(f"[payments] {report.line()} ({time.perf_counter() - t0:.0f} s)")

        # 2. reads under faults
        set_faults(description, "orchestrator", {"rules": [{"target": "orchestrator", "methods": ["GET"],
                                                            "error_rate": 0.15, "reset_rate": 0.15, "seed": 1}]})
        transport = Transport(description["orchestrator"]["url"], envelope="swan", retries=6, backoff=0.01,
                              read_timeout=5)
        right = errors = 0
        for _ in range(1000):
            try:
                data = transport.get("/cp/machines-dp-ssh-ready")
                right += bool(data and data.get("hardware"))
            except TransportError:
                errors += 1
            except SwanJupyterError:
                errors += 1
        injected = set_faults(description, "orchestrator", {"rules": []})
        print(f"[faults] 1000 reads under 30% injected 503s/resets: {right} right answers, {errors} clear errors")
        del injected

        # 3. load, then SIGKILL mid-run and restart
        latencies: list[float] = []
        failures: list[str] = []
        receipts: list[Any] = []
        stop = threading.Event()
        lock = threading.Lock()

        def worker(index: int) -> None:
            orch = client()
            n = 0
            while not stop.is_set():
                n += 1
                started = time.perf_counter()
                try:
                    if n % 5 == 0:
                        task = orch.create_task(instance_type="C1ae.small", duration=3600,
                                                app_repo_image="hello-world", auto_pay=True)
                        with lock:
                            receipts.append(task["receipt"])
                    elif n % 2:
                        orch.get_hardware(refresh=True)
                    else:
                        orch.get_task_list(size=20)
                    with lock:
                        latencies.append(time.perf_counter() - started)
                except Exception as exc:  # counted, and reported by type
                    with lock:
                        failures.append(type(exc).__name__)
                    if stop.is_set():
                        return
                    time.sleep(0.05)

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(args.threads)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(args.seconds)
        stop.set()
        for t in threads:
            t.join(60)
        elapsed = time.perf_counter() - started
        print(f"[load] {args.threads} threads x {args.seconds:.0f} s: {len(latencies)} calls, "
              f"{len(latencies) / elapsed:.1f} calls/s, p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
              f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, {len(failures)} errors "
              f"{sorted(set(failures))}, {len(receipts)} paid deployments")

        # crash: SIGKILL the whole sandbox (host, anvil) during a second burst, then restart
        stop.clear()
        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(args.threads)]
        for t in threads:
            t.start()
        time.sleep(min(5.0, args.seconds / 2))
        pid = int((state / "host.pid").read_text())
        os.killpg(os.getpgid(pid), signal.SIGKILL)
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join(60)
        host.start(state, time_scale=60)
        orch = client()
        payer = orch.payer()
        missing_orders = missing_chain = 0
        for receipt in receipts:
            orders = orch.get_deployment_info(receipt.task_uuid)["config_orders"]
            missing_orders += not any(o["tx_hash"] == receipt.tx_hash.lower() for o in orders)
            missing_chain += payer.amount_paid(receipt.task_uuid) < receipt.amount_wei
        print(f"[crash] SIGKILL mid-run and restart: {len(receipts)} validated payments checked, "
              f"{missing_orders} without their order, {missing_chain} missing on chain")
        ok = (report.double == report.lost == report.unvalidated == report.ledger_mismatch == 0
              and missing_orders == 0 and missing_chain == 0)
        return 0 if ok else 1
    finally:
        host.stop(state)


if __name__ == "__main__":
    sys.exit(main())
