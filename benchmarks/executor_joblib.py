"""The standard interfaces on the sandbox: ``AbacoExecutor.map`` against ``FunctionHandle.map`` on the same actor,
and a joblib ``Parallel`` of tiny tasks on the ``"abaco"`` backend against joblib's local ``loky``.

Starts its own sandbox (temporary state folder; stopped at the end) and one ``abacosamples/py3_func`` actor with
``--workers`` workers (the sandbox's admin user). Then:

* **executor vs handle**: ``--items`` calls of ``x + 1`` through ``handle.map(..., max_in_flight=2 * workers)``
  and through ``list(executor.map(...))`` of an executor on the same actor with ``max_workers=2 * workers``,
  interleaved over ``--rounds`` rounds (in turn first); calls per second (median of the rounds) and the
  executor's overhead per round (its time over the handle's for the same items, back to back): median, quartiles
  and range (goal: the median within 10%; the machine's load drifts between rounds, so only pairs compare).
  Every result is checked.
* **joblib**: ``Parallel()(delayed(inc)(x) for x in range(--tasks))`` inside
  ``parallel_config(backend="abaco", n_jobs=2 * workers)`` (joblib's auto-batching: the executions it took are
  counted) against ``parallel_config(backend="loky", n_jobs=2)`` on this machine.

Usage: ``.venv/bin/python benchmarks/executor_joblib.py [--items 300] [--rounds 3] [--workers 4] [--tasks 1000]
[--skip-joblib]``.
The sandbox runs every execution as a local process on the same cores, so the figures are the sandbox's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench_sandbox import running_sandbox  # this folder is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent


def inc(x: int) -> int:
    return x + 1


def handle_rate(handle: Any, items: int, in_flight: int) -> tuple[float, float]:
    """Calls per second of ``handle.map`` (every row checked), and this process's CPU milliseconds per call."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    frame = handle.map(range(items), max_in_flight=in_flight, progress_after=-1, verbose=False)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    assert frame["result"].tolist() == [x + 1 for x in range(items)], frame.attrs["summary"]
    return items / seconds, 1000 * cpu / items


def executor_rate(executor: Any, items: int) -> tuple[float, float]:
    """Calls per second of ``list(executor.map(...))`` (every result checked), and this process's CPU
    milliseconds per call."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    out = list(executor.map(inc, range(items)))
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    assert out == [x + 1 for x in range(items)]
    return items / seconds, 1000 * cpu / items


def overhead_line(handle: list[float], executor: list[float]) -> str:
    """The executor's overhead from paired rounds: per round, the executor's time over the handle's for the same
    items, back to back on the same actor (robust to the machine's load drifting between rounds, which the
    medians of the rates are not); its median, quartiles and range, and whether the median is within 10%."""
    overheads = sorted((h / e - 1) * 100 for h, e in zip(handle, executor, strict=True))
    median = statistics.median(overheads)
    quartiles = statistics.quantiles(overheads, n=4) if len(overheads) > 1 else [median, median, median]
    return (f"executor.map {statistics.median(executor):.1f} calls/s, handle.map {statistics.median(handle):.1f} "
            f"calls/s (medians of {len(handle)} rounds); the executor's overhead, paired rounds: median "
            f"{median:+.1f}% (quartiles {quartiles[0]:+.1f}%..{quartiles[2]:+.1f}%, range {overheads[0]:+.1f}%.."
            f"{overheads[-1]:+.1f}%): {'within' if median <= 10 else 'NOT within'} 10%")


def joblib_run(backend: str, n_jobs: int, tasks: int) -> float:
    """Seconds of one ``Parallel`` over ``tasks`` tiny tasks on ``backend`` (results checked)."""
    import joblib

    t0 = time.perf_counter()
    with joblib.parallel_config(backend=backend, n_jobs=n_jobs):
        out = joblib.Parallel()(joblib.delayed(inc)(x) for x in range(tasks))
    seconds = time.perf_counter() - t0
    assert out == [x + 1 for x in range(tasks)]
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--skip-joblib", action="store_true", help="only the executor against the handle")
    parser.add_argument("--time-scale", type=float, default=60.0)
    args = parser.parse_args()
    for name in ("items", "rounds", "workers", "tasks"):
        if not 1 <= getattr(args, name) <= 100_000:
            parser.error(f"--{name} takes a whole number between 1 and 100000")
    sys.path.insert(0, str(ROOT))
    import cloudpickle

    import swan_jupyter.joblib as abaco_joblib
    from swan_jupyter.actors import Actors

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the executions cannot import this script
    in_flight = 2 * args.workers
    with running_sandbox("swan-bench-executor-", time_scale=args.time_scale) as (_state, description):
        abaco = description["abaco"]
        client = Actors(abaco["url"], token=abaco["users"]["admin"]["token"], flavor="v3", pool_size=64)
        handle = client.function(inc, workers=args.workers)
        executor = client.executor(max_workers=in_flight, actor=handle.actor_id)
        handle.map(range(in_flight), progress_after=-1, verbose=False)  # warm: imports, workers up
        list(executor.map(inc, range(in_flight)))
        rates: dict[str, list[float]] = {"handle": [], "executor": []}
        cpu: dict[str, list[float]] = {"handle": [], "executor": []}
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        for round_ in range(args.rounds):  # interleaved (ABBA), so both see the same machine
            order = ("handle", "executor") if round_ % 2 == 0 else ("executor", "handle")
            for name in order:
                rate, ms = (handle_rate(handle, args.items, in_flight) if name == "handle"
                            else executor_rate(executor, args.items))
                rates[name].append(rate)
                cpu[name].append(ms)
                print(f"round {round_ + 1}: {name:8s} map of {args.items} calls: {rate:.1f} calls/s, "
                      f"{ms:.2f} ms CPU/call here", flush=True)
        print(overhead_line(rates["handle"], rates["executor"]), flush=True)
        print(f"this process's CPU per call (the interfaces' own cost; the executions run in the sandbox's "
              f"processes), medians: executor.map {statistics.median(cpu['executor']):.2f} ms, handle.map "
              f"{statistics.median(cpu['handle']):.2f} ms", flush=True)
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        executor.shutdown()
        if args.skip_joblib:
            client.close()
            return 0

        abaco_joblib.register(client, actor=handle.actor_id)
        before = len(client.list_executions(handle.actor_id).executions)
        remote = joblib_run("abaco", in_flight, args.tasks)
        batches = len(client.list_executions(handle.actor_id).executions) - before
        local = joblib_run("loky", 2, args.tasks)
        print(f"joblib Parallel of {args.tasks} tiny tasks: abaco n_jobs={in_flight} {remote:.1f} s in {batches} "
              f"executions (auto-batching); loky n_jobs=2 {local:.2f} s (its workers started in the run)", flush=True)
        abaco_joblib.register()
        client.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
