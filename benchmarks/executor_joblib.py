"""The standard interfaces on the sandbox: ``AbacoExecutor.map`` against ``FunctionHandle.map`` on the same actor,
and a joblib ``Parallel`` of tiny tasks on the ``"abaco"`` backend against joblib's local ``loky``.

Starts its own sandbox (temporary state folder; stopped at the end) and one ``abacosamples/py3_func`` actor with
``--workers`` workers (the sandbox's admin user). Then:

* **executor vs handle**: ``--items`` calls of ``x + 1`` through ``handle.map(..., max_in_flight=2 * workers)``
  and through ``list(executor.map(...))`` of an executor on the same actor with ``max_workers=2 * workers``,
  interleaved over ``--rounds`` rounds (in turn first); calls per second (median of the rounds) and the
  executor's overhead per round (its time over the handle's for the same items, back to back): median, quartiles
  and range, and the median's 95% interval (goal: within 10%). The machine's load drifts between rounds, so only
  pairs compare, and many short pairs compare better than a few long ones: at a load of 6 on two cores, 12
  pairs of 200 calls left an interval of about +-20%, 40 pairs of 60 calls about +-7%, 60 pairs of 40 calls
  about +-6% (the defaults). This process's CPU per
  call is reported too: the executions are the same on both sides, so that is where an interface's own cost
  would show.
  Every result is checked.
* **joblib**: ``Parallel()(delayed(inc)(x) for x in range(--tasks))`` inside
  ``parallel_config(backend="abaco", n_jobs=2 * workers)`` (joblib's auto-batching: the executions it took are
  counted) against ``parallel_config(backend="loky", n_jobs=2)`` on this machine.

Usage: ``.venv/bin/python benchmarks/executor_joblib.py [--items 40] [--rounds 60] [--workers 4] [--tasks 1000]
[--skip-joblib]``.
The sandbox runs every execution as a local process on the same cores, so the figures are the sandbox's.
"""

from __future__ import annotations

import argparse
import math
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


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float]:
    """A distribution-free confidence interval of the median (order statistics; binomial, p = 1/2): the
    sorted values' k-th lowest and k-th highest, k the largest with P(Binomial(n, 1/2) < k) <= (1 - c) / 2
    (the whole range when there are too few values for it)."""
    ordered, n = sorted(values), len(values)
    below, k = 0.0, 0
    while k < n // 2 and below + math.comb(n, k) / 2**n <= (1 - confidence) / 2:
        below += math.comb(n, k) / 2**n
        k += 1
    k = max(k, 1)
    return ordered[k - 1], ordered[n - k]


def overhead_line(handle: list[float], executor: list[float]) -> str:
    """The executor's overhead from paired rounds: per round, the executor's time over the handle's for the same
    items, back to back on the same actor (robust to the machine's load drifting between rounds, which the
    medians of the rates are not). Its median, the median's 95% interval, the quartiles and the range. The
    verdict: within 10% when the whole interval is, not within 10% when the whole interval is above it, else
    not shown at this load."""
    overheads = sorted((h / e - 1) * 100 for h, e in zip(handle, executor, strict=True))
    median = statistics.median(overheads)
    low, high = median_interval(overheads)
    quartiles = statistics.quantiles(overheads, n=4) if len(overheads) > 1 else [median, median, median]
    verdict = ("within 10%" if high <= 10 else "NOT within 10%" if low > 10
               else "within 10% not shown at this load (the interval crosses +10%)")
    return (f"executor.map {statistics.median(executor):.1f} calls/s, handle.map {statistics.median(handle):.1f} "
            f"calls/s (medians of {len(handle)} rounds); the executor's overhead, paired rounds: median "
            f"{median:+.1f}% (95% interval of the median {low:+.1f}%..{high:+.1f}%, quartiles {quartiles[0]:+.1f}%.."
            f"{quartiles[2]:+.1f}%, range {overheads[0]:+.1f}%..{overheads[-1]:+.1f}%): {verdict}")


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
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=60)
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
