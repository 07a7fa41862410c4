"""Issue 14, a newcomer's first hour: the demo as root, a pip install without the sandbox, the default time
scale, the sandbox notice, and the messages a first session meets. Everything runs against real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from IPython.core.error import UsageError

from swan_jupyter.errors import ValidationError
from swan_jupyter.session import reset_default_session
from tests.helpers import TestingShell, env, free_port, new_task, wait_until

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.chain  # scripts/demo starts the full sandbox
def test_demo_starts_jupyterlab_and_the_sandbox_quietly_and_ctrl_c_stops_both(tmp_path: Path) -> None:
    """scripts/demo as the current user (root in containers and CI): JupyterLab starts (--allow-root when the
    uid is 0), the installation step prints no setuptools banner, and Ctrl-C leaves no process behind."""
    from swan_jupyter.sandbox import host

    port, token = free_port(), "demo-test-token"
    environ = {**os.environ, "SWAN_SANDBOX_STATE": str(tmp_path / "state"),
               "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
               "JUPYTER_ARGS": f"--port={port} --ServerApp.port_retries=0 --IdentityProvider.token={token}"}
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(ROOT / "scripts" / "demo")], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=environ, start_new_session=True)
    try:
        def lab_answers() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/api/status", params={"token": token},
                                    timeout=2).status_code == 200
            except requests.RequestException:
                return proc.poll() is not None

        assert wait_until(lab_answers, timeout=240, interval=0.5), log.read_text()[-3000:]
        assert proc.poll() is None, log.read_text()[-3000:]
        assert host.status(tmp_path / "state")["running"]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
            host.stop(tmp_path / "state")
            pytest.fail("the demo did not stop on Ctrl-C")
    text = log.read_text()
    assert "Running as root is not recommended" not in text
    assert "Editable installation" not in text
    assert not host.status(tmp_path / "state")["running"]
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert left == [], f"processes left in the demo's group: {left}"


@pytest.fixture
def own_sandbox(tmp_path: Path) -> Iterator[Path]:
    """A state folder for a sandbox the test has the extension start; stopped at the end."""
    from swan_jupyter.sandbox import host

    state = tmp_path / "own-sandbox"
    try:
        with env(SWAN_SANDBOX_STATE=str(state)):
            yield state
    finally:
        host.stop(state)


def test_a_sandbox_started_by_the_extension_deploys_with_wait_in_seconds_and_says_so_as_information(
        own_sandbox: Path, ip: TestingShell) -> None:
    """Items 4 and 5: the extension starts the sandbox at the default time scale, so a --wait deploy takes
    seconds; the notice is an informational display (not stderr) whose stop command works as printed."""
    from IPython.utils.capture import capture_output

    from swan_jupyter.sandbox import host

    reset_default_session()
    with capture_output() as out:
        ip.run_line_magic("swan_config", "")
    assert "local sandbox" not in out.stderr
    notices = [o for o in out.outputs if "local sandbox" in o.data.get("text/plain", "")]
    assert len(notices) == 2 and all("text/html" in n.data for n in notices)  # "starting…", then "started"
    assert notices[0].data["text/plain"].startswith("swan_jupyter: starting the local sandbox")
    text = notices[1].data["text/plain"]
    assert str(own_sandbox) in text
    assert host.status(own_sandbox)["time_scale"] >= 30
    ip.run_cell('%config SwanMagics.max_auto_spend = "5"')
    began = time.monotonic()
    ip.run_line_magic("swan_deploy", "--app hello-world --hardware C1ae.small --duration 1h --yes --wait task")
    # seconds, not the two real minutes of time scale 1 (30 s of slack for a loaded machine)
    assert time.monotonic() - began < 30
    assert ip.user_ns["task"]["status"] == "completed"
    command = text.split("`")[1]
    assert "--state" in command
    done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=90, env={
        k: v for k, v in os.environ.items() if k != "SWAN_SANDBOX_STATE"})
    assert done.returncode == 0 and "sandbox stopped" in done.stdout, done.stdout + done.stderr
    assert not host.status(own_sandbox)["running"]


# Runs the code given after it in a process where the sandbox extra's modules cannot be imported, as after
# `pip install swan-jupyter` without [sandbox] (the wheel test below does it with a real installation).
WITHOUT_SANDBOX_EXTRA = """
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("uvicorn", "starlette", "multipart", "jwt", "hashids", "cloudpickle"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Absent())
"""


def test_without_the_sandbox_extra_the_cli_and_the_magics_say_how_to_install_it(tmp_path: Path) -> None:
    """Item 2: a short error naming `pip install "swan-jupyter[sandbox]"` and real endpoints, no traceback."""
    environ = {**os.environ, "SWAN_SANDBOX_STATE": str(tmp_path / "state")}
    cli = subprocess.run([sys.executable, "-c", WITHOUT_SANDBOX_EXTRA + "from swan_jupyter.cli import main\n"
                          "sys.exit(main(['sandbox', 'start']))"], capture_output=True, text=True, env=environ,
                         timeout=120)
    assert cli.returncode == 2 and "Traceback" not in cli.stderr, cli.stderr
    assert 'pip install "swan-jupyter[sandbox]"' in cli.stderr and len(cli.stderr.splitlines()) <= 4
    magic = subprocess.run([sys.executable, "-c", WITHOUT_SANDBOX_EXTRA + (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance(); ip.run_line_magic('load_ext', 'swan_jupyter')\n"
        "ip.run_cell('%swan_config')\n")], capture_output=True, text=True, env=environ, timeout=120)
    shown = magic.stdout + magic.stderr
    assert 'pip install "swan-jupyter[sandbox]"' in shown and "SWAN_ORCHESTRATOR_URL" in shown, shown
    assert "Traceback" not in shown and "No module named" not in shown.split("Hint")[0].replace(
        "missing", ""), shown
    assert not (tmp_path / "state" / "sandbox.json").exists()


def test_install_chain_installs_the_pinned_anvil_into_the_user_data_folder(tmp_path: Path) -> None:
    """Item 3: `swan-jupyter sandbox install-chain` puts the pinned anvil npm package in the user data folder."""
    import json

    from swan_jupyter.sandbox.chain import anvil

    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"][anvil.ANVIL_NPM_PACKAGE]
    assert pinned == anvil.ANVIL_NPM_VERSION
    environ = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-m", "swan_jupyter.cli", "sandbox", "install-chain"], cwd=tmp_path,
                          capture_output=True, text=True, env=environ, timeout=300)
    binary = tmp_path / "data" / "swan-jupyter" / "chain" / anvil.ANVIL_RELATIVE_PATH
    assert done.returncode == 0 and str(binary) in done.stdout, done.stdout + done.stderr
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30).stdout
    assert anvil.ANVIL_NPM_VERSION in version


def test_install_chain_without_npm_says_how_to_get_it(tmp_path: Path) -> None:
    """Item 3: a missing npm gets a hint, not "command not found"."""
    environ = {**os.environ, "PATH": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-m", "swan_jupyter.cli", "sandbox", "install-chain"], cwd=tmp_path,
                          capture_output=True, text=True, env=environ, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "npm is needed" in done.stderr and "apt-get install npm" in done.stderr and "SWAN_ANVIL" in done.stderr


@pytest.mark.parametrize(("line", "needle"), [
    ("--app hello-world --hardware C1ae.small --region Nowhere-XX", "not offered in region"),
    ("--app no-such-app --hardware C1ae.small", "Invalid app_repo_image"),
    ("--app hello-world --hardware G9.nonexistent", "Unknown hardware"),
    ("--app hello-world --hardware C1ae.small --duration=-1h", "must be positive"),
    ("--app hello-world --hardware C1ae.small --duration -1h", "must be positive"),
])
def test_every_input_is_checked_before_the_spending_cap(sandbox: dict[str, Any], ip: TestingShell, line: str,
                                                         needle: str) -> None:
    """Item 8: with --yes and no cap, a wrong region, app, hardware or duration is reported as such (not as
    "needs a spending cap"), and nothing is created."""
    from swan_jupyter.session import default_session

    reset_default_session()
    before = default_session().orchestrator().get_task_list(size=100)["total"]
    with pytest.raises((ValidationError, UsageError), match=needle):
        ip.run_line_magic("swan_deploy", line + " --yes")
    assert default_session().orchestrator().get_task_list(size=100)["total"] == before


def test_negative_durations_must_be_positive_everywhere(sandbox: dict[str, Any], ip: TestingShell) -> None:
    """Item 8: the core, %swan renew and the deploy form say "must be positive"."""
    from swan_jupyter.orchestrator.amounts import parse_duration
    from swan_jupyter.session import default_session
    from swan_jupyter.widgets.deploy_form import DeployForm

    for value in ("-1h", -3600, " -90m", "0"):
        with pytest.raises(ValidationError, match="must be positive"):
            parse_duration(value)
    reset_default_session()
    with pytest.raises(ValidationError, match="must be positive"):
        ip.run_line_magic("swan", "renew 3f1e2d4c-0000-4000-8000-000000000000 --duration -1h --yes")
    form = DeployForm(default_session().orchestrator())
    form.duration.value = "-1h"
    assert "must be positive" in form.errors["duration"].value


def test_tasks_without_a_wallet_says_where_to_set_one(sandbox: dict[str, Any], ip: TestingShell) -> None:
    """Item 8: %swan tasks on a profile without a wallet gets a hint."""
    from swan_jupyter.session import default_session

    reset_default_session()
    default_session().configure(profile="testnet", orchestrator_url=default_session().settings.orchestrator_url)
    with pytest.raises(ValidationError) as caught:
        ip.run_line_magic("swan", "tasks")
    assert "wallet_address is required" in caught.value.message
    assert "SWAN_WALLET_ADDRESS" in (caught.value.hint or "") and "wallet_address" in (caught.value.hint or "")


def test_broken_json_is_refused_with_the_parse_error_unless_text(sandbox: dict[str, Any], ip: TestingShell) -> None:
    """Item 9: a body that looks like JSON but does not parse is refused (nothing sent); --text sends it."""
    from swan_jupyter.session import default_session

    reset_default_session()
    actors = default_session().actors()
    actor = actors.add({"image": "abacosamples/test", "name": "broken-json"})
    ip.user_ns["a"] = actor
    with pytest.raises(UsageError, match=r"not valid JSON.*line 1 column .*--text"):
        ip.run_cell_magic("actor_send", "{a.id}", '{"broken json": ')
    assert actors.list_executions(actor.id).executions == []
    ip.run_cell_magic("actor_send", "{a.id} ex --text", '{"broken json": ')
    assert ip.user_ns["ex"].wait(60, poll=0.2)


def _widget_of(outputs: list[Any]) -> Any:
    """The ipywidgets object a cell displayed (found by its model id, as the front end finds it)."""
    from ipywidgets.widgets.widget import _instances

    for output in outputs:
        view = output.data.get("application/vnd.jupyter.widget-view+json")
        if view:
            return _instances[view["model_id"]]
    raise AssertionError("no widget was displayed")


def _buttons(widget: Any) -> dict[str, Any]:
    """Every button inside ``widget``, by description."""
    import ipywidgets as w

    found: dict[str, Any] = {}
    stack = [widget]
    while stack:
        item = stack.pop()
        if isinstance(item, w.Button):
            found[item.description] = item
        stack.extend(getattr(item, "children", ()))
    return found


def _html_of(widget: Any) -> str:
    import ipywidgets as w

    parts, stack = [], [widget]
    while stack:
        item = stack.pop(0)
        if isinstance(item, w.HTML):
            parts.append(item.value)
        stack.extend(getattr(item, "children", ()))
    return "\n".join(parts)


def test_status_renders_a_compact_task_card(sandbox: dict[str, Any], ip: TestingShell) -> None:
    """Item 6: %swan status without --watch, and wait_until_running, give a card (status, hardware, region,
    times, price with its unit, jobs with their URLs, payments) in HTML and in a short text."""
    from swan_jupyter.session import default_session

    reset_default_session()
    ip.run_cell('%config SwanMagics.max_auto_spend = "5"')
    ip.run_line_magic("swan_deploy", "--app hello-world --hardware C1ae.small --region Quebec-CA --yes task")
    uuid = ip.user_ns["task"]["task_uuid"]
    running = default_session().orchestrator().wait_until_running(uuid, timeout=30, poll=0.2)
    card = ip.run_line_magic("swan", f"status {uuid}")
    for shown in (card, running):
        html, text = shown._repr_html_(), str(shown)
        assert "<table" in html and "completed" in html and "C1ae.small" in html and "Quebec-CA" in html
        assert "0.48 SWAN/h" in html and html.count("<a href=") >= 3 and "/_jobs/" in html
        assert "Creation" in html and shown["task"]["tx_hash"] in html
        assert len(text.splitlines()) <= 20 and "0.48 SWAN/h" in text and "/_jobs/" in text
        assert shown["task"]["uuid"] == uuid  # still the dict swan-sdk code reads
    nested = ip.run_line_magic("swan", f"renew {uuid} --duration 1h --yes")
    html = nested._repr_html_()
    assert "Payment receipt" in html and "validated by server" in html and "PaymentReceipt(" not in html
    assert "PaymentReceipt(" not in str(nested) and "0.48 SWAN" in str(nested)


def test_cancel_says_the_task_stays_unpaid_and_offers_to_remove_it(sandbox: dict[str, Any],
                                                                  ip: TestingShell) -> None:
    """Item 7: Cancel leaves an `initialized` task: the widget says so and its button removes it."""
    from IPython.utils.capture import capture_output

    from swan_jupyter.session import default_session
    from tests.helpers import wait_until

    reset_default_session()
    with capture_output() as out:
        ip.run_line_magic("swan_deploy", "--app hello-world --hardware C1ae.small task")
    uuid = ip.user_ns["task"]["task_uuid"]
    widget = _widget_of(out.outputs)
    buttons = _buttons(widget)
    buttons["Cancel"].click()  # the cancel path runs in the background and speaks once it is settled
    assert wait_until(lambda: "Remove the unpaid task" in _buttons(widget), timeout=60), _html_of(widget)
    text = _html_of(widget)
    assert "Cancelled: nothing was paid" in text and "initialized" in text and uuid in text
    assert "%swan pay " + uuid in text and "but not paid" not in text  # said once, plainly (issue 21)
    _buttons(widget)["Remove the unpaid task"].click()
    orch = default_session().orchestrator()
    assert wait_until(lambda: orch.get_deployment_info(uuid)["task"]["status"] == "terminated", timeout=20)
    assert wait_until(lambda: "removed" in _html_of(widget), timeout=10), _html_of(widget)


def test_pay_later_and_renew_an_unpaid_task(sandbox: dict[str, Any], ip: TestingShell) -> None:
    """Item 7: renewing an unpaid task says it was never paid and how to pay it; %swan pay pays it."""
    reset_default_session()
    ip.run_line_magic("swan_deploy", "--app hello-world --hardware C1ae.small --no-pay task")
    uuid = ip.user_ns["task"]["task_uuid"]
    with pytest.raises(ValidationError, match="never paid") as caught:
        ip.run_line_magic("swan", f"renew {uuid} --yes")
    assert f"%swan pay {uuid}" in (caught.value.hint or "")
    ip.run_cell('%config SwanMagics.max_auto_spend = "1"')
    receipt = ip.run_line_magic("swan", f"pay {uuid} --yes")
    assert receipt.amount_wei == 480_000_000_000_000_000 and "0.48 SWAN" in str(receipt)


def test_terminate_shows_the_refund_and_refuses_clearly(sandbox: dict[str, Any], ip: TestingShell) -> None:
    """Item 7: terminate shows the refund (or when it comes); a bad uuid and a terminated task get clear
    messages instead of "refused (HTTP 200)"."""
    from swan_jupyter.errors import NotFoundError

    reset_default_session()
    ip.run_cell('%config SwanMagics.max_auto_spend = "5"')
    ip.run_line_magic("swan_deploy", "--app hello-world --hardware C1ae.small --yes --wait task")
    uuid = ip.user_ns["task"]["task_uuid"]
    done = ip.run_line_magic("swan", f"terminate {uuid} --yes")
    text, html = str(done), done._repr_html_()
    assert "refund" in text and "SWAN" in text and "0x" in text and "terminated" in html
    with pytest.raises(ValidationError, match="already terminated") as again:
        ip.run_line_magic("swan", f"terminate {uuid} --yes")
    assert "HTTP 200" not in str(again.value)
    with pytest.raises(ValidationError, match="not a task uuid"):
        ip.run_line_magic("swan", "terminate not-a-uuid --yes")
    with pytest.raises(NotFoundError, match="No task"):
        ip.run_line_magic("swan", "terminate 3f1e2d4c-0000-4000-8000-000000000000 --yes")


def test_the_hardware_catalogue_is_compact_with_wei_last(sandbox: dict[str, Any], ip: TestingShell) -> None:
    """Item 10: one line per hardware (regions joined, no wrapping), status near the name, the exact wei column
    still there but last; a slice of it stays compact."""
    import pickle

    reset_default_session()
    hw = ip.run_line_magic("swan", "hardware")
    columns = list(hw.columns)
    assert columns[-1] == "price_per_hour_wei" and columns.index("status") < columns.index("description")
    assert isinstance(hw["price_per_hour_wei"].iloc[0], int)
    for frame in (hw, hw.head(3), hw[hw["status"] == "available"]):
        html = frame._repr_html_()
        assert "white-space:nowrap" in html.replace(" ", "") and "Quebec-CA" in html
    assert list(pickle.loads(pickle.dumps(hw)).columns) == columns


def test_a_comment_after_a_magic_is_a_comment(ip: TestingShell) -> None:
    """Item 11: README lines carry `# comments` after magics; a `#` inside a word or quotes is kept."""
    from swan_jupyter.magics._parsing import strip_comment

    assert strip_comment("hardware   # the catalogue") == "hardware   "
    assert strip_comment("--repo https://host/app#part --yes") == "--repo https://host/app#part --yes"
    assert strip_comment("--name 'a # b' # note") == "--name 'a # b' "
    assert strip_comment("# all comment") == ""
    assert ip.run_line_magic("swan_config", "--no-start   # the active profile") is not None


def test_a_renewal_from_the_status_view_shows_the_validated_receipt(sandbox: dict[str, Any]) -> None:
    """Item 7: the renewal's receipt renders as the widget's receipt, validated as the ledger says."""
    from swan_jupyter.session import Session
    from swan_jupyter.widgets.status import DeploymentStatus

    reset_default_session()
    orch = Session(notify=lambda _m: None).orchestrator()
    task = new_task(orch, hardware="C1ae.small", app_image="hello-world", pay=True)
    view = DeploymentStatus(orch, task["task_uuid"], autostart=False, background=False)
    confirm = view.renew("1h")
    confirm.click_confirm()
    receipt = confirm.result["receipt"]
    assert orch.ledger.by_tx(receipt.tx_hash).state == "validated"
    html = confirm.review.value
    assert "Task renewed" in html and "Payment receipt" in html and "0.48 SWAN" in html
    assert "validated by server</th><td style='text-align:left'>yes" in html, html
