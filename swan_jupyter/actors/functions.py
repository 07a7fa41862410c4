"""Python functions on Abaco: call one remotely, map it over data, get results and metrics as one DataFrame.

A function actor runs the ``abacosamples/py3_func`` image (Abaco's ``samples/py3_func``): its binary message is
``cloudpickle.dumps({"func": f, "args": [...], "kwargs": {...}})`` and the value of ``f(*args, **kwargs)`` comes
back cloudpickled through the execution's **results queue** (TACC/abaco samples/py3_func/call_f.py,
``send_python_result``; actors/controllers.py, ActorExecutionResultsResource.get). :meth:`Actors.function
<swan_jupyter.actors.Actors.function>` gives a :class:`FunctionHandle` on such an actor::

    square = client.function(lambda x: x * x, workers=4)
    square(7)                                   # 49, computed remotely
    fut = square.submit(8)                      # concurrent.futures.Future
    df = square.map(range(200), max_in_flight=8, timeout=60)
    df[df.status != "ok"]                       # failures are rows, never raised mid-map

**How a call travels.** The function is cloudpickled once, when the handle is made (an unpicklable function
is refused then, with the pickling error). Each call sends a small runner (pickled by value, so the image
needs nothing but cloudpickle) with the function's bytes and the arguments; the runner calls the function and
returns ``{"ok": True, "value": ...}`` or, when it raises, the exception's type, text and traceback, so even a
remote exception comes back through the results queue, never through stdout. An execution that ends without
a result (the process crashed, the result could not be pickled or sent) is a failure whose **log tail** is
attached. A payload over the message size limit is refused with its size before anything is sent.

**Python versions.** cloudpickle does not travel across minor Python versions. For a real Abaco server pass
the image's version (``python_version="3.11"``): a version different from the kernel's is refused up front
(``allow_version_mismatch=True`` sends anyway, with a warning); when it is not given the handle warns once.
On the sandbox (a loopback URL) py3_func runs with the sandbox's own interpreter. Every result also carries
the remote version (``handle.remote_python``), and a difference is warned about.

**Trust boundary.** Unpickling runs code. A handle unpickles results only from an actor the user owns (one it
registered, or one whose ``owner`` is the user named by the token) or names explicitly (``actor=``); it never
picks up another user's actor on its own. Conversely, anyone with EXECUTE on a py3_func actor runs any code
they like as that actor's owner: do not share function actors.

**Interrupts.** A ``KeyboardInterrupt`` during :meth:`FunctionHandle.map` stops sending, force-quits the
executions still running, purges the actor's mailbox of the messages still queued (owned actors only), and
raises :class:`MapInterrupted` with the partial frame and the list of executions that could not be stopped.
"""

from __future__ import annotations

import contextlib
import pickle
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from .._views import views
from ..auth import TokenAuth
from ..errors import RemoteError, SwanDeprecationWarning, SwanJupyterError, TransportError, ValidationError
from ..numbers import MAX_WORKERS, parse_float, parse_int
from ._function_calls import (
    ACTOR_PREFIX,
    CALL_STATUSES,
    DEFAULT_IMAGE,
    MAX_REMEMBERED,
    CallOutcome,
    MapInterrupted,
    encode_call,
    image_python,
    kernel_python,
    log_tail,
    map_summary,
    minor_version,
    pickle_function,
    short_repr,
)
from ._polling import Pace
from .execution import FINAL_STATUSES
from .records import Progress

if TYPE_CHECKING:
    import pandas as pd

    from ._client_api import AbacoCalls

#: The longest one call may take (seconds): a week.
MAX_CALL_TIMEOUT = 7 * 86_400.0

