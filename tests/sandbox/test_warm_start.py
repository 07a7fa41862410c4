"""Warm starts (issue 24, item 1): executions fork from an interpreter that already imported the runner and
cloudpickle; everything measured per execution and every isolation rule stays as with a cold start, which remains
the fallback (forced here by the service setting ``abaco_warm_start: false``).

The tests that must hold on both paths run against two emulators, one warm (the default) and one cold."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import pytest

from swan_jupyter.sandbox.abaco import forkserver
from tests.sandbox.abaco_tools import (
    AbacoServer,
    Api,
    execution_folder,
    execution_process_alive,
    wait_for,
    write_script,
)

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # executions cannot import the tests

BINARY = {"Content-Type": "application/octet-stream"}

PROBE = """
import sys
loaded = "cloudpickle" in sys.modules  # before this script imported anything
import json, os, tempfile, time
print("PROBE " + json.dumps({"cloudpickle": loaded, "ppid": os.getppid(), "pid": os.getpid(),
                             "sid": os.getsid(0), "isolated": sys.flags.isolated, "umask": oct(os.umask(0o077)),
                             "cwd": os.getcwd(), "tmp": tempfile.gettempdir(), "tz": time.tzname[0],
                             "env": sorted(os.environ)}), flush=True)
"""

ENDINGS = """
import atexit, os, sys, threading, time
atexit.register(lambda: print("atexit ran", flush=True))
def late():
    time.sleep(0.3)
    print("thread finished", flush=True)
threading.Thread(target=late).start()
how = os.environ.get("MSG", "")
print("ending with " + how, flush=True)
if how == "code":
    sys.exit(3)
if how == "text":
    sys.exit("a text exit")
if how == "raise":
    raise ValueError("boom")
