"""A hostile HTTP/1.1 client over a raw loopback socket, for the request-limit tests and benchmark.

``requests`` sends a whole body before it reads the answer, so it cannot see a server refuse a body early; this
client reads while it sends, streams bodies from a generator (nothing large is allocated), and can send a request
byte by byte. It also reads the sandbox host's memory figures from ``/proc``.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

MB = 1_000_000
CHUNK = b"0" * 65536  # allocated once: every streamed body repeats it


@dataclass
class Answer:
    """What the server answered: status (None if it closed without answering), headers, body, and how much of
    the request body was sent before it answered or closed."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    sent: int = 0
    elapsed: float = 0.0
    closed: bool = False

    def json(self) -> Any:
        return json.loads(self.body)

    def message(self) -> str:
        """The error message of any sandbox envelope (Abaco, Orchestrator, JSON-RPC)."""
        data = self.json()
        return str(data.get("message") or (data.get("error") or {}).get("message"))


def zeros(total: int) -> Iterator[bytes]:
    """``total`` bytes of ``b"0"`` in 64 KiB chunks, without allocating them."""
    left = total
    while left > 0:
        yield CHUNK if left >= len(CHUNK) else CHUNK[:left]
        left -= len(CHUNK)


def connect(url: str, timeout: float = 10.0) -> tuple[socket.socket, str]:
    """A connected socket to the server of ``url``, and the ``Host`` value to send."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=timeout)
    return sock, f"{parts.hostname}:{parts.port}"


def head(method: str, target: str, host: str, headers: dict[str, str] | None = None) -> bytes:
    """A request line and headers (``Host`` first), ending with the blank line."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def request(url: str, method: str, target: str, headers: dict[str, str] | None = None,
            body: Iterable[bytes] = (), *, chunked: bool = False, timeout: float = 20.0) -> Answer:
    """Send a request, streaming ``body`` (chunked framing if ``chunked``), and stop sending as soon as the
    server answers or closes; then read the answer. Bounded by ``timeout`` seconds in all."""
    started = time.monotonic()
    sock, host = connect(url, timeout)
    answer = Answer(status=None)
    try:
        sock.sendall(head(method, target, host, {**(headers or {}),
                                                  **({"Transfer-Encoding": "chunked"} if chunked else {})}))
        for chunk in body:
            if time.monotonic() - started > timeout or _readable(sock):
                break
            data = b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk
            try:
                sock.sendall(data)
            except OSError:  # the server closed (or reset) the connection: read what it answered
                break
            answer.sent += len(chunk)
        else:
            with contextlib.suppress(OSError):
                sock.sendall(b"0\r\n\r\n" if chunked else b"")
        _read_answer(sock, answer, started + timeout)
    finally:
        sock.close()
    answer.elapsed = time.monotonic() - started
    return answer


def read_answer(sock: socket.socket, timeout: float = 10.0) -> Answer:
    """Read one whole answer from ``sock`` (the connection stays open unless the server closed it)."""
    answer = Answer(status=None)
    _read_answer(sock, answer, time.monotonic() + timeout)
    return answer


def _readable(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


def _read_answer(sock: socket.socket, answer: Answer, deadline: float) -> None:
    data = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except OSError:
            answer.closed = True
            break
        if not chunk:
            answer.closed = True
            break
        data += chunk
        if _complete(data):
            break
    head_bytes, _, body = data.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    if lines and lines[0].startswith("HTTP/1.1 "):
        answer.status = int(lines[0].split()[1])
        answer.headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        answer.body = body[:int(answer.headers.get("content-length", len(body)))]


def _complete(data: bytes) -> bool:
    head_bytes, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head_bytes.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            return len(body) >= int(value.strip())
    return False


def memory(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` (peak) of process ``pid``, in kB."""
    figures = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value = line.split(":")
                figures[name] = int(value.split()[0])
    return figures


def reset_peak(pid: int) -> None:
    """Reset the peak (``VmHWM``) of process ``pid`` to its current RSS (Linux ``clear_refs`` 5)."""
    with open(f"/proc/{pid}/clear_refs", "w") as fh:
        fh.write("5")
