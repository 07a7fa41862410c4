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

**Cancelling.** A call's future stays *pending* until its answer is back: while the call waits in the
executor's queue, while its message waits in the actor's mailbox, and while its execution runs. Only when the
answer has arrived does the future turn running, for the instant it takes to set the result. Why:

- ``future.cancel()`` can then keep the standard contract (True when the call is cancelled, False when it
  cannot be) and still stop a call that runs remotely, because such a call *can* be cancelled: its execution is
  force-quit. A call still queued here is never sent. A call whose execution still waits in the mailbox is
  force-quit when it starts (within the call's timeout; Abaco force-quits only a running execution, and purging
  the mailbox would drop the other calls' messages). The future is cancelled at once, so ``cf.wait`` and
  ``as_completed`` see it done; the force-quit follows in the call's thread. An answer that arrives after the
  cancel is dropped.
- ``running()`` is False while a call runs remotely. This keeps the definition in the standard docs: "the call
  is currently being executed and cannot be cancelled". Check the execution at Abaco to tell whether it runs.
- The other way, a ``Future`` subclass whose ``cancel()`` force-quits a *running* future, would need the future's
  private state to mark it cancelled. Or it would return False after stopping the call, which is the opposite of
  what happened.

Other ways calls stop:

- ``shutdown(cancel_futures=True)`` cancels every call still pending, sent or not; a sent one is force-quit. With
  ``wait=True`` it returns once the force-quits are done. ``ex.force_quit(future)`` is ``future.cancel()`` for
  one of this executor's futures.
- **An interrupt** (Ctrl-C, a kernel interrupt) while ``result()`` or ``exception()`` of one of its futures
  waits cancels every call of that executor still pending, so the queued ones are never sent and the sent ones
  are force-quit, and then it re-raises. ``cf.wait`` and ``cf.as_completed`` are the standard library's own
  functions, and an interrupt there cannot be seen from the futures. Inside ``with client.executor() as ex:``
  the interrupt leaves the block, and the block's exit cancels in the same way instead of waiting for the calls.
- A call over the executor's ``timeout`` (seconds from its send) is force-quit, and its future raises
  :class:`~swan_jupyter.errors.RequestTimeoutError`.
- ``map``: when its iterator ends early (its ``timeout`` passed, the consumer stopped, or the kernel was
  interrupted while it waited), the calls still pending are cancelled, as in the standard library. That stops
  the queued ones and force-quits the sent ones.

A remote exception is raised by ``future.result()`` as :class:`~swan_jupyter.errors.RemoteFunctionError`
carrying the remote type, message and traceback. This module imports no frames, widgets or IPython.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

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
    """The function of one :meth:`AbacoExecutor.map`, pickled once for all its calls."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.blob = pickle_function(fn)


class AbacoFuture(Future[Any]):
    """The :class:`~concurrent.futures.Future` of one :class:`AbacoExecutor` call: pending until the answer is
    back (see the module docstring); an interrupt while :meth:`result` or :meth:`exception` waits stops the
    executor's calls before it re-raises."""

    def __init__(self, on_interrupt: Callable[[], None]) -> None:
        super().__init__()
        self._on_interrupt = on_interrupt

    def result(self, timeout: float | None = None) -> Any:
        """The call's value (:meth:`Future.result`)."""
        try:
            return super().result(timeout)
        except KeyboardInterrupt:
            self._on_interrupt()
            raise

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The call's exception, None when it returned (:meth:`Future.exception`)."""
        try:
            return super().exception(timeout)
        except KeyboardInterrupt:
            self._on_interrupt()
            raise


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
        # each pending call: its stop flag (seen by the call's thread) and its task in the local pool
        self._calls: dict[Future[Any], tuple[threading.Event, Future[None]]] = {}
        self._lock = threading.Lock()

    @property
    def actor_id(self) -> str:
        """The actor the calls run on."""
        return self.handle.actor_id

    def __repr__(self) -> str:
        return f"<AbacoExecutor on actor {self.actor_id} ({self.max_workers} in flight, timeout {self.timeout:g} s)>"

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        """Shut down; after an interrupt in the block, cancel the pending calls instead of waiting for them."""
        self.shutdown(wait=True, cancel_futures=isinstance(exc_val, KeyboardInterrupt))

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Schedule ``fn(*args, **kwargs)`` as one execution and return its :class:`AbacoFuture`.

        Pickling and the payload size are checked here, before anything is sent: :class:`ValidationError`
        (an unpicklable function or argument; a payload over the message size limit, with its size and the
        limit). After :meth:`shutdown`, :class:`RuntimeError` as for any executor.
        """
        blob = fn.blob if isinstance(fn, _Mapped) else pickle_function(fn)
        payload = encode_call(blob, args, kwargs, self.handle.max_message_bytes)
        future = AbacoFuture(self._cancel_pending)
        flag = threading.Event()
        with self._lock:
            self._calls[future] = (flag, self._pool.submit(self._call, future, payload, flag))
        future.add_done_callback(self._ended)
        return future

    def _call(self, future: Future[Any], payload: bytes, flag: threading.Event) -> None:
        """One call, in a pool thread: send, follow, settle the future (unless it was cancelled meanwhile; a
        cancelled call's execution is force-quit, once it starts if it was still queued at Abaco)."""
        if future.cancelled():
            return
        try:
            value, error = self.handle.run_payload(payload, self.timeout, flag), None
        except BaseException as exc:  # settled into the future, as a thread pool does
            value, error = None, exc
        if flag.is_set():
            execution_id = getattr(error, "execution_id", None)
            if execution_id:
                self.handle.stop_execution(execution_id, wait=self.timeout)
            return
        try:
            if not future.set_running_or_notify_cancel():
                return
        except RuntimeError:  # cancelled, and its waiters already told (by _ended)
            return
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)

    def _ended(self, future: Future[Any]) -> None:
        """A future is done: forget it; when it was cancelled, tell its waiters and stop its call."""
        with self._lock:
            flag, task = self._calls.pop(future, (None, None))
        if not future.cancelled():
            return
        with contextlib.suppress(RuntimeError):  # its call's thread may have told them already
            future.set_running_or_notify_cancel()
        if flag is not None and task is not None:
            task.cancel()  # still queued here: never sent
            flag.set()  # sent: its thread force-quits the execution

    def _cancel_pending(self) -> None:
        """Cancel every call still pending: the queued ones are never sent, the sent ones force-quit."""
        with self._lock:
            pending = list(self._calls)
        for future in pending:
            future.cancel()

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any], timeout: float | None = None,
            chunksize: int = 1) -> Iterator[Any]:
        """``fn`` over the iterables, results in input order (:meth:`Executor.map`): the function is pickled
        once; ``timeout`` counts from this call, and :class:`TimeoutError` is raised by the iterator when a
        result is not there in time. When the iterator ends early the calls still pending are cancelled (the
        sent ones force-quit). ``chunksize`` is accepted and ignored (each item is one execution)."""
        return super().map(_Mapped(fn), *iterables, timeout=timeout, chunksize=chunksize)  # type: ignore[arg-type]

    def force_quit(self, future: Future[Any]) -> bool:
        """Stop one call of this executor: ``future.cancel()`` (a queued call is never sent, a sent one is
        force-quit). False when the call had already finished or is not one of this executor's."""
        with self._lock:
            mine = future in self._calls
        return mine and future.cancel()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting calls. ``cancel_futures``: cancel every call still pending (the sent ones are
        force-quit). ``wait``: return when every call has ended. The actor stays (executors share it)."""
        self._pool.shutdown(wait=False)
        if cancel_futures:
            self._cancel_pending()
        self._pool.shutdown(wait=wait)


def make_executor(client: AbacoCalls, max_workers: int = 8, actor: str | None = None, timeout: float | None = None,
                  **options: Any) -> AbacoExecutor:
    """The body of :meth:`Actors.executor <swan_jupyter.actors.Actors.executor>` (documented there)."""
    workers = parse_int(max_workers, "max_workers", minimum=1, maximum=MAX_WORKERS)
    limit = parse_float(DEFAULT_TIMEOUT if timeout is None else timeout, "timeout", maximum=MAX_CALL_TIMEOUT)
    handle = make_function(client, _stand_in(), actor, timeout=limit, **options)
    return AbacoExecutor(handle, max_workers=workers, timeout=limit)


__all__ = ["DEFAULT_TIMEOUT", "AbacoExecutor", "AbacoFuture", "executor_actor_name", "make_executor"]
