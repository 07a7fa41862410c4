"""The real clients against the real emulators in this process, through an injected sender: no sandbox host
process, no port, no chain (the fast lane).

The clients are built the way users build them (``Actors``, ``Session``, the magics); only their transport's
sender is the in-process one (:mod:`swan_jupyter.sandbox.inprocess`). The envelopes and the error mapping on
top are the transport's own, so a refusal of the emulator arrives as the same typed error as over a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

from swan_jupyter.actors import Actor, Actors
from swan_jupyter.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    TransportError,
    UnknownOutcomeError,
)
from swan_jupyter.magics.core import swan_magics
from swan_jupyter.sandbox.inprocess import AsgiSender, InProcessSandbox, LoopThread
from swan_jupyter.session import Session
from swan_jupyter.transport import Transport
from tests.helpers import TestingShell


@pytest.fixture(scope="module")
def inproc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessSandbox]:
    """Both emulators in this process (no chain), stopped at the end of the module."""
    with InProcessSandbox(tmp_path_factory.mktemp("inprocess"), time_scale=600) as sandbox:
        yield sandbox


@pytest.fixture
def session(inproc: InProcessSandbox, tmp_path: Path) -> Iterator[Session]:
    """A user's session whose every client sends through the in-process sender."""
    abaco, orch = inproc.description["abaco"], inproc.description["orchestrator"]
    built = Session(transport_factory=partial(Transport, sender=inproc.sender), orchestrator_url=orch["url"],
                    api_key=orch["api_key"], abaco_url=abaco["url"], abaco_token=abaco["users"]["admin"]["token"],
                    sandbox_state_dir=tmp_path / "no-sandbox-here", ledger_path=tmp_path / "ledger.sqlite")
    yield built
    built.close()


def _actors(inproc: InProcessSandbox, flavor: str, user: str = "user") -> Actors:
    abaco = inproc.description["abaco"]
    return Actors(abaco["url"], token=abaco["users"][user]["token"], flavor=flavor,  # type: ignore[arg-type]
                  transport_factory=partial(Transport, sender=inproc.sender))


@pytest.mark.parametrize("flavor", ["v2", "v3"])
def test_an_actor_lives_and_runs_through_the_in_process_sender(inproc: InProcessSandbox, flavor: str) -> None:
    client = _actors(inproc, flavor)
    assert isinstance(client.transport.sender, AsgiSender)
    actor = client.add({"image": "abacosamples/test", "name": f"inproc-{flavor}",
                        "default_environment": {"GREETING": "hi"}})
    try:
        assert isinstance(actor, Actor) and actor.id
        assert actor.id in {a.id for a in client.list()}
        ex = client.send_message(actor.id, {"n": 3}, environment={"MODE": "fast"}).wait(timeout=60)
        assert ex.status == "COMPLETE"
        logs = ex.logs()
        assert "MODE" in logs and "GREETING" in logs  # the test image prints its environment: a real child ran
        assert ex.id in {e.id for e in client.list_executions(actor.id).executions}
        with pytest.raises(NotFoundError):  # the emulator's refusal, mapped by the transport as over a socket
            client.get(actor.id + "-missing")
        client.delete(actor.id)
        assert actor.id not in {a.id for a in client.list()}
    finally:
        with contextlib.suppress(NotFoundError, PermissionDeniedError):  # already deleted unless a step failed
            client.delete(actor.id)
        client.close()


def test_refusals_keep_their_types_in_process(inproc: InProcessSandbox) -> None:
    abaco = inproc.description["abaco"]
    stranger = Actors(abaco["url"], token="not-a-token", flavor="v3",
                      transport_factory=partial(Transport, sender=inproc.sender))
    with pytest.raises(AuthenticationError):
        stranger.list()
    lost = Actors("http://127.0.0.1:9", token="some-token",
                  transport_factory=partial(Transport, sender=inproc.sender))
    with pytest.raises(TransportError, match="Could not connect") as caught:  # an origin the sender does not serve
        lost.list()
    assert not isinstance(caught.value, UnknownOutcomeError)


def test_the_orchestrator_is_read_through_an_injected_session(session: Session) -> None:
    orch = session.orchestrator()
    assert isinstance(orch.transport.sender, AsgiSender)
    hardware = orch.get_hardware()
    assert hardware and all(h.name for h in hardware)
    assert isinstance(orch.get_app_repo_image(), dict | list)


def test_the_magics_use_the_session_given_to_swan_magics(ip: TestingShell, session: Session) -> None:
    cfg = swan_magics(ip)
    assert cfg is not None
    cfg.session = session
    try:
        name = "inproc-magics"
        ip.run_line_magic("actors", f"create --image abacosamples/test --name {name} made")
        made = ip.user_ns["made"]
        listing = ip.run_line_magic("actors", "list")
        assert isinstance(listing, pd.DataFrame) and made.id in set(listing["id"])
        assert session.actors().get(made.id).name == name  # the injected session's client saw the actor
        hardware = ip.run_line_magic("swan", "hardware")
        assert isinstance(hardware, pd.DataFrame) and len(hardware) > 0
        ip.run_line_magic("actors", f"delete {made.id}")
        assert made.id not in {a.id for a in session.actors().list()}
    finally:
        cfg.session = None


def test_the_sender_builds_scope_body_and_response_and_bounds_the_wait() -> None:
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        message = await receive()
        seen.update(scope=scope, body=message["body"])
        if scope["path"] == "/slow":
            await asyncio.sleep(30)
        if scope["path"] == "/boom":
            raise RuntimeError("boom")
        await send({"type": "http.response.start", "status": 201,
                    "headers": [(b"content-type", b"application/json"), (b"x-a", b"1"), (b"x-a", b"2")]})
        await send({"type": "http.response.body", "body": b'{"ok":', "more_body": True})
        await send({"type": "http.response.body", "body": b" true}"})

    runner = LoopThread()
    try:
        http = requests.Session()
        http.mount("http://", AsgiSender({"http://127.0.0.1:2": app}, runner))
        answer = http.post("http://127.0.0.1:2/a%20b/c?x=1&y=%20", data=b"payload", headers={"X-Key": "v"})
        assert answer.status_code == 201 and answer.json() == {"ok": True} and answer.reason == "Created"
        assert answer.headers["X-A"] == "1, 2"
        scope = seen["scope"]
        assert scope["method"] == "POST" and scope["path"] == "/a b/c" and scope["raw_path"] == b"/a%20b/c"
        assert scope["query_string"] == b"x=1&y=%20" and seen["body"] == b"payload"
        assert (b"host", b"127.0.0.1:2") in scope["headers"] and (b"x-key", b"v") in scope["headers"]
        assert http.get("http://127.0.0.1:2/boom").status_code == 500
        with pytest.raises(requests.ReadTimeout):
            http.get("http://127.0.0.1:2/slow", timeout=(1, 0.2))
        with pytest.raises(requests.ConnectionError, match="no in-process service"):
            http.get("http://127.0.0.1:3/")
    finally:
        runner.close()


def test_no_socket_is_opened(inproc: InProcessSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing connects anywhere: the answer comes from the app, not from a listener."""
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"a socket connection was attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    client = _actors(inproc, "v3")
    assert isinstance(client.list(), list)
    client.close()
