"""The transport against a real HTTP server on loopback: retries, envelopes, error mapping, redaction."""

from __future__ import annotations

import secrets
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
    # only registered values are masked: a transaction hash or an address is shown in full
    tx = "0x" + secrets.token_hex(32)  # unique: a key of the same text registered by another test is masked
    err = RemoteError(f"payment {tx} from 0x{'c' * 40} failed", hint=f"validate_payment({tx!r}, 'task')")
    assert tx in str(err) and f"validate_payment({tx!r}" in err.hint and "0x" + "c" * 40 in str(err)


def test_connections_are_pooled(server: ScriptedServer) -> None:
    t = swan(server)
    for _ in range(20):
        t.get("/x")
    clients = {r["client"] for r in server.requests}
    assert len(server.requests) == 20
    assert len(clients) == 1  # one keep-alive connection served all twenty requests


# -- JSON is recognised by content, not by the Content-Type label (issue 11 item 5) ---------------------------


@pytest.mark.parametrize("label", ["text/plain", "text/html; charset=utf-8", "application/octet-stream", ""])
def test_swan_envelope_is_decoded_whatever_the_content_type(server: ScriptedServer, label: str) -> None:
    server.queue = [Scripted(200, {"status": "success", "data": "the-token", "message": "ok"}, content_type=label),
                    Scripted(200, {"status": "failed", "data": None, "message": "no such task"}, content_type=label)]
    t = swan(server)
    assert t.post("/login_by_api_key", data={"api_key": "k"}) == "the-token"
    with pytest.raises(RemoteError, match="no such task"):
        t.get("/v2/task_deployment/x")


def test_orchestrator_logs_in_when_the_server_labels_json_as_text(server: ScriptedServer) -> None:
    from swan_jupyter.config import load_settings
    from swan_jupyter.orchestrator import Orchestrator

    server.queue = [Scripted(200, {"status": "success", "data": "tok-" + "t" * 20, "message": "ok"},
                             content_type="text/plain"),
                    Scripted(200, {"status": "success", "data": {"list": [], "total": 0}, "message": "ok"},
                             content_type="text/plain; charset=utf-8")]
    settings = load_settings("sandbox", retries=0, wallet_address="0x" + "1" * 40)
    orch = Orchestrator(server.url, "sk-" + "k" * 20, settings=settings)
    assert orch.get_task_list()["total"] == 0
    assert server.requests[1]["headers"]["Authorization"] == "Bearer tok-" + "t" * 20


def test_abaco_envelope_is_decoded_whatever_the_content_type(server: ScriptedServer) -> None:
    t = Transport(server.url, envelope="abaco", backoff=0.01, service="Abaco")
    denied = {"status": "error", "result": None, "version": "dev",
              "message": "Not authorized -- you do not have access to this actor."}
    server.queue = [Scripted(200, ABACO_OK, content_type="text/html"),
                    Scripted(400, denied, content_type="text/plain")]
    assert t.get("/actors/v2") == [1, 2]
    with pytest.raises(PermissionDeniedError) as info:
        t.get("/actors/v2/X")
    assert info.value.server_message == denied["message"]


def test_a_non_envelope_json_result_stays_raw_and_plain_text_errors_stay_clear(server: ScriptedServer) -> None:
    t = Transport(server.url, envelope="abaco", backoff=0.01, service="Abaco")
    server.queue = [Scripted(200, b'{"a": 1}', content_type="application/octet-stream"),
                    Scripted(200, b"[1, 2]", content_type="text/plain"),
                    Scripted(500, "Internal Server Error: {broken", content_type="text/plain")]
    first, second = t.get("/actors/v2/A/executions/E/results"), t.get("/actors/v2/A/executions/E/results")
    assert isinstance(first, RawReply) and first.content == b'{"a": 1}'
    assert isinstance(second, RawReply) and second.content == b"[1, 2]"
    with pytest.raises(RemoteError, match=r"HTTP 500\): Internal Server Error: \{broken"):
        t.get("/actors/v2/A", timeout=2)
    server.queue = [Scripted(200, "plain words", content_type="text/plain")]
    reply = swan(server).get("/x")
    assert isinstance(reply, RawReply) and reply.text == "plain words"


# -- credentials with control characters (issue 11 item 8) ---------------------------------------------------


