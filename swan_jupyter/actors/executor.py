"""A :class:`concurrent.futures.Executor` whose calls run on an Abaco function actor.

:meth:`Actors.executor <swan_jupyter.actors.Actors.executor>` gives an :class:`AbacoExecutor`: it runs any
picklable callable with its arguments as one execution of a py3_func actor, wherever an executor is expected::

    with client.executor(max_workers=8) as ex:
        ex.submit(pow, 2, 10).result()                 # 1024, computed remotely
        list(ex.map(score, params, timeout=120))       # in input order
        await asyncio.get_running_loop().run_in_executor(ex, score, 16)

**What it builds on.** The executor holds one :class:`~swan_jupyter.actors.functions.FunctionHandle` on its
actor and sends each call through :meth:`FunctionHandle.run_payload
<swan_jupyter.actors.functions.FunctionHandle.run_payload>`: the same payload (the runner, the function's
cloudpickle bytes, the arguments, refused over the message size limit before sending), the same paced polling,
the same force-quit of an execution over its time, the same trust boundary on unpickling results (an actor you
own or name). By default the actor is your own ``swan-fn-executor-py<major.minor>``: one per owner and Python
version, reused by every executor you make, registered on first use.

**Cancelling.** The :class:`~concurrent.futures.Future` objects are the standard ones, with the standard contract:

- ``future.cancel()`` cancels a call still waiting in the executor's local queue (it is never sent) and
  returns True; on a call already sent it returns False and **does not** stop it (a running future cannot be
  cancelled). To stop a sent call, use :meth:`AbacoExecutor.force_quit`. A sent call whose execution still
  waits in the actor's mailbox is stopped when it starts (within the call's timeout; its future stays running
  until then).
- ``shutdown(cancel_futures=True)`` cancels the queued calls and force-quits the executions of the sent ones;
  their futures end with :class:`~swan_jupyter.errors.RemoteFunctionError` ("interrupted").
- a call over the executor's ``timeout`` (seconds from its send) is force-quit; its future raises
  :class:`~swan_jupyter.errors.RequestTimeoutError`.
- ``map``: when its iterator ends early (its ``timeout`` passed, the consumer stopped, or the kernel was
  interrupted while it waited), the calls still queued are cancelled (as in the standard library) and the ones
  already sent are force-quit.

A remote exception is raised by ``future.result()`` as :class:`~swan_jupyter.errors.RemoteFunctionError`
carrying the remote type, message and traceback. This module imports no frames, widgets or IPython.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ..errors import RemoteFunctionError
from ..numbers import MAX_WORKERS, parse_float, parse_int
from ._function_calls import encode_call, kernel_python, pickle_function
from .functions import MAX_CALL_TIMEOUT, FunctionHandle, make_function

if TYPE_CHECKING:
    from ._client_api import AbacoCalls

#: The default per-call time limit (seconds from the send), as for ``Actors.function``.
DEFAULT_TIMEOUT = 300.0


def executor_actor_name() -> str:
    """The function name the executor's own actor is named after (``swan-fn-executor-py3.11``)."""
    return f"executor-py{kernel_python()}"


