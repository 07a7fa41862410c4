"""Helpers for the Abaco emulator tests: the service served by uvicorn on 127.0.0.1 (in a thread, or as a
separate process for kill tests) and a small HTTP client for both flavors.

The ``abaco`` fixture (``tests/sandbox/conftest.py``) gives each test module one emulator in a temporary state
folder, stopped (children killed) at teardown.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from swan_jupyter.sandbox.abaco import create_service
from swan_jupyter.sandbox.connections import protocol_class
from swan_jupyter.sandbox.service import SandboxContext

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 10
# Sandbox seconds per real second of the test emulators: the built-in samples' fixed sleeps (abacosamples/test
# sleeps 2 sandbox seconds) last 1/20 as long. A test about the real 2 s starts an emulator at scale 1.
FAST_TIME_SCALE = 20.0


class AbacoServer:
    """The Abaco service under uvicorn in a background thread (its own event loop), at ``time_scale``."""

    def __init__(self, state_dir: Path, settings: dict[str, Any] | None = None,
                 time_scale: float = FAST_TIME_SCALE) -> None:
        import uvicorn

        self.state_dir = state_dir
        self.service = create_service(SandboxContext(state_dir=state_dir, settings=settings or {},
                                                     time_scale=time_scale))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(self.service.app, log_level="warning", lifespan="off", access_log=False,
                                http=protocol_class())  # as the sandbox host serves (no 40 ms Nagle stalls)
        self.server = uvicorn.Server(config)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="abaco-test-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(30) or self._error is not None:
            raise RuntimeError(f"the Abaco emulator did not start: {self._error!r}")
        self.description = self.service.describe()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # surfaced by __init__ or stop()
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        await self.service.start(self.url)
        task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        while not self.server.started and not task.done():
            await asyncio.sleep(0.01)
        self._ready.set()
        try:
            await task
        finally:
            await self.service.stop()
            self.sock.close()

    def stop(self) -> None:
        """Stop serving, kill every child process, close the store."""
        self.server.should_exit = True
        self._thread.join(60)
        assert not self._thread.is_alive(), "the emulator thread did not end"

    def token(self, user: str = "user") -> str:
        return str(self.description["users"][user]["token"])

    def username(self, user: str = "user") -> str:
        return str(self.description["users"][user]["username"])


class AbacoProcess:
    """``python -m swan_jupyter.sandbox.abaco`` as a child process (to kill it with SIGKILL)."""

    def __init__(self, state_dir: Path, *extra: str) -> None:
        self.state_dir = state_dir
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "swan_jupyter.sandbox.abaco", "--state", str(state_dir), *extra],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            detail = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"the emulator process did not start: {detail}")
        self.description: dict[str, Any] = json.loads(line)
        self.url = str(self.description["url"])

    def token(self, user: str = "user") -> str:
        return str(self.description["users"][user]["token"])

    def kill(self) -> None:
        """SIGKILL the server process only (its actor processes, in their own sessions, survive it)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> int:
        """SIGTERM (a clean stop) and wait."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)


class Api:
    """Plain ``requests`` calls to one flavor of the emulator as one sandbox user."""

    PREFIX = {"v2": "/actors/v2", "v3": "/v3/actors", "internal": "/actors"}

    def __init__(self, url: str, token: str | None, flavor: str = "v3") -> None:
        self.url = url
        self.token = token
        self.flavor = flavor
        self.session = requests.Session()

    def path(self, rest: str = "") -> str:
        return f"{self.url}{self.PREFIX[self.flavor]}{rest}"

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.token:
            if self.flavor == "v3":
                headers["X-Tapis-Token"] = self.token
            else:
                headers["Authorization"] = f"Bearer {self.token}"
        headers.update(extra or {})
        return headers

    def call(self, method: str, rest: str = "", *, headers: dict[str, str] | None = None,
             **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        return self.session.request(method, self.path(rest), headers=self.headers(headers), **kwargs)

    def ok(self, method: str, rest: str = "", **kwargs: Any) -> Any:
        """Call and return ``result`` after checking the success envelope."""
        response = self.call(method, rest, **kwargs)
        assert response.status_code == 200, (response.status_code, response.text)
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert body["status"] == "success", body
        return body["result"]

    def error(self, method: str, rest: str = "", status: int = 400, **kwargs: Any) -> str:
        """Call and return the error ``message`` after checking the status and the error envelope."""
        response = self.call(method, rest, **kwargs)
        assert response.status_code == status, (response.status_code, response.text)
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert body["status"] == "error" and body["result"] is None, body
        return str(body["message"])

    def k(self, snake: str) -> str:
        """A field name in this flavor's case."""
        if self.flavor == "v3":
            return snake
        head, *rest = snake.split("_")
        return head + "".join(p.title() for p in rest)

    def create(self, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.ok("POST", "", json=fields)
        return result

    def wait_actor(self, actor_id: str, status: str = "READY", timeout: float = TIMEOUT) -> dict[str, Any]:
        return wait_for(lambda: self.ok("GET", f"/{actor_id}"), lambda a: a["status"] == status, timeout)

    def send(self, actor_id: str, message: str = "hello", **kwargs: Any) -> str:
        result = self.ok("POST", f"/{actor_id}/messages", json={"message": message}, **kwargs)
        return str(result[self.k("execution_id")])

    def wait_execution(self, actor_id: str, execution_id: str, status: str = "COMPLETE",
                       timeout: float = 30) -> dict[str, Any]:
        return wait_for(lambda: self.ok("GET", f"/{actor_id}/executions/{execution_id}"),
                        lambda e: e["status"] == status, timeout)

    def logs(self, actor_id: str, execution_id: str) -> str:
        return str(self.ok("GET", f"/{actor_id}/executions/{execution_id}/logs")["logs"])


def wait_for(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float = TIMEOUT) -> Any:
    """Poll ``fetch`` every 50 ms until ``done`` holds; fail with the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    value = fetch()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s; last value: {value!r}")
        time.sleep(0.05)
        value = fetch()
    return value


def write_script(folder: Path, name: str, text: str) -> str:
    """Write a Python file and return its ``file://`` image name."""
    path = folder / name
    path.write_text(text)
    return f"file://{path}"


def execution_folder(execution_id: str) -> str | None:
    """The folder of an execution's live process (its cwd, named after the execution), or ``None``.

    Found by the process's working folder, not its environment: ``/proc/<pid>/environ`` shows the environment a
    program was *executed* with, and a warm-started execution is forked (the fork server's environment shows
    there, not the execution's own, which it sets after the fork)."""
    import psutil

    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.pid == os.getpid() or proc.status() == psutil.STATUS_ZOMBIE:
                continue
            cwd = proc.cwd()
        except (psutil.Error, OSError):
            continue
        if os.path.basename(cwd) == execution_id:
            return cwd
    return None


def execution_process_alive(execution_id: str) -> bool:
    """Whether a live process of this user runs the execution ``execution_id``."""
    return execution_folder(execution_id) is not None
