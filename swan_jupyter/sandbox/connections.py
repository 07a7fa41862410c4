"""The connection protocol and server settings of every sandbox listener (uvicorn's h11 protocol, bounded).

What :class:`~swan_jupyter.sandbox.limits.RequestLimits` cannot see from the ASGI layer is bounded here, with the
values of :mod:`.limits`:

* a head (request line and headers) must arrive within ``head_timeout`` of the connection, or of the first byte
  of the next request on a kept-alive one; a client that sends nothing, or its head byte by byte, is answered
  408 and cut off (uvicorn itself waits for a head forever);
* a head that grows past ``head`` bytes is answered 431 at once (h11's incomplete-event bound; uvicorn's plain
  400 otherwise); any other malformed request gets its 400 in the listener's envelope;
* past ``connections`` open connections on a listener, the longest-idle ones (no request under way) are closed,
  so idle connections cannot keep a new client out;
* TCP_NODELAY on every connection: asyncio does not set it on connections accepted from a pre-bound socket, and
  uvicorn writes an answer's headers and body separately, so with Nagle's algorithm and the client's delayed ACK
  every keep-alive request stalled ~40 ms (measured: 44 ms -> 2 ms per request).
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from http import HTTPStatus
from typing import Any

from .guard import error_body
from .limits import Limits, limits_of, size


def protocol_class(target: str | None = None, limits: Limits | None = None) -> Any:
    """uvicorn's h11 protocol with TCP_NODELAY; with a listener ``target``, also bounded (module docstring).
    Without one (a bare emulator in a test), only TCP_NODELAY."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    bounds = limits or limits_of(target or "abaco")

    class SandboxH11Protocol(H11Protocol):
        last_active = 0.0
        head_timer: Any = None

        def connection_made(self, transport: Any) -> None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().connection_made(transport)
            self.last_active = time.monotonic()
            if target is not None:
                self._arm_head_timer()
                _close_idle(self.connections, bounds.connections, self)

        def data_received(self, data: bytes) -> None:
            self.last_active = time.monotonic()
            if target is not None and self.head_timer is None and self.conn.their_state is h11.IDLE:
                self._arm_head_timer()  # the first byte of a head on a kept-alive connection
            super().data_received(data)
            if self.head_timer is not None and self.conn.their_state is not h11.IDLE:
                self.head_timer.cancel()
                self.head_timer = None

        def connection_lost(self, exc: Exception | None) -> None:
            if self.head_timer is not None:
                self.head_timer.cancel()
                self.head_timer = None
            super().connection_lost(exc)

        def send_400_response(self, msg: str) -> None:
            if target is None:
                super().send_400_response(msg)
            elif len(self.conn.trailing_data[0]) > bounds.head:
                self._answer(431, f"Request header fields too large: the request line and headers are over "
                                  f"{bounds.head} bytes ({size(bounds.head)}). Send fewer or shorter headers.")
            else:
                self._answer(400, f"Invalid HTTP request received ({msg.rstrip('.')}): the request line, a header "
                                  "or the body framing is malformed.")

        def _arm_head_timer(self) -> None:
            self.head_timer = self.loop.call_later(bounds.head_timeout, self._head_timeout)

        def _head_timeout(self) -> None:
            self.head_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self._answer(408, f"Request timeout: the request line and headers did not arrive in time (within "
                                  f"{bounds.head_timeout:g} s).")

        def _answer(self, status: int, text: str) -> None:
            """Answer ``status`` in the listener's envelope, outside h11 (no request may have been read), and
            close the connection."""
            if self.transport.is_closing():
                return
            body = json.dumps(error_body(str(target), text)).encode()
            self.transport.write(b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                                 b"connection: close\r\n\r\n%s" % (status, HTTPStatus(status).phrase.encode(),
                                                                  len(body), body))
            self.transport.close()

    return SandboxH11Protocol


def _idle(protocol: Any) -> bool:
    """Whether a connection has no request under way (before its first head, or kept alive after an answer)."""
    import h11

    cycle = getattr(protocol, "cycle", None)
    return ((cycle is None or cycle.response_complete) and protocol.conn.their_state is h11.IDLE
            and not protocol.transport.is_closing())


def _close_idle(connections: set[Any], cap: int, newcomer: Any) -> None:
    """Close the longest-idle connections past ``cap`` (never ``newcomer``)."""
    excess = len(connections) - cap
    if excess <= 0:
        return
    idle = sorted((p for p in connections if p is not newcomer and _idle(p)),
                  key=lambda p: getattr(p, "last_active", 0.0))
    for protocol in idle[:excess]:
        protocol.transport.close()


def server_config(app: Any, target: str) -> Any:
    """The uvicorn configuration of the listener ``target``: its bounded protocol, h11's head bound at the
    listener's, no WebSocket (no emulator serves one), warnings and errors only, logged by the process's own
    handlers."""
    import uvicorn

    bounds = limits_of(target)
    # log_config=None: uvicorn's records go to the host's own handlers, which bound repeats (limits.RepeatFilter)
    return uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False, timeout_keep_alive=30,
                          http=protocol_class(target), ws="none", h11_max_incomplete_event_size=bounds.head,
                          log_config=None)
