"""The Abaco actors client: one pooled :class:`~swan_jupyter.transport.Transport` per server, both flavors.

``flavor="v2"`` talks to ``{url}/actors/v2`` with ``Authorization: Bearer`` and camelCase bodies (agavepy's
server); ``flavor="v3"`` talks to ``{url}/v3/actors`` with ``X-Tapis-Token`` and snake_case bodies (tapipy's).
Answers are returned as models with snake_case attributes whatever the server's case. Example::

    from swan_jupyter import Actors
    client = Actors("http://127.0.0.1:8001", token="...", flavor="v3")
    actor = client.add({"image": "abacosamples/test", "name": "echo"})
    ex = client.send_message(actor.id, "hello").wait()
    print(ex.logs())
"""

from __future__ import annotations

import builtins
import json
import math
import time
import warnings
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..config import Flavor
from ..errors import ConfigurationError, Interrupted, ProtocolError, RemoteError, SwanJupyterError, ValidationError
from ..numbers import NumberError, parse_int
from ..redact import Secret
from ..transport import NonceAuth, RawReply, TokenAuth, Transport
from ..transport import path_segment as _seg
from ._cases import snake_keys, wire_keys
from .aliases import AliasCalls
from .configs import ConfigCalls
from .execution import Execution
from .management import ActorManagement
from .messages import MAX_BINARY_BYTES, check_binary, check_environment, message_body
from .models import Actor, ExecutionInfo, ExecutionsSummary, MessageReceipt, parse_time
from .search import SearchCalls

if TYPE_CHECKING:
    from ..config import Settings
    from .executor import AbacoExecutor
    from .functions import FunctionHandle

BASE_PATHS: dict[str, str] = {"v2": "/actors/v2", "v3": "/v3/actors"}

#: Fields of an actor description a PUT must repeat: PUT is a full replacement, omitted fields take the request
#: parser's defaults (TACC/abaco actors/controllers.py, ActorResource.validate_put; models.py, Actor.request_parser).
UPDATABLE_FIELDS = (
    "image", "name", "description", "stateless", "token", "default_environment", "hints", "link", "webhook",
    "privileged", "max_workers", "mem_limit", "max_cpus", "use_container_uid", "queue", "log_ex",
    "cron_schedule", "cron_on",
)


#: The longest a synchronous run may be waited for (seconds).
MAX_SYNC_TIMEOUT = 86_400.0


def _positive_seconds(value: Any) -> float:
    """A finite, positive number of seconds (int, float or Decimal), else :class:`ValidationError`."""
    if not isinstance(value, bool) and isinstance(value, int | float | Decimal):
        try:
            seconds = float(value)
        except (OverflowError, ValueError):
            seconds = math.nan
        if math.isfinite(seconds) and 0 < seconds <= MAX_SYNC_TIMEOUT:
            return seconds
    raise ValidationError(f"The synchronous timeout must be a positive number of seconds (at most a day), not "
                          f"{value!r}.", hint="Pass timeout=60, for example; for longer work send the message "
                                              "without waiting and use execution.wait().")


