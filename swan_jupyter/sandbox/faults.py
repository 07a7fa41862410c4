"""A switchable fault layer for the sandbox's endpoints (the emulators and the chain's RPC endpoint).

Faults are rules, applied in order to each request that matches their ``target``, ``methods`` and ``paths``:

``latency_ms`` / ``jitter_ms``
    delay before the request is handled;
``error_rate`` (with ``error_status``, default 503)
    answer with an error in the service's own envelope, without doing the work;
``reset_rate``
    reset the TCP connection (RST) before doing the work;
``lose_rate``
    do the work (a message accepted, a payment validated, a raw transaction sent to the chain), then reset the
    connection instead of answering: the dangerous "response lost after the server acted" case.

``methods`` lists HTTP methods for the emulators and JSON-RPC methods (``eth_sendRawTransaction``) for the
chain; ``paths`` lists regular expressions matched against the path. ``limit`` caps how many times a rule fires;
``seed`` makes a rule's coin flips reproducible. ``emulators: false`` spares the emulators' own requests to the chain
(the Orchestrator reading a payment while it validates, marked by the ``X-Sandbox-Caller: emulator`` header): a
notebook far from services that sit next to their chain node, which is what the benchmarks' ``--latency`` models.

Switch faults with the admin route on any sandbox port (loopback only, and the ``X-Sandbox-Admin`` header must
carry ``host.admin_token`` from ``sandbox.json``)::

    PUT    /_sandbox/faults   {"rules": [{"target": "abaco", "error_rate": 0.3, "methods": ["GET"]}]}
    GET    /_sandbox/faults   -> the rules and how many faults each kind injected
    DELETE /_sandbox/faults   -> no faults

or at start with ``STATE_DIR/faults.json`` (same body as the PUT).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import socket
import struct
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .guard import error_body
from .guard import send_json as _json

ADMIN_PATH = "/_sandbox/faults"
CALLER_HEADER = "X-Sandbox-Caller"  # "emulator" on the emulators' own chain requests
_CALLER_KEY = CALLER_HEADER.lower().encode()

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]



class FaultConfigError(ValueError):
    """A fault rule is malformed; the message names the field."""


@dataclass
class FaultRule:
    """One fault rule (see the module docstring)."""

    target: str = "*"
    methods: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    reset_rate: float = 0.0
    lose_rate: float = 0.0
    limit: int | None = None
    seed: int | None = None
    emulators: bool = True
    fired: int = 0

    def __post_init__(self) -> None:
        for name in ("error_rate", "reset_rate", "lose_rate"):
            value = float(getattr(self, name))
            if not 0.0 <= value <= 1.0:
                raise FaultConfigError(f"{name} must be between 0 and 1, got {value}")
            setattr(self, name, value)
        if self.error_rate + self.reset_rate + self.lose_rate > 1.0:
            raise FaultConfigError("error_rate + reset_rate + lose_rate must not exceed 1")
        if self.latency_ms < 0 or self.jitter_ms < 0:
            raise FaultConfigError("latency_ms and jitter_ms must be >= 0")
        if not isinstance(self.emulators, bool):
            raise FaultConfigError("emulators must be true or false")
        if not 500 <= int(self.error_status) <= 599 and int(self.error_status) != 429:
            raise FaultConfigError("error_status must be 429 or a 5xx code")
        try:
            self._patterns = [re.compile(p) for p in self.paths]
        except re.error as exc:
            raise FaultConfigError(f"bad path pattern: {exc}") from None
        self._rng = random.Random(self.seed)
        self.methods = [m if m.startswith("eth_") or m.startswith("anvil_") else m.upper() for m in self.methods]

    def matches(self, target: str, method: str, path: str, from_emulator: bool = False) -> bool:
        if self.target not in ("*", target) or (from_emulator and not self.emulators):
            return False
        if self.limit is not None and self.fired >= self.limit:
            return False
        if self.methods and method not in self.methods:
            return False
        return not self._patterns or any(p.search(path) for p in self._patterns)

    def draw(self) -> str | None:
        """Which fault fires for this request: 'error', 'reset', 'lose' or None."""
        x = self._rng.random()
        for kind, rate in (("error", self.error_rate), ("reset", self.reset_rate), ("lose", self.lose_rate)):
            if x < rate:
                return kind
            x -= rate
        return None

    def public(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


class FaultState:
    """The rules in force and the counts of injected faults, shared by every endpoint of one host."""

    def __init__(self, admin_token: str) -> None:
        self.admin_token = admin_token
        self.rules: list[FaultRule] = []
        self.injected: Counter[str] = Counter()
        self._lock = threading.Lock()

    def configure(self, body: Any) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("rules", []), list):
            raise FaultConfigError('the body must be {"rules": [ {...}, ... ]}')
        rules = []
        allowed = {f for f in FaultRule.__dataclass_fields__ if f != "fired"}
        for raw in body.get("rules", []):
            if not isinstance(raw, dict):
                raise FaultConfigError("each rule must be an object")
            unknown = set(raw) - allowed
            if unknown:
                raise FaultConfigError(f"unknown rule fields: {', '.join(sorted(unknown))}")
            try:
                rules.append(FaultRule(**raw))
            except TypeError as exc:
                raise FaultConfigError(str(exc)) from None
        with self._lock:
            self.rules = rules
            self.injected.clear()

    def load_file(self, path: Path) -> None:
        if path.exists():
            self.configure(json.loads(path.read_text()))

    def decide(self, target: str, method: str, path: str,
               from_emulator: bool = False) -> tuple[float, str | None, int]:
        """(delay seconds, fault kind or None, error status) for one request (``from_emulator``: an emulator's own
        request to the chain)."""
        delay = 0.0
        with self._lock:
            for rule in self.rules:
                if not rule.matches(target, method, path, from_emulator):
                    continue
                delay += (rule.latency_ms + rule._rng.random() * rule.jitter_ms) / 1000.0
                kind = rule.draw()
                if kind is not None:
                    rule.fired += 1
                    self.injected[f"{target}:{kind}"] += 1
                    return delay, kind, rule.error_status
            if delay:
                self.injected[f"{target}:latency"] += 1
        return delay, None, 503

    def report(self) -> dict[str, Any]:
        with self._lock:
            return {"rules": [r.public() for r in self.rules], "injected": dict(self.injected)}


def _abort(send: Send) -> bool:
    """Reset the client's TCP connection (RST) under uvicorn; False if the server is not uvicorn."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    return True


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


