"""The DataFrame of :meth:`FunctionHandle.map <swan_jupyter.actors.functions.FunctionHandle.map>`, and its join
with the execution metrics.

One row per input; the index ``input`` is the item's position in the iterable. Columns and dtypes:

================ =================== ======================================================================
column           dtype               meaning
================ =================== ======================================================================
``arg``          ``string``          repr of the argument, truncated to 80 characters
``result``       ``object``          the function's value (None unless ``status == "ok"``)
``status``       ``category``        ``ok``, ``error``, ``timeout``, ``refused`` (not sent), ``cancelled``
``execution_     ``string``          how the execution ended (``COMPLETE`` even when the function raised:
status``                             ``status`` is the call's outcome, this is the execution's)
``actor_id``     ``string``          the function actor
``execution_id`` ``string``          the execution (missing when nothing was sent)
``duration``     ``timedelta64[ns]`` finish - start, from the execution's own record
``queue_wait``   ``timedelta64[ns]`` start - message received, from the execution's own record
``error``        ``string``          ``Type: message`` of a remote exception, or what went wrong
``traceback``    ``string``          the remote traceback
``log_tail``     ``string``          the last lines of the logs of an execution that ended without a result
================ =================== ======================================================================

``duration``, ``queue_wait``, ``actor_id`` and ``execution_id`` have the names and dtypes of the one execution
schema, so :func:`join_metrics` can add the execution metrics (cpu, io, worker, times) on ``execution_id``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..actors._function_calls import CALL_STATUSES, CallOutcome, map_summary
from ..errors import SwanDeprecationWarning, ValidationError

if TYPE_CHECKING:
    import pandas as pd

    from ..actors.client import Actors
    from ..actors.functions import FunctionHandle

#: Columns of the map frame, in order (the index is ``input``).
MAP_COLUMNS = ("arg", "result", "status", "execution_status", "actor_id", "execution_id", "duration", "queue_wait",
               "error", "traceback", "log_tail")


def map_frame(outcomes: Iterable[CallOutcome], *, ordered: bool = True) -> pd.DataFrame:
    """One row per call outcome (columns :data:`MAP_COLUMNS`, index ``input``); ``ordered`` sorts by input."""
    import pandas as pd

    rows = list(outcomes)
    if ordered:
        rows.sort(key=lambda o: o.index)

    def text(values: list[Any]) -> pd.Series:
        return pd.Series(values, dtype="string")

    def span(values: list[Any]) -> pd.Series:
        return pd.Series(pd.to_timedelta(pd.Series(values, dtype="object")), dtype="timedelta64[ns]")

    data = {
        "arg": text([o.arg for o in rows]),
        "result": pd.Series([o.value for o in rows], dtype="object"),
        "status": pd.Series(pd.Categorical([o.status for o in rows], categories=list(CALL_STATUSES))),
        # how the execution ended (COMPLETE even when the function raised: ``status`` is the call's outcome)
        "execution_status": text([o.info.status if o.info is not None else None for o in rows]),
        "actor_id": text([o.actor_id for o in rows]),
        "execution_id": text([o.execution_id for o in rows]),
        "duration": span([o.duration for o in rows]),
        "queue_wait": span([o.queue_wait for o in rows]),
        "error": text([o.error for o in rows]),
        "traceback": text([o.traceback for o in rows]),
        "log_tail": text([o.log_tail for o in rows]),
    }
    frame = pd.DataFrame(data, columns=list(MAP_COLUMNS))
    frame.index = pd.Index([o.index for o in rows], dtype="int64", name="input")
    return frame


def summarise(frame: pd.DataFrame, seconds: float | None = None) -> str:
    """Deprecated: a map frame's summary line is ``frame.attrs["summary"]``
    (:func:`swan_jupyter.actors.functions.map_summary` of the call outcomes)."""
    warnings.warn("swan_jupyter.frames.functions.summarise is deprecated and will be removed in the next release: "
                  "read frame.attrs['summary'], or write swan_jupyter.actors.functions.map_summary(outcomes).",
                  SwanDeprecationWarning, stacklevel=2)
    statuses = frame["status"].astype("string").fillna("cancelled")
    return map_summary([CallOutcome(int(i), "", str(s)) for i, s in zip(frame.index, statuses, strict=True)], seconds)


def function_metrics(handle: FunctionHandle, **options: Any) -> pd.DataFrame:
    """The execution metrics of a function handle's actor (:func:`swan_jupyter.frames.actors.execution_metrics`
    on that actor, ``options`` passed on), plus ``call_outcome``: what each call of this handle came to (``ok``,
    ``raised``, ``no result``, ``timeout``, ``cancelled``; <NA> for executions not run from this handle).
    ``status``/``exit_code`` say how the execution ended; a call that raised ends COMPLETE with exit code 0 and
    is a failure all the same."""
    from .actors import execution_metrics

    options.setdefault("progress_after", -1)
    frame = execution_metrics(handle.client, [handle.actor_id], **options)
    known = handle.known_outcomes()
    frame["call_outcome"] = frame["execution_id"].astype("string").map(known).astype("string")
    return frame


def join_metrics(frame: pd.DataFrame, metrics: pd.DataFrame | None = None, *, client: Actors | None = None,
                 how: str = "left") -> pd.DataFrame:
    """The map frame with the execution metrics of its executions, joined on ``execution_id``.

    :param frame: a frame from :meth:`FunctionHandle.map <swan_jupyter.actors.functions.FunctionHandle.map>`.
    :param metrics: an execution-metrics frame; by default it is fetched with the public
        :func:`swan_jupyter.frames.actors.execution_metrics` for the actors in ``frame`` (``client`` needed).
    :param how: the pandas join (``"left"`` keeps every input, also those never sent).

    The map frame's own columns win: a metrics column of the same name (``status``, ``duration``,
    ``queue_wait``, ``actor_id``) is not added again. The metrics frame's execution id column may be called
    ``execution_id`` or ``id``. The result keeps the map's ``input`` index. Example::

        df = square.map(range(100))
        full = join_metrics(df, client=client)
        full.groupby("worker_id")["duration"].mean()
    """
    import pandas as pd

    if metrics is None:
        if client is None:
            raise ValidationError("join_metrics needs the metrics frame or a client to fetch it.",
                                  hint="Pass client=... (the Actors client the handle uses).")
        from .actors import execution_metrics

        actor_ids = sorted({str(a) for a in frame["actor_id"].dropna()})
        metrics = execution_metrics(client, actor_ids, progress_after=-1) if actor_ids else pd.DataFrame()
    key = "execution_id" if "execution_id" in metrics.columns else "id" if "id" in metrics.columns else None
    if key is None:
        raise ValidationError("The metrics frame has no execution id column (execution_id or id).")
    extra = metrics.rename(columns={key: "execution_id"}) if key != "execution_id" else metrics
    keep = ["execution_id", *[c for c in extra.columns if c not in frame.columns]]
    extra = extra[keep].drop_duplicates("execution_id")
    extra = extra.assign(execution_id=extra["execution_id"].astype("string"))
    joined = frame.reset_index().merge(extra, on="execution_id", how=how)  # type: ignore[arg-type]
    return joined.set_index("input")


__all__ = ["MAP_COLUMNS", "function_metrics", "join_metrics", "map_frame", "summarise"]