class Actors(ActorManagement, AliasCalls, ConfigCalls, SearchCalls):
    """Client of one Abaco server (see the module docstring).

    :param url: server root (``https://tacc.tapis.io``) or the full actors base (``.../v3/actors``).
    :param token: the user's token (Bearer for v2, Tapis JWT for v3); secrets never print.
    :param nonce: use an actor nonce instead of a token (``x-nonce`` query parameter).
    :param flavor: ``"v2"`` or ``"v3"``.
    :param tenant: the tenant id (informational: Abaco takes the tenant from the token or the nonce id).
    :param max_binary_bytes: largest binary message sent (checked before sending; default 10 MB).
    :param transport: the :class:`~swan_jupyter.transport.Transport` to use (it must carry the credentials).
    :param transport_factory: builds the transport when none is given, called as :class:`Transport` is
        (``Transport`` itself by default; e.g. ``functools.partial(Transport, sender=...)``).
    :param transport_options: ``connect_timeout``, ``read_timeout``, ``retries``, ``backoff``, ``pool_size``.
    """

    def __init__(
        self,
        url: str,
        token: str | Secret | None = None,
        nonce: str | Secret | None = None,
        flavor: Flavor = "v3",
        tenant: str | None = None,
        *,
        max_binary_bytes: int = MAX_BINARY_BYTES,
        transport: Transport | None = None,
        transport_factory: Callable[..., Transport] = Transport,
        **transport_options: Any,
    ) -> None:
        if flavor not in BASE_PATHS:
            raise ValidationError(f"Unknown Abaco flavor {flavor!r}.", hint='Use "v2" (agavepy) or "v3" (tapipy).')
        self.flavor: Flavor = flavor
        self.tenant = tenant
        #: Wait briefly after :meth:`add` for the actor to start, and warn when its image cannot run (the
        #: sandbox knows at once; a real Abaco pulls images for minutes, so it is off there).
        self.check_images = False
        self.max_binary_bytes = parse_int(max_binary_bytes, "max_binary_bytes", minimum=1)
        base = url.rstrip("/")
        prefix = BASE_PATHS[flavor]
        if base.endswith(prefix):
            base = base[: -len(prefix)]
        self.base_url = base + prefix
        # the transport is built on the API's base path: calls name paths under it ("/{id}/messages")
        self.transport = transport or transport_factory(self.base_url, envelope="abaco",
                                                        auth=self._auth(token, nonce), service="Abaco",
                                                        **transport_options)

    def _auth(self, token: str | Secret | None, nonce: str | Secret | None) -> Any:
        if nonce is not None:
            return NonceAuth(nonce)
        if token is None:
            return None
        if self.flavor == "v2":
            return TokenAuth(token)
        return TokenAuth(token, header="X-Tapis-Token", prefix="")

    @classmethod
    def from_settings(cls, settings: Settings, *, transport_factory: Callable[..., Transport] = Transport) -> Actors:
        """The client for ``settings.abaco_url`` / ``abaco_token`` / ``abaco_flavor`` and the transport settings
        (its transport built by ``transport_factory``)."""
        if not settings.abaco_url:
            raise ConfigurationError("No Abaco URL is configured.", hint="Set ABACO_URL or abaco_url in your profile.")
        client = cls(
            settings.abaco_url, token=settings.abaco_token, flavor=settings.abaco_flavor,
            tenant=settings.abaco_tenant, connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout,
            retries=settings.retries, backoff=settings.backoff, pool_size=settings.pool_size,
            transport_factory=transport_factory,
        )
        client.check_images = settings.is_sandbox
        return client

    def with_nonce(self, nonce: str | Secret) -> Actors:
        """A client using ``nonce`` instead of the token, sharing this client's connection pool."""
        clone = object.__new__(Actors)
        clone.__dict__.update(self.__dict__)
        clone.transport = self.transport.with_auth(NonceAuth(nonce))
        return clone

    def close(self) -> None:
        """Close the pooled connections."""
        self.transport.close()

    def __repr__(self) -> str:
        return f"Actors({self.base_url!r}, flavor={self.flavor!r})"

    def _wire(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return wire_keys(body, self.flavor)

    # -- actors ----------------------------------------------------------------------------------------------

    def list(self, limit: int | None = None, offset: int | None = None) -> list[Actor]:
        """Actors you can read. ``limit``/``offset`` page client-side: Abaco has no real paging, any query parameter
        but ``x-nonce`` turns the list into a search (TACC/abaco actors/controllers.py, ActorsResource.get)."""
        items = self.transport.get("") or []
        actors = [Actor.from_wire(i) for i in items]
        start = offset or 0
        return actors[start:start + limit] if limit is not None else actors[start:]

    def add(self, body: Mapping[str, Any] | None = None, /, **fields: Any) -> Actor:
        """Register an actor; ``body`` and keyword fields in either case (``image`` required), e.g.
        ``add(image="abacosamples/test", link=other.id, webhook="http://127.0.0.1:8000/events")``: ``link``
        (an actor id or alias) gets the actor's events as messages, ``webhook`` gets them as JSON POSTs."""
        body = {**(body or {}), **fields}
        if not body.get("image"):
            raise ValidationError("An actor needs an image.", hint='Pass {"image": "org/repo:tag", ...}.')
        actor = Actor.from_wire(self.transport.post("", json=self._wire(body),
                                                    outcome_check="List your actors to see whether it was created."))
        return self._actor_started(actor) if self.check_images and actor.id else actor

    def _actor_started(self, actor: Actor, wait: float = 3.0) -> Actor:
        """``actor`` once it left SUBMITTED (at most ``wait`` seconds); a RuntimeWarning when it went to ERROR
        (an image the sandbox cannot run: a typo such as ``abacosamples/wcc``)."""
        deadline = time.monotonic() + wait
        while actor.status in (None, "", "SUBMITTED") and time.monotonic() < deadline:
            time.sleep(0.05)
            actor = self.get(str(actor.id))
        if actor.status == "ERROR":
            warnings.warn(f"Actor {actor.id} (image {actor.image!r}) cannot run: {actor.status_message or 'ERROR'}. "
                          "Its messages will fail; fix the image with update(actor_id, image=...).",
                          RuntimeWarning, stacklevel=3)
        return actor

    def get(self, actor_id: str) -> Actor:
        """One actor by id or alias."""
        return Actor.from_wire(self.transport.get(f"/{_seg(actor_id)}"))

    def update(self, actor_id: str, changes: Mapping[str, Any] | None = None, /, **more: Any) -> Actor:
        """Change some fields of an actor, keeping the others.

        Abaco's PUT replaces the whole description (omitted fields fall back to defaults), so this GETs the
        actor, merges ``changes`` and keyword arguments (snake_case or camelCase names) and PUTs the result.
        ``force=True`` re-pulls the image and bumps the revision. Example::

            client.update(actor.id, description="v2", default_environment={"MODE": "fast"})
        """
        merged = snake_keys({**(changes or {}), **more})
        unknown = set(merged) - set(UPDATABLE_FIELDS) - {"force", "run_as_executor"}
        if unknown:
            raise ValidationError(
                f"Cannot update {', '.join(sorted(unknown))}.",
                hint=f"Updatable fields: {', '.join(UPDATABLE_FIELDS)} (and force).",
            )
        current = self.get(actor_id).to_dict()
        body = {k: current.get(k) for k in UPDATABLE_FIELDS}
        token = body.get("token")
        if isinstance(token, str):
            body["token"] = token.lower() == "true"
        # Server defaults a non-privileged user does not send back: Abaco refuses a truthy ``queue`` from them
        # (TACC/abaco actors/auth.py, check_privileged; ``privileged: false`` would pass there).
        if body.get("queue") == "default" and "queue" not in merged:
            body.pop("queue")
        if body.get("privileged") is False and "privileged" not in merged:
            body.pop("privileged")
        body.update(merged)
        clean = {k: v for k, v in body.items() if v is not None}
        return Actor.from_wire(self.transport.put(f"/{_seg(actor_id)}", json=self._wire(clean)))

    def delete(self, actor_id: str) -> None:
        """Delete an actor (its workers stop, its executions are gone)."""
        self.transport.delete(f"/{_seg(actor_id)}")

    # -- messages --------------------------------------------------------------------------------------------

    def message_count(self, actor_id: str) -> int:
        """Messages waiting in the actor's mailbox."""
        path = f"/{_seg(actor_id)}/messages"
        result = self.transport.get(path) or {}
        count = result.get("messages") if isinstance(result, dict) else result
        try:
            return parse_int(count or 0, "messages")
        except NumberError as exc:
            raise ProtocolError(f"Abaco's GET {path} answered {exc.message[len('messages '):]} for messages, not a "
                                "count of messages.", path=path) from None

    def purge_messages(self, actor_id: str) -> None:
        """Drop every message waiting in the mailbox."""
        self.transport.delete(f"/{_seg(actor_id)}/messages")

    def _outcome_check(self, actor_id: str, sent_at: datetime) -> str:
        when = sent_at.isoformat(timespec="seconds")
        return (
            f"Check before sending again: client.message_count({actor_id!r}) shows whether it is still queued, "
            f"and client.executions_since({actor_id!r}, {when!r}) lists the executions received since the send."
        )

    def _started(self, actor_id: str, result: Any, sent_at: datetime) -> Execution:
        receipt = MessageReceipt.from_wire(result if isinstance(result, Mapping) else {})
        if not receipt.execution_id:
            raise RemoteError(
                f"Abaco accepted the message for actor {actor_id} but returned no execution id.",
                hint=self._outcome_check(actor_id, sent_at),
            )
        return Execution(self, actor_id, str(receipt.execution_id), receipt=receipt, sent_at=sent_at)

    def send_message(self, actor_id: str, message: Any, environment: Mapping[str, Any] | None = None) -> Execution:
        """Queue a message and return its :class:`~swan_jupyter.actors.execution.Execution` handle.

        A dict or list is sent as a JSON message (the actor sees ``_abaco_Content_Type=application/json``);
        anything else as text (``str``). ``environment`` becomes environment variables of this execution (query
        parameters); the names ``message``, ``x-nonce`` and ``_abaco_*`` are refused before sending. If the
        answer is lost, :class:`~swan_jupyter.errors.UnknownOutcomeError` says how to check; it is never resent.
        """
        params = check_environment(environment)
        body = message_body(message)
        sent_at = datetime.now(UTC)
        result = self.transport.post(
            f"/{_seg(actor_id)}/messages", params=params or None, json=body,
            outcome_check=self._outcome_check(actor_id, sent_at),
        )
        return self._started(actor_id, result, sent_at)

    def send_binary(self, actor_id: str, data: bytes | bytearray | memoryview,
                    environment: Mapping[str, Any] | None = None) -> Execution:
        """Queue a binary message (``application/octet-stream``; at most ``max_binary_bytes``, checked first).

        The actor reads the bytes from its ``/_abaco_binary_data`` FIFO; ``MSG`` is not set.
        """
        params = check_environment(environment)
        raw = check_binary(data, self.max_binary_bytes)
        sent_at = datetime.now(UTC)
        result = self.transport.post(
            f"/{_seg(actor_id)}/messages", params=params or None, content=raw,
            headers={"Content-Type": "application/octet-stream"},
            outcome_check=self._outcome_check(actor_id, sent_at),
        )
        return self._started(actor_id, result, sent_at)

    def run_sync(self, actor_id: str, message: Any, environment: Mapping[str, Any] | None = None,
                 timeout: float = 60.0) -> bytes | str:
        """Send a message and wait for the answer (Abaco's synchronous execution).

        Returns the first result the actor sent (``bytes``) or, if it sent none, its logs (``str``). ``bytes``
        messages are sent as binary. Abaco never times out on its side, so the client gives up after
        ``timeout`` seconds with :class:`~swan_jupyter.errors.UnknownOutcomeError` (the execution may still be
        running: ``outcome_check`` tells how to find it); the message is never resent.
        """
        timeout = _positive_seconds(timeout)
        params = check_environment(environment)
        params["_abaco_synchronous"] = "true"
        if isinstance(message, bytes | bytearray | memoryview):
            kwargs: dict[str, Any] = {"content": check_binary(message, self.max_binary_bytes),
                                      "headers": {"Content-Type": "application/octet-stream"}}
        else:
            kwargs = {"json": message_body(message)}
        sent_at = datetime.now(UTC)
        try:
            reply = self.transport.post(
                f"/{_seg(actor_id)}/messages", params=params, timeout=(self.transport.timeout[0], timeout),
                outcome_check=self._outcome_check(actor_id, sent_at), **kwargs,
            )
        except KeyboardInterrupt:
            raise self._sync_interrupted(actor_id, sent_at) from None
        if isinstance(reply, RawReply):
            return reply.content if "octet-stream" in reply.content_type else reply.text
        if isinstance(reply, bytes | str):
            return reply
        # A JSON answer: the server sent JSON result bytes or logs that happen to look like JSON.
        return json.dumps(reply)

    def _sync_interrupted(self, actor_id: str, sent_at: datetime) -> Interrupted:
        """What an interrupted synchronous send leaves: the execution it started (looked up once), if found."""
        try:
            found = self.executions_since(actor_id, sent_at)
        except (SwanJupyterError, KeyboardInterrupt):
            found = []
        if not found:
            when = sent_at.isoformat(timespec="seconds")
            return Interrupted(f"the wait for actor {actor_id}'s answer was interrupted; the message may have been "
                               f"taken: client.executions_since({actor_id!r}, {when!r}) lists its execution")
        ex = Execution(self, actor_id, str(found[-1].id), found[-1], sent_at=sent_at)
        return Interrupted(f"execution {ex.id} of actor {actor_id} is {found[-1].status or 'running'}; "
                           "its .wait() gives the answer", ex)

    # -- executions ------------------------------------------------------------------------------------------

    def list_executions(self, actor_id: str) -> ExecutionsSummary:
        """The executions summary: totals and one short record per execution."""
        return ExecutionsSummary.from_wire(self.transport.get(f"/{_seg(actor_id)}/executions"))

    def executions_since(self, actor_id: str, since: datetime | str) -> builtins.list[ExecutionInfo]:
        """Executions of the actor whose message arrived at or after ``since`` (a UTC datetime or ISO text).

        This is how to find out whether a message whose answer was lost was taken (with ``message_count``).
        """
        start = parse_time(since)
        if start is None:
            raise ValidationError(f"Cannot read {since!r} as a time.", hint="Pass a datetime or ISO 8601 text.")
        items = self.list_executions(actor_id).executions
        # Abaco keeps milliseconds: compare with a one-second margin so the send time itself is included.
        margin = start - timedelta(seconds=1) if start > datetime.min.replace(tzinfo=UTC) + timedelta(seconds=1) \
            else start
        return [e for e in items if e.message_received_time is None or e.message_received_time >= margin]

    def get_execution(self, actor_id: str, execution_id: str) -> ExecutionInfo:
        """The full record of one execution (cpu, io, runtime, worker, exit code, times)."""
        return ExecutionInfo.from_wire(self.get_execution_record(actor_id, execution_id))

    def get_execution_record(self, actor_id: str, execution_id: str) -> dict[str, Any]:
        """The full record of one execution as a dict with snake_case keys and the values as sent."""
        result = self.transport.get(f"/{_seg(actor_id)}/executions/{_seg(execution_id)}")
        return snake_keys(result) if isinstance(result, Mapping) else {}

    def execution(self, actor_id: str, execution_id: str) -> Execution:
        """A handle on an existing execution."""
        return Execution(self, actor_id, execution_id)

    def get_logs(self, actor_id: str, execution_id: str) -> str:
        """The execution's logs (empty until it completes, or after they expire)."""
        result = self.transport.get(f"/{_seg(actor_id)}/executions/{_seg(execution_id)}/logs") or {}
        return str(result.get("logs") or "")

    def get_result(self, actor_id: str, execution_id: str) -> bytes | None:
        """Pop one queued result (raw bytes), or None when the queue is empty."""
        reply = self.transport.get(f"/{_seg(actor_id)}/executions/{_seg(execution_id)}/results")
        if isinstance(reply, RawReply):
            return reply.content or None
        return None if reply in (None, b"", "") else str(reply).encode()

    def results(self, actor_id: str, execution_id: str, limit: int = 10_000) -> builtins.list[bytes]:
        """Every queued result of the execution (pops them until the queue is empty, at most ``limit``)."""
        out: builtins.list[bytes] = []
        while len(out) < limit:
            item = self.get_result(actor_id, execution_id)
            if item is None:
                break
            out.append(item)
        return out

    def force_quit(self, actor_id: str, execution_id: str) -> None:
        """Stop a RUNNING execution (it becomes COMPLETE)."""
        self.transport.delete(f"/{_seg(actor_id)}/executions/{_seg(execution_id)}")

    # -- functions -------------------------------------------------------------------------------------------

    def function(self, fn: Callable[..., Any], actor: str | None = None, *, image: str = "abacosamples/py3_func",
                 workers: int | None = None, python_version: str | None = None,
                 allow_version_mismatch: bool = False, timeout: float = 300.0,
                 max_message_bytes: int | None = None) -> FunctionHandle:
        """A handle that runs the Python function ``fn`` on an Abaco function actor (``abacosamples/py3_func``).

        ``handle(*args, **kwargs)`` returns the value (a remote exception is raised as
        :class:`~swan_jupyter.errors.RemoteFunctionError` with the remote traceback), ``handle.submit(...)`` a
        ``Future``, ``handle.map(items)`` a DataFrame with one row per item. See
        :mod:`swan_jupyter.actors.functions` for the details, and the README for the trust boundary.

        :param actor: an actor id or alias to use (you name it, so its results are trusted); by default your own
            function actor for ``fn`` (``swan-fn-<name>``, owned by you) is reused, or one is registered.
        :param workers: make sure the actor has this many workers (adding workers needs Abaco's admin role;
            otherwise a warning says how many it has).
        :param python_version: the image's Python (``"3.11"``); a minor version other than the kernel's is
            refused unless ``allow_version_mismatch``. Assumed equal on the sandbox (a loopback URL).
        :param timeout: seconds a call may take from its send (default 300).
        :param max_message_bytes: largest payload sent (default the client's ``max_binary_bytes``).

        An unpicklable ``fn`` is refused with the pickling error before any request. Example::

            def square(x):
                return x * x
            sq = client.function(square, workers=4)
            sq(7), sq.map(range(100)).head()
        """
        from .functions import make_function

        return make_function(self, fn, actor, image=image, workers=workers, python_version=python_version,
                             allow_version_mismatch=allow_version_mismatch, timeout=timeout,
                             max_message_bytes=max_message_bytes)

    def executor(self, max_workers: int = 8, actor: str | None = None, timeout: float | None = None,
                 **options: Any) -> AbacoExecutor:
        """A :class:`concurrent.futures.Executor` running each call on an Abaco function actor.

        ``submit(fn, *args, **kwargs)`` returns a ``Future`` (pending until the answer is back, so ``cancel()``
        force-quits a call running remotely); ``map`` yields in order (``timeout``
        as in the standard library); it works with ``as_completed``, ``wait`` and ``loop.run_in_executor``.
        See :mod:`swan_jupyter.actors.executor` for what ``cancel()``, ``shutdown(cancel_futures=True)`` and
        timeouts stop.

        :param max_workers: calls in flight at once (sent and not yet finished).
        :param actor: an actor id or alias to run on (trusted, since you name it); by default your own
            ``swan-fn-executor-py<version>`` actor, reused or registered.
        :param timeout: seconds one call may take from its send before its execution is force-quit (default 300).
        :param options: passed to :meth:`function` (``workers``, ``image``, ``python_version``,
            ``allow_version_mismatch``, ``max_message_bytes``).
        """
        from .executor import make_executor

        return make_executor(self, max_workers, actor, timeout, **options)


__all__ = ["BASE_PATHS", "UPDATABLE_FIELDS", "Actors", "Flavor"]
