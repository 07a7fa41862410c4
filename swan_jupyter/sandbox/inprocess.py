"""The emulators in this process, with no host process and no port: for tests and quick experiments.

:class:`AsgiSender` is a requests transport adapter (the seam of :mod:`swan_jupyter.sending`) that answers a
prepared request by calling an ASGI application, as httpx's ``ASGITransport`` does: it builds the ASGI scope
from the request, runs the app on a private event loop in a background thread (a *thread runner*: the caller's
thread may have a loop of its own, and nothing is nested), and turns what the app sent into a
``requests.Response``. :class:`InProcessSandbox` builds the emulators the host would serve (same factories,
same :class:`~swan_jupyter.sandbox.service.SandboxContext`: a state folder, settings, a time scale and
optionally a chain) and routes each one's origin to its app::

    from functools import partial
    from swan_jupyter.sandbox.inprocess import InProcessSandbox
    from swan_jupyter.transport import Transport
    from swan_jupyter.actors import Actors

    with InProcessSandbox(tmp_path, services=("abaco",)) as sandbox:
        abaco = sandbox.description["abaco"]
        client = Actors(abaco["url"], token=abaco["users"]["user"]["token"],
                        transport_factory=partial(Transport, sender=sandbox.sender))

The client side stays real (its transport, envelopes, error mapping); only the socket is gone. Abaco's runtime
still starts each execution as a child process, stopped with the sandbox. Differences from the served
sandbox: no fault injection, no host/origin guard (those are the host's listeners), no retries (nothing is
lost in between), and actor code that calls the API back (``_abaco_api_server``) finds no server there.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import threading
from collections.abc import Coroutine, Iterable, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from .service import ChainInfo, SandboxContext

T = TypeVar("T")

#: The origin each in-process service answers on: loopback ports nothing listens on, so a request that missed
#: the sender would be refused on this machine rather than reach anything.
ORIGINS: dict[str, str] = {"orchestrator": "http://127.0.0.1:1", "abaco": "http://127.0.0.1:2"}
FACTORIES: dict[str, str] = {
    "orchestrator": "swan_jupyter.sandbox.orchestrator:create_service",
    "abaco": "swan_jupyter.sandbox.abaco:create_service",
}
MAX_BODY = 64 * 1024 * 1024  # a request body larger than this is refused before the app sees it


class LoopThread:
    """One daemon thread that owns an event loop; :meth:`run` runs a coroutine on it from any thread."""

    def __init__(self, name: str = "swan-jupyter-inprocess") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """The coroutine's result (its exception re-raised); on timeout it is cancelled and TimeoutError raised."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise TimeoutError(f"no answer within {timeout} s") from None

    def close(self) -> None:
        """Stop the loop and join the thread (after the coroutines that must run have run)."""
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(30)
        if not self._thread.is_alive():
            self.loop.close()


class AsgiSender(BaseAdapter):
    """A requests transport adapter that answers from ASGI apps in this process, chosen by the URL's origin.

    :param apps: ``{"http://127.0.0.1:2": app, ...}``; a request to another origin fails as a refused
        connection would (``requests.ConnectionError``), so the transport says it could not connect.
    :param runner: the loop thread the apps run on (shared with the services' own background work).
    """

    def __init__(self, apps: Mapping[str, Any], runner: LoopThread) -> None:
        super().__init__()
        self.apps = {origin.rstrip("/"): app for origin, app in apps.items()}
        self.runner = runner

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: float | tuple[float, float] | tuple[float, None] | None = None, verify: bool | str = True,
             cert: Any = None, proxies: Mapping[str, str] | None = None) -> requests.Response:
        """Call the app of the request's origin; ``timeout`` (its read part) bounds the whole call."""
        url = urlsplit(str(request.url))
        origin = f"{url.scheme}://{url.netloc}"
        app = self.apps.get(origin)
        if app is None:
            refused = ConnectionRefusedError(f"no in-process service answers at {origin}")
            raise requests.ConnectionError(refused, request=request)  # never connected: the transport says so
        body = _body_bytes(request.body)
        wait = timeout[1] if isinstance(timeout, tuple) else timeout
        try:
            status, headers, content = self.runner.run(_call(app, _scope(request, url), body), wait)
        except TimeoutError:
            raise requests.ReadTimeout(f"the in-process app did not answer within {wait} s",
                                       request=request) from None
        return _response(request, status, headers, content)

    def close(self) -> None:
        """Nothing to release: the loop belongs to the :class:`InProcessSandbox`."""


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if isinstance(body, bytes | bytearray | memoryview):
        data = bytes(body)
    elif hasattr(body, "read"):
        data = body.read(MAX_BODY + 1)
    elif isinstance(body, Iterable):
        data = b"".join(bytes(chunk) for chunk in body)
    else:
        raise requests.RequestException(f"cannot send a request body of type {type(body).__name__} in-process")
    if len(data) > MAX_BODY:
        raise requests.RequestException(f"the request body is larger than {MAX_BODY} bytes")
    return data