@pytest.mark.parametrize("suffix", ["\n", "\r\n", " ", "\t\n"])
def test_a_token_with_surrounding_whitespace_is_stripped(server: ScriptedServer, suffix: str) -> None:
    from swan_jupyter.actors import Actors

    token = "tok-" + "w" * 24
    server.queue = [Scripted(200, ABACO_OK)] * 3
    Actors(server.url, token=" " + token + suffix, flavor="v2").transport.get("/actors/v2")
    Actors(server.url, token=Secret(token + suffix), flavor="v3").transport.get("/v3/actors")
    assert server.requests[0]["headers"]["Authorization"] == "Bearer " + token
    assert server.requests[1]["headers"]["X-Tapis-Token"] == token
    t = Transport(server.url, envelope="abaco", auth=NonceAuth(token + suffix))
    t.get("/actors/v2")
    assert server.requests[2]["path"].endswith("x-nonce=" + token)


@pytest.mark.parametrize("bad", ["\n", "\x00", "\r", "\x1b[31m", "\x7f", "\u2028"])
def test_a_credential_with_a_control_character_inside_is_refused_without_showing_it(bad: str) -> None:
    from swan_jupyter.actors import Actors
    from swan_jupyter.config import load_settings
    from swan_jupyter.errors import ConfigurationError

    token = "tok-" + "x" * 10 + bad + "y" * 10
    attempts = [lambda: TokenAuth(token), lambda: NonceAuth(Secret(token)),
                lambda: Actors("http://127.0.0.1:9", token=token),
                lambda: load_settings("sandbox", env={"ABACO_TOKEN": token}),
                lambda: load_settings("sandbox", env={"SWAN_API_KEY": token}),
                lambda: load_settings("sandbox", abaco_token=token)]
    for attempt in attempts:
        with pytest.raises(ConfigurationError) as info:
            attempt()
        text = str(info.value) + repr(info.value) + "".join(info.value.summary_lines())
        assert "x" * 10 not in text and "y" * 10 not in text, text
        assert "control character" in text


def test_credentials_from_the_environment_and_config_file_are_stripped(tmp_path: object) -> None:
    from pathlib import Path

    from swan_jupyter.config import load_settings

    config = Path(str(tmp_path)) / "config.toml"
    config.write_text('[profiles.lab]\ninherit = "sandbox"\napi_key = "sk-filekey-123\\n"\n')
    s = load_settings("lab", config_file=config, env={"ABACO_TOKEN": "  tok-env-123456\r\n"})
    assert s.api_key is not None and s.api_key.reveal() == "sk-filekey-123"
    assert s.abaco_token is not None and s.abaco_token.reveal() == "tok-env-123456"


def test_exceptions_escaping_the_transport_have_registered_secrets_masked(server: ScriptedServer) -> None:
    secret = Secret("hdr-secret-" + "s" * 16).reveal()
    t = Transport(server.url, envelope="swan", retries=0)
    with pytest.raises(Exception) as info:
        t.get("/x", headers={"X-Api-Key": secret + "\n"})  # http.client refuses the header and names it
    texts = []
    exc: BaseException | None = info.value
    while exc is not None:
        texts += [str(exc), repr(exc), repr(exc.args)]
        exc = exc.__cause__ or exc.__context__
    assert all(secret not in text for text in texts), texts
    assert len(server.requests) == 0


def test_an_auth_header_refused_by_http_client_does_not_show_the_token(server: ScriptedServer) -> None:
    """http.client's ``ValueError: Invalid header value b'Bearer ...'`` escapes requests: it must be masked."""
    import requests

    secret = Secret("raw-token-" + "r" * 16).reveal()

    class LooseAuth(requests.auth.AuthBase):  # a caller's own auth object, not validated by us
        def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
            r.headers["Authorization"] = "Bearer " + secret + "\n"
            return r

    t = Transport(server.url, envelope="swan", retries=0, auth=LooseAuth())
    with pytest.raises(ValueError) as info:
        t.get("/x")
    assert "Invalid header value" in str(info.value)
    assert secret not in str(info.value) and secret not in repr(info.value.args)


def test_a_plain_http_loopback_service_is_reached_directly_whatever_the_environment(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    """Proxies and CA bundles of the environment never apply to http://127.0.0.1 (the sandbox): the transport
    does not read them at each request (a netrc lookup, a proxy check and a stat of the CA bundle per request
    were a third of the client's CPU under a functions map), and a proxy variable cannot divert its traffic."""
    dead = free_port()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{dead}")
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{dead}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    server.queue = [Scripted(200, SWAN_OK)] * 3
    t = swan(server, retries=0)
    for _ in range(3):
        assert t.get("/thing") == {"x": 1}
    assert len(server.requests) == 3
    remote = Transport("https://orchestrator.example.org", envelope="swan")
    assert remote.session.trust_env  # a remote service still honours the environment (proxies, CA bundles)
