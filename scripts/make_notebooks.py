"""Write the notebooks in notebooks/ from the cell lists below (outputs empty, kernelspec python3).

The notebooks are the source of truth once written; this script is how they were first laid out and can
regenerate them: ``.venv/bin/python scripts/make_notebooks.py [NAME.ipynb ...]`` (all, or only those named),
then ``scripts/strip-notebooks``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent / "notebooks"


def md(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(text.strip())


def code(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(text.strip())


def write(name: str, cells: list[nbformat.NotebookNode]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = cells
    ROOT.mkdir(exist_ok=True)
    nbformat.write(nb, ROOT / name)
    print("wrote", ROOT / name)


QUICKSTART = [
    md("""
# swan_jupyter quickstart

This notebook runs against the **local sandbox**: emulators of Swan Chain's Orchestrator and of Abaco, and a
real local chain (anvil) with the SWAN token and the payment contract. Nothing here spends real tokens and no
secret appears in a cell: the sandbox wallet's key stays in the sandbox's state folder.
"""),
    code("%load_ext swan_jupyter"),
    md("The active profile and endpoints (secrets masked). With nothing configured, that is the sandbox."),
    code("%swan_config"),
    md("## Hardware\nThe catalogue, as a DataFrame: prices are exact (wei in an integer column, SWAN for display)."),
    code("%swan hardware hw\nhw.head(10)"),
    md("""
## Deploy and pay

`--yes` pays without the confirmation widget, within the spending cap set here (papermill and CI use this).
Without `--yes`, an interactive kernel shows the quote with *Confirm* and *Cancel* buttons.
"""),
    code('%config SwanMagics.max_auto_spend = "5"\n'
         "%swan_deploy --app hello-world --hardware C1ae.small --region global --duration 1h --yes --wait task"),
    code("task"),
    md("The task's URL answers once its jobs are running:"),
    code("urls = %swan url {task.task_uuid}\nurls"),
    code("import requests\n\n[requests.get(u, timeout=10).status_code for u in urls]"),
    md("## An Abaco actor\nRegister the word-count sample, send it a message, read the result."),
    code("%actors create --image abacosamples/wc --name quickstart-wc wc"),
    code("%%actor_send {wc.id} run --sync --timeout 60\nthe quick brown fox jumps over the lazy dog"),
    code("run"),
    md("## Executions as a DataFrame"),
    code("%actors executions {wc.id} df\ndf.dtypes"),
    code("df"),
]

DEPLOY = [
    md("""
# Deploy and pay in depth

Sources, the confirmation widget, paying with `--yes` under a cap, renewing, terminating with a refund, and
the payment ledger. Runs against the sandbox.
"""),
    code("%load_ext swan_jupyter\n%swan_config"),
    code("%swan hardware hw\nhw[['name', 'type', 'regions', 'price_per_hour_swan', 'status']]"),
    md("""
## The confirmation widget

Without `--yes`, paying shows the quote (hardware, region, duration, price per hour, total, wallet, network)
with *Confirm* and *Cancel*. The cell returns at once; the click pays and the widget becomes the receipt. A
double click cannot pay twice. (When this notebook runs unattended nobody clicks, so nothing is paid here.)
"""),
    code("%swan_deploy --app hello-world --hardware C1ae.small --region global --duration 1h"),
    md("## Paying unattended, within a cap\n`--yes` refuses anything above `SwanMagics.max_auto_spend`."),
    code('%config SwanMagics.max_auto_spend = "10"\n'
         "%swan_deploy --repo https://github.com/swanchain/hello_world --hardware C1ae.small --region global "
         "--duration 1h --yes --wait t1"),
    code("t1['receipt']"),
    md("## A deployment from a YAML body\nThe cell body is the deploy YAML (or a Dockerfile)."),
    code("""%%swan_deploy --hardware C1ae.small --region global --duration 1h --yes t2
version: "2.0"
services:
  web:
    image: nginx:latest
    expose:
      - port: 80
        as: 80
        to:
          - global: true