class FaultMiddleware:
    """ASGI middleware applying :class:`FaultState` to one endpoint, and serving the admin route."""

    def __init__(self, app: Any, target: str, state: FaultState, *, jsonrpc: bool = False) -> None:
        self.app = app
        self.target = target
        self.state = state
        self.jsonrpc = jsonrpc

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path == ADMIN_PATH:
            await self._admin(scope, receive, send)
            return
        if not self.state.rules:
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        if self.jsonrpc:
            body = await _read_body(receive)
            method = _rpc_method(body) or method
            receive = _replay(body)
        from_emulator = any(k == _CALLER_KEY and v == b"emulator" for k, v in scope.get("headers", []))
        delay, kind, status = self.state.decide(self.target, method, path, from_emulator)
        if delay:
            await asyncio.sleep(delay)
        if kind == "error":
            await _json(send, status, error_body(self.target, f"injected fault: HTTP {status}"))
            return
        if kind == "reset" and _abort(send):
            return
        if kind == "lose":
            async def swallow(message: dict[str, Any]) -> None:
                return None

            await self.app(scope, receive, swallow)
            if _abort(send):
                return
        await self.app(scope, receive, send)

    async def _admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client") or ("", 0)
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        if client[0] not in ("127.0.0.1", "::1") or headers.get("x-sandbox-admin") != self.state.admin_token:
            await _json(send, 403, {"status": "error", "message": "admin route: wrong or missing X-Sandbox-Admin"})
            return
        method = scope.get("method")
        try:
            if method == "PUT":
                self.state.configure(json.loads(await _read_body(receive) or b"{}"))
            elif method == "DELETE":
                self.state.configure({"rules": []})
            elif method != "GET":
                await _json(send, 405, {"status": "error", "message": "use GET, PUT or DELETE"})
                return
        except (FaultConfigError, ValueError) as exc:
            await _json(send, 400, {"status": "error", "message": f"bad fault configuration: {exc}"})
            return
        await _json(send, 200, {"status": "success", **self.state.report()})


def _rpc_method(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, dict):
        return str(data.get("method")) if data.get("method") else None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return str(data[0].get("method"))
    return None


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


class RpcProxy:
    """ASGI app forwarding JSON-RPC POSTs to the chain node, so chain traffic can pass the fault layer."""

    def __init__(self, node_url: str) -> None:
        import requests

        self.node_url = node_url
        self.session = requests.Session()

    def _forward(self, body: bytes) -> tuple[int, bytes]:
        response = self.session.post(self.node_url, data=body, headers={"Content-Type": "application/json"},
                                     timeout=60)
        return response.status_code, response.content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope.get("method") != "POST":
            await _json(send, 405, {"jsonrpc": "2.0", "id": None,
                                    "error": {"code": -32600, "message": "JSON-RPC needs POST"}})
            return
        body = await _read_body(receive)
        try:
            status, content = await asyncio.to_thread(self._forward, body)
        except Exception as exc:  # the node is down: answer like a JSON-RPC server would
            await _json(send, 502, {"jsonrpc": "2.0", "id": None,
                                    "error": {"code": -32603, "message": f"chain node unreachable: {exc}"}})
            return
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(content)).encode())]})
        await send({"type": "http.response.body", "body": content})

    def close(self) -> None:
        self.session.close()
