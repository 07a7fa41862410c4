"""A joblib backend, ``"abaco"``: each batch of a ``joblib.Parallel`` runs as one Abaco execution.

Importing this module registers the backend (joblib's :func:`joblib.register_parallel_backend`)::

    import joblib
    import swan_jupyter.joblib                                  # registers "abaco"
    swan_jupyter.joblib.register(client, workers=8)             # optional: the client and executor options

    with joblib.parallel_config(backend="abaco", n_jobs=8):
        squares = joblib.Parallel()(joblib.delayed(pow)(x, 2) for x in range(1000))
        search = GridSearchCV(SVC(), grid, n_jobs=8).fit(X, y)  # scikit-learn's fits run on Abaco

The calls go through an :class:`~swan_jupyter.actors.executor.AbacoExecutor` (one execution per batch, on
your own ``swan-fn-executor-py<version>`` actor by default; see :mod:`swan_jupyter.actors.executor` for the
trust boundary, timeouts and force-quit). Which client: ``parallel_config(backend="abaco", client=...)``, else
the one given to :func:`register`, else the default session's (the client the magics use). Other
``parallel_config`` keywords (``actor``, ``timeout``, ``workers``, ``image``, ``python_version``,
``max_message_bytes``) go to :meth:`Actors.executor <swan_jupyter.actors.Actors.executor>`.

**Batching** is joblib's auto-batching (:class:`joblib._parallel_backends.AutoBatchingMixin`), tuned for
executions that cost a round trip each: batches grow until one lasts at least ``MIN_IDEAL_BATCH_DURATION``
seconds, and beyond that while doubling a batch costs little more time (see
:meth:`AbacoBackend.compute_batch_size`). ``batch_size=N`` (a backend keyword) fixes it instead.

**Errors** re-raise as :class:`~swan_jupyter.errors.RemoteFunctionError` with the remote traceback; when a task
fails, joblib calls :meth:`AbacoBackend.abort_everything`, which cancels the queued batches and force-quits the
running executions. **A batch over the message size limit** (a large training set in the arguments) is refused
before sending with its size, the limit and the way out.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

try:
    from joblib import register_parallel_backend
    from joblib._parallel_backends import AutoBatchingMixin, ParallelBackendBase, SequentialBackend
except ImportError as exc:  # joblib is not a dependency of swan_jupyter itself
    raise ImportError(f"swan_jupyter.joblib needs joblib ({exc}): pip install joblib") from exc

from .errors import ValidationError
from .numbers import MAX_WORKERS, parse_int

if TYPE_CHECKING:
    from .actors import Actors
    from .actors.executor import AbacoExecutor

#: The name the backend is registered under.
BACKEND_NAME = "abaco"
#: In-flight batches when ``n_jobs`` is not given.
DEFAULT_N_JOBS = 8
#: The largest batch auto-batching makes.
MAX_BATCH_SIZE = 100_000

_defaults: dict[str, Any] = {}
_defaults_lock = threading.Lock()

_OVERSIZE_HINT = ("Put the data where the actor can read it (object storage, a shared file system, a URL) and "
                  "pass a reference the task opens there; or raise the limit with parallel_config(backend="
                  "'abaco', max_message_bytes=...) up to the server's own limit.")


def register(client: Actors | None = None, **executor_options: Any) -> None:
    """(Re-)register the ``"abaco"`` backend, with the client and executor options it uses by default
    (``parallel_config`` keywords still win)."""
    with _defaults_lock:
        _defaults.clear()
        if client is not None:
            _defaults["client"] = client
        _defaults.update(executor_options)
    register_parallel_backend(BACKEND_NAME, AbacoBackend)


def _default_client() -> Actors:
    """The client given to :func:`register`, else the default session's (the one the magics use)."""
    with _defaults_lock:
        given: Actors | None = _defaults.get("client")
    if given is not None:
        return given
    from .session import default_session

    return default_session().actors()


