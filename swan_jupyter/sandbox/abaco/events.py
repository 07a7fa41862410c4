"""Events: what the emulator sends to an actor's ``link`` actor and ``webhook`` URL (TACC/abaco ``actors/``).

**When** (``models.py``): ``Actor.set_status`` publishes ``ACTOR_READY`` when an actor's status changes to READY
(the spawner sets it only when the actor is not READY already, with ``status_message`` ``" "``) and
``ACTOR_ERROR`` each time it is set to ERROR (with the error message); ``Execution.finalize_execution`` publishes
``EXECUTION_COMPLETE`` when an execution ends COMPLETE (not when it ends ERROR). ``EXECUTION_STARTED`` is
declared (``ActorExecutionEvent.event_types``) but Abaco never publishes it, so neither does the emulator.

**Payload** (``Event.__init__``): the event's own fields (``status_message``; or ``actor_id``, ``execution_id``,
``status``, ``exit_code``), then ``tenant_id``, ``event_type``, ``event_time_utc`` (``isoformat()[:23] + 'Z'``
of naive UTC now), ``event_time_display`` (the same), ``actor_id``, ``actor_dbid``, ``_abaco_link`` (the link
resolved to ``<TENANT>_<id>``, alias or id, at the time of the event; ``''`` when none or unresolvable) and
``_abaco_webhook``. Nothing is sent when the actor has neither.

**Link** (``events.py`` ``process_link``): an ordinary JSON message to the linked actor, through the same path as
``POST .../messages`` (:func:`.mailbox.queue_message`): executor and ``_abaco_username`` ``Abaco Event``,
``_abaco_Content_Type`` ``application/json``, ``MSG`` the Python ``str()`` of the event. The emulator also
refuses to deliver along a cycle of links (an alias retargeted after the links were checked can close one;
Abaco would then run the actors forever) and when the actor's owner has lost EXECUTE on the linked actor.

**Webhook** (``process_webhook``): ``POST`` of the event plus ``_abaco_Content_Type`` and ``_abaco_username`` as
JSON; any failure is logged and dropped, never retried. Here the URL must be a loopback one (refused at
registration by :func:`check_webhook`, checked again before sending), the POST never blocks the runtime (a
bounded queue drained by a few background tasks; a full queue drops the event with a log line), each POST has a
short overall timeout, and redirects are never followed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import socket
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import SplitResult, urlsplit

from .mailbox import Wakes, queue_message
from .store import Store
from .wire import AbacoError, is_hashid

log = logging.getLogger(__name__)

Doc = dict[str, Any]
EVENT_SENDER = "Abaco Event"
MAX_WEBHOOK_LENGTH = 2048
WEBHOOK_TIMEOUT = 2.0  # seconds, connect to last byte of the status line
WEBHOOK_QUEUE = 200
WEBHOOK_SENDERS = 4
MAX_LINK_HOPS = 1000


class WebhookRefused(ValueError):
    """A webhook URL the sandbox will not post to (the message says why)."""


def _host_problem(parts: SplitResult) -> str | None:
    """Why the URL's host is not on this machine, or ``None``."""
    try:
        host = parts.hostname
        port = parts.port
    except ValueError:
        return "the port is not a number from 1 to 65535."
    if not host:
        return "the URL names no host."
    if port == 0:
        return "the port is not a number from 1 to 65535."
    if host.lower() == "localhost":
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"{host!r} is not a loopback address."
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return f"{host!r} is not a loopback address."
    return None if address.is_loopback else f"{host!r} is not a loopback address."


def webhook_problem(url: str) -> str | None:
    """Why the sandbox will not post events to ``url``, or ``None`` when it is a loopback http(s) URL."""
    if len(url) > MAX_WEBHOOK_LENGTH:
        return f"it is longer than {MAX_WEBHOOK_LENGTH} characters."
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        return "it holds blanks or control characters."
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return f"the scheme must be http or https, not {parts.scheme or 'missing'!r}."
    return _host_problem(parts)


def check_webhook(url: str) -> None:
    """Refuse (400) a webhook that is not an http(s) URL on this machine, saying why and what to use."""
    problem = webhook_problem(url)
    if problem is not None:
        raise AbacoError(f"Invalid webhook parameter: {problem} The sandbox sends events only to this machine "
                         "(127.0.0.0/8, ::1 or localhost), never off it; use a loopback URL such as "
                         "http://127.0.0.1:8000/events.")


