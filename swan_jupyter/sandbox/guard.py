"""Loopback guard: what every sandbox listener answers before its service sees a request.

The sandbox serves on ``127.0.0.1`` only, but a web page in the user's browser can still reach a loopback port,
either by DNS rebinding (a hostile name that resolves to 127.0.0.1: the browser then sends ``Host: evil.example``)
or as a cross-origin request (the browser sends ``Origin: https://evil.example``). So, on every listener:

* the ``Host`` header must be exactly ``127.0.0.1:PORT`` or ``localhost:PORT`` (the port served); anything else,
  ``[::1]:PORT`` included (the sandbox does not listen on IPv6), a missing Host or another port, is refused with
  403 and a body naming the problem;
* a request with an ``Origin`` header that is not a loopback origin (``http://127.0.0.1[:p]``,
  ``http://localhost[:p]``, ``http://[::1][:p]``; ``null`` is not one) is refused with 403, pre-flight
  ``OPTIONS`` included, and the refusal carries no ``Access-Control-Allow-*`` header;
* for a loopback origin, a service's ``Access-Control-Allow-Origin: *`` is replaced by that origin (with
  ``Vary: Origin``) and ``Access-Control-Allow-Credentials`` is never sent: credentials travel in headers that
  the page must hold itself. Requests without ``Origin`` (every non-browser client) pass unchanged.

Refusals use the service's own error envelope (see :data:`ERROR_BODIES`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
LOOPBACK_ORIGIN_HOSTS = ("127.0.0.1", "localhost", "[::1]")

#: Error bodies in each service's own envelope, by listener name (``message`` -> body).
ERROR_BODIES: dict[str, Callable[[str], dict[str, Any]]] = {
    "orchestrator": lambda m: {"data": None, "message": m, "status": "failed"},
    "abaco": lambda m: {"message": m, "result": None, "status": "error", "version": "dev", "metadata": {}},
    "chain": lambda m: {"jsonrpc": "2.0", "id": None, "error": {"code": -32603, "message": m}},
}


def error_body(target: str, message: str) -> dict[str, Any]:
    """``message`` in the error envelope of the listener ``target`` (Abaco's for unknown targets)."""
    return ERROR_BODIES.get(target, ERROR_BODIES["abaco"])(message)


async def send_json(send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Answer with a JSON body (content type ``application/json`` exactly)."""
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": payload})


def allowed_hosts(port: int) -> frozenset[str]:
    """The ``Host`` values a listener on ``127.0.0.1:port`` accepts (lower case)."""
    return frozenset(f"{host}:{port}" for host in LOOPBACK_HOSTS)


def is_loopback_origin(origin: str) -> bool:
    """Whether ``origin`` is ``http(s)://`` + a loopback host (any port); ``null`` and the rest are not."""
    try:
        parts = urlsplit(origin.strip())
        parts.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or parts.path or parts.query or parts.username is not None:
        return False
    netloc = parts.netloc.lower()
    host = netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc
    return host in LOOPBACK_ORIGIN_HOSTS


def _header(scope: Scope, name: bytes) -> str | None:
    values = [v for k, v in scope.get("headers", []) if k.lower() == name]
    if len(values) != 1:
        return None if not values else "\n"  # repeated: never a valid single value
    return bytes(values[0]).decode("latin-1")


class LoopbackGuard:
    """ASGI middleware enforcing the module's rules for one listener on ``127.0.0.1:port``."""

    def __init__(self, app: Any, port: int, target: str) -> None:
        self.app = app
        self.port = port
        self.target = target
        self.hosts = allowed_hosts(port)

    def refusal(self, scope: Scope) -> str | None:
        """Why the request is refused, or None."""
        host = _header(scope, b"host")
        if host is None or host.lower() not in self.hosts:
            shown = "no Host header" if host is None else f"Host {host!r}"
            return (f"Request refused by the sandbox: {shown} is not this server. It answers only "
                    f"Host 127.0.0.1:{self.port} or localhost:{self.port} (protection against DNS rebinding).")
        origin = _header(scope, b"origin")
        if origin is not None and not is_loopback_origin(origin):
            return (f"Request refused by the sandbox: cross-origin request from Origin {origin!r}. Only pages "
                    "served from a loopback address (127.0.0.1, localhost) may call the sandbox.")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        why = self.refusal(scope)
        if why is not None and scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": why[:120]})  # 403 before the handshake
            return
        if why is not None:
            await send_json(send, 403, error_body(self.target, why))
            return
        origin = _header(scope, b"origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _cors_for(origin, send))


def _cors_for(origin: str, send: Send) -> Send:
    """A ``send`` that answers a loopback ``origin`` by name instead of ``*``, never with credentials."""

    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", [])
                       if k.lower() not in (b"access-control-allow-origin", b"access-control-allow-credentials")]
            granted = any(k.lower() == b"access-control-allow-origin" for k, _ in message.get("headers", []))
            if granted:
                headers += [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
            message = {**message, "headers": headers}
        await send(message)

    return wrapped