"""),
    code("t2"),
    md("## Renew, then terminate with a refund"),
    code("%swan renew {t1.task_uuid} --duration 1h --yes"),
    code("%swan terminate {t2.task_uuid} --yes"),
    code("%swan tasks tasks\ntasks"),
    md("## The payment ledger\nEvery intent is recorded before signing and every tx hash after sending."),
    code("%swan ledger"),
    code("%swan balance"),
    md("""
## Real networks

Switch profile with `%swan_config --profile testnet` (or `SWAN_PROFILE=testnet` in the kernel's environment)
after writing the profile in your config file (see the README): your API key in `SWAN_API_KEY`, your wallet
key in a file named by `SWAN_PRIVATE_KEY_FILE` (chmod 600) or an encrypted keystore. Never put a key in a cell.
This cell is not executed here:

```python
%swan_config --profile testnet
%swan_deploy --app hello-world --hardware C1ae.small --region global --duration 1h
```
"""),
]

ACTORS = [
    md("""
# Abaco actors

Actors, JSON / text / binary messages, synchronous execution, state, permissions, nonces, workers, logs and
results, against the sandbox's Abaco emulator (both the v2 and v3 wire formats are served).
"""),
    code("%load_ext swan_jupyter"),
    code("%actors create --image abacosamples/test --name demo-test --stateful test_actor\ntest_actor"),
    code("%actors list"),
    md("## Messages\nA JSON body is sent as JSON; `--text` forces text. `--env` passes environment variables."),
    code('%%actor_send {test_actor.id} exe --env COLOR=blue\n{"greeting": "hello", "n": 3}'),
    code("exe.wait(60)\nprint(exe.logs())"),
    code("%%actor_send {test_actor.id} exe2 --text\njust some text"),
    code("exe2.wait(60).status"),
    md("## Synchronous execution and results"),
    code("%actors create --image abacosamples/wc --name demo-wc wc"),
    code("%%actor_send {wc.id} result --sync --timeout 60\none two three four"),
    code("result"),
    md("## Binary messages\n`--binary` sends the bytes of the variable named in the body."),
    code("payload = bytes(range(16))"),
    code("%%actor_send {test_actor.id} bexe --binary\n$payload"),
    code("bexe.wait(60).status"),
    md("## State, permissions, nonces, workers"),
    code("%actors state {test_actor.id}"),
    code("%actors permissions {test_actor.id}"),
    code("%actors grant {test_actor.id} user2 READ"),
    code("nonce = %actors add-nonce {test_actor.id} --level EXECUTE --max-uses 5\nnonce"),
    code("%actors nonces {test_actor.id}"),
    code("%actors workers {test_actor.id}"),
    code("%actors executions {test_actor.id}"),
    code("%actors logs {test_actor.id} {exe.id}"),
]

METRICS = [
    md("""
# Execution metrics as data: which actor is slow, which one waits, which one fails?

We run a small, uneven workload on four actors and let the numbers answer three questions:

1. How long does each actor really take? (Abaco's own `runtime` field is whole seconds: it cannot tell 80 ms
   from 900 ms.)
2. Where does the time between sending a message and getting its result go: running, or waiting in the queue?
3. Which executions fail, and why?

The actors run in the local sandbox as real processes: `abacosamples/sleep_loop` with short and long sleeps,
`abacosamples/wc` over inputs from one word to twenty thousand, and an `abacosamples/py3_func` actor sent a
function that always raises, so that every run of it fails.
"""),
    code("%load_ext swan_jupyter"),
    code("""import random
import time

import cloudpickle

from swan_jupyter.session import default_session

actors = default_session().actors()
short = actors.add({"image": "abacosamples/sleep_loop", "name": "nb04-short-sleep"})
long_ = actors.add({"image": "abacosamples/sleep_loop", "name": "nb04-long-sleep"})
wc = actors.add({"image": "abacosamples/wc", "name": "nb04-wc"})
broken = actors.add({"image": "abacosamples/py3_func", "name": "nb04-broken"})

def parse_setting(text):
    return int(text)  # "not-a-number" is not: every run fails with a ValueError

failing_call = cloudpickle.dumps({"func": parse_setting, "args": ["not-a-number"], "kwargs": {}})
created = [short, long_, wc, broken]
{a.name: a.id for a in created}"""),
    md("""
Two bursts of messages with a pause between them. Each actor has one worker, so messages to the same actor
run one after the other.
"""),
    code("""random.seed(4)

def burst(n):
    sent = []
    for _ in range(n):
        sent.append(actors.send_message(short.id, {"iterations": 1, "sleep": random.uniform(0.02, 0.15)}))
        sent.append(actors.send_message(wc.id, " ".join(["word"] * int(10 ** random.uniform(0, 4.3)))))
    for _ in range(n // 3):
        sent.append(actors.send_message(long_.id, {"iterations": 1, "sleep": random.uniform(0.6, 1.4)}))
    sent.append(actors.send_binary(broken.id, failing_call))
    return sent

executions = burst(12)
for ex in executions:
    ex.wait(180, poll=0.2)
time.sleep(6)  # a quiet period: the throughput plot shows it as empty bins
executions += (second := burst(12))
for ex in second:
    ex.wait(180, poll=0.2)
len(executions)"""),
    md("""
## One frame, one schema

`execution_metrics` fetches every execution of these actors (through Abaco's search API, millisecond times)
and returns one row per execution. The columns are the same in `%actors executions`, `%actors metrics` and
the explorer; units are in their names.
"""),
    code("""from swan_jupyter.frames.actors import execution_metrics

df = execution_metrics(actors, [a.id for a in created])
df.dtypes"""),
    md("""
`duration` is `finish_time - start_time` at millisecond precision; `runtime_reported_s` is Abaco's own
field. Side by side:
"""),
    code("""df[["actor_name", "duration", "runtime_reported_s", "queue_wait", "cpu_ns", "io_bytes"]].sample(8, random_state=1)"""),
    md("## 1. How long does each actor take?"),
    code("""seconds = df.assign(duration_s=df["duration"].dt.total_seconds(),
                    queue_wait_s=df["queue_wait"].dt.total_seconds(),
                    reported_s=df["runtime_reported_s"].astype(float))
seconds.groupby("actor_name")[["duration_s", "reported_s"]].describe(percentiles=[0.5, 0.95, 0.99]).round(3)"""),
    code("""ax = seconds.boxplot(column="duration_s", by="actor_name", rot=20, figsize=(8, 3.5))
ax.set_yscale("log"); ax.set_ylabel("duration (s, log scale)"); ax.set_title(""); ax.figure.suptitle("");"""),
    md("## 2. Running, or waiting?"),
    code("""turnaround = seconds.assign(turnaround_s=df["turnaround"].dt.total_seconds())
turnaround.groupby("actor_name")[["duration_s", "queue_wait_s", "turnaround_s"]].quantile(0.95).round(2)"""),
    md("## 3. Which executions fail, and why?"),
    code("""failed = df[(df["status"] == "ERROR") | (df["exit_code"].fillna(0) != 0)]
failed[["actor_name", "execution_id", "status", "exit_code", "message_received_time"]]"""),
    code("""first_failure = failed["execution_id"].iloc[0]
%actors logs {broken.id} {first_failure}"""),
    md("## Throughput over time\nExecutions per 2-second bin; bins without executions are zeros, so the pause shows."),
    code("""per_bin = df.set_index("message_received_time").resample("2s")["execution_id"].count()
ax = per_bin.plot(drawstyle="steps-post", figsize=(8, 3), title="executions per 2 s (message time, UTC)")
ax.set_xlabel(""); ax.set_ylim(bottom=0);"""),
    md("""
## Keeping the frame up to date

More messages arrive; `%actors metrics --refresh df` fetches only the executions newer than the newest row
(a search on the message time) and appends them.
"""),
    code("""more = [actors.send_message(wc.id, "one more message") for _ in range(5)]
for ex in more:
    ex.wait(60, poll=0.2)
before = len(df)
%actors metrics --refresh df
len(df) - before"""),
    md("""
## The explorer

Per-actor summary (p50/p95/p99 of duration and queue wait, success rate, CPU and I/O per execution), the
distributions per actor (log scale when they spread over decades), throughput over time, and the failures
with their exit code: pick one and *Show logs*. *Refresh* fetches only what is new.
"""),
    code("%actors explore explorer\nexplorer"),
    code("explorer.summary_table().round(3)"),
    md("""
## What the numbers say

* **Abaco's `runtime` hides the differences.** `runtime_reported_s` is 1 (sometimes 2) whatever the actor,
  while `duration` separates them: the median of `nb04-long-sleep` is several times that of
  `nb04-short-sleep` and of `nb04-wc`, whose slowest runs are its largest inputs. The box plot shows it on a
  log scale; with `runtime_reported_s` it would be flat lines.
* **In a burst, turnaround is mostly queue.** For the actors that receive many messages at once, the 95th
  percentile of `queue_wait` is larger than that of `duration`: messages wait behind each other on the actor's
  single worker. `nb04-broken`, which gets one message per burst, hardly waits. Faster code would help these
  actors less than more workers (`max_workers`) or spreading the sends.
* **`nb04-broken` fails every time**, with exit code 1, and its logs say why: the `ValueError` of
  `int("not-a-number")`, with its traceback. Abaco marks these executions `COMPLETE`; the exit code is
  what tells them apart (the explorer's success rate counts them as failures).
"""),
]

FUNCTIONS = [
    md("""
# Python functions on Abaco

Call a Python function remotely, map it over data, and get results and metrics as one DataFrame. The function
goes to an `abacosamples/py3_func` actor, cloudpickled; its value comes back through the results queue. Runs
against the sandbox.

**Trust:** results are unpickled, and unpickling runs code: use only your own function actors or actors you
name yourself. Anyone with EXECUTE on a py3_func actor runs any code as its owner: do not share them.
"""),
    code("%load_ext swan_jupyter"),
    md("## Define a function and bind it\n`%%actor_function` runs the cell here, then binds the name to a handle "
       "on your function actor (`swan-fn-NAME`, reused or registered) with the workers asked for."),
    code("""%%actor_function score --workers 4
import math

def score(x):
    if x == 57:
        raise ValueError(f"no score for {x}")
    return math.sqrt(x) * 10"""),
    code("score"),
    md("## One call\nThe value comes back; `score.fn` is the local function."),
    code("score(16), score.fn(16)"),
    md("A remote exception is raised here as `RemoteFunctionError`, with the remote traceback and the execution id."),
    code("""from swan_jupyter.errors import RemoteFunctionError

try:
    score(57)
except RemoteFunctionError as err:
    print(err.execution_id)
    print(err.remote_traceback)"""),
    md("## A map over 200 inputs\nInput 57 fails on purpose: it becomes a row with its error, never an "
       "exception in the middle of the map, and the summary line names it."),
    code("inputs = list(range(200))"),
    code("%actors map score inputs df --max-in-flight 8 --timeout 120"),
    code("df.head()"),
    code("df[df.status != 'ok'][['arg', 'status', 'error', 'execution_id']]"),
    code("df.dtypes"),
    md("## Durations\n`duration` (finish - start) and `queue_wait` (start - received) come from each execution's "
       "own record."),
    code("df.groupby(df.index // 50 * 50)['duration'].describe()"),
    code("df.groupby('status', observed=True)[['duration', 'queue_wait']].mean()"),
    md("## With the execution metrics\nJoined on `execution_id`: cpu, io, worker and times next to each input."),
    code("""from swan_jupyter.frames.functions import join_metrics
from swan_jupyter.session import default_session

full = join_metrics(df, client=default_session().actors())
full.head()"""),
    md("## The explorer on the function actor"),
    code("from swan_jupyter.widgets import ExecutionExplorer\n\nexplorer = ExecutionExplorer.for_function(score)\nexplorer"),
    code("explorer.summary()"),
]

NOTEBOOKS = {
    "01-quickstart.ipynb": QUICKSTART,
    "02-deploy-and-pay.ipynb": DEPLOY,
    "03-actors.ipynb": ACTORS,
    "04-execution-metrics.ipynb": METRICS,
    "05-functions.ipynb": FUNCTIONS,
}

if __name__ == "__main__":
    import sys

    # ``make_notebooks.py 04-execution-metrics.ipynb`` rewrites only that one (the others stay as they are).
    for name in sys.argv[1:] or list(NOTEBOOKS):
        write(name, NOTEBOOKS[name])