"""


@pytest.fixture(scope="module")
def cold(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AbacoServer]:
    """An emulator whose executions start cold (the fallback), forced by the service setting."""
    server = AbacoServer(tmp_path_factory.mktemp("abaco-cold"), {"abaco_warm_start": False})
    yield server
    server.stop()


@pytest.fixture(params=["warm", "cold"])
def server(request: pytest.FixtureRequest, abaco: AbacoServer) -> AbacoServer:
    """The emulator of each start path."""
    if request.param == "warm":
        return abaco
    return request.getfixturevalue("cold")  # type: ignore[no-any-return]


@pytest.fixture
def v3(server: AbacoServer) -> Iterator[Api]:
    client = Api(server.url, server.token("user"), "v3")
    yield client
    client.session.close()


def _probe(api: Api, tmp_path: Path, **fields: Any) -> dict[str, Any]:
    actor = api.create(image=write_script(tmp_path, "probe.py", PROBE), **fields)
    eid = api.send(actor["id"], "x")
    api.wait_execution(actor["id"], eid)
    logs = api.logs(actor["id"], eid)
    line = next((ln for ln in logs.splitlines() if ln.startswith("PROBE ")), None)
    assert line is not None, logs
    facts: dict[str, Any] = json.loads(line[len("PROBE "):])
    facts["eid"] = eid
    return facts


def test_the_status_says_warm_and_user_code_starts_in_a_warm_interpreter(abaco: AbacoServer, tmp_path: Path) -> None:
    status = abaco.service.health()["executions"]
    assert status["start"] == "warm" and "cloudpickle" in status["preloaded"], status
    api = Api(abaco.url, abaco.token("user"), "v3")
    facts = _probe(api, tmp_path)
    assert facts["cloudpickle"] is True, facts  # imported before the execution's code ran: no import to pay
    assert facts["ppid"] == status["fork_server_pid"] != os.getpid(), facts
    assert facts["sid"] == facts["pid"], facts  # its own session, as a cold start


def test_the_cold_fallback_says_why_and_starts_a_fresh_interpreter(cold: AbacoServer, tmp_path: Path) -> None:
    status = cold.service.health()["executions"]
    assert status == {"start": "cold", "reason": "cold start forced by the setting abaco_warm_start=False"}
    api = Api(cold.url, cold.token("user"), "v3")
    facts = _probe(api, tmp_path)
    assert facts["cloudpickle"] is False and facts["ppid"] == os.getpid(), facts


def test_the_environment_variable_forces_cold_starts() -> None:
    assert forkserver.choose(None, {"SWAN_SANDBOX_ABACO_WARM": "0"}) == forkserver.Choice(
        False, "cold start forced by SWAN_SANDBOX_ABACO_WARM=0")
    assert forkserver.choose(None, {}).wanted is sys.platform.startswith("linux")


def test_isolation_folder_umask_and_environment_are_the_same_on_both_paths(v3: Api, tmp_path: Path) -> None:
    facts = _probe(v3, tmp_path, default_environment={"TZ": "XYZ3", "MINE": "m"})
    assert facts["isolated"] == 1 and facts["umask"] == "0o77", facts
    assert Path(facts["cwd"]).name == facts["eid"] and facts["tmp"] == facts["cwd"], facts
    assert facts["tz"] == "XYZ", facts  # the execution's TZ, not the fork server's
    own = {"PATH", "HOME", "LANG", "TMPDIR", "HOSTNAME", "MSG", "_actor_configs", "TZ", "MINE"}
    assert [k for k in facts["env"] if k not in own and not k.startswith("_abaco_")] == [], facts["env"]


def test_an_execution_that_sets_the_locale_starts_cold(abaco: AbacoServer, tmp_path: Path) -> None:
    api = Api(abaco.url, abaco.token("user"), "v3")
    facts = _probe(api, tmp_path, default_environment={"LC_ALL": "C.UTF-8"})
    assert facts["cloudpickle"] is False and facts["ppid"] == os.getpid(), facts


def _add(a: int, b: int) -> int:
    return a + b


def test_metrics_logs_and_results(v3: Api) -> None:
    actor = v3.create(image="abacosamples/py3_func")
    eid = v3.ok("POST", f"/{actor['id']}/messages", headers=BINARY,
                data=cloudpickle.dumps({"func": _add, "args": [2, 3], "kwargs": {}}))["execution_id"]
    execution = v3.wait_execution(actor["id"], eid)
    assert execution["exit_code"] == 0 and execution["cpu"] > 0 and execution["io"] > 0, execution
    assert execution["runtime"] >= 1 and execution["final_state"]["StartedAt"] < execution["final_state"]["FinishedAt"]
    assert v3.logs(actor["id"], eid).endswith("result: 5\n")
    answer = v3.call("GET", f"/{actor['id']}/executions/{eid}/results")
    assert answer.status_code == 200 and cloudpickle.loads(answer.content) == 5


@pytest.mark.parametrize(("how", "code", "line"), [("code", 3, ""), ("text", 1, "a text exit"),
                                                   ("raise", 1, "ValueError: boom"), ("zero", 0, "")])
def test_exit_codes_and_the_end_of_an_interpreter(v3: Api, tmp_path: Path, how: str, code: int, line: str) -> None:
    actor = v3.create(image=write_script(tmp_path, "endings.py", ENDINGS))
    eid = v3.send(actor["id"], how)
    execution = v3.wait_execution(actor["id"], eid)
    logs = v3.logs(actor["id"], eid)
    assert execution["exit_code"] == code, (execution, logs)
    assert f"ending with {how}" in logs and line in logs, logs
    assert "thread finished" in logs and logs.rstrip().endswith("atexit ran"), logs  # threads joined, then atexit


def test_force_quit_kills_the_execution(v3: Api) -> None:
    actor = v3.create(image="abacosamples/sleep_loop")
    eid = v3.send(actor["id"], '{"iterations": 60, "sleep": 0.5}')
    v3.wait_execution(actor["id"], eid, "RUNNING")
    folder = wait_for(lambda: execution_folder(eid), lambda found: found is not None)
    log = Path(folder) / "output.log"  # the captured output, stored as the logs when the execution ends
    wait_for(lambda: log.read_text() if log.exists() else "", lambda text: "starting iteration 0" in text)
    v3.ok("DELETE", f"/{actor['id']}/executions/{eid}")
    done = v3.wait_execution(actor["id"], eid, timeout=10)
    assert done["exit_code"] == 137 and "starting iteration 0" in v3.logs(actor["id"], eid)
    assert not execution_process_alive(eid)


def _readable_memory(pid: int) -> bytes:
    """Every readable private mapping of a process (what a forked child inherits)."""
    chunks = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for row in maps:
            span, perms = row.split()[:2]
            if not perms.startswith("r") or "[vvar" in row or "[vsyscall" in row:
                continue
            start, end = (int(x, 16) for x in span.split("-"))
            try:
                mem.seek(start)
                chunks.append(mem.read(end - start))
            except OSError:
                continue
    return b"".join(chunks)


def test_the_fork_server_never_holds_an_executions_environment(abaco: AbacoServer) -> None:
    api = Api(abaco.url, abaco.token("user"), "v3")
    marker = "secret-" + os.urandom(12).hex()
    actor = api.create(image="jstubbs/abaco_test", default_environment={"SECRET_SETTING": marker + "-env"})
    eid = api.send(actor["id"], marker + "-msg")
    api.wait_execution(actor["id"], eid)
    assert marker + "-msg" in api.logs(actor["id"], eid)  # it did reach the execution
    server_pid = abaco.service.health()["executions"]["fork_server_pid"]
    found = marker.encode() in _readable_memory(server_pid)
    assert not found, "the fork server's memory holds an execution's MSG or environment"


def test_a_fork_server_that_dies_ends_its_running_executions_and_is_restarted(tmp_path: Path) -> None:
    server = AbacoServer(tmp_path / "state")
    api = Api(server.url, server.token("user"), "v3")
    try:
        first = server.service.health()["executions"]
        actor = api.create(image="abacosamples/sleep_loop")
        eid = api.send(actor["id"], '{"iterations": 60, "sleep": 0.5}')
        api.wait_execution(actor["id"], eid, "RUNNING")
        wait_for(lambda: execution_process_alive(eid), bool)
        os.kill(first["fork_server_pid"], signal.SIGKILL)
        done = api.wait_execution(actor["id"], eid, timeout=10)
        assert done["exit_code"] == "undetermined" and done["final_state"] == {"unavailable": True}, done
        assert "fork server ended unexpectedly" in api.logs(actor["id"], eid)
        # killed (SIGKILL to its process group) when it was ended; the kernel delivers that signal asynchronously
        # (a process in uninterruptible I/O dies when it leaves it), so its end is awaited, briefly
        wait_for(lambda: not execution_process_alive(eid), bool, timeout=5)
        after = api.create(image="abacosamples/wc")
        eid2 = api.send(after["id"], "one two")
        assert api.wait_execution(after["id"], eid2)["exit_code"] == 0
        again = server.service.health()["executions"]
        assert again["start"] == "warm" and again["restarts"] == 1, again
        assert again["fork_server_pid"] != first["fork_server_pid"]
    finally:
        api.session.close()
        server.stop()
