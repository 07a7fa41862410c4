"""Test utilities shared by the suites (not fixtures: those are in conftest.py)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from swan_jupyter.sandbox.reliability import new_task  # noqa: F401  (the tests import it from here)


class TestingShell(InteractiveShell):
    """A real InteractiveShell whose failing cells fail the test (jupysql's pattern)."""

    __test__ = False

    def run_cell(self, raw_cell: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        result = super().run_cell(raw_cell, *args, **kwargs)
        result.raise_error()
        return result


@dataclass
class Scripted:
    """One scripted answer of :class:`ScriptedServer`."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    drop: bool = False  # close the connection without answering (a lost response)


class ScriptedServer:
    """A real HTTP server on 127.0.0.1 answering from a queue of :class:`Scripted` replies; records requests."""

    def __init__(self) -> None:
        self.queue: list[Scripted] = []
        self.default = Scripted(200, {"status": "success", "data": None, "message": "ok"})
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body,
                     "client": self.client_address}
                )
                reply = outer.queue.pop(0) if outer.queue else outer.default
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if isinstance(reply.body, bytes | str):
                    payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
                else:
                    payload = json.dumps(reply.body).encode()
                head = f"HTTP/1.1 {reply.status} X\r\nContent-Type: {reply.content_type}\r\n"
                head += f"Content-Length: {len(payload)}\r\n"
                for k, v in reply.headers.items():
                    head += f"{k}: {v}\r\n"
                self.wfile.write(head.encode() + b"\r\n" + payload)
                self.wfile.flush()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self.server, self.url, self.thread = loopback_server(Handler)

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        stop_server(self.server, self.thread)


def loopback_server(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str, threading.Thread]:
    """A threading HTTP server on 127.0.0.1 (a free port), its URL, and the (not yet started) serving thread."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    return server, f"http://127.0.0.1:{server.server_address[1]}", thread


def stop_server(server: ThreadingHTTPServer, thread: threading.Thread) -> None:
    """Stop a server made by :func:`loopback_server` and wait for its thread."""
    server.shutdown()
    server.server_close()
    thread.join(5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def env(**values: str | None) -> Iterator[None]:
    import os

    old = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.02) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class Scenario(dict[str, Any]):
    """What the ordered steps of a scenario split into test methods hand on to the next (a class-scoped fixture
    holds it, and tears down what the steps made). pytest runs a class's methods in definition order."""

    def need(self, key: str) -> Any:
        """The value an earlier step stored; if that step failed or did not run, this step is skipped (the earlier
        one is the failure to read)."""
        if key not in self:
            pytest.skip(f"needs {key!r} from an earlier step of this scenario, which failed or was not run")
        return self[key]


def function_client(sandbox: dict[str, Any], prefix: str) -> Iterator[Any]:
    """The sandbox's admin user on Abaco v3 (only admins add workers) for function-actor tests; the actors whose
    name starts with ``prefix`` are deleted at the end."""
    import contextlib

    from swan_jupyter.actors import Actors
    from swan_jupyter.errors import RemoteError

    abaco = sandbox["abaco"]
    client = Actors(abaco["url"], token=abaco["users"]["admin"]["token"], flavor="v3")
    yield client
    for actor in client.list():
        if (actor.name or "").startswith(prefix) and actor.id:
            with contextlib.suppress(RemoteError):
                client.delete(actor.id)
    client.close()
