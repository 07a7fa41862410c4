"""The transport against a real HTTP server on loopback: retries, envelopes, error mapping, redaction."""

from __future__ import annotations

import time

import pytest

from swan_jupyter.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RemoteError,
    TransportError,
    UnknownOutcomeError,
)
from swan_jupyter.redact import Secret
from swan_jupyter.transport import USER_AGENT, NonceAuth, RawReply, TokenAuth, Transport
from tests.helpers import Scripted, ScriptedServer, free_port

SWAN_OK = {"status": "success", "data": {"x": 1}, "message": "ok"}
ABACO_OK = {"status": "success", "result": [1, 2], "message": "Actors retrieved successfully.", "version": "dev"}


@pytest.fixture
def server() -> ScriptedServer:
    with ScriptedServer() as srv:
        yield srv


def swan(server: ScriptedServer, **kw: object) -> Transport:
    return Transport(server.url, envelope="swan", backoff=0.01, service="Orchestrator", **kw)  # type: ignore[arg-type]


def test_get_is_retried_on_503_then_succeeds(server: ScriptedServer) -> None:
    server.queue = [Scripted(503, {"message": "busy"}), Scripted(502, "bad gateway", content_type="text/plain"),
                    Scripted(200, SWAN_OK)]
    assert swan(server).get("/thing") == {"x": 1}
    assert [r["method"] for r in server.requests] == ["GET", "GET", "GET"]


def test_post_is_never_retried_on_503(server: ScriptedServer) -> None:
    server.queue = [Scripted(503, {"status": "failed", "message": "busy", "data": None}), Scripted(200, SWAN_OK)]
    with pytest.raises(RemoteError) as info:
        swan(server).post("/v2/task_deployment-dp", data={"a": "1"})
    assert info.value.status == 503
    assert len(server.requests) == 1


def test_retry_budget_is_bounded(server: ScriptedServer) -> None:
    server.default = Scripted(503, {"status": "failed", "message": "still busy", "data": None})
    with pytest.raises(RemoteError) as info:
        swan(server, retries=2).get("/x")
    assert info.value.status == 503
    assert len(server.requests) == 3  # first try + 2 retries


def test_retry_after_is_honoured(server: ScriptedServer) -> None:
    server.queue = [Scripted(429, {"message": "slow down"}, headers={"Retry-After": "1"}), Scripted(200, SWAN_OK)]
    started = time.monotonic()
    assert swan(server).get("/x") == {"x": 1}
    assert time.monotonic() - started >= 0.9


def test_swan_envelope_failed_status_is_an_error_even_with_200(server: ScriptedServer) -> None:
    server.queue = [Scripted(200, {"status": "failed", "data": None, "message": "fetch task info failed"})]
    with pytest.raises(RemoteError) as info:
        swan(server).get("/v2/task_deployment/abc?x=1")
    err = info.value
    assert err.server_message == "fetch task info failed"
    assert err.method == "GET" and err.path == "/v2/task_deployment/abc"
    assert "fetch task info failed" in str(err)


def test_abaco_envelope_and_error_mapping(server: ScriptedServer) -> None:
    t = Transport(server.url, envelope="abaco", backoff=0.01, service="Abaco")
    server.queue = [Scripted(200, ABACO_OK)]
    assert t.get("/actors/v2") == [1, 2]
    cases = [
        (404, "No actor found with identifier: X.", NotFoundError),
        (400, "Not authorized -- you do not have access to this actor.", PermissionDeniedError),
        (400, "No JWT or nonce provided.", AuthenticationError),
        (400, "No remaining uses left for this nonce.", AuthenticationError),
        (401, "Invalid Credentials", AuthenticationError),
        (400, "Invalid actor description: stateful actors can only have 1 worker.", RemoteError),
    ]
    for status, message, cls in cases:
        server.queue = [Scripted(status, {"status": "error", "result": None, "message": message, "version": "dev"})]
        with pytest.raises(cls) as info:
            t.get("/actors/v2/X")
        assert type(info.value) is cls
        assert info.value.status == status and info.value.server_message == message