def event_time() -> str:
    """``event_time_utc`` as Abaco writes it: ``isoformat()[:23] + 'Z'`` of the naive UTC time."""
    return datetime.now(UTC).replace(tzinfo=None).isoformat()[:23] + "Z"


def event_payload(actor: Doc, event_type: str, own: Doc, link_dbid: str) -> Doc:
    """The event, with Abaco's keys in Abaco's order (``Event.__init__``)."""
    data = dict(own)
    now = event_time()
    data.update(tenant_id=actor["tenant"], event_type=event_type, event_time_utc=now, event_time_display=now,
                actor_id=actor["id"], actor_dbid=f"{actor['tenant']}_{actor['id']}", _abaco_link=link_dbid,
                _abaco_webhook=actor.get("webhook") or "")
    return data


class Events:
    """Publishes the events of the runtime's actors to their links (inline) and webhooks (in the background).

    ``may_execute(user, tenant, actor_id)`` says whether a user may execute an actor (admins, grants, world)."""

    def __init__(self, store: Store, runtime: Wakes, may_execute: Callable[[str, str, str], bool],
                 timeout: float = WEBHOOK_TIMEOUT) -> None:
        self.store = store
        self.runtime = runtime
        self.may_execute = may_execute
        self.timeout = timeout
        self._queue: asyncio.Queue[tuple[str, bytes]] | None = None
        self._senders: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start the webhook senders (inside the running event loop)."""
        self._queue = asyncio.Queue(WEBHOOK_QUEUE)
        loop = asyncio.get_running_loop()
        self._senders = [loop.create_task(self._send_webhooks()) for _ in range(WEBHOOK_SENDERS)]

    async def stop(self) -> None:
        """Stop the senders; events still queued are dropped (with a log line)."""
        for task in self._senders:
            task.cancel()
        for task in self._senders:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._queue is not None and self._queue.qsize():
            log.warning("abaco events: %d webhook posts dropped at shutdown", self._queue.qsize())
        self._senders = []

    # -- hooks of the runtime --------------------------------------------------------------------------------

    def actor_status(self, actor_id: str, status: str, message: str | None, previous: str) -> None:
        """An actor's status was set: ACTOR_READY on a change to READY, ACTOR_ERROR on every ERROR."""
        if status == "READY" and previous != "READY":
            self._publish(actor_id, "ACTOR_READY", {"status_message": " "})
        elif status == "ERROR":
            self._publish(actor_id, "ACTOR_ERROR", {"status_message": message})

    def execution_complete(self, actor_id: str, execution: Doc) -> None:
        """An execution ended COMPLETE."""
        self._publish(actor_id, "EXECUTION_COMPLETE", {
            "actor_id": actor_id, "execution_id": execution["id"], "status": execution["status"],
            "exit_code": execution.get("exit_code")})

    # -- publishing ------------------------------------------------------------------------------------------

    def _publish(self, actor_id: str, event_type: str, own: Doc) -> None:
        try:
            actor = self.store.get("actors", actor_id)
            if actor is None or not (actor.get("link") or actor.get("webhook")):
                return
            target_id = self._link_id(actor)
            data = event_payload(actor, event_type, own, f"{actor['tenant']}_{target_id}" if target_id else "")
            if target_id:
                self._deliver_link(actor, target_id, data)
            if actor.get("webhook"):
                self._queue_webhook(str(actor["webhook"]), data)
        except Exception:  # an event must never break the worker that emitted it (Abaco logs and goes on)
            log.exception("abaco events: could not publish %s of actor %s", event_type, actor_id)

    def _link_id(self, actor: Doc) -> str:
        """The actor id the link names now (an id, or an alias resolved in the actor's tenant); ``''`` if none."""
        link = str(actor.get("link") or "")
        if not link or is_hashid(link):
            return link
        alias = self.store.alias(actor["tenant"], link)
        return str(alias["actor_id"]) if alias else ""

    def _deliver_link(self, actor: Doc, target_id: str, data: Doc) -> None:
        target = self.store.get("actors", target_id)
        if target is None or target["tenant"] != actor["tenant"]:
            log.error("abaco events: linked actor %s of actor %s does not exist; event dropped", target_id,
                      actor["id"])
            return
        if self._cycles(actor, target):
            log.error("abaco events: the links from actor %s loop back; event %s not sent to %s", actor["id"],
                      data["event_type"], target_id)
            return
        if not self.may_execute(actor["owner"], actor["tenant"], target_id):
            log.error("abaco events: the owner of actor %s may no longer execute linked actor %s; event dropped",
                      actor["id"], target_id)
            return
        body = repr_message(data)
        queue_message(self.store, self.runtime, target, body, "application/json", {}, EVENT_SENDER)

    def _cycles(self, actor: Doc, target: Doc) -> bool:
        """Whether following links from ``target`` comes back to ``actor`` or loops."""
        seen = {actor["id"]}
        current: Doc | None = target
        for _ in range(MAX_LINK_HOPS):
            if current is None:
                return False
            if current["id"] in seen:
                return True
            seen.add(current["id"])
            nxt = self._link_id(current)
            current = self.store.get("actors", nxt) if nxt else None
        return True

    def _queue_webhook(self, url: str, data: Doc) -> None:
        payload = {**data, "_abaco_Content_Type": "application/json", "_abaco_username": EVENT_SENDER}
        if self._queue is None:
            log.error("abaco events: the webhook senders are not running; event to %s dropped", shown(url))
            return
        try:
            self._queue.put_nowait((url, json.dumps(payload).encode()))
        except asyncio.QueueFull:
            log.error("abaco events: %d webhook posts are waiting; event %s to %s dropped", WEBHOOK_QUEUE,
                      data["event_type"], shown(url))

    async def _send_webhooks(self) -> None:
        assert self._queue is not None
        while True:
            url, body = await self._queue.get()
            try:
                status = await asyncio.wait_for(post_json(url, body), self.timeout)
                if status >= 300:
                    log.error("abaco events: webhook %s answered %d (redirects are not followed)", shown(url),
                              status)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # logged and dropped, like Abaco's process_webhook
                log.error("abaco events: webhook %s failed: %s", shown(url), exc or type(exc).__name__)


