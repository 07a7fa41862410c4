"""The sandbox's fault layer, and how the transport survives it (counts asserted, loopback only)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from swan_jupyter.errors import TransportError, UnknownOutcomeError
from swan_jupyter.sandbox.connections import protocol_class
from swan_jupyter.sandbox.faults import FaultMiddleware, FaultState
from swan_jupyter.transport import Transport

ADMIN = "test-admin-token"


class App:
    def __init__(self) -> None:
        self.messages: list[Any] = []

        async def get_item(request: Request) -> JSONResponse:
            return JSONResponse({"status": "success", "result": {"id": request.path_params["i"]}, "message": "ok",
                                 "version": "dev"})

        async def post_message(request: Request) -> JSONResponse:
            self.messages.append(await request.json())
            return JSONResponse({"status": "success", "result": {"n": len(self.messages)}, "message": "ok",
                                 "version": "dev"})

        self.asgi = Starlette(routes=[Route("/items/{i}", get_item), Route("/messages", post_message,
                                                                            methods=["POST"])])


@pytest.fixture
def served() -> Iterator[tuple[str, FaultState, App]]:
    app = App()
    state = FaultState(ADMIN)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(FaultMiddleware(app.asgi, "abaco", state), log_level="error",
                                           lifespan="off", http=protocol_class()))  # as the sandbox host serves
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", state, app
    server.should_exit = True
    thread.join(10)
    sock.close()


def admin(url: str, method: str, body: Any = None, token: str = ADMIN) -> requests.Response:
    return requests.request(method, url + "/_sandbox/faults", json=body, headers={"X-Sandbox-Admin": token},
                            timeout=5)


def test_admin_route_needs_the_token_and_validates(served: tuple[str, FaultState, App]) -> None:
    url, _, _ = served
    assert admin(url, "GET", token="wrong").status_code == 403
    bad = admin(url, "PUT", {"rules": [{"error_rate": 2}]})
    assert bad.status_code == 400 and "between 0 and 1" in bad.json()["message"]
    bad = admin(url, "PUT", {"rules": [{"nonsense": 1}]})
    assert bad.status_code == 400 and "unknown rule fields: nonsense" in bad.json()["message"]
    ok = admin(url, "PUT", {"rules": [{"target": "abaco", "error_rate": 0.5, "methods": ["get"]}]})
    assert ok.status_code == 200 and ok.json()["rules"][0]["methods"] == ["GET"]
    assert admin(url, "DELETE").json()["rules"] == []


def test_reads_survive_30_percent_503s_and_resets(served: tuple[str, FaultState, App]) -> None:
    url, _, _ = served
    admin(url, "PUT", {"rules": [{"error_rate": 0.15, "reset_rate": 0.15, "seed": 7}]})
    transport = Transport(url, envelope="abaco", retries=6, backoff=0.001, read_timeout=5)
    right = clear_errors = 0
    started = time.monotonic()
    for i in range(200):
        try:
            assert transport.get(f"/items/{i}") == {"id": str(i)}
            right += 1
        except TransportError:
            clear_errors += 1
        except Exception as exc:  # any other outcome is a defect
            pytest.fail(f"unexpected {exc!r}")
    report = admin(url, "GET").json()["injected"]
    figures = f"200 reads under 30% faults: {right} right, {clear_errors} transport errors; injected {report}"
    assert right + clear_errors == 200, figures
    assert right >= 195, figures  # with 6 retries, P(all 7 attempts fail) = 0.3**7
    assert report.get("abaco:error", 0) > 20 and report.get("abaco:reset", 0) > 20, figures
    assert time.monotonic() - started < 60


def test_lost_post_response_is_reported_and_never_resent(served: tuple[str, FaultState, App]) -> None:
    url, _, app = served
    admin(url, "PUT", {"rules": [{"methods": ["POST"], "lose_rate": 1.0, "limit": 1}]})
    transport = Transport(url, envelope="abaco", retries=5, backoff=0.001)
    with pytest.raises(UnknownOutcomeError) as info:
        transport.post("/messages", json={"m": 1}, outcome_check="count the mailbox")
    assert app.messages == [{"m": 1}]  # the work was done exactly once
    assert "count the mailbox" in str(info.value)
    # the rule's limit is used up: the next POST goes through, and nothing was repeated behind our back
    assert transport.post("/messages", json={"m": 2}) == {"n": 2}
    assert app.messages == [{"m": 1}, {"m": 2}]


def test_latency_is_added(served: tuple[str, FaultState, App]) -> None:
    url, _, _ = served
    admin(url, "PUT", {"rules": [{"latency_ms": 150}]})
    started = time.monotonic()
    Transport(url, envelope="abaco").get("/items/1")
    assert time.monotonic() - started >= 0.14


def test_the_emulators_flag_must_be_a_boolean(served: tuple[str, FaultState, App]) -> None:
    url, _, _ = served
    answer = admin(url, "PUT", {"rules": [{"latency_ms": 5, "emulators": "no"}]})
    assert answer.status_code == 400 and "emulators must be true or false" in answer.json()["message"]