class AbacoBackend(AutoBatchingMixin, ParallelBackendBase):
    """joblib's ``"abaco"`` backend (see the module docstring). joblib makes it; parameters come from
    ``parallel_config(backend="abaco", ...)``."""

    supports_retrieve_callback = True
    supports_timeout = True
    uses_threads = False
    supports_sharedmem = False
    default_n_jobs = DEFAULT_N_JOBS
    #: A batch should last at least this long (seconds): a round trip to Abaco is not negligible.
    MIN_IDEAL_BATCH_DURATION = 1.0
    #: ... and not much longer than this (stragglers).
    MAX_IDEAL_BATCH_DURATION = 10.0
    _effective_batch_size: int  # joblib's AutoBatchingMixin keeps the current batch size here
    #: Between the two, a batch grows this many times over ...
    GROWTH = 4
    #: ... while the last growth cut the time per task to at most this share (the round trip was the cost).
    GROWTH_PAYOFF = 0.6

    def __init__(self, client: Actors | None = None, batch_size: int | None = None, nesting_level: int | None = None,
                 inner_max_num_threads: int | None = None, **executor_options: Any) -> None:
        super().__init__(nesting_level=nesting_level, inner_max_num_threads=inner_max_num_threads)
        self._client = client
        self._fixed_batch = None if batch_size is None else parse_int(batch_size, "batch_size", minimum=1,
                                                                        maximum=1_000_000)
        self._options = executor_options
        self._executor: AbacoExecutor | None = None
        self._n_jobs = DEFAULT_N_JOBS
        self.parallel: Any = None
        self._by_size: dict[int, tuple[int, float]] = {}  # batch size -> (batches seen, smoothed duration)

    # -- joblib's interface ------------------------------------------------------------------------------------

    def effective_n_jobs(self, n_jobs: int | None) -> int:
        """Batches in flight at once: ``n_jobs`` as given; None the default (8); a negative value counts back
        from the actor's workers as joblib counts back from the CPUs (``-1``: as many as it has)."""
        if n_jobs is None:
            return DEFAULT_N_JOBS
        n = parse_int(n_jobs, "n_jobs", minimum=-MAX_WORKERS, maximum=MAX_WORKERS)
        if n == 0:
            raise ValidationError("n_jobs=0 has no meaning.", hint="Pass a positive n_jobs, or -1 for every worker.")
        if n < 0:
            workers = self._executor.handle.workers if self._executor is not None else DEFAULT_N_JOBS
            return max(1, workers + 1 + n)
        return n

    def configure(self, n_jobs: int | None = 1, parallel: Any = None, prefer: str | None = None,
                  require: str | None = None, **backend_kwargs: Any) -> int:
        """Start (or keep) the executor for one ``Parallel`` call; the number of batches run at once."""
        if require == "sharedmem":
            raise ValidationError("The abaco backend cannot share memory with the kernel (require='sharedmem').",
                                  hint="Use a thread backend for this Parallel call.")
        self.parallel = parallel
        n = self.effective_n_jobs(n_jobs)
        if self._executor is None or self._n_jobs != n:
            self._shutdown(cancel=False)
            options = {k: v for k, v in _defaults.items() if k != "client"} | self._options
            client = self._client or _default_client()
            self._executor = client.executor(max_workers=n, **options)
            self._n_jobs = n
        return n

    def submit(self, func: Any, callback: Any = None) -> Future[Any]:
        """Send one batch (a joblib ``BatchedCalls``) as one execution; ``callback`` runs when it ends."""
        executor = self._executor
        if executor is None:
            raise RuntimeError("The abaco backend was not configured (joblib calls configure first).")
        try:
            future = executor.submit(func)
        except ValidationError as exc:
            if "message size limit" not in exc.message:
                raise
            raise ValidationError(f"A joblib batch of {len(func)} task(s) was not sent: {exc.message}",
                                  hint=_OVERSIZE_HINT) from None
        if callback is not None:
            future.add_done_callback(callback)
        return future

    def apply_async(self, func: Any, callback: Any = None) -> Future[Any]:
        """The name older joblib versions call :meth:`submit` by."""
        return self.submit(func, callback)

    def retrieve_result_callback(self, out: Future[Any]) -> Any:
        """The batch's results, or its remote error (with the remote traceback) raised."""
        return out.result()

    def compute_batch_size(self) -> int:
        """``batch_size`` when given, else joblib's auto-batching with one more rule for round trips.

        joblib grows a batch lasting under ``MIN_IDEAL_BATCH_DURATION`` and shrinks one over
        ``MAX_IDEAL_BATCH_DURATION``. An execution's round trip can itself last about the minimum, so batches of
        tiny tasks would stay tiny: in between, the batch grows ``GROWTH`` times over as long as the last growth
        cut the time per task to at most ``GROWTH_PAYOFF`` of what it was (the round trip, not the tasks, was
        the cost), and never back to a size it left. Decided on the smoothed duration of at least two batches
        of each size."""
        if self._fixed_batch is not None:
            return self._fixed_batch
        size = self._effective_batch_size
        count, duration = self._by_size.get(size, (0, 0.0))
        if count < 2:
            return size
        if duration < self.MIN_IDEAL_BATCH_DURATION or duration > self.MAX_IDEAL_BATCH_DURATION:
            new = int(super().compute_batch_size())  # joblib's rule
        else:
            smaller = max((k for k, (n, _d) in self._by_size.items() if k < size and n >= 2), default=0)
            cheap = size == 1 or (smaller > 0 and duration / size
                                  <= self.GROWTH_PAYOFF * self._by_size[smaller][1] / smaller)
            bigger = min(MAX_BATCH_SIZE, self.GROWTH * size)
            new = bigger if cheap and bigger not in self._by_size else size
        self._effective_batch_size = new
        return new

    def batch_completed(self, batch_size: int, duration: float) -> None:
        """Record a batch's duration (dispatch to result) under its size, as joblib does for the current one."""
        super().batch_completed(batch_size, duration)
        count, smoothed = self._by_size.get(batch_size, (0, 0.0))
        self._by_size[batch_size] = (count + 1, duration if count == 0 else 0.8 * smoothed + 0.2 * duration)

    def reset_batch_stats(self) -> None:
        """Forget the batch durations (a new ``Parallel`` call starts at one task per batch)."""
        super().reset_batch_stats()
        self._by_size.clear()

    def abort_everything(self, ensure_ready: bool = True) -> None:
        """Cancel the queued batches and force-quit the running executions; a fresh executor when
        ``ensure_ready`` (joblib may send more)."""
        self._shutdown(cancel=True)
        if ensure_ready and self.parallel is not None:
            self.configure(n_jobs=self.parallel.n_jobs, parallel=self.parallel)

    def terminate(self) -> None:
        """The end of a ``Parallel`` call: stop the executor's threads (the actor stays)."""
        self._shutdown(cancel=False)
        self.reset_batch_stats()

    def get_nested_backend(self) -> tuple[Any, None]:
        """Inside an execution, a nested ``Parallel`` runs sequentially (the actor's workers are the
        parallelism; a batch must not fan out again from inside one)."""
        return SequentialBackend(nesting_level=(self.nesting_level or 0) + 1), None

    def _shutdown(self, cancel: bool) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=cancel, cancel_futures=cancel)


register()

__all__ = ["BACKEND_NAME", "DEFAULT_N_JOBS", "AbacoBackend", "register"]
