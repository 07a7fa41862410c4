"""What one request may cost a sandbox listener: body, head and query bounds, and how long a client may take.

One process serves every emulator, so one hostile local client must not be able to fill its memory or hold its
connections. The values, per listener, in one place (:data:`LIMITS`; the admin routes ``/_sandbox/...`` of every
port use :data:`ADMIN_LIMITS`):

============  =============  ===========================================================================
listener      largest body   why
============  =============  ===========================================================================
abaco         64 MiB         binary messages (Abaco allows 500 MB, ``[web] max_content_length``; the
                             sandbox keeps what it accepts in memory, so it stops well below)
orchestrator  1,000,000 B    url-encoded forms of swan-sdk (the emulator's limit since its first version)
chain         2 MiB          anvil's own request limit (axum's default body limit, 2 MiB)
admin         64 KiB         fault rules (JSON)
============  =============  ===========================================================================

On every listener: the request line and headers at most 16 KiB (431), the target at most 8 KiB (414), at most
256 query parameters (400); the head must arrive within 10 s of the connection (or of the end of the previous
answer); the body within 10 s plus 1 s per 64 KiB received (408); the requests under way on a listener may hold
at most four of its largest bodies in all (503), so many connections cannot each hold one. Refusals use the
listener's error envelope (:func:`~swan_jupyter.sandbox.guard.error_body`) and close the connection when more
than :data:`DRAIN` bytes of the body (or a chunked body) were left unread.

:class:`RequestLimits` is the ASGI middleware (outermost on every listener): it refuses by ``Content-Length``
before the service runs, and counts (and times) the body while the service reads it, so a chunked body is cut
off at the limit. What the ASGI layer cannot see (a head that is too long or too slow, idle connections) is
bounded by the connection protocol of :mod:`.connections`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from .guard import Receive, Scope, Send, error_body, send_json

KIB = 1024
MIB = 1024 * KIB
ADMIN_PREFIX = "/_sandbox/"
CLOSE = (b"connection", b"close")
#: an answer given before the body was read keeps the connection when at most this much of it is left (the
#: server reads and drops it); past it, or for a chunked body, the connection is closed
DRAIN = 64 * KIB


@dataclass(frozen=True)
class Limits:
    """The bounds of one listener (see the module docstring)."""

    body: int
    head: int = 16 * KIB
    target: int = 8 * KIB
    query_params: int = 256
    head_timeout: float = 10.0
    body_timeout: float = 10.0
    #: each byte received extends the body's deadline by 1/min_rate s (slow but steady uploads still finish)
    min_rate: float = 64 * KIB
    #: open connections per listener; past it, the longest-idle connections are closed for new ones
    connections: int = 256
    #: body bytes the listener's requests under way may have received in all (None: 4 bodies of the limit);
    #: past it a body is refused with 503, so many connections cannot hold many bodies each
    in_flight: int | None = None

    @property
    def budget(self) -> int:
        """The bound on body bytes received by the requests under way (see ``in_flight``)."""
        return self.in_flight if self.in_flight is not None else 4 * self.body


LIMITS: dict[str, Limits] = {
    "abaco": Limits(body=64 * MIB),
    "orchestrator": Limits(body=1_000_000),
    "chain": Limits(body=2 * MIB),
}
ADMIN_LIMITS = Limits(body=64 * KIB)


def limits_of(target: str) -> Limits:
    """The limits of the listener ``target`` (Abaco's for an unknown one)."""
    return LIMITS.get(target, LIMITS["abaco"])


def size(n: int) -> str:
    """``n`` bytes, readable (``64 MiB``, ``1000000 bytes``)."""
    for unit, factor in (("MiB", MIB), ("KiB", KIB)):
        if n >= factor and n % factor == 0:
            return f"{n // factor} {unit}"
    return f"{n} bytes"


def head_refusal(scope: Scope, limits: Limits) -> tuple[int, str] | None:
    """(status, message) when the request's target, head or query is over ``limits``, else None."""
    target = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") + 1
    if target > limits.target:
        return 414, (f"URI too long: the request target has {target} bytes, at most {limits.target} are accepted. "
                     "Send large data in the request body.")
    head = target + len(scope.get("method", "")) + 12 + sum(len(k) + len(v) + 4 for k, v in scope["headers"])
    if head > limits.head:
        return 431, (f"Request header fields too large: the request line and headers have {head} bytes, at most "
                     f"{limits.head} ({size(limits.head)}) are accepted. Send fewer or shorter headers.")
    query = scope.get("query_string") or b""
    count = query.count(b"&") + 1 if query else 0
    if count > limits.query_params:
        return 400, (f"Too many query parameters: {count}, at most {limits.query_params} are accepted. "
                     "Send them in the request body.")
    return None


def _too_large(target: str, limit: int, declared: int | None) -> str:
    told = f"a body of {declared} bytes" if declared is not None else "a body past the limit"
    return (f"Request body too large: {told} was sent; the sandbox's {target} listener accepts at most {limit} "
            f"bytes ({size(limit)}). Send less data.")


def declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length`` (None without one; h11 has already refused a malformed one)."""
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _has_body(scope: Scope, declared: int | None) -> bool:
    chunked = any(k.lower() == b"transfer-encoding" for k, _ in scope["headers"])
    return chunked or bool(declared)


class _BodyGuard:
    """The ``receive`` and ``send`` a service gets: the body counted against the limit and its deadline, the
    answer closing the connection when the body was not read to its end."""

    def __init__(self, receive: Receive, send: Send, target: str, limits: Limits, scope: Scope,
                 in_flight: dict[Limits, int]) -> None:
        self._receive, self._send = receive, send
        # the server's connection, for the fault layer's reset (faults._abort finds it through send.__self__)
        self.transport = getattr(getattr(send, "__self__", None), "transport", None)
        self.target, self.limits = target, limits
        self.in_flight = in_flight
        self.received = 0
        self.declared = declared_length(scope)
        self.done = not _has_body(scope, self.declared)
        self.started = self.refused = False
        self.deadline = time.monotonic() + limits.body_timeout

    async def receive(self) -> dict[str, Any]:
        if self.refused:
            return {"type": "http.disconnect"}
        if self.done:
            return await self._receive()
        left = self.deadline + self.received / self.limits.min_rate - time.monotonic()
        try:
            message = await asyncio.wait_for(self._receive(), max(left, 0.0))
        except TimeoutError:
            await self.refuse(408, f"Request timeout: the request body did not arrive in time (after "
                                   f"{self.received} bytes; a body must arrive within {self.limits.body_timeout:g} s "
                                   f"plus 1 s per {size(int(self.limits.min_rate))}).")
            return {"type": "http.disconnect"}
        if message["type"] == "http.request":
            n = len(message.get("body", b""))
            self.received += n
            self.in_flight[self.limits] = self.in_flight.get(self.limits, 0) + n
            if self.received > self.limits.body:
                await self.refuse(413, _too_large(self.target, self.limits.body, None))
                return {"type": "http.disconnect"}
            if self.in_flight[self.limits] > self.limits.budget:
                await self.refuse(503, f"Too many large request bodies at once: the sandbox's {self.target} "
                                       f"listener holds at most {self.limits.budget} bytes "
                                       f"({size(self.limits.budget)}) of bodies under way. Retry shortly.")
                return {"type": "http.disconnect"}
            self.done = not message.get("more_body", False)
        return message

    async def send(self, message: dict[str, Any]) -> None:
        if self.refused:
            return  # the service's own answer after a refusal goes nowhere
        if message["type"] == "http.response.start":
            self.started = True
            if not self.done and (self.declared is None or self.declared - self.received > DRAIN):
                # answered without reading the body, and much of it is left: do not read the rest
                message = {**message, "headers": [*message.get("headers", []), CLOSE]}
        await self._send(message)

    async def refuse(self, status: int, text: str) -> None:
        """Answer ``status`` (if the service has not started its answer) and close the connection."""
        self.refused = True
        if not self.started:
            await send_json(self._send, status, error_body(self.target, text), [CLOSE])


class RequestLimits:
    """ASGI middleware bounding each request of the listener ``target`` (see the module docstring)."""

    def __init__(self, app: Any, target: str, limits: Limits | None = None) -> None:
        self.app = app
        self.target = target
        self.limits = limits or limits_of(target)
        self.in_flight: dict[Limits, int] = {}  # body bytes received by the requests under way, per bound

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limits = ADMIN_LIMITS if str(scope.get("path", "")).startswith(ADMIN_PREFIX) else self.limits
        refusal = head_refusal(scope, limits)
        declared = declared_length(scope)
        if refusal is None and declared is not None and declared > limits.body:
            refusal = 413, _too_large(self.target, limits.body, declared)
        if refusal is not None:
            await send_json(send, refusal[0], error_body(self.target, refusal[1]), [CLOSE])
            return
        guard = _BodyGuard(receive, send, self.target, limits, scope, self.in_flight)
        try:
            await self.app(scope, guard.receive, guard.send)
        except Exception:
            if not guard.refused:
                raise  # a refused request's service fails on the missing body: that is expected, and silent
        finally:
            if guard.received:
                self.in_flight[limits] -= guard.received


class RepeatFilter(logging.Filter):
    """A log filter keeping at most ``burst`` records of one kind (logger and message template) per ``window``
    seconds; the first one after a window says how many were dropped. Every malformed or refused request may log
    a line (uvicorn's "Invalid HTTP request received.", an emulator seeing its body cut off), so without it a
    local client could fill the disk through the host's log."""

    def __init__(self, burst: int = 10, window: float = 60.0) -> None:
        super().__init__()
        self.burst, self.window = burst, window
        self.seen: dict[tuple[str, str], list[float]] = {}  # kind -> [window start, kept, dropped]

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg)[:200])
        now = time.monotonic()
        if len(self.seen) > 1000:
            self.seen.clear()  # messages built without a template: forget rather than grow
        state = self.seen.setdefault(key, [now, 0, 0])
        if now - state[0] > self.window:
            if state[2]:  # (the note has no "%": safe whether or not the record has arguments)
                record.msg = f"{record.msg} [{int(state[2])} more like this were not logged]"
            state[:] = [now, 0, 0]
        state[1] += 1
        if state[1] > self.burst:
            state[2] += 1
            return False
        return True
