"""One remote function call on a py3_func actor: its payload (the pickled function, a small runner, the
arguments, checked against the size limit), the Python version rules, and its outcome.

Used by :mod:`swan_jupyter.actors.functions` (the handles, ``call``/``submit``/``map``), which documents how a
call travels.
"""

from __future__ import annotations

import ipaddress
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from ..errors import (
    Interrupted,
    RemoteFunctionError,
    RequestTimeoutError,
    SwanJupyterError,
    ValidationError,
)
from ..numbers import NumberError, parse_int, shown

if TYPE_CHECKING:
    import pandas as pd

    from .models import ExecutionInfo

#: The image Abaco's function-call sample is published as.
DEFAULT_IMAGE = "abacosamples/py3_func"
#: Names of the function actors a handle registers: ``swan-fn-<function name>``.
ACTOR_PREFIX = "swan-fn-"
#: Longest argument repr kept in a map row.
ARG_REPR_CHARS = 80
#: Lines of an execution's logs attached to a failed row.
LOG_TAIL_LINES = 20
#: Statuses of a call: ``ok``; ``error`` (the function raised, or the execution ended without a result);
#: ``timeout``; ``refused`` (not sent: pickling or size); ``cancelled`` (interrupted).
CALL_STATUSES = ("ok", "error", "timeout", "refused", "cancelled")
#: Call outcomes a handle remembers (the oldest are forgotten first).
MAX_REMEMBERED = 100_000

_RUNNER_SOURCE = '''
def swan_jupyter_runner(blob, args, kwargs):
    """Load the function from its cloudpickle bytes, call it, and return the outcome as a plain dict."""
    import sys
    import traceback

    import cloudpickle

    version = tuple(sys.version_info[:3])

    def failure(exc, skip):
        tb = exc.__traceback__
        for _ in range(skip):
            tb = tb.tb_next if tb is not None and tb.tb_next is not None else tb
        text = "".join(traceback.format_exception(type(exc), exc, tb))
        return {"swan_jupyter": 1, "ok": False, "python": version,
                "error": {"type": type(exc).__name__, "message": str(exc), "traceback": text}}

    try:
        fn = cloudpickle.loads(blob)
    except BaseException as exc:
        return failure(exc, 0)
    try:
        value = fn(*args, **kwargs)
    except BaseException as exc:
        return failure(exc, 1)
    return {"swan_jupyter": 1, "ok": True, "python": version, "value": value}
'''

_runner_cache: list[Callable[..., Any]] = []


def _runner() -> Callable[..., Any]:
    """The runner function, defined in a module that is not importable, so cloudpickle sends it by value."""
    if not _runner_cache:
        namespace: dict[str, Any] = {"__name__": "swan_jupyter_remote_runner"}
        exec(compile(_RUNNER_SOURCE, "<swan_jupyter runner>", "exec"), namespace)
        _runner_cache.append(namespace["swan_jupyter_runner"])
    return _runner_cache[0]


def kernel_python() -> str:
    """This kernel's ``major.minor`` Python version."""
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def minor_version(version: str | Sequence[int]) -> str:
    """``"3.11"`` of ``"3.11.4"`` or ``(3, 11, 4)``; :class:`ValidationError` for text that is not a version."""
    parts = version.strip().split(".") if isinstance(version, str) else list(version)
    try:
        if len(parts) < 2:
            raise NumberError("version", version, "is not a version", "")
        major, minor = (parse_int(p, "version", maximum=999) for p in parts[:2])
    except NumberError:
        raise ValidationError(f"Cannot read {shown(version)} as a Python version.", hint='Pass e.g. "3.11".') from None
    return f"{major}.{minor}"


def _is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def image_python(image: str, python_version: str | None, base_url: str, allow_version_mismatch: bool) -> str | None:
    """The Python version a handle assumes for ``image``: ``python_version`` as given, the kernel's on a loopback
    server (the sandbox), else None with a warning. A version other than the kernel's is refused, unless
    ``allow_version_mismatch`` (then it is warned about). Warnings point at the caller of ``Actors.function``."""
    kernel = kernel_python()
    if python_version is None and _is_loopback(base_url):
        return kernel  # the sandbox runs py3_func with its own interpreter; results confirm it
    if python_version is None:
        warnings.warn(f"The Python version of image {image} is not known (pass python_version=...): this kernel "
                      f"runs {kernel}, and cloudpickle payloads do not load across minor versions.",
                      RuntimeWarning, stacklevel=4)
    elif minor_version(python_version) != kernel and not allow_version_mismatch:
        raise ValidationError(
            f"Image {image} runs Python {python_version} and this kernel {kernel}: cloudpickle does not travel "
            f"across minor versions, so calls would fail remotely.",
            hint=f"Use an image with Python {kernel} (or a kernel with {python_version}); "
                 f"allow_version_mismatch=True sends anyway.")
    elif minor_version(python_version) != kernel:
        warnings.warn(f"Image {image} runs Python {python_version}, this kernel {kernel}: calls may fail "
                      f"remotely (cloudpickle does not travel across minor versions).", RuntimeWarning, stacklevel=4)
    return python_version


def pickle_function(fn: Callable[..., Any]) -> bytes:
    """``cloudpickle.dumps(fn)``, or :class:`ValidationError` carrying the pickling error."""
    import cloudpickle

    if not callable(fn):
        raise ValidationError(f"{fn!r} is not callable.", hint="Pass a function: client.function(my_function).")
    try:
        return bytes(cloudpickle.dumps(fn))
    except Exception as exc:
        raise ValidationError(
            f"The function {getattr(fn, '__qualname__', fn)!r} cannot be pickled: {type(exc).__name__}: {exc}",
            hint="A function sent to Abaco must be picklable with cloudpickle: it cannot close over sockets, "
                 "open files, locks or clients; create those inside the function.",
        ) from exc


