"""Write the notebooks in notebooks/ from the cell lists below (outputs empty, kernelspec python3).

The notebooks are the source of truth once written; this script is how they were first laid out and can
regenerate them: ``.venv/bin/python scripts/make_notebooks.py``.
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
# Execution metrics as data

Generate a realistic load across several actors, then analyse the execution-metrics DataFrame with pandas:
groupby, percentiles, time series, plots, and the interactive ExecutionExplorer.
"""),
    code("%load_ext swan_jupyter"),
    code("""from swan_jupyter.session import default_session

actors = default_session().actors()
created = [actors.add({"image": "abacosamples/wc", "name": f"metrics-wc-{i}"}) for i in range(4)]
created.append(actors.add({"image": "abacosamples/sleep_loop", "name": "metrics-sleep"}))
[a.id for a in created]"""),
    code("""import random

executions = []
for i in range(60):
    actor = random.choice(created)
    body = {"iterations": 1, "sleep": 0.05} if actor.name == "metrics-sleep" else " ".join(["word"] * random.randint(1, 50))
    executions.append(actors.send_message(actor.id, body))
for exe in executions:
    exe.wait(120)
len(executions)"""),
    code("%actors metrics df\ndf.dtypes"),
    code("df.groupby('actor_id')['runtime'].describe(percentiles=[0.5, 0.95])"),
    code("df.groupby('status', observed=True).size()"),
    code("df.set_index('message_received_time').resample('1s')['execution_id'].count().plot(title='executions per second');"),
    code("df.boxplot(column='runtime', by='actor_id', rot=45);"),
    md("## The explorer\nFilters by actor, status and time; summary figures; plots. `explorer.filtered` is the filtered frame."),
    code("%actors explore explorer\nexplorer"),
    code("explorer.set_filters(statuses=['COMPLETE'])\nexplorer.summary()"),
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
    code("explorer = score.explore()\nexplorer"),
    code("explorer.summary()"),
]

if __name__ == "__main__":
    write("01-quickstart.ipynb", QUICKSTART)
    write("02-deploy-and-pay.ipynb", DEPLOY)
    write("03-actors.ipynb", ACTORS)
    write("04-execution-metrics.ipynb", METRICS)
    write("05-functions.ipynb", FUNCTIONS)
