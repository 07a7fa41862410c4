"""Issue 21, the first hour round two: specs checked before paying, interrupts that keep your place, frontends
without widgets, readable status and numbers, an explorer that tells the truth, and small frictions. Each test
drives the real shell (the ``ip`` fixture), the real widgets and the real sandbox, as the user did."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from swan_jupyter.errors import ValidationError
from swan_jupyter.session import default_session, reset_default_session
from tests.helpers import TestingShell, new_task, wait_until


@pytest.fixture
def capped(ip: TestingShell) -> TestingShell:
    """The shell with an unattended cap, so ``--yes`` would pay."""
    ip.run_cell('%config SwanMagics.max_auto_spend = "5"')
    return ip


def _counts() -> tuple[int, int]:
    """(tasks on the server, payments in the local ledger)."""
    orch = default_session().orchestrator()
    return orch.get_task_list(size=100)["total"], len(orch.payments.entries())


@pytest.mark.parametrize(("body", "needles"), [
    ("services: [unclosed", ["YAML", "line 1"]),
    ('version: "2.0"\nservices:\n  web:\n    image: nginx\n   expose: [\n', ["YAML", "line 5"]),
    ("version: '2.0'\n", ["services"]),
    ("- a\n- b\n", ["mapping"]),
    ('version: "2.0"\nservices:\n  web:\n    expose: []\n', ["web", "image"]),
    ("key: !!python/object:os.system x", ["YAML"]),
    ("FROM\n", ["FROM", "line 1"]),
    ("FROM python:3.11\nRUNN pip install x\n", ["RUNN", "line 2"]),
    ("ARG V=1\nFROM python:$V\nCMD python -m http.server\nFROMM x\n", ["FROMM", "line 4"]),
])
def test_a_spec_that_cannot_deploy_is_refused_before_anything_is_created_or_paid(
        sandbox: dict[str, Any], capped: TestingShell, body: str, needles: list[str]) -> None:
    """Paying for what cannot run: `%%swan_deploy ... --yes` with a broken YAML or Dockerfile body says what is
    wrong and on which line, and creates and pays nothing."""
    reset_default_session()
    before = _counts()
    flag = " --dockerfile" if body.startswith(("FROM", "ARG")) else ""
    with pytest.raises(ValidationError) as caught:
        capped.run_cell_magic("swan_deploy", f"--hardware C1ae.small --duration 1h --yes{flag} t", body)
    text = str(caught.value)
    for needle in needles:
        assert needle in text, text
    assert "t" not in capped.user_ns
    assert _counts() == before


def test_good_specs_still_deploy_and_the_core_checks_them_too(sandbox: dict[str, Any], capped: TestingShell) -> None:
    """The checks refuse only what cannot deploy: the notebook's LDL YAML and a Dockerfile with comments,
    continuations and a heredoc are created; the core's task description refuses a broken one itself."""
    reset_default_session()
    yaml_body = ('version: "2.0"\nservices:\n  web:\n    image: nginx:latest\n    expose:\n      - port: 80\n'
                 '        as: 80\n        to:\n          - global: true\n')
    docker_body = ("# syntax=docker/dockerfile:1\nARG BASE=python:3.11\nFROM $BASE AS app\n"
                   "RUN pip install \\\n    requests\nRUN <<EOF\necho hi\nnot an instruction\nEOF\n"
                   "expose 8080\nCMD [\"python\", \"-m\", \"http.server\"]\n")
    capped.run_cell_magic("swan_deploy", "--hardware C1ae.small --duration 1h --no-pay y", yaml_body)
    capped.run_cell_magic("swan_deploy", "--hardware C1ae.small --duration 1h --no-pay d", docker_body)
    assert capped.user_ns["y"]["status"] == capped.user_ns["d"]["status"] == "initialized"
    before = _counts()
    with pytest.raises(ValidationError, match="line 1"):
        new_task(default_session().orchestrator(), hardware="C1ae.small", deploy_yaml="services: [x", pay=False)
    assert _counts() == before