def shown(url: str) -> str:
    """A webhook URL for the log: without its query and user part (a nonce, ``?x-nonce=``, is a credential)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{f'[{host}]' if ':' in host else host}{port}{parts.path}"


def repr_message(data: Doc) -> bytes:
    """The message bytes of a JSON message: ``MSG`` is the Python ``str()`` of the value (as on Abaco)."""
    return str(data).encode()


async def _loopback_address(host: str, port: int) -> str:
    """The address to connect to: the host itself, or what ``localhost`` resolves to when that is loopback."""
    if host.lower() != "localhost":
        return host
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise WebhookRefused(f"localhost resolves to {addresses}, not only to loopback addresses")
    return addresses[0]


async def post_json(url: str, body: bytes) -> int:
    """POST ``body`` as JSON to a loopback ``url``; the status code (no redirect followed, the answer unread)."""
    problem = webhook_problem(url)
    if problem is not None:  # a webhook stored before the check, or a store edited by hand
        raise WebhookRefused(problem)
    parts = urlsplit(url)
    host = str(parts.hostname)
    secure = parts.scheme.lower() == "https"
    port = parts.port or (443 if secure else 80)
    address = await _loopback_address(host, port)
    context = ssl.create_default_context() if secure else None
    reader, writer = await asyncio.open_connection(address, port, ssl=context,
                                                   server_hostname=host if secure else None)
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        netloc = f"[{host}]" if ":" in host else host
        head = (f"POST {target} HTTP/1.1\r\nHost: {netloc}{f':{parts.port}' if parts.port else ''}\r\n"
                f"User-Agent: abaco-emulator-events\r\nAccept: */*\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
        writer.write(head.encode("ascii") + body)
        await writer.drain()
        status_line = await reader.readline()
        fields = status_line.split()
        if len(fields) < 2 or not fields[0].startswith(b"HTTP/") or not fields[1].isdigit():
            raise ConnectionError(f"not an HTTP answer: {status_line[:80]!r}")
        return int(fields[1])
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