def test_raw_bytes_pass_through(server: ScriptedServer) -> None:
    t = Transport(server.url, envelope="abaco")
    server.queue = [Scripted(200, b"\x00\x01binary", content_type="application/octet-stream")]
    reply = t.get("/actors/v2/A/executions/E/results")
    assert isinstance(reply, RawReply) and reply.content == b"\x00\x01binary"


def test_post_with_lost_response_is_unknown_outcome_and_not_repeated(server: ScriptedServer) -> None:
    server.queue = [Scripted(drop=True)]
    t = Transport(server.url, envelope="abaco", backoff=0.01)
    with pytest.raises(UnknownOutcomeError) as info:
        t.post("/actors/v2/A/messages", json={"message": "hi"}, outcome_check="list the actor's executions")
    assert len(server.requests) == 1
    assert "list the actor's executions" in str(info.value)


def test_get_with_lost_responses_is_retried(server: ScriptedServer) -> None:
    server.queue = [Scripted(drop=True), Scripted(200, SWAN_OK)]
    assert swan(server).get("/x") == {"x": 1}
    assert len(server.requests) == 2


def test_connection_refused_is_a_transport_error_even_for_post() -> None:
    t = Transport(f"http://127.0.0.1:{free_port()}", envelope="swan", retries=1, backoff=0.01)
    with pytest.raises(TransportError) as info:
        t.post("/login_by_api_key", data={"api_key": "k"})
    assert not isinstance(info.value, UnknownOutcomeError)
    assert "Could not connect" in str(info.value)


def test_timeout_is_bounded(server: ScriptedServer) -> None:
    class Slow(Scripted):
        pass

    import threading

    gate = threading.Event()
    original = server.server.RequestHandlerClass._handle  # type: ignore[attr-defined]

    def slow(self: object) -> None:
        gate.wait(3)
        original(self)

    server.server.RequestHandlerClass._handle = slow  # type: ignore[attr-defined]
    server.server.RequestHandlerClass.do_GET = slow  # type: ignore[attr-defined]
    t = Transport(server.url, envelope="swan", read_timeout=0.2, retries=1, backoff=0.01)
    started = time.monotonic()
    with pytest.raises(TransportError):
        t.get("/slow")
    gate.set()
    assert time.monotonic() - started < 2.5


def test_headers_user_agent_and_auth(server: ScriptedServer) -> None:
    secret = "tok-" + "a" * 30
    t = Transport(server.url, envelope="swan", auth=TokenAuth(secret))
    server.queue = [Scripted(200, SWAN_OK)]
    t.get("/x")
    headers = server.requests[0]["headers"]
    assert headers["User-Agent"] == USER_AGENT and USER_AGENT.startswith("swan-jupyter/")
    assert headers["Authorization"] == f"Bearer {secret}"
    assert secret not in repr(t)
    t3 = Transport(server.url, envelope="abaco", auth=TokenAuth(secret, header="X-Tapis-Token", prefix=""))
    server.queue = [Scripted(200, ABACO_OK)]
    t3.get("/v3/actors")
    assert server.requests[-1]["headers"]["X-Tapis-Token"] == secret


def test_secrets_are_redacted_from_errors(server: ScriptedServer) -> None:
    nonce = "TACC-PROD_" + "n" * 20
    t = Transport(server.url, envelope="abaco", auth=NonceAuth(Secret(nonce)))
    server.queue = [Scripted(400, {"status": "error", "result": None, "version": "dev",
                                   "message": f"Nonce does not exist. ({nonce})"})]
    with pytest.raises(AuthenticationError) as info:
        t.get(f"/actors/v2/A/messages?x-nonce={nonce}")
    text = str(info.value) + repr(info.value) + info.value.path + info.value.server_message
    assert nonce not in text
    assert "x-nonce=" + nonce in server.requests[0]["path"]
    # secret-shaped values are redacted even if never registered
    bearer_err = RemoteError("header was Bearer abcdefghijklmnop and key 0x" + "ab" * 32)
    assert "abcdefghijklmnop" not in str(bearer_err) and "ab" * 32 not in str(bearer_err)


def test_connections_are_pooled(server: ScriptedServer) -> None:
    t = swan(server)
    for _ in range(20):
        t.get("/x")
    clients = {r["client"] for r in server.requests}
    assert len(server.requests) == 20
    assert len(clients) == 1  # one keep-alive connection served all twenty requests