@pytest.mark.parametrize(("line", "needle"), [
    ("--source-uri nonsense", "source_uri"),
    ("--source-uri ftp://example.org/x", "source_uri"),
    ("--repo github.com/me/app", "repo_uri"),
    ("--app hello-world --branch 'a b'", "branch"),
])
def test_other_sources_that_cannot_deploy_are_refused_before_paying(sandbox: dict[str, Any], capped: TestingShell,
                                                                    line: str, needle: str) -> None:
    """The same rule for the other sources: a source URI or repository that is not an http(s) URL, a branch
    with spaces: refused with the field's name, nothing created or paid."""
    reset_default_session()
    before = _counts()
    with pytest.raises(ValidationError, match=needle):
        capped.run_line_magic("swan_deploy", f"{line} --hardware C1ae.small --duration 1h --yes t")
    assert _counts() == before


# -- interrupts keep your place -------------------------------------------------------------------------------


def _shown(ip: TestingShell, cell: str, capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``cell`` as a user does (the shell renders its error); return what the cell printed."""
    capsys.readouterr()
    with pytest.raises(KeyboardInterrupt):
        ip.run_cell(cell)
    out = capsys.readouterr()
    return out.out + out.err


def _no_library_frames(text: str) -> None:
    assert "Traceback" not in text and "swan_jupyter/" not in text and "site-packages" not in text, text
    lines = [line for line in text.replace("\r", "\n").splitlines() if line.strip() and "%|" not in line]
    assert len(lines) == 1 and lines[0].startswith("Interrupted: "), text  # progress bars aside


def test_ctrl_c_during_deploy_wait_keeps_the_paid_task_and_says_how_to_follow_it(
        sandbox: dict[str, Any], capped: TestingShell, capsys: pytest.CaptureFixture[str]) -> None:
    """A real SIGINT while `%swan_deploy ... --yes --wait t` waits (the status polls are slowed down once the
    payment is on the server, and the signal is sent during one): `t` holds the paid task, one line says what
    happened and how to follow it, no library frames."""
    from swan_jupyter.sandbox.reliability import injected, set_faults
    from swan_jupyter.session import Session

    reset_default_session()
    watcher = Session(notify=lambda _m: None).orchestrator()
    known = {t["task"]["uuid"] for t in watcher.get_task_list(size=100)["list"]}
    main, stop = threading.get_ident(), threading.Event()

    def paid() -> bool:
        return stop.is_set() or any(t["task"]["uuid"] not in known and t["task"].get("status") != "initialized"
                                    for t in watcher.get_task_list(size=20)["list"])

    def interrupt_during_the_wait() -> None:
        if not wait_until(paid, timeout=120, interval=0.05) or stop.is_set():
            return
        set_faults(sandbox, "orchestrator", {"rules": [{"methods": ["GET"], "paths": ["^/v2/task_deployment/"],
                                                        "latency_ms": 4000}]})
        if wait_until(lambda: stop.is_set() or injected(sandbox, "orchestrator").get("orchestrator:latency", 0) > 0,
                      timeout=60, interval=0.05) and not stop.is_set():
            signal.pthread_kill(main, signal.SIGINT)

    thread = threading.Thread(target=interrupt_during_the_wait, daemon=True)
    thread.start()
    try:
        text = _shown(capped, "%swan_deploy --app hello-world --hardware C1ae.small --duration 1h --yes --wait t",
                      capsys)
    finally:
        stop.set()
        thread.join(10)
        set_faults(sandbox, "orchestrator", None)
    task = capped.user_ns["t"]
    uuid = task["task_uuid"]
    assert task["tx_hash"] and task["receipt"].validated
    assert f"task {uuid} is paid and still deploying" in text and f"%swan status {uuid}" in text and "`t`" in text
    _no_library_frames(text)


def test_ctrl_c_during_a_map_magic_keeps_the_partial_frame(sandbox: dict[str, Any], ip: TestingShell,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C during `%actors map h items res`: `res` holds the partial frame, one line says so."""
    reset_default_session()
    ip.run_cell_magic("actor_function", "nap --workers 2", "def nap(x):\n    import time\n    time.sleep(1.5)\n"
                                                           "    return x\n")
    ip.user_ns["items"] = list(range(12))
    main = threading.get_ident()
    timer = threading.Timer(4.0, lambda: signal.pthread_kill(main, signal.SIGINT))
    timer.start()
    try:
        text = _shown(ip, "%actors map nap items res --max-in-flight 2", capsys)
    finally:
        timer.cancel()
    res = ip.user_ns["res"]
    assert len(res) == 12 and (res["status"] == "ok").sum() >= 1 and (res["status"] == "cancelled").sum() >= 4
    assert "map interrupted" in text and "`res`" in text
    _no_library_frames(text)


def test_ctrl_c_during_a_sync_send_keeps_the_execution(sandbox: dict[str, Any], ip: TestingShell,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C while `%%actor_send ... --sync` waits: `ex` holds the execution it started, which still answers."""
    reset_default_session()
    actors = default_session().actors()
    actor = actors.add({"image": "abacosamples/sleep_loop", "name": "slow-sync"})
    ip.user_ns["a"] = actor
    main = threading.get_ident()
    timer = threading.Timer(1.5, lambda: signal.pthread_kill(main, signal.SIGINT))
    timer.start()
    try:
        text = _shown(ip, "%%actor_send {a.id} ex --sync --timeout 60\n{\"sleep\": 4, \"iterations\": 1}", capsys)
    finally:
        timer.cancel()
    ex = ip.user_ns["ex"]
    assert f"execution {ex.id}" in text and ".wait()" in text and "`ex`" in text
    _no_library_frames(text)
    assert ex.wait(60, poll=0.2)


def test_ctrl_c_during_metrics_keeps_the_rows_fetched(sandbox: dict[str, Any], ip: TestingShell,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C during `%actors metrics df` (a slow server): `df` holds a frame (the rows fetched so far)."""
    from swan_jupyter.sandbox.reliability import set_faults

    reset_default_session()
    actors = default_session().actors()
    actor = actors.add({"image": "abacosamples/test", "name": "metrics-interrupt"})
    ip.user_ns["a"] = actor
    ex = actors.send_message(actor.id, "hi")
    assert ex.wait(60, poll=0.2)
    set_faults(sandbox, "abaco", {"rules": [{"paths": ["search|executions"], "latency_ms": 3000}]})
    main = threading.get_ident()
    timer = threading.Timer(1.0, lambda: signal.pthread_kill(main, signal.SIGINT))
    timer.start()
    try:
        text = _shown(ip, "%actors metrics --actor {a.id} --workers 1 df", capsys)
    finally:
        timer.cancel()
        set_faults(sandbox, "abaco", None)
    assert "execution_id" in ip.user_ns["df"].columns
    assert "fetching was interrupted" in text and "`df`" in text
    _no_library_frames(text)


# -- terminal IPython and other frontends without widgets -----------------------------------------------------


def test_terminal_ipython_shows_the_quote_as_text_and_pays_on_y(sandbox: dict[str, Any], tmp_path: Path) -> None:
    """A real terminal IPython (pexpect, --colors=NoColor): `%swan_deploy` without --yes prints the quote as
    text and asks y/N; "y" pays. No widget repr anywhere, and an error shows no escape codes."""
    import pexpect

    child = pexpect.spawn(sys.executable, ["-m", "IPython", "--simple-prompt", "--colors=NoColor", "--no-banner",
                                           "--HistoryManager.enabled=False", f"--ipython-dir={tmp_path}"],
                          env={**os.environ, "TERM": "dumb"}, encoding="utf-8", timeout=120, cwd=str(tmp_path))
    try:
        child.expect_exact("In [1]: ")
        child.sendline("%load_ext swan_jupyter")
        child.expect_exact("In [2]: ")
        child.sendline("%swan_deploy --app hello-world --hardware C1ae.small --duration 1h task")
        child.expect_exact("[y/N] ")
        quote = child.before
        child.sendline("y")
        child.expect_exact("In [3]: ")
        receipt = child.before
        child.sendline('print("PAID", task["status"], bool(task["tx_hash"]))')
        child.expect_exact("In [4]: ")
        paid = child.before
        child.sendline("%swan_deploy --app hello-world --hardware G9.nonexistent --yes")
        child.expect_exact("In [5]: ")
        error = child.before
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert "Confirm payment" in quote and "0.48 SWAN" in quote and "C1ae.small" in quote
    assert "VBox" not in quote + receipt and "Widget" not in quote + receipt
    assert "validated" in receipt.lower()
    assert "PAID paid True" in paid
    assert "Unknown hardware" in error and "\x1b" not in error


def test_piped_ipython_says_how_to_pay_without_widgets_and_prints_no_escape_codes(sandbox: dict[str, Any],
                                                                                  tmp_path: Path) -> None:
    """IPython reading a pipe (default colours): the quote as text and "no widget frontend: pass --yes within a
    cap, or `%swan pay TASK`"; the task stays unpaid; errors carry no raw escape codes."""
    script = ("%load_ext swan_jupyter\n"
              "%swan_deploy --app hello-world --hardware C1ae.small --duration 1h task\n"
              "print('STATUS', task['status'], task['tx_hash'])\n"
              "%swan_deploy --app hello-world --hardware G9.nonexistent --yes\n")
    done = subprocess.run([sys.executable, "-m", "IPython", "--no-banner", "--HistoryManager.enabled=False",
                           f"--ipython-dir={tmp_path}"], input=script, capture_output=True, text=True, timeout=180,
                          cwd=str(tmp_path))
    text = done.stdout + done.stderr
    assert "Confirm payment" in text and "no widget frontend: pass --yes within a cap" in text, text
    assert "%swan pay " in text and "VBox" not in text
    assert "STATUS initialized None" in text
    error_lines = [line for line in text.splitlines() if "Unknown hardware" in line]
    assert error_lines and not any("\x1b" in line for line in error_lines), error_lines


def test_a_shell_without_widgets_never_displays_one(sandbox: dict[str, Any], ip: TestingShell,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """SwanMagics.widgets = "off" (what auto-detection gives outside a Jupyter kernel): forms and the explorer
    say what to use instead; --watch shows the status once; nothing displays a widget."""
    from IPython.core.error import UsageError
    from IPython.utils.capture import capture_output

    ip.run_line_magic("config", 'SwanMagics.widgets = "off"')
    for line in ("form", "create-form", "explore"):
        with pytest.raises(UsageError, match="no widget frontend"):
            ip.run_line_magic("actors", line)
    with pytest.raises(UsageError, match="no widget frontend"):
        ip.run_line_magic("swan_deploy", "--form")
    reset_default_session()
    ip.run_cell('%config SwanMagics.max_auto_spend = "5"')
    ip.run_line_magic("swan_deploy", "--app hello-world --hardware C1ae.small --duration 1h --yes t")
    with capture_output() as out:
        shown = ip.run_line_magic("swan", f"status {ip.user_ns['t']['task_uuid']} --watch")
    assert "no widget frontend" in out.stdout and "C1ae.small" in str(shown)
    assert not any("application/vnd.jupyter.widget-view+json" in o.data for o in out.outputs)


# -- status and numbers a person can read ----------------------------------------------------------------------


def _decimals(text: str, unit: str = "SWAN") -> list[int]:
    """The number of decimals of every ``<number> <unit>`` in ``text``."""
    import re

    return [len(m.group(1) or "") for m in re.finditer(rf"\d+(?:\.(\d+))? {unit}\b", text)]


def test_status_words_and_amounts_a_person_can_read(sandbox: dict[str, Any], capped: TestingShell) -> None:
    """A running task says "running" (the server's "completed" one click away), a terminated one "terminated"
    with its jobs stopped (not "not answering yet") and no raw "Result:" block; every amount (receipt fee,
    refund in the magic and in the widget, balance) goes through one formatter with at most 4 decimals."""
    from swan_jupyter.widgets.status import DeploymentStatus

    reset_default_session()
    orch = default_session().orchestrator()
    capped.run_line_magic("swan_deploy", "--app hello-world --hardware C1ae.small --duration 2h --yes --wait t")
    uuid = capped.user_ns["t"]["task_uuid"]
    card = capped.run_line_magic("swan", f"status {uuid}")
    assert "running (server: completed)" in str(card)
    html = card._repr_html_()
    assert ">running</span>" in html and "<details" in html and "<code>completed</code>" in html
    receipt = str(capped.user_ns["t"]["receipt"])
    fee_line = next(line for line in receipt.splitlines() if line.strip().startswith("fee"))
    assert "SWAN" in fee_line and "wei" not in fee_line, fee_line
    balance = capped.run_line_magic("swan", "balance")
    assert "Wallet balance" in str(balance) and "swan_wei" not in str(balance) and balance["swan_wei"] > 0
    assert all(d <= 4 for d in _decimals(str(balance)))
    view = DeploymentStatus(orch, uuid, autostart=False, background=False)
    assert ">running</span>" in view.header.value
    confirm = view.ask_terminate()
    confirm.confirm_button.click()
    assert confirm.state == "done", confirm.status.value
    assert "retryable" not in confirm.review.value and "Result" not in confirm.review.value
    assert "terminated" in confirm.review.value
    assert "not answering yet" not in view.jobs_html.value and "(stopped)" in view.jobs_html.value
    assert _decimals(view.message.value) and all(d <= 4 for d in _decimals(view.message.value)), view.message.value
    capped.run_line_magic("swan_deploy", "--app hello-world --hardware C1ae.small --duration 2h --yes u")
    other = capped.user_ns["u"]["task_uuid"]
    time.sleep(1)
    ended = capped.run_line_magic("swan", f"terminate {other} --yes")
    assert _decimals(str(ended)) and all(d <= 4 for d in _decimals(str(ended))), str(ended)


def test_the_form_says_paid_after_paying(sandbox: dict[str, Any]) -> None:
    """After the click pays, the deploy form no longer says "confirm the payment to start it"."""
    from swan_jupyter.widgets.deploy_form import DeployForm

    reset_default_session()
    form = DeployForm(default_session().orchestrator(), background=False, status_interval=0.2)
    form.hardware.value, form.source.value, form.app.value = "C1ae.small", "App image", "hello-world"
    form.deploy_button.click()
    assert form.confirmation is not None and "confirm the payment" in form.message.value
    form.confirmation.confirm_button.click()
    assert form.confirmation.state == "done"
    assert "confirm the payment" not in form.message.value and "paid" in form.message.value
    if form.status_view is not None:
        form.status_view.stop()


def test_a_sync_answer_is_decoded(sandbox: dict[str, Any], ip: TestingShell) -> None:
    """`%%actor_send {wc.id} run --sync`: `run` holds the word counts as a dict, not raw bytes."""
    reset_default_session()
    actor = default_session().actors().add({"image": "abacosamples/wc", "name": "wc-sync"})
    ip.user_ns["wc"] = actor
    ip.run_cell_magic("actor_send", "{wc.id} run --sync --timeout 60 --text", "the cat the hat")
    run = ip.user_ns["run"]
    assert isinstance(run, dict) and run["the"] == 2 and run["cat"] == 1, run  # wc sends json.dumps(counts)


# -- the explorer tells the truth --------------------------------------------------------------------------------


SCORE = "def score(x):\n    if x == 57:\n        raise ValueError('no 57')\n    return x * 2\n"


def test_a_call_that_raised_is_a_failure_in_the_explorer_and_the_frames(sandbox: dict[str, Any],
                                                                        ip: TestingShell) -> None:
    """Notebook 05: `score(57)` and map input 57 raised. The metrics frame tells the execution's status
    (COMPLETE, exit 0) apart from the call's outcome (raised); the explorer counts both as failures and lists
    them in its Failures tab; the map frame has the execution status beside the call status. Its summary
    has no float noise."""
    from swan_jupyter.errors import RemoteFunctionError

    reset_default_session()
    ip.run_cell_magic("actor_function", "score --workers 2", SCORE)
    with pytest.raises(RemoteFunctionError, match="no 57"):
        ip.run_cell("score(57)")
    ip.user_ns["items"] = [55, 56, 57, 58]
    ip.run_line_magic("actors", "map score items res")
    res = ip.user_ns["res"]
    assert res.loc[2, "status"] == "error" and res.loc[2, "execution_status"] == "COMPLETE"  # input 57
    assert res.loc[1, "status"] == "ok" and res.loc[1, "execution_status"] == "COMPLETE"
    from swan_jupyter.frames.functions import function_metrics
    from swan_jupyter.widgets.explorer import ExecutionExplorer

    metrics = function_metrics(ip.user_ns["score"])
    raised = metrics[metrics["call_outcome"] == "raised"]
    assert len(raised) == 2 and set(raised["status"]) == {"COMPLETE"} and set(raised["exit_code"]) == {0}
    explorer = ExecutionExplorer.for_function(ip.user_ns["score"])
    summary = explorer.summary()
    assert summary["count"] == 5 and summary["success_rate"] == 0.6
    assert set(explorer.failures()["execution_id"]) == set(raised["execution_id"])
    assert len(explorer.failure_list.options) == 2 and "call raised" in explorer.failure_list.options[0][0]
    assert "success rate <b>60.0%</b>" in explorer.summary_html.value
    for value in summary.values():
        if isinstance(value, float):
            assert value == round(value, 4), summary


def test_the_explorer_waits_for_its_data_and_shows_every_column(sandbox: dict[str, Any]) -> None:
    """Notebook 04, Run All: `explorer.summary_table()` right after creating the explorer (which loads in
    the background) returns the loaded table, not an empty one. The widget is not boxed in 700 px; the legends
    sit beside or above the plots, and a burst at the edge keeps a bin's width."""
    from swan_jupyter.widgets.explorer import ExecutionExplorer

    reset_default_session()
    actors = default_session().actors()
    actor = actors.add({"image": "abacosamples/test", "name": "explorer-wait"})
    for n in range(3):
        assert actors.send_message(actor.id, f"m{n}").wait(60, poll=0.2)
    explorer = ExecutionExplorer(actors=actors)  # background=True, as in a notebook
    table = explorer.summary_table().round(3)
    assert len(table) >= 1 and "explorer-wait" in set(table["actor"]), table
    assert not explorer.loading
    assert explorer.widget.layout.max_width in (None, "", "100%")
    figure = explorer.figures["distributions"]
    figure.canvas.draw()
    legend = figure.axes[0].get_legend().get_window_extent()
    for ax in figure.axes:
        assert not legend.overlaps(ax.get_window_extent()), "the legend covers a plot"
    throughput = explorer.figures["throughput"].axes[0]
    low, high = throughput.get_xlim()
    bars = [p.get_x() for p in throughput.patches] + [p.get_x() + p.get_width() for p in throughput.patches]
    assert low < min(bars) and high > max(bars)


def test_an_unknown_sandbox_image_warns_at_creation_and_its_failures_are_listed(sandbox: dict[str, Any]) -> None:
    """An actor created with a typo'd image (`abacosamples/wcc`) is warned about at creation. A message sent
    to it never runs: the explorer says it has not ended (not a hidden failure); what it counts as failed is
    what its Failures tab lists."""
    from swan_jupyter.frames.actors import execution_metrics
    from swan_jupyter.widgets.explorer import ExecutionExplorer

    reset_default_session()
    actors = default_session().actors()
    with pytest.warns(RuntimeWarning, match="abacosamples/wcc"):
        actor = actors.add({"image": "abacosamples/wcc", "name": "typo-image"})
    assert actor.status == "ERROR" and "wcc" in (actor.status_message or "")
    good = actors.add({"image": "abacosamples/test", "name": "typo-neighbour"})
    actors.send_message(actor.id, "hello")
    assert actors.send_message(good.id, "hello").wait(60, poll=0.2)
    explorer = ExecutionExplorer(execution_metrics(actors, [actor.id, good.id], progress_after=-1),
                                 background=False)
    summary = explorer.summary()
    assert summary["count"] == 2 and summary["pending"] == 1 and summary["success_rate"] == 1.0, summary
    assert len(explorer.failures()) == 0 and "1 not ended yet" in explorer.summary_html.value


# -- small frictions ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("magic", ["actor_send", "actor_function", "swan_deploy"])
def test_cell_magic_help_with_an_empty_body_shows_the_help(ip: TestingShell, magic: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`%%actor_send --help` alone in a cell shows the help, not "the cell body is empty"."""
    ip.run_cell(f"%%{magic} --help\n")
    out = capsys.readouterr().out
    assert f"%{magic}" in out and "usage" in out.lower(), out


def test_resume_of_an_unknown_task_says_so(sandbox: dict[str, Any], ip: TestingShell) -> None:
    """`%swan resume nonsense` says "no task nonsense" instead of returning None silently."""
    from swan_jupyter.errors import SwanJupyterError

    reset_default_session()
    with pytest.raises(SwanJupyterError, match=r"No task 'nonsense'"):
        ip.run_line_magic("swan", "resume nonsense")


def test_max_auto_spend_accepts_numbers(ip: TestingShell) -> None:
    """`%config SwanMagics.max_auto_spend = 5` (an int) and 2.5 (a float) are accepted."""
    magics = ip.magics_manager.registry["SwanMagics"]
    ip.run_cell("%config SwanMagics.max_auto_spend = 5")
    assert magics.max_auto_spend == "5"
    ip.run_cell("%config SwanMagics.max_auto_spend = 2.5")
    assert magics.max_auto_spend == "2.5"
    ip.run_cell('%config SwanMagics.max_auto_spend = ""')


def test_swan_config_without_the_sandbox_extra_still_shows_the_settings(tmp_path: Path) -> None:
    """`%swan_config` without the [sandbox] extra shows the settings, with the install hint beside them."""
    from tests.test_first_hour import WITHOUT_SANDBOX_EXTRA

    environ = {**os.environ, "SWAN_SANDBOX_STATE": str(tmp_path / "state")}
    magic = subprocess.run([sys.executable, "-c", WITHOUT_SANDBOX_EXTRA + (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance(); ip.run_line_magic('load_ext', 'swan_jupyter')\n"
        "ip.run_cell('%swan_config')\n")], capture_output=True, text=True, env=environ, timeout=120,
        cwd=str(tmp_path))
    shown = magic.stdout + magic.stderr
    assert "swan_jupyter settings" in shown and "profile" in shown, shown
    assert 'pip install "swan-jupyter[sandbox]"' in shown and "Traceback" not in shown, shown


def test_the_notice_names_the_service_that_uses_the_sandbox(sandbox: dict[str, Any], ip: TestingShell) -> None:
    """With SWAN_ORCHESTRATOR_URL and SWAN_API_KEY set, the notice says Abaco uses the sandbox and the
    Orchestrator does not (not "no endpoints configured")."""
    from IPython.utils.capture import capture_output

    from swan_jupyter import sandbox_link
    from tests.helpers import env

    orch_url = sandbox["orchestrator"]["url"]
    sandbox_link._announced.clear()
    with env(SWAN_ORCHESTRATOR_URL=orch_url, SWAN_API_KEY=sandbox["orchestrator"]["api_key"]):
        reset_default_session()
        with capture_output() as out:
            ip.run_line_magic("swan_config", "")
    reset_default_session()
    text = " ".join(o.data.get("text/plain", "") for o in out.outputs) + out.stdout + out.stderr
    assert "no endpoints configured" not in text, text
    assert "Abaco uses the local sandbox (ABACO_URL is not set)" in text, text


@pytest.mark.chain  # starts a full sandbox (chain included) of its own
def test_a_sandbox_start_says_so_first_keeps_the_time_scale_and_reports_errors_on_lines(tmp_path: Path) -> None:
    """A start announces itself before the wait; a sandbox the user ran at time scale 1 starts again at 1; a
    start that fails reports the reason once, on its own line."""
    from swan_jupyter import sandbox_link
    from swan_jupyter.errors import ConfigurationError
    from swan_jupyter.sandbox import host

    state = tmp_path / "scale-one"
    host.start(state, time_scale=1.0)
    host.stop(state)
    said: list[str] = []
    try:
        sandbox_link.ensure_sandbox(state, notify=said.append)
        assert host.status(state)["time_scale"] == 1.0
    finally:
        host.stop(state)
    assert len(said) == 2 and said[0].startswith("swan_jupyter: starting the local sandbox"), said
    failed = subprocess.run([sys.executable, "-m", "swan_jupyter.sandbox", "start", "--state", str(tmp_path / "x"),
                             "--time-scale", "-5"], capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
    assert failed.returncode != 0 and "error:" in failed.stderr  # a start that fails, as the CLI reports it
    error = sandbox_link.start_failure(failed.stderr + failed.stderr, tmp_path / "x")
    assert isinstance(error, ConfigurationError)
    text = str(error)
    assert "why.error" not in text and ".\nHint: Run" in text and "\n  " in error.message, text
    body = error.message.split("\n", 1)[1].splitlines()
    assert len(set(body)) == len(body), text  # nothing said twice


def test_the_cli_help_has_no_rst_and_config_is_aligned(tmp_path: Path) -> None:
    """`swan-jupyter --help` is plain text (no RST backticks) and lists the commands; `swan-jupyter config`
    aligns every value, the longest keys included."""
    cli = str(Path(sys.executable).parent / "swan-jupyter")
    helped = subprocess.run([cli, "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "``" not in helped.stdout and "sandbox install-chain" in helped.stdout
    shown = subprocess.run([cli, "config"], capture_output=True, text=True, timeout=60,
                           env={**os.environ, "SWAN_JUPYTER_CONFIG": str(tmp_path / "none.toml")})
    lines = [line for line in shown.stdout.splitlines() if line.strip()]
    starts = {len(line) - len(line.split(None, 1)[1]) for line in lines}
    assert len(lines) > 20 and len(starts) == 1, shown.stdout


def test_the_readme_names_every_magic_in_the_lazy_snippet_and_the_intro(ip: TestingShell) -> None:
    """The README's lazy-magics snippet and its intro list every magic the extension registers
    (`actor_function` was missing from both)."""
    from types import SimpleNamespace

    from swan_jupyter.magics import MAGICS_CLASSES
    from tests.test_readme import README, blocks

    names = set()
    for spec in MAGICS_CLASSES:
        instance = ip.magics_manager.registry[spec.partition(":")[2]]
        names |= set(instance.magics["line"]) | set(instance.magics["cell"])
    snippet = next(b for b in blocks("python") if "lazy_magics" in b)
    c = SimpleNamespace(MagicsManager=SimpleNamespace())
    exec(snippet, {"c": c})
    assert set(c.MagicsManager.lazy_magics) == names
    intro = README.read_text().split("\n## ", 1)[0]
    missing = [n for n in names if f"%{n}`" not in intro]
    assert not missing, missing


@pytest.mark.chain  # starts a full sandbox (chain included) of its own
def test_sandbox_stop_with_open_connections_leaves_no_task_exceptions_in_the_log(tmp_path: Path) -> None:
    """`swan-jupyter sandbox stop` while a kernel holds keep-alive connections: host.log gets no "Task
    exception was never retrieved ... Invalid file descriptor: -1" tracebacks."""
    import requests

    from swan_jupyter.sandbox import host
    from swan_jupyter.sandbox.reliability import set_faults

    state = tmp_path / "stop-clean"
    description = host.start(state)
    kept = requests.Session()
    slow: threading.Thread | None = None
    try:
        for service in ("orchestrator", "abaco"):
            for _ in range(2):
                assert kept.get(description[service]["url"] + "/_sandbox/health", timeout=10).status_code == 200
        # and one request still in flight when the stop comes (a slow answer), as from a busy kernel
        set_faults(description, "abaco", {"rules": [{"latency_ms": 3000}]})
        def slow_request() -> None:
            with contextlib.suppress(requests.RequestException):  # the stop may cut it: that is the point
                requests.get(description["abaco"]["url"] + "/actors", timeout=10)

        slow = threading.Thread(target=slow_request, daemon=True)
        slow.start()
        time.sleep(0.5)
        done = subprocess.run([str(Path(sys.executable).parent / "swan-jupyter"), "sandbox", "stop", "--state",
                               str(state)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "sandbox stopped" in done.stdout
    finally:
        kept.close()
        host.stop(state)
        if slow is not None:
            slow.join(15)
    log = (state / "host.log").read_text()
    assert "Task exception was never retrieved" not in log and "Invalid file descriptor" not in log, log[-3000:]


def test_a_missing_package_names_the_image_environment_and_a_timeout_says_it_stopped(sandbox: dict[str, Any]
                                                                                      ) -> None:
    """A function importing a package its image lacks gets a hint naming the image's environment; a call over
    its timeout says whether its execution was stopped."""
    from swan_jupyter.errors import RemoteFunctionError, RequestTimeoutError

    reset_default_session()
    client = default_session().actors()

    def needs_a_package(x: int) -> int:
        import no_such_package_swan  # type: ignore[import-not-found]  # noqa: F401

        return x

    def slow(x: int) -> int:
        import time as t

        t.sleep(20)
        return x

    handle = client.function(needs_a_package, workers=1)
    with pytest.raises(RemoteFunctionError) as caught:
        handle(1)
    assert caught.value.remote_type == "ModuleNotFoundError"
    assert handle.image in (caught.value.hint or "") and "environment" in (caught.value.hint or ""), caught.value
    slow_handle = client.function(slow, workers=1, timeout=2)
    with pytest.raises(RequestTimeoutError) as late:
        slow_handle(1)
    assert "was stopped" in late.value.message, late.value.message
