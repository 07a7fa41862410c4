"""The Abaco emulator over loopback HTTP: v2 (camel) and v3 (snake) routes, real child-process executions."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
import requests
import uvicorn

from swan_jupyter.sandbox.emulators.abaco import AbacoService, create_service
from swan_jupyter.sandbox.service import SandboxContext, SandboxService


class Abaco:
    """The service served by uvicorn on a pre-bound loopback socket, in a thread with its own loop."""

    def __init__(self, state_dir: Path) -> None:
        ctx = SandboxContext(state_dir=state_dir, settings={"abaco_max_message": 1024})
        self.service: AbacoService = create_service(ctx)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(self.service.app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "the emulator did not start"
            time.sleep(0.01)
        self.users = self.service.describe()["users"]

    async def _main(self) -> None:
        await self.service.start(self.url)
        try:
            await self.server.serve(sockets=[self.sock])
        finally:
            await self.service.stop()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()

    def v2(self, method: str, path: str, user: str = "user", **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.users[user]['token']}", **kw.pop("headers", {})}
        return requests.request(method, f"{self.url}/actors/v2{path}", headers=headers, timeout=20, **kw)

    def v3(self, method: str, path: str, user: str = "user", **kw: Any) -> requests.Response:
        headers = {"X-Tapis-Token": self.users[user]["token"], **kw.pop("headers", {})}
        return requests.request(method, f"{self.url}/v3/actors{path}", headers=headers, timeout=20, **kw)

    def wait(self, actor: str, execution: str, timeout: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ex = self.v3("GET", f"/{actor}/executions/{execution}").json()["result"]
            if ex["status"] in ("COMPLETE", "ERROR"):
                return dict(ex)
            time.sleep(0.05)
        raise AssertionError(f"execution {execution} did not finish")


@pytest.fixture(scope="module")
def abaco(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Abaco]:
    emu = Abaco(tmp_path_factory.mktemp("abaco-state"))
    yield emu
    emu.stop()


def make(abaco: Abaco, image: str, **fields: Any) -> str:
    answer = abaco.v3("POST", "", json={"image": image, **fields})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["result"]["id"])


def test_service_protocol_and_describe(abaco: Abaco) -> None:
    assert isinstance(abaco.service, SandboxService)
    assert abaco.service.name == "abaco"
    assert set(abaco.users) == {"admin", "privileged", "user", "user2"}
    secret = abaco.service.root / "secret"
    assert secret.stat().st_mode & 0o777 == 0o600


def test_create_v2_camel_and_v3_snake(abaco: Abaco) -> None:
    v2 = abaco.v2("POST", "", json={"image": "abacosamples/test", "name": "t", "defaultEnvironment": {"k": "v"}})
    assert v2.status_code == 200 and v2.headers["content-type"] == "application/json"
    body = v2.json()
    assert body["status"] == "success" and body["version"] == ":dev" and "metadata" not in body
    actor = body["result"]
    assert actor["defaultEnvironment"] == {"k": "v"} and "useContainerUid" in actor and "maxWorkers" not in actor
    v3 = abaco.v3("GET", f"/{actor['id']}").json()
    assert v3["metadata"] == {} and v3["result"]["default_environment"] == {"k": "v"}
    assert v3["result"]["max_workers"] is None and v3["result"]["owner"] == "testuser"


def test_message_runs_a_real_process(abaco: Abaco) -> None:
    actor = make(abaco, "abacosamples/test")
    sent = abaco.v2("POST", f"/{actor}/messages?extra=1", json={"message": "hello world"}).json()["result"]
    ex = abaco.wait(actor, sent["executionId"])
    assert ex["status"] == "COMPLETE" and ex["exit_code"] == 0
    assert ex["cpu"] > 0 and ex["runtime"] > 0 and ex["worker_id"]
    logs = abaco.v3("GET", f"/{actor}/executions/{ex['id']}/logs").json()["result"]["logs"]
    assert "Contents of MSG: hello world" in logs and "extra=1" in logs and "_abaco_Content_Type=str" in logs
    summary = abaco.v2("GET", f"/{actor}/executions").json()["result"]
    assert summary["totalExecutions"] == 1 and summary["executions"][0]["id"] == ex["id"]
    workers = abaco.v3("GET", f"/{actor}/workers").json()["result"]
    assert workers[0]["status"] in ("READY", "BUSY")


def test_wc_result_bytes_and_sync_execution(abaco: Abaco) -> None:
    actor = make(abaco, "abacosamples/wc")
    sent = abaco.v3("POST", f"/{actor}/messages", data="one two three",
                    headers={"Content-Type": "text/plain"}).json()
    assert sent["status"] == "error"  # plain text that is not JSON is refused, as Abaco does
    sent = abaco.v3("POST", f"/{actor}/messages", json={"message": "one two three"}).json()["result"]
    abaco.wait(actor, sent["execution_id"])
    first = abaco.v3("GET", f"/{actor}/executions/{sent['execution_id']}/results")
    assert first.content == b"3" and first.headers["content-type"] == "application/octet-stream"
    assert abaco.v3("GET", f"/{actor}/executions/{sent['execution_id']}/results").content == b""
    sync = abaco.v3("POST", f"/{actor}/messages?_abaco_synchronous=true", json={"message": "a b"})
    assert sync.status_code == 200 and sync.content == b"2"


def test_py3_func_binary_message(abaco: Abaco) -> None:
    actor = make(abaco, "abacosamples/py3_func")

    def f(a: int, b: int, c: int = 0) -> int:
        return a + b + c

    payload = cloudpickle.dumps({"func": f, "args": [5, 7], "kwargs": {"c": 5}})
    sent = abaco.v3("POST", f"/{actor}/messages", data=payload,
                    headers={"Content-Type": "application/octet-stream"}).json()["result"]
    assert sent["msg"] == "binary - omitted"
    abaco.wait(actor, sent["execution_id"])
    item = abaco.v3("GET", f"/{actor}/executions/{sent['execution_id']}/results").content
    assert cloudpickle.loads(item) == 17
    big = abaco.v3("POST", f"/{actor}/messages", data=b"x" * 2048,
                   headers={"Content-Type": "application/octet-stream"})
    assert big.status_code == 400 and big.json()["message"] == "Message exceeds max content length of: 1024"


def test_state_on_stateful_and_stateless(abaco: Abaco) -> None:
    stateless = make(abaco, "abacosamples/test")
    answer = abaco.v3("POST", f"/{stateless}/state", json={"n": 1})
    assert answer.status_code == 404 and answer.json()["message"] == "actor is stateless."
    stateful = make(abaco, "abacosamples/test", stateless=False)
    assert abaco.v3("POST", f"/{stateful}/state", json={"n": 1}).json()["result"]["state"] == {"n": 1}
    assert abaco.v2("GET", f"/{stateful}/state").json()["result"] == {"state": {"n": 1}}
    bad = abaco.v3("POST", f"/{stateful}/state", json={})
    assert bad.status_code == 400


def test_permissions_and_world(abaco: Abaco) -> None:
    actor = make(abaco, "abacosamples/test")
    denied = abaco.v3("GET", f"/{actor}", user="user2")
    assert denied.status_code == 400 and denied.json()["message"].startswith("Not authorized")
    perms = abaco.v3("POST", f"/{actor}/permissions", json={"user": "testuser2", "level": "READ"}).json()
    assert perms["result"] == {"testuser": "UPDATE", "testuser2": "READ"}
    assert abaco.v3("GET", f"/{actor}", user="user2").status_code == 200
    assert abaco.v3("POST", f"/{actor}/messages", user="user2", json={"message": "x"}).status_code == 400
    assert abaco.v3("GET", f"/{actor}", user="admin").status_code == 200
    workers = abaco.v3("POST", f"/{actor}/workers", json={"num": 2})
    assert workers.json()["message"] == "Not authorized -- only admins are authorized to update workers."
    assert abaco.v3("POST", f"/{actor}/workers", user="admin", json={"num": 2}).status_code == 200


def test_nonce_with_one_use(abaco: Abaco) -> None:
    actor = make(abaco, "abacosamples/test")
    nonce = abaco.v2("POST", f"/{actor}/nonces", json={"maxUses": 1, "level": "READ"}).json()["result"]
    assert nonce["remainingUses"] == 1 and nonce["lastUseTime"] == "None"
    url = f"{abaco.url}/actors/v2/{actor}?x-nonce={nonce['id']}"
    assert requests.get(url, timeout=5).status_code == 200
    again = requests.get(url, timeout=5)
    assert again.status_code == 400 and again.json()["message"] == "No remaining uses left for this nonce."
    none = requests.get(f"{abaco.url}/actors/v2/{actor}", timeout=5)
    assert none.status_code == 400 and none.json()["message"] == "No JWT or nonce provided."


def test_unknown_paths_options_aliases_and_search(abaco: Abaco) -> None:
    odd = abaco.v2("GET", "/abc/unknown/thing/here/deep")
    assert odd.status_code == 405 and odd.json()["message"].startswith("Invalid request")
    opts = requests.options(f"{abaco.url}/actors/v2", timeout=5)
    assert opts.status_code == 200 and "Access-Control-Allow-Origin" in opts.headers
    actor = make(abaco, "abacosamples/test", name="searchme")
    alias = abaco.v3("POST", "/aliases", json={"alias": "counter", "actor_id": actor}).json()
    assert alias["result"]["actor_id"] == actor
    assert abaco.v3("GET", "/counter").json()["result"]["id"] == actor
    assert abaco.v3("GET", "//counter//messages").json()["result"]["messages"] == 0
    found = abaco.v3("GET", "/search/actors", params={"name": "searchme", "limit": 5}).json()["result"]
    assert found["_metadata"]["total_count"] == 1 and found["search"][0]["id"] == actor
    assert abaco.v3("GET", "/nothere").status_code == 404


def _until(abaco: Abaco, actor: str, execution: str, status: str) -> None:
    deadline = time.monotonic() + 10
    while abaco.v3("GET", f"/{actor}/executions/{execution}").json()["result"]["status"] != status:
        assert time.monotonic() < deadline, f"never reached {status}"
        time.sleep(0.05)


def test_force_quit_put_and_file_image(abaco: Abaco, tmp_path: Path) -> None:
    actor = make(abaco, "abacosamples/sleep_loop")
    sent = abaco.v3("POST", f"/{actor}/messages", json={"sleep": 5, "iterations": 10}).json()["result"]
    _until(abaco, actor, sent["execution_id"], "RUNNING")
    quit_ = abaco.v3("DELETE", f"/{actor}/executions/{sent['execution_id']}")
    assert quit_.json()["message"] == f"Issued force quit command for execution {sent['execution_id']}."
    assert abaco.wait(actor, sent["execution_id"])["status"] == "COMPLETE"
    script = tmp_path / "echo_actor.py"
    script.write_text("import os\nprint('echo', os.environ['MSG'])\n")
    put = abaco.v3("PUT", f"/{actor}", json={"image": f"file://{script}"}).json()["result"]
    assert put["revision"] == 2 and put["description"] == "" and put["image"].startswith("file://")
    sent = abaco.v3("POST", f"/{actor}/messages", json={"message": "hi"}).json()["result"]
    abaco.wait(actor, sent["execution_id"])
    logs = abaco.v3("GET", f"/{actor}/executions/{sent['execution_id']}/logs").json()["result"]["logs"]
    assert logs.strip() == "echo hi"


def test_restart_marks_running_as_error_and_reruns_queued(tmp_path: Path) -> None:
    first = Abaco(tmp_path)
    try:
        actor = make(first, "abacosamples/sleep_loop")
        running = first.v3("POST", f"/{actor}/messages", json={"sleep": 5, "iterations": 5}).json()["result"]
        queued = first.v3("POST", f"/{actor}/messages", json={"sleep": 0, "iterations": 1}).json()["result"]
        _until(first, actor, running["execution_id"], "RUNNING")
    finally:
        first.stop()
    second = Abaco(tmp_path)
    try:
        cut = second.wait(actor, running["execution_id"])
        assert cut["status"] == "ERROR"
        logs = second.v3("GET", f"/{actor}/executions/{cut['id']}/logs").json()["result"]["logs"]
        assert "sandbox restarted" in logs
        assert second.wait(actor, queued["execution_id"])["status"] == "COMPLETE"
    finally:
        second.stop()


def test_plain_prefix_and_jwt_assertion_header(abaco: Abaco) -> None:
    token = abaco.users["user"]["token"]
    plain = requests.get(f"{abaco.url}/actors", headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
    assert plain["message"] == "Actors retrieved successfully." and plain["result"]
    asserted = requests.get(f"{abaco.url}/actors", headers={"X-Jwt-Assertion-SANDBOX": token}, timeout=5)
    assert asserted.status_code == 200
    bad = requests.get(f"{abaco.url}/v3/actors", headers={"X-Tapis-Token": "nope"}, timeout=5)
    assert bad.status_code == 400 and bad.json()["status"] == "error"
