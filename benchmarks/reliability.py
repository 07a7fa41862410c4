"""Reliability under faults, load and crashes, with counts (the long runs; fast versions are in tests/).

1. Payment trials: create a task and pay exactly its confirmed quote, killing the payer at a random step (before
   signing, after signing, after sending, after the receipt, before/after validation), losing the validation
   answer, or killing it after signing and then paying another task of the same wallet (from the same ledger or
   from a second notebook with its own ledger, which takes the signed row's nonce), then resume with a fresh
   client: counts of double, lost and stuck payments, payments other than confirmed, unvalidated payments and
   ledger/chain mismatches.
1a. Cancel means cancel: the Pay click's broadcast fails (503, or the answer is lost after the node took it), the
   user cancels (``cancel_payment`` or ``terminate_task``), another payment of the same wallet follows from the same
   ledger or from a second one, and a fresh client resumes: payments after a "nothing paid" (must be 0).
1b. A cap race: threads of this process and two other processes pay tasks of one wallet under one
   ``max_session_spend``; the total paid (ledger and chain) never exceeds the cap.
2. Reads of both services under 30% injected 503s and connection resets: right answers vs clear errors; then
   actor message sends whose answer is lost after the server took them: each reported as an unknown outcome,
   each executed exactly once.
3. A bounded load run (threads x seconds) of actor messages, actor/execution/hardware/task listings and paid
   deployments: throughput, p50/p99 latency, errors; then a second run during which the whole sandbox is
   SIGKILLed and restarted while the clients keep going: every accepted message must have its execution (and
   finish), every validated payment its order on the server and its amount on chain, interrupted payments are
   resumed and nothing is paid twice.

Usage: ``.venv/bin/python benchmarks/reliability.py [--trials 200] [--threads 8] [--seconds 20] [--reads 1000]
[--lost 50] [--cancel-only]``
Everything runs on 127.0.0.1 against a sandbox this script starts (temporary state) and stops.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import Any

from bench_sandbox import running_sandbox  # this folder is on sys.path when a script runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--reads", type=int, default=1000, help="reads per service under injected faults")
    parser.add_argument("--lost", type=int, default=50, help="message sends whose answer is lost")
    parser.add_argument("--cap", default="2.4", help="max_session_spend of the cap race (SWAN)")
    parser.add_argument("--cancel-only", action="store_true", help="run only the cancel trials")
    args = parser.parse_args()

    from swan_jupyter.actors import Actors
    from swan_jupyter.errors import SwanJupyterError, UnknownOutcomeError
    from swan_jupyter.sandbox import host
    from swan_jupyter.sandbox.reliability import (
        check_after_restart,
        injected,
        run_cancel_trials,
        run_cap_race,
        run_load,
        run_payment_trials,
        set_faults,
    )
    from swan_jupyter.session import Session
    from swan_jupyter.transport import Transport

    with running_sandbox("swan-reliability-") as (state, description):
        os.environ["SWAN_SANDBOX_STATE"] = str(state)
        def client() -> Any:
            return Session(notify=lambda _m: None).orchestrator()

        # 1. payments
        t0 = time.perf_counter()
        def second_notebook() -> Any:  # the same wallet, its own ledger
            return Session(notify=lambda _m: None, ledger_path=str(state / "second-notebook.sqlite")).orchestrator()

        if args.cancel_only:
            cancels = run_cancel_trials(client, second_notebook, description, args.trials, seed=20261207)
            print(f"[cancel] {cancels.line()} ({time.perf_counter() - t0:.0f} s)")
            return 0 if cancels.ok() else 1
        report = run_payment_trials(client, description, args.trials, seed=20261122, make_other=second_notebook)
        print(f"[payments] {report.line()} ({time.perf_counter() - t0:.0f} s)")
        t0 = time.perf_counter()
        cancels = run_cancel_trials(client, second_notebook, description, args.trials, seed=20261207)
        print(f"[cancel] {cancels.line()} ({time.perf_counter() - t0:.0f} s)")
        t0 = time.perf_counter()
        cap = run_cap_race(state, args.cap, threads=args.threads, processes=2, per_worker=2)
        print(f"[caps] {args.threads} threads + 2 processes: {cap.line()} ({time.perf_counter() - t0:.0f} s)")

        # 2. reads under faults, on both services; then sends whose answers are lost
        abaco = description["abaco"]
        actors = Actors(abaco["url"], token=abaco["users"]["user"]["token"], flavor="v3", tenant=abaco.get("tenant"),
                        retries=6, backoff=0.01, read_timeout=5)
        probe = str(actors.add({"image": "abacosamples/test", "name": "fault-probe"}).id)
        transport = Transport(description["orchestrator"]["url"], envelope="swan", retries=6, backoff=0.01,
                              read_timeout=5)
        readers = {"orchestrator": lambda: bool((transport.get("/cp/machines-dp-ssh-ready") or {}).get("hardware")),
                   "abaco": lambda: actors.get(probe).id == probe}
        for target, read in readers.items():
            set_faults(description, target, {"rules": [{"target": target, "methods": ["GET"], "error_rate": 0.15,
                                                        "reset_rate": 0.15, "seed": 1}]})
            right = errors = 0
            for _ in range(args.reads):
                try:
                    right += read()
                except SwanJupyterError:
                    errors += 1
            counts = injected(description, target)
            set_faults(description, target, None)
            print(f"[faults] {args.reads} {target} reads under 30% injected 503s/resets ({counts}): {right} right "
                  f"answers, {errors} clear errors, {args.reads - right - errors} wrong")
        unknown = once = 0
        for i in range(args.lost):
            set_faults(description, "abaco", {"rules": [{"target": "abaco", "methods": ["POST"],
                                                         "paths": [r"/messages$"], "lose_rate": 1.0, "limit": 1}]})
            try:
                actors.send_message(probe, {"lost": i})
            except UnknownOutcomeError:
                unknown += 1
        set_faults(description, "abaco", None)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (actors.list_executions(probe).total_executions or 0) < args.lost:
            time.sleep(0.2)
        time.sleep(1.0)
        once = int(actors.list_executions(probe).total_executions or 0)
        print(f"[faults] {args.lost} message sends with the answer lost: {unknown} reported as unknown outcome, "
              f"{once} executions on the server (exactly one per send means never lost, never resent)")
        lost_ok = unknown == args.lost and once == args.lost

        # 3. load (actor messages, listings, paid deployments), then a second run SIGKILLed mid-way and restarted
        def session() -> Any:
            return Session(sandbox_state_dir=state, start_sandbox=False, notify=lambda _m: None)

        setup = session()
        actor_ids = [str(setup.actors().add({"image": "abacosamples/test", "name": f"load-{i}"}).id)
                     for i in range(5)]
        load = run_load(session, actor_ids, args.threads, args.seconds)
        print(f"[load] {args.threads} threads x {args.seconds:.0f} s: {load.line()}")
        check = check_after_restart(session(), load, settle=300)
        print(f"[load] after the run: {check.line()}")

        def kill_and_restart() -> None:
            pid = int((state / "host.pid").read_text())
            os.killpg(os.getpgid(pid), signal.SIGKILL)
            time.sleep(0.5)
            host.start(state, time_scale=60)

        crash = run_load(session, actor_ids, args.threads, args.seconds, during=kill_and_restart)
        print(f"[crash] {args.threads} threads x {args.seconds:.0f} s, SIGKILL of the whole sandbox at half time, "
              f"restart: {crash.line()}")
        after = check_after_restart(session(), crash, settle=300)
        print(f"[crash] after the restart: {after.line()}")
        ok = report.ok() and cancels.ok() and cap.ok() and lost_ok and check.ok() and after.ok()
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