def _scope(request: requests.PreparedRequest, url: Any) -> dict[str, Any]:
    """The ASGI HTTP scope of ``request`` (with the ``host`` header http.client would add)."""
    headers = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in request.headers.items()]
    if not any(name == b"host" for name, _ in headers):
        headers.insert(0, (b"host", url.netloc.encode("latin-1")))
    port = url.port or (443 if url.scheme == "https" else 80)
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": str(request.method).upper(), "scheme": url.scheme, "path": unquote(url.path or "/"),
        "raw_path": (url.path or "/").encode("latin-1"), "query_string": url.query.encode("latin-1"),
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000), "server": (url.hostname, port),
        "extensions": {},
    }


async def _call(app: Any, scope: dict[str, Any], body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Run ``app`` on one request; an exception before the answer started is a 500, as a server gives."""
    done = asyncio.Event()
    sent_request = False
    status = 0
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Mapping[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = int(message["status"]), list(message.get("headers") or [])
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body") or b""))
            if not message.get("more_body", False):
                done.set()

    try:
        await app(scope, receive, send)
    except Exception:
        if not status:
            return 500, [(b"content-type", b"text/plain; charset=utf-8")], b"Internal Server Error"
        raise
    finally:
        done.set()
    return status, headers, b"".join(chunks)


def _response(request: requests.PreparedRequest, status: int, headers: list[tuple[bytes, bytes]],
              content: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    merged: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    for name, value in headers:
        key, text = name.decode("latin-1"), value.decode("latin-1")
        merged[key] = f"{merged[key]}, {text}" if key in merged and key.lower() != "set-cookie" else text
    response.headers = merged
    response.encoding = get_encoding_from_headers(merged)
    response.raw = io.BytesIO(content)
    response._content = content
    response._content_consumed = True  # type: ignore[attr-defined]
    try:
        response.reason = HTTPStatus(status).phrase
    except ValueError:
        response.reason = ""
    response.url = str(request.url)
    response.request = request
    return response


class InProcessSandbox:
    """The sandbox's emulators built in this process, served through :attr:`sender` (see the module docstring).

    :param state_dir: the state folder (as the host's ``--state``); created if missing.
    :param services: which emulators to build (``"abaco"``, ``"orchestrator"``).
    :param time_scale: how much faster than real time the Orchestrator's task lifecycle runs.
    :param settings: service settings, as the host passes them (e.g. ``{"abaco_jwt_assertion": True}``).
    :param chain: the local chain's :class:`ChainInfo` for the Orchestrator's payments (None: no chain; tasks
        can be created and read, payments are refused).

    :attr:`description` has the shape of ``sandbox.json``'s service sections (URLs, tokens, the API key).
    Use it as a context manager, or call :meth:`close`: it stops the services (killing Abaco's child
    processes), then the loop thread.
    """

    def __init__(self, state_dir: str | Path, *, services: Iterable[str] = ("abaco", "orchestrator"),
                 time_scale: float = 60.0, settings: Mapping[str, Any] | None = None,
                 chain: ChainInfo | None = None) -> None:
        names = list(services)
        unknown = [n for n in names if n not in FACTORIES]
        if unknown or not names:
            raise ValueError(f"unknown in-process services {unknown}: choose among {sorted(FACTORIES)}")
        folder = Path(state_dir)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        ctx = SandboxContext(state_dir=folder, time_scale=time_scale, chain=chain, settings=dict(settings or {}))
        self.runner = LoopThread()
        self.services: dict[str, Any] = {}
        try:
            for name in names:
                module, _, attr = FACTORIES[name].partition(":")
                service = getattr(importlib.import_module(module), attr)(ctx)
                self.services[name] = service
                self.runner.run(service.start(ORIGINS[name]), 60)
        except BaseException:
            self.close()
            raise
        self.sender = AsgiSender({ORIGINS[n]: s.app for n, s in self.services.items()}, self.runner)
        self.description: dict[str, Any] = {n: {**s.describe(), "url": ORIGINS[n]} for n, s in self.services.items()}

    def close(self) -> None:
        """Stop every service (in reverse order), then the loop thread. Idempotent."""
        for name in reversed(list(self.services)):
            service = self.services.pop(name)
            try:
                self.runner.run(service.stop(), 30)
            except Exception:  # stop the others anyway; the loop goes below
                continue
        self.runner.close()

    def __enter__(self) -> InProcessSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["ORIGINS", "AsgiSender", "InProcessSandbox", "LoopThread"]