def _stand_in() -> Callable[..., Any]:
    """A function that only names the executor's actor (the handle is never called with it)."""

    def stand_in(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the executor's stand-in function is never called")

    stand_in.__name__ = stand_in.__qualname__ = executor_actor_name()
    return stand_in


class _Mapped:
    """The function of one :meth:`AbacoExecutor.map`: pickled once, and collecting the futures it makes."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.blob = pickle_function(fn)
        self.futures: list[Future[Any]] = []


class AbacoExecutor(Executor):
    """A :class:`concurrent.futures.Executor` running each call as an Abaco execution (see the module
    docstring). Made by :meth:`Actors.executor <swan_jupyter.actors.Actors.executor>`.

    Attributes: ``handle`` (the :class:`FunctionHandle` on the actor), ``actor_id``, ``max_workers`` (calls
    in flight at once), ``timeout`` (seconds one call may take from its send).
    """

    def __init__(self, handle: FunctionHandle, *, max_workers: int, timeout: float) -> None:
        self.handle = handle
        self.max_workers = max_workers
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="swan-executor")
        self._flags: dict[Future[Any], threading.Event] = {}
        self._lock = threading.Lock()

    @property
    def actor_id(self) -> str:
        """The actor the calls run on."""
        return self.handle.actor_id

    def __repr__(self) -> str:
        return f"<AbacoExecutor on actor {self.actor_id} ({self.max_workers} in flight, timeout {self.timeout:g} s)>"

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Schedule ``fn(*args, **kwargs)`` as one execution and return its :class:`Future`.

        Pickling and the payload size are checked here, before anything is sent: :class:`ValidationError`
        (an unpicklable function or argument; a payload over the message size limit, with its size and the
        limit). After :meth:`shutdown`, :class:`RuntimeError` as for any executor.
        """
        mapped = fn if isinstance(fn, _Mapped) else None
        blob = mapped.blob if mapped is not None else pickle_function(fn)
        payload = encode_call(blob, args, kwargs, self.handle.max_message_bytes)
        flag = threading.Event()
        with self._lock:
            future = self._pool.submit(self._call, payload, flag)
            self._flags[future] = flag
        future.add_done_callback(self._forget)
        if mapped is not None:
            mapped.futures.append(future)
        return future

    def _call(self, payload: bytes, flag: threading.Event) -> Any:
        """One call in a pool thread; a call stopped while its execution still waits in the mailbox is chased."""
        try:
            return self.handle.run_payload(payload, self.timeout, flag)
        except RemoteFunctionError as exc:
            if flag.is_set() and exc.execution_id:
                self._chase(exc.execution_id)
            raise

    def _chase(self, execution_id: str) -> None:
        """Stop an execution that was still SUBMITTED when its call was stopped (Abaco force-quits only a running
        one; purging the mailbox would drop the other calls' messages): wait, within the call's timeout, for it
        to start, and force-quit it then."""
        deadline = time.monotonic() + self.timeout
        delays = self.handle._pace.delays()
        while self.handle._stop_one(execution_id) == "SUBMITTED" and time.monotonic() < deadline:
            time.sleep(min(next(delays), max(0.0, deadline - time.monotonic())))

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any], timeout: float | None = None,
            chunksize: int = 1) -> Iterator[Any]:
        """``fn`` over the iterables, results in input order (:meth:`Executor.map`): the function is pickled
        once; ``timeout`` counts from this call, and :class:`TimeoutError` is raised by the iterator when a
        result is not there in time. When the iterator ends early the calls still queued are cancelled and
        the ones sent are force-quit. ``chunksize`` is accepted and ignored (each item is one execution)."""
        mapped = _Mapped(fn)
        results: Iterator[Any] = super().map(mapped, *iterables, timeout=timeout,  # type: ignore[arg-type]
                                             chunksize=chunksize)
        return self._stopping(results, mapped.futures)

    def _stopping(self, results: Iterator[Any], futures: list[Future[Any]]) -> Iterator[Any]:
        try:
            yield from results
        finally:
            for future in futures:
                if not future.done():
                    self.force_quit(future)

    def force_quit(self, future: Future[Any]) -> bool:
        """Stop one call of this executor: cancel it if it is still queued here, else force-quit its execution
        (its future then raises :class:`~swan_jupyter.errors.RemoteFunctionError`, "interrupted"). False when
        the call had already finished or is not one of this executor's."""
        if future.cancel():
            return True
        with self._lock:
            flag = self._flags.get(future)
        if flag is None or future.done():
            return False
        flag.set()
        return True

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting calls. ``cancel_futures``: cancel the queued calls and force-quit the sent ones.
        ``wait``: return when every call has ended. The actor stays (executors share it)."""
        if cancel_futures:
            with self._lock:
                flags = list(self._flags.values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            for flag in flags:
                flag.set()
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._flags.pop(future, None)


def make_executor(client: AbacoCalls, max_workers: int = 8, actor: str | None = None, timeout: float | None = None,
                  **options: Any) -> AbacoExecutor:
    """The body of :meth:`Actors.executor <swan_jupyter.actors.Actors.executor>` (documented there)."""
    workers = parse_int(max_workers, "max_workers", minimum=1, maximum=MAX_WORKERS)
    limit = parse_float(DEFAULT_TIMEOUT if timeout is None else timeout, "timeout", maximum=MAX_CALL_TIMEOUT)
    handle = make_function(client, _stand_in(), actor, timeout=limit, **options)
    return AbacoExecutor(handle, max_workers=workers, timeout=limit)


__all__ = ["DEFAULT_TIMEOUT", "AbacoExecutor", "executor_actor_name", "make_executor"]