class FunctionHandle:
    """A Python function bound to an Abaco function actor (see the module docstring). Made by
    :meth:`Actors.function <swan_jupyter.actors.Actors.function>`; not built directly.

    Attributes: ``fn`` (the local function), ``actor_id``, ``image``, ``workers`` (the workers the actor has, as
    far as the handle could ensure them), ``trust`` (``"owned"`` or ``"named"``), ``python_version`` (the
    image's, as given or assumed), ``remote_python`` (as reported by the last result), ``timeout`` (seconds a
    call may take from its send), ``max_message_bytes``.
    """

    def __init__(self, client: AbacoCalls, fn: Callable[..., Any], fn_blob: bytes, actor_id: str, *, image: str,
                 workers: int, trust: str, python_version: str | None, timeout: float,
                 max_message_bytes: int) -> None:
        self.client = client
        self.fn = fn
        self._blob = fn_blob
        self.actor_id = actor_id
        self.image = image
        self.workers = workers
        self.trust = trust
        self.python_version = python_version
        self.remote_python: str | None = None
        self.timeout = timeout
        self.max_message_bytes = max_message_bytes
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._warned_version = False
        self._pace = Pace()  # polls paced by the turnarounds of this handle's calls
        #: The call outcome of each execution this handle ran (``ok``, ``raised``, ``no result``, ...): what the
        #: execution records cannot tell (a function that raised still ends with exit code 0).
        self.call_outcomes: dict[str, str] = {}

    @property
    def name(self) -> str:
        """The function's name."""
        return str(getattr(self.fn, "__name__", "function"))

    def __repr__(self) -> str:
        return (f"<FunctionHandle {self.name} on actor {self.actor_id} ({self.image}, {self.workers} worker(s), "
                f"{self.trust})>")

    # -- one call ----------------------------------------------------------------------------------------------

    def encode(self, *args: Any, **kwargs: Any) -> bytes:
        """The message one call would send (checks pickling and size; sends nothing)."""
        return encode_call(self._blob, args, kwargs, self.max_message_bytes)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` remotely and return its value.

        Raises :class:`ValidationError` before sending (unpicklable arguments, payload too large),
        :class:`~swan_jupyter.errors.RemoteFunctionError` when the function raised remotely (with the remote
        traceback and the execution id) or its execution ended without a result (with the log tail), and
        :class:`~swan_jupyter.errors.RequestTimeoutError` after ``timeout`` seconds (the execution is stopped).
        An interrupt stops the execution too.
        """
        return self.run_payload(self.encode(*args, **kwargs))

    def run_payload(self, payload: bytes, timeout: float | None = None,
                    cancel: threading.Event | None = None) -> Any:
        """Send one encoded call (:func:`encode_call`) to the handle's actor and return its value, raising as a
        direct call does. ``timeout``: seconds from the send (default the handle's); setting ``cancel`` stops the
        call and force-quits its execution. The executor (:mod:`swan_jupyter.actors.executor`) runs on this."""
        outcome = self._run(0, "", payload, self.timeout if timeout is None else timeout, cancel or threading.Event())
        if outcome.status != "ok":
            raise outcome.to_error(self.image)
        return outcome.value

    def submit(self, *args: Any, **kwargs: Any) -> Future[Any]:
        """Start one call in the background: a :class:`concurrent.futures.Future` of its value (``result()``
        raises what a direct call would). Pickling and size are checked here, before anything is sent."""
        payload = self.encode(*args, **kwargs)
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max(4, 2 * self.workers), thread_name_prefix="swan-function")
            return self._pool.submit(self.run_payload, payload)

    # -- many calls --------------------------------------------------------------------------------------------

    def map(self, iterable: Iterable[Any], *, max_in_flight: int | None = None, timeout: float | None = None,
            ordered: bool = True, star: bool = False, progress_after: float = 2.0,
            verbose: bool = True) -> pd.DataFrame:
        """Call the function on every item and return one row per item (a DataFrame).

        :param iterable: the inputs; each item is the one positional argument (``star=True``: a tuple of
            positional arguments).
        :param max_in_flight: calls sent and not yet finished at any time (default twice the workers).
        :param timeout: seconds each call may take from its send, queueing included (default the handle's).
            A call over time is stopped (force-quit) and recorded as ``timeout``; the others go on.
        :param ordered: rows in input order (default); ``False`` keeps the order in which calls finished.
        :param progress_after: seconds before a progress bar appears (negative: never).
        :param verbose: print the summary line (failures by input) at the end.

        Columns (see :func:`swan_jupyter.frames.functions.map_frame`): the index ``input`` (position in the
        iterable), ``arg`` (repr, truncated), ``result``, ``status`` (ok, error, timeout, refused,
        cancelled), ``actor_id``, ``execution_id``, ``duration`` (finish - start) and ``queue_wait`` (start -
        received) as timedeltas from each execution's record, ``error``, ``traceback`` (remote) and ``log_tail``
        (failed executions without a result). Failures are rows, never raised; ``frame.attrs`` has
        ``summary``, ``failures`` (input positions) and ``left`` (executions that could not be stopped).
        A ``KeyboardInterrupt`` raises :class:`MapInterrupted` (see the module docstring).
        """
        frames = views()
        items = list(iterable)
        limit = parse_int(max_in_flight if max_in_flight is not None else max(1, 2 * self.workers), "max_in_flight",
                          minimum=1, maximum=MAX_WORKERS)
        per_call = parse_float(timeout if timeout is not None else self.timeout, "timeout", maximum=MAX_CALL_TIMEOUT)
        cancel = threading.Event()
        outcomes: list[CallOutcome] = []
        progress = Progress(progress_after, self.name, unit="call")
        progress.add_total(len(items))
        started = time.monotonic()
        pool = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="swan-map")
        running: dict[Future[CallOutcome], int] = {}
        next_item = 0
        try:
            while next_item < len(items) or running:
                while next_item < len(items) and len(running) < limit:
                    running[pool.submit(self._item, next_item, items[next_item], star, per_call, cancel)] = next_item
                    next_item += 1
                done, _ = wait(running, timeout=0.25, return_when=FIRST_COMPLETED)
                for future in done:
                    running.pop(future)
                    outcomes.append(future.result())
                    progress.update(1)
        except KeyboardInterrupt:
            cancel.set()
            left = self._stop_all(running, outcomes)
            outcomes += [CallOutcome(i, short_repr(items[i])) for i in range(next_item, len(items))]
            pool.shutdown(wait=True)
            progress.close()
            frame = frames.map_frame(outcomes, ordered=ordered)
            frame.attrs["left"] = left
            raise MapInterrupted(frame, left) from None
        finally:
            pool.shutdown(wait=False)
            progress.close()
        frame = frames.map_frame(outcomes, ordered=ordered)
        frame.attrs["left"] = [(o.execution_id, o.left) for o in outcomes if o.left and o.execution_id]
        frame.attrs["summary"] = map_summary(outcomes, time.monotonic() - started)
        frame.attrs["failures"] = [int(i) for i in frame.index[frame["status"] != "ok"]]
        if verbose:
            print(frame.attrs["summary"])
        return frame

    def _item(self, index: int, item: Any, star: bool, per_call: float, cancel: threading.Event) -> CallOutcome:
        arg = short_repr(item)
        if cancel.is_set():
            return CallOutcome(index, arg, actor_id=self.actor_id)
        args = tuple(item) if star else (item,)
        try:
            payload = encode_call(self._blob, args, {}, self.max_message_bytes)
        except ValidationError as exc:
            return CallOutcome(index, arg, "refused", actor_id=self.actor_id, error=exc.message)
        return self._run(index, arg, payload, per_call, cancel)

    def _stop_all(self, running: dict[Future[CallOutcome], int],
                  outcomes: list[CallOutcome]) -> list[tuple[str, str]]:
        """After an interrupt: collect the calls in flight (each stops its own execution when it sees the
        cancel flag), purge the mailbox of messages still queued, and return what could not be stopped."""
        for future in list(running):
            with contextlib.suppress(KeyboardInterrupt):
                outcomes.append(future.result(timeout=30))
        queued = [o for o in outcomes if o.left == "SUBMITTED" and o.execution_id]
        if queued and self.trust == "owned":
            try:
                self.client.purge_messages(self.actor_id)
            except SwanJupyterError:
                queued = []
            for o in queued:
                # A message purged from the mailbox never runs: its record stays SUBMITTED (as in Abaco). One
                # taken by a worker just before the purge is RUNNING: stop it.
                o.left = self._stop_one(o.execution_id or "")
                if o.left == "SUBMITTED":
                    o.left, o.error = None, "interrupted: dropped from the mailbox before it ran"
        return [(o.execution_id, o.left) for o in outcomes if o.left and o.execution_id]

    # -- the life of one call ----------------------------------------------------------------------------------

    def _run(self, index: int, arg: str, payload: bytes, per_call: float, cancel: threading.Event) -> CallOutcome:
        outcome = self._run_call(index, arg, payload, per_call, cancel)
        if outcome.execution_id:
            with self._lock:
                if len(self.call_outcomes) >= MAX_REMEMBERED:
                    self.call_outcomes.pop(next(iter(self.call_outcomes)))
                self.call_outcomes[outcome.execution_id] = outcome.call_outcome
        return outcome

    def _run_call(self, index: int, arg: str, payload: bytes, per_call: float,
                  cancel: threading.Event) -> CallOutcome:
        outcome = CallOutcome(index, arg, actor_id=self.actor_id)
        try:
            ex = self.client.send_binary(self.actor_id, payload)
        except SwanJupyterError as exc:
            outcome.status, outcome.error = "error", f"not sent: {exc.message}"
            return outcome
        outcome.execution_id = ex.id
        sent_at = time.monotonic()
        deadline = sent_at + per_call
        delays = self._pace.delays()
        try:
            cancel.wait(min(next(delays), per_call))  # most of the typical turnaround before the first look
            while True:
                if cancel.is_set():
                    outcome.status, outcome.error = "cancelled", "interrupted"
                    outcome.left = self._stop_one(ex.id)
                    return outcome
                try:
                    info = self.client.get_execution(self.actor_id, ex.id)
                except TransportError:
                    info = None  # a lost poll: poll again until the deadline
                if info is not None and info.status in FINAL_STATUSES:
                    outcome.info = info
                    self._pace.observe(time.monotonic() - sent_at)
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    outcome.status, outcome.error = "timeout", f"still {info.status if info else 'unknown'} " \
                                                               f"after {per_call:g} s"
                    outcome.left = self._stop_one(ex.id)
                    with contextlib.suppress(SwanJupyterError):
                        outcome.info = self.client.get_execution(self.actor_id, ex.id)
                    return outcome
                cancel.wait(min(next(delays), remaining))  # an interrupt ends the wait at once
        except KeyboardInterrupt:  # a direct call interrupted in the kernel's main thread
            outcome.left = self._stop_one(ex.id)
            raise
        except SwanJupyterError as exc:
            outcome.status, outcome.error = "error", f"the execution could not be followed: {exc.message}"
            return outcome
        self._read_result(outcome)
        return outcome

    def _read_result(self, outcome: CallOutcome) -> None:
        """Pop the one result of a finished execution and decode it into ``outcome``."""
        execution_id = outcome.execution_id or ""
        try:
            raw = self.client.get_result(self.actor_id, execution_id)
        except SwanJupyterError as exc:
            raw, outcome.error = None, f"the result could not be fetched: {exc.message}"
        envelope: Any = None
        if raw is not None:
            try:
                envelope = pickle.loads(raw)  # trusted: an actor the user owns or named (module docstring)
            except Exception as exc:
                outcome.error = f"the result could not be unpickled here: {type(exc).__name__}: {exc}"
        if isinstance(envelope, dict) and envelope.get("swan_jupyter") == 1:
            self._note_python(envelope.get("python"))
            if envelope.get("ok"):
                outcome.status, outcome.value = "ok", envelope.get("value")
                return
            err = envelope.get("error") or {}
            outcome.remote_type = str(err.get("type") or "Exception")
            outcome.remote_message = str(err.get("message") or "")
            outcome.traceback = str(err.get("traceback") or "")
            outcome.status = "error"
            outcome.error = f"{outcome.remote_type}: {outcome.remote_message}"
            return
        outcome.status = "error"
        if outcome.error is None:
            info = outcome.info
            code = f" (exit code {info.exit_code})" if info is not None and info.exit_code is not None else ""
            outcome.error = ("the execution ended without a result" + code if raw is None
                             else "the actor answered something that is not a function result")
        with contextlib.suppress(SwanJupyterError):
            outcome.log_tail = log_tail(self.client.get_logs(self.actor_id, execution_id))

    def stop_execution(self, execution_id: str, wait: float = 0.0) -> str | None:
        """Internal API (the executor's): force-quit one execution if it runs; one still queued (SUBMITTED) is
        force-quit when it starts, waited for ``wait`` s at most (polls paced). None: nothing left; else its status."""
        delays, deadline = self._pace.delays(), time.monotonic() + wait
        while (left := self._stop_one(execution_id)) == "SUBMITTED" and (rest := deadline - time.monotonic()) > 0:
            time.sleep(min(next(delays), rest))
        return left

    def _stop_one(self, execution_id: str) -> str | None:
        """Stop one execution if it runs; its status when it may still run or wait, None when nothing is left."""
        try:
            info = self.client.get_execution(self.actor_id, execution_id)
        except SwanJupyterError:
            return "unknown"
        if info.status in FINAL_STATUSES:
            return None
        if info.status == "RUNNING":
            try:
                self.client.force_quit(self.actor_id, execution_id)
            except RemoteError:
                with contextlib.suppress(SwanJupyterError):  # it may have finished meanwhile
                    if self.client.get_execution(self.actor_id, execution_id).status in FINAL_STATUSES:
                        return None
                return "RUNNING"
            except SwanJupyterError:
                return "RUNNING"
            return None
        return str(info.status or "unknown")

    def _note_python(self, version: Any) -> None:
        if not isinstance(version, list | tuple) or len(version) < 2:
            return
        remote = minor_version(version)
        self.remote_python = ".".join(str(v) for v in version)
        if remote != kernel_python() and not self._warned_version:
            self._warned_version = True
            warnings.warn(f"The function actor runs Python {self.remote_python}, this kernel {kernel_python()}: "
                          f"cloudpickle payloads may not load across minor versions.", RuntimeWarning, stacklevel=3)

    # -- metrics and housekeeping ------------------------------------------------------------------------------

    def known_outcomes(self) -> dict[str, str]:
        """``{execution id: call outcome}`` of the calls this handle ran (a copy of :attr:`call_outcomes`)."""
        with self._lock:
            return dict(self.call_outcomes)

    def metrics(self, **options: Any) -> pd.DataFrame:
        """Deprecated: write ``swan_jupyter.frames.functions.function_metrics(handle)``."""
        _moved("handle.metrics()", "swan_jupyter.frames.functions.function_metrics(handle)")
        return views().function_metrics(self, **options)

    def explore(self) -> Any:
        """Deprecated: write ``swan_jupyter.widgets.ExecutionExplorer.for_function(handle)``."""
        _moved("handle.explore()", "swan_jupyter.widgets.ExecutionExplorer.for_function(handle)")
        return views().function_explorer(self)

    def close(self) -> None:
        """Stop the background threads of :meth:`submit` (the actor stays)."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    def delete(self) -> None:
        """Delete the function actor (its executions and results go with it) and close the handle."""
        self.close()
        self.client.delete(self.actor_id)


def _moved(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated and will be removed in the next release: write {new}.",
                  SwanDeprecationWarning, stacklevel=3)


def _actor_name(fn: Callable[..., Any]) -> str:
    name = str(getattr(fn, "__name__", "") or "function")
    return ACTOR_PREFIX + (re.sub(r"[^A-Za-z0-9_.-]", "_", name).strip("_.") or "function")


def _username(client: AbacoCalls) -> str | None:
    auth = client.transport.session.auth
    return auth.claimed_username() if isinstance(auth, TokenAuth) else None


def _ensure_workers(client: AbacoCalls, actor_id: str, wanted: int | None) -> int:
    """Make sure the actor has ``wanted`` workers (Abaco lets only admins add them): the count it has."""
    live = [w for w in client.list_workers(actor_id)
            if w.status not in ("ERROR", "SHUTDOWN_REQUESTED", "SHUTTING_DOWN")]
    if wanted is None or len(live) >= wanted:
        return max(1, len(live))
    try:
        client.add_workers(actor_id, wanted)
    except RemoteError as exc:
        warnings.warn(f"Could not add workers to function actor {actor_id} ({exc.server_message or exc.message}): "
                      f"it has {len(live)} worker(s), so at most that many calls run at a time.",
                      RuntimeWarning, stacklevel=3)
        return max(1, len(live))
    return wanted


def make_function(
    client: AbacoCalls,
    fn: Callable[..., Any],
    actor: str | None = None,
    *,
    image: str = DEFAULT_IMAGE,
    workers: int | None = None,
    python_version: str | None = None,
    allow_version_mismatch: bool = False,
    timeout: float = 300.0,
    max_message_bytes: int | None = None,
) -> FunctionHandle:
    """The body of :meth:`Actors.function <swan_jupyter.actors.Actors.function>` (documented there)."""
    if workers is not None:
        workers = parse_int(workers, "workers", minimum=1, maximum=MAX_WORKERS)
    timeout = parse_float(timeout, "timeout", maximum=MAX_CALL_TIMEOUT)
    python_version = image_python(image, python_version, client.base_url, allow_version_mismatch)
    blob = pickle_function(fn)  # refused before any request
    limit = parse_int(max_message_bytes if max_message_bytes is not None else client.max_binary_bytes,
                      "max_message_bytes", minimum=1)
    if actor is not None:
        found = client.get(actor)
        if not found.id:
            raise ValidationError(f"Actor {actor!r} has no id.")
        actor_id, trust, image = found.id, "named", str(found.image or image)
    else:
        name, me = _actor_name(fn), _username(client)
        mine = [a for a in client.list() if a.name == name and a.image == image and a.id and me is not None
                and a.owner == me and a.status != "ERROR"]
        mine.sort(key=lambda a: a.create_time.timestamp() if a.create_time else 0.0)
        if mine:
            actor_id = str(mine[-1].id)
        else:
            what = getattr(fn, "__qualname__", name)
            created = client.add({"image": image, "name": name, "stateless": True,
                                  "description": f"swan_jupyter function actor for {what}"})
            actor_id = str(created.id)
        trust = "owned"
    count = _ensure_workers(client, actor_id, workers)
    return FunctionHandle(client, fn, blob, actor_id, image=image, workers=count, trust=trust,
                          python_version=python_version, timeout=float(timeout), max_message_bytes=limit)


__all__ = [
    "ACTOR_PREFIX", "CALL_STATUSES", "DEFAULT_IMAGE", "CallOutcome", "FunctionHandle", "MapInterrupted",
    "encode_call", "kernel_python", "make_function", "map_summary", "pickle_function",
]
