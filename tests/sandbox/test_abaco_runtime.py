"""The Abaco emulator's real runtime: every sample image run as a child process with measured cpu/io/runtime,
the environment contract, logs, the results queue, synchronous execution, force-quit, concurrency, user
images (file and module), actor tokens, and persistence across a clean restart and a SIGKILL."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cloudpickle
import pytest

from tests.sandbox.abaco_tools import AbacoProcess, AbacoServer, Api, execution_process_alive, wait_for, write_script

# Functions of this module travel by value: executions run isolated and cannot import the tests (nor could an
# Abaco container).
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture
def v3(make: Callable[..., Api]) -> Api:
    return make("user", "v3")


def _measured(execution: dict[str, Any], api: Api) -> None:
    assert execution["status"] == "COMPLETE"
    assert execution["cpu"] > 0 and execution["runtime"] >= 1 and execution["io"] > 0
    assert execution[api.k("worker_id")] and execution[api.k("exit_code")] == 0
    state = execution[api.k("final_state")]
    assert state["ExitCode"] == 0 and state["Status"] == "exited" and state["StartedAt"] < state["FinishedAt"]


def test_test_image_environment_and_logs(api: Api) -> None:
    actor = api.create(image="abacosamples/test", name="envtest", **{api.k("default_environment"): {"DEFAULT_K": "dv",
                                                                                                  "OVERRIDE": "d"}})
    aid = actor["id"]
    api.wait_actor(aid)
    eid = str(api.ok("POST", f"/{aid}/messages", params={"OVERRIDE": "q", "EXTRA": "e"},
                     json={"message": "hello world"})[api.k("execution_id")])
    execution = api.wait_execution(aid, eid)
    _measured(execution, api)
    logs = api.logs(aid, eid)
    assert "Contents of MSG: hello world" in logs
    for line in ("DEFAULT_K=dv", "OVERRIDE=q", "EXTRA=e", f"_abaco_execution_id={eid}", f"_abaco_actor_id={aid}",
                 "_abaco_Content_Type=str", "_abaco_username=jdoe", f"_abaco_actor_dbid=DEV_{aid}",
                 "_abaco_actor_name=envtest", "_abaco_container_repo=abacosamples/test", "_abaco_actor_state={}",
                 f"_abaco_worker_id={execution[api.k('worker_id')]}", "_abaco_access_token=\n", "PATH="):
        assert line in logs, line
    assert f"_abaco_api_server={api.url}" in logs
    worker = api.ok("GET", f"/{aid}/workers")[0]
    assert worker[api.k("last_execution_time")] != "None"


def test_json_message_type(v3: Api) -> None:
    actor = v3.create(image="abacosamples/test")
    result = v3.ok("POST", f"/{actor['id']}/messages", json={"k": [1, 2]})
    eid = result["execution_id"]
    v3.wait_execution(actor["id"], eid)
    logs = v3.logs(actor["id"], eid)
    # MSG is the Python str() of the JSON value (docker_utils.py master 538-542; see test_fidelity.py)
    assert '_abaco_Content_Type=application/json' in logs and "Contents of MSG: {'k': [1, 2]}" in logs


def test_wc_counts_words(api: Api) -> None:
    actor = api.create(image="abacosamples/wc")
    eid = api.send(actor["id"], "the quick brown fox")
    _measured(api.wait_execution(actor["id"], eid), api)
    assert "fox: 1" in api.logs(actor["id"], eid)  # samples/word_count/wc.py prints each count


def test_sleep_loop_force_quit(api: Api) -> None:
    actor = api.create(image="abacosamples/sleep_loop")
    aid = actor["id"]
    eid = api.send(aid, '{"iterations": 60, "sleep": 0.5}')
    running = api.wait_execution(aid, eid, "RUNNING")
    assert running[api.k("worker_id")]
    wait_for(lambda: execution_process_alive(eid), bool)
    time.sleep(1.0)  # let it print a few lines before it dies
    response = api.call("DELETE", f"/{aid}/executions/{eid}")
    assert response.json()["message"] == f"Issued force quit command for execution {eid}."
    done = api.wait_execution(aid, eid, timeout=10)
    assert done[api.k("exit_code")] == 137 and done["runtime"] < 30
    assert not execution_process_alive(eid)
    assert "starting iteration 1" in api.logs(aid, eid) and "sleep_loop completed." not in api.logs(aid, eid)


def test_sleep_loop_runs_to_its_end(v3: Api) -> None:
    actor = v3.create(image="abacosamples/sleep_loop")
    eid = v3.send(actor["id"], '{"iterations": 2, "sleep": 0.6}')
    execution = v3.wait_execution(actor["id"], eid)
    assert execution["runtime"] >= 2 and execution["exit_code"] == 0
    assert v3.logs(actor["id"], eid).endswith("starting iteration 1\nsleep_loop completed.\n")


def _call(a: int, b: int, c: int = 0) -> int:
    return a + b + c


def test_py3_func_results_queue(api: Api) -> None:
    actor = api.create(image="abacosamples/py3_func")
    payload = cloudpickle.dumps({"func": _call, "args": [5, 7], "kwargs": {"c": 5}})
    result = api.ok("POST", f"/{actor['id']}/messages", data=payload,
                    headers={"Content-Type": "application/octet-stream"})
    assert result["msg"] == "binary - omitted"
    eid = result[api.k("execution_id")]
    _measured(api.wait_execution(actor["id"], eid), api)
    first = api.call("GET", f"/{actor['id']}/executions/{eid}/results")
    assert first.status_code == 200 and first.headers["content-type"] == "application/octet-stream"
    assert cloudpickle.loads(first.content) == 17
    empty = api.call("GET", f"/{actor['id']}/executions/{eid}/results")
    assert empty.status_code == 200 and empty.content == b""


def test_synchronous_execution(api: Api) -> None:
    logs_actor = api.create(image="abacosamples/test")
    api.wait_actor(logs_actor["id"])
    response = api.call("POST", f"/{logs_actor['id']}/messages", params={"_abaco_synchronous": "TRUE"},
                        json={"message": "sync hello"}, timeout=30)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "Contents of MSG: sync hello" in response.text
    func_actor = api.create(image="abacosamples/py3_func")
    response = api.call("POST", f"/{func_actor['id']}/messages", params={"_abaco_synchronous": "true"},
                        data=cloudpickle.dumps({"func": _call, "args": [1, 2], "kwargs": {}}),
                        headers={"Content-Type": "application/octet-stream"}, timeout=30)
    assert response.headers["content-type"] == "application/octet-stream"
    assert cloudpickle.loads(response.content) == 3


def test_unrunnable_image_errors_and_sync_does_not_hang(v3: Api) -> None:
    actor = v3.create(image="library/hello-world:latest")
    errored = v3.wait_actor(actor["id"], "ERROR")
    assert "Could not pull image library/hello-world:latest" in errored["status_message"]
    started = time.monotonic()
    message = v3.error("POST", f"/{actor['id']}/messages", params={"_abaco_synchronous": "true"},
                       json={"message": "x"})
    assert "is in status ERROR" in message and time.monotonic() - started < 5
    fixed = v3.ok("PUT", f"/{actor['id']}", json={"image": "abacosamples/wc"})
    assert fixed["revision"] == 2
    v3.wait_actor(actor["id"], "READY")


def test_file_image_exit_code_results_and_stderr(v3: Api, tmp_path: Path) -> None:
    image = write_script(tmp_path, "actor.py", (
        "import os, sys\n"
        "from swan_jupyter.sandbox.abaco.images.support import send_bytes_result, get_context\n"
        "ctx = get_context()\n"
        "send_bytes_result(b'first:' + ctx['raw_message'].encode())\n"
        "send_bytes_result(b'second')\n"
        "print('to stderr', file=sys.stderr)\n"
        "sys.exit(3)\n"))
    actor = v3.create(image=image)
    eid = v3.send(actor["id"], "payload")
    execution = v3.wait_execution(actor["id"], eid)
    assert execution["exit_code"] == 3 and execution["final_state"]["ExitCode"] == 3
    results = [v3.call("GET", f"/{actor['id']}/executions/{eid}/results").content for _ in range(3)]
    assert results == [b"first:payload", b"second", b""]
    assert "to stderr" in v3.logs(actor["id"], eid)


def test_module_image_and_missing_module(v3: Api) -> None:
    actor = v3.create(image="python:swan_jupyter.sandbox.abaco.images.wc")
    eid = v3.send(actor["id"], "one two")
    v3.wait_execution(actor["id"], eid)
    assert "two: 1" in v3.logs(actor["id"], eid)
    missing = v3.create(image="python:no_such_module_here")
    assert "is not importable" in v3.wait_actor(missing["id"], "ERROR")["status_message"]
    assert "no such file" in v3.wait_actor(v3.create(image="file:///nonexistent/x.py")["id"], "ERROR")[
        "status_message"]


def test_actor_token_calls_the_api_back(v3: Api, tmp_path: Path) -> None:
    image = write_script(tmp_path, "callback.py", (
        "import os, json, urllib.request\n"
        "req = urllib.request.Request(os.environ['_abaco_api_server'] + '/v3/actors/' + os.environ['_abaco_actor_id'],"
        " headers={'X-Tapis-Token': os.environ['_abaco_access_token']})\n"
        "body = json.load(urllib.request.urlopen(req, timeout=10))\n"
        "print('callback status', body['status'], body['result']['id'])\n"))
    actor = v3.create(image=image, token=True)
    assert actor["token"] is True
    eid = v3.send(actor["id"], "x")
    execution = v3.wait_execution(actor["id"], eid)
    logs = v3.logs(actor["id"], eid)
    assert execution["exit_code"] == 0, logs
    assert f"callback status success {actor['id']}" in logs


def test_stateful_actor_sees_its_state(v3: Api) -> None:
    actor = v3.create(image="abacosamples/test", stateless=False)
    v3.ok("POST", f"/{actor['id']}/state", json={"n": 41})
    eid = v3.send(actor["id"], "s")
    v3.wait_execution(actor["id"], eid)
    assert "_abaco_actor_state={'n': 41}" in v3.logs(actor["id"], eid)  # str() of the dict, as docker-py


def test_executions_run_concurrently_up_to_the_worker_count(abaco: AbacoServer, v3: Api) -> None:
    admin = Api(abaco.url, abaco.token("admin"), "v3")
    actor = v3.create(image="abacosamples/sleep_loop")
    aid = actor["id"]
    admin.ok("POST", f"/{aid}/workers", json={"num": 2})
    wait_for(lambda: v3.ok("GET", f"/{aid}/workers"), lambda w: len(w) == 2 and all(x["status"] == "READY" for x in w))
    eids = [v3.send(aid, '{"iterations": 1, "sleep": 1.5}') for _ in range(3)]
    wait_for(lambda: [v3.ok("GET", f"/{aid}/executions/{e}")["status"] for e in eids],
             lambda s: s.count("RUNNING") == 2)
    statuses = [v3.ok("GET", f"/{aid}/executions/{e}")["status"] for e in eids]
    assert statuses.count("SUBMITTED") == 1
    assert {w["status"] for w in v3.ok("GET", f"/{aid}/workers")} == {"BUSY"}
    done = [v3.wait_execution(aid, e, timeout=20) for e in eids]
    workers = {d["worker_id"] for d in done}
    assert len(workers) == 2
    summary = v3.ok("GET", f"/{aid}/executions")
    assert summary["total_executions"] == 3 and summary["total_runtime"] >= 6
    assert summary["total_cpu"] == sum(d["cpu"] for d in done)
    admin.session.close()


def test_autoscaling_to_max_workers(abaco: AbacoServer) -> None:
    privileged = Api(abaco.url, abaco.token("privileged"), "v3")
    actor = privileged.create(image="abacosamples/sleep_loop", max_workers=2)
    aid = actor["id"]
    privileged.wait_actor(aid)
    eids = [privileged.send(aid, '{"iterations": 1, "sleep": 1}') for _ in range(3)]
    wait_for(lambda: privileged.ok("GET", f"/{aid}/workers"), lambda w: len(w) == 2)
    for eid in eids:
        privileged.wait_execution(aid, eid, timeout=20)
    assert len(privileged.ok("GET", f"/{aid}/workers")) <= 2
    privileged.session.close()


def test_delete_actor_with_running_execution(v3: Api) -> None:
    actor = v3.create(image="abacosamples/sleep_loop")
    eid = v3.send(actor["id"], '{"iterations": 3, "sleep": 0.3}')
    v3.wait_execution(actor["id"], eid, "RUNNING")
    response = v3.call("DELETE", f"/{actor['id']}", timeout=30)
    assert response.json()["message"] == "Actor deleted successfully."
    assert not execution_process_alive(eid)


# -- persistence ---------------------------------------------------------------------------------------------

def test_everything_survives_a_clean_restart(tmp_path: Path) -> None:
    server = AbacoServer(tmp_path)
    api = Api(server.url, server.token("user"), "v3")
    actor = api.create(image="abacosamples/py3_func", stateless=False)
    aid = actor["id"]
    api.ok("POST", f"/{aid}/state", json={"kept": True})
    api.ok("POST", f"/{aid}/permissions", json={"user": "testotheruser", "level": "READ"})
    nonce = api.ok("POST", f"/{aid}/nonces", json={"level": "READ", "max_uses": 5})
    api.ok("POST", "/aliases", json={"alias": "persisted", "actor_id": aid})
    result = api.ok("POST", f"/{aid}/messages", data=cloudpickle.dumps({"func": _call, "args": [2, 2], "kwargs": {}}),
                    headers={"Content-Type": "application/octet-stream"})
    eid = result["execution_id"]
    api.wait_execution(aid, eid)
    anonymous = Api(server.url, None, "v3")
    anonymous.ok("GET", f"/{aid}", params={"x-nonce": nonce["id"]})
    logs = api.logs(aid, eid)
    token = server.token("user")
    server.stop()

    again = AbacoServer(tmp_path)
    try:
        api2 = Api(again.url, token, "v3")  # tokens minted before the restart stay valid
        assert api2.ok("GET", f"/{aid}")["state"] == {"kept": True}
        assert api2.ok("GET", f"/{aid}/permissions") == {"jdoe": "UPDATE", "testotheruser": "READ"}
        assert api2.ok("GET", f"/{aid}/nonces/{nonce['id']}")["current_uses"] == 1
        assert api2.ok("GET", "/aliases/persisted")["actor_id"] == aid
        assert api2.logs(aid, eid) == logs
        assert cloudpickle.loads(api2.call("GET", f"/{aid}/executions/{eid}/results").content) == 4
        api2.wait_actor(aid)
        call = cloudpickle.dumps({"func": _call, "args": [3, 3], "kwargs": {}})
        eid2 = api2.ok("POST", "/persisted/messages", data=call,
                       headers={"Content-Type": "application/octet-stream"})["execution_id"]
        assert api2.wait_execution(aid, eid2)["exit_code"] == 0
        assert api2.ok("GET", f"/{aid}/executions")["total_executions"] == 2
    finally:
        again.stop()


def test_sigkill_loses_no_accepted_message_and_ends_orphans_honestly(tmp_path: Path) -> None:
    first = AbacoProcess(tmp_path)
    try:
        api = Api(first.url, first.token("user"), "v3")
        actor = api.create(image="abacosamples/sleep_loop")
        aid = actor["id"]
        running = api.send(aid, '{"iterations": 120, "sleep": 0.5}')
        api.wait_execution(aid, running, "RUNNING")
        wait_for(lambda: execution_process_alive(running), bool)
        queued = api.send(aid, '{"iterations": 1, "sleep": 0.1}')
        token = first.token("user")
    finally:
        first.kill()
    assert execution_process_alive(running)  # the orphan outlived the server

    second = AbacoProcess(tmp_path)
    try:
        api = Api(second.url, token, "v3")
        ended = api.ok("GET", f"/{aid}/executions/{running}")
        assert ended["status"] == "COMPLETE" and ended["exit_code"] == "undetermined"
        assert ended["final_state"] == {"unavailable": True}
        logs = api.logs(aid, running)
        assert "starting iteration 0" in logs and "emulator restarted while this execution was running" in logs
        assert not execution_process_alive(running)
        done = api.wait_execution(aid, queued, timeout=20)  # the accepted message was not lost
        assert done["exit_code"] == 0
    finally:
        assert second.terminate() == 0


def test_sigterm_stops_children(tmp_path: Path) -> None:
    server = AbacoProcess(tmp_path)
    try:
        api = Api(server.url, server.token("user"), "v3")
        actor = api.create(image="abacosamples/sleep_loop")
        eid = api.send(actor["id"], '{"iterations": 100, "sleep": 0.5}')
        api.wait_execution(actor["id"], eid, "RUNNING")
        wait_for(lambda: execution_process_alive(eid), bool)
    finally:
        assert server.terminate() == 0
    assert not execution_process_alive(eid)
    again = AbacoProcess(tmp_path)
    try:
        api = Api(again.url, again.token("user"), "v3")
        execution = api.ok("GET", f"/{actor['id']}/executions/{eid}")
        assert execution["status"] == "COMPLETE" and execution["exit_code"] == 137
        assert "the sandbox stopped while this execution was running" in api.logs(actor["id"], eid)
    finally:
        again.terminate()


def test_logs_expire_after_log_ex(v3: Api) -> None:
    actor = v3.create(image="abacosamples/wc", log_ex=1)
    assert actor["log_ex"] == 1
    eid = v3.send(actor["id"], "short lived")
    v3.wait_execution(actor["id"], eid)
    assert "lived: 1" in v3.logs(actor["id"], eid)
    wait_for(lambda: v3.logs(actor["id"], eid), lambda text: text == "", timeout=5)


def test_logs_are_capped_at_one_megabyte(v3: Api, tmp_path: Path) -> None:
    image = write_script(tmp_path, "chatty.py", "import sys\nsys.stdout.write('x' * 1_200_000)\n")
    actor = v3.create(image=image)
    eid = v3.send(actor["id"], "talk")
    v3.wait_execution(actor["id"], eid)
    logs = v3.logs(actor["id"], eid)
    assert logs.endswith(" LOG LIMIT EXCEEDED; this execution log was TRUNCATED!")
    assert len(logs) == 1_000_000 + len(" LOG LIMIT EXCEEDED; this execution log was TRUNCATED!")