def encode_call(fn_blob: bytes, args: Sequence[Any], kwargs: dict[str, Any], limit: int) -> bytes:
    """The py3_func message of one call (the runner, the function's bytes, the arguments), at most ``limit``
    bytes; :class:`ValidationError` for arguments that cannot be pickled or a payload over the limit."""
    import cloudpickle

    try:
        payload = bytes(cloudpickle.dumps({"func": _runner(), "args": [fn_blob, list(args), dict(kwargs)],
                                           "kwargs": {}}))
    except Exception as exc:
        raise ValidationError(
            f"The arguments cannot be pickled: {type(exc).__name__}: {exc}",
            hint="Pass values cloudpickle can serialise (numbers, text, lists, dicts, arrays, dataclasses).",
        ) from exc
    if len(payload) > limit:
        raise ValidationError(
            f"The call's payload is {len(payload):,} bytes, over the message size limit of {limit:,} bytes.",
            hint="Send smaller arguments (put large data in object storage and pass its location), or raise the "
                 "limit with client.function(..., max_message_bytes=...) up to the server's own limit.",
        )
    return payload


def short_repr(value: Any, limit: int = ARG_REPR_CHARS) -> str:
    """An argument as a map row shows it: its repr, cut to ``limit`` characters."""
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ must not break the map
        text = f"<unrepresentable {type(value).__name__}: {exc}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def log_tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of an execution's logs (attached to a failed call)."""
    return "\n".join(text.rstrip().splitlines()[-lines:])


@dataclass
class CallOutcome:
    """What became of one call: its status, value or error, and its execution record (one row of a map)."""

    index: int
    arg: str
    status: str = "cancelled"
    value: Any = None
    actor_id: str | None = None
    execution_id: str | None = None
    info: ExecutionInfo | None = None
    error: str | None = None
    remote_type: str = ""
    remote_message: str = ""
    traceback: str | None = None
    log_tail: str | None = None
    #: Set when the execution may still run or wait (it could not be stopped): its status then.
    left: str | None = None

    @property
    def call_outcome(self) -> str:
        """``ok``, ``raised`` (the function raised), ``no result`` (the execution ended without one), or the
        status (``timeout``, ``refused``, ``cancelled``)."""
        if self.status == "error":
            return "raised" if self.remote_type else "no result"
        return self.status

    @property
    def duration(self) -> timedelta | None:
        """finish - start, from the execution record."""
        info = self.info
        if info is None or info.finish_time is None or info.start_time is None:
            return None
        return info.finish_time - info.start_time

    @property
    def queue_wait(self) -> timedelta | None:
        """start - message received, from the execution record."""
        info = self.info
        if info is None or info.start_time is None or info.message_received_time is None:
            return None
        return info.start_time - info.message_received_time

    def to_error(self, image: str | None = None) -> SwanJupyterError:
        """The exception a single call raises for this outcome (``image``: the function actor's, for hints)."""
        where = f"execution {self.execution_id} of actor {self.actor_id}"
        if self.status == "timeout":
            stopped = "it was stopped" if self.left is None else \
                f"it could not be stopped and may still run (status {self.left})"
            return RequestTimeoutError(f"The call did not finish in time ({where}); {self.error}; {stopped}.",
                                       hint="Give more time (timeout=...), or look at the execution's logs.")
        hint = None
        if self.remote_type in ("ModuleNotFoundError", "ImportError"):
            hint = (f"The function runs in the Python environment of the image {image or 'of its actor'}, which "
                    f"lacks what it imports ({self.remote_message}). Import only what that image has, or run "
                    "it on an image that has the package (image=...).")
        return RemoteFunctionError(
            f"{self.error} ({where})" if self.execution_id else str(self.error),
            execution_id=self.execution_id, actor_id=self.actor_id, remote_type=self.remote_type,
            remote_message=self.remote_message, remote_traceback=self.traceback or "", log_tail=self.log_tail or "",
            hint=hint,
        )


def map_summary(outcomes: Sequence[CallOutcome], seconds: float | None = None) -> str:
    """The summary line of a map: counts by status (most first) and the inputs that failed (the first ten)."""
    counts = Counter(o.status for o in outcomes)
    parts = [f"{n} {status}" for status, n in sorted(counts.items(), key=lambda kv: (-kv[1], _rank(kv[0])))]
    failed = sorted(o.index for o in outcomes if o.status != "ok")
    line = f"map of {len(outcomes)} call(s): " + (", ".join(parts) or "nothing to do")
    if seconds is not None:
        line += f" in {seconds:.1f} s"
    if failed:
        shown_inputs = ", ".join(str(i) for i in failed[:10]) + (", …" if len(failed) > 10 else "")
        line += f"; failed inputs: {shown_inputs} (see the error column)"
    return line


def _rank(status: str) -> int:
    return CALL_STATUSES.index(status) if status in CALL_STATUSES else len(CALL_STATUSES)


class MapInterrupted(Interrupted):
    """A map interrupted by the user (Ctrl-C / the kernel's interrupt): a ``KeyboardInterrupt`` carrying what
    was done. ``frame`` holds every row (unfinished ones ``cancelled``); ``left`` lists the executions that
    could not be stopped, ``(execution_id, status)``: empty when no work was left behind."""

    def __init__(self, frame: pd.DataFrame, left: list[tuple[str, str]]) -> None:
        self.frame = frame
        self.left = left
        what = (f"{len(left)} execution(s) could not be stopped: " + ", ".join(f"{e} ({s})" for e, s in left)
                if left else "no execution was left running or queued")
        super().__init__(f"map interrupted after {int((frame['status'] != 'cancelled').sum())} of {len(frame)} "
                         f"calls: {what}", frame)
