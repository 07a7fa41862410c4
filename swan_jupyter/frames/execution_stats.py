"""The figures of an execution frame: failure and success masks, the summary of a whole frame and per actor,
throughput per time bin (pandas only). :class:`~swan_jupyter.widgets.explorer.ExecutionExplorer` shows them;
they are also importable from :mod:`swan_jupyter.widgets.explorer`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

TIME_COLUMN = "message_received_time"
#: Candidate bins for the throughput plot, smallest first; the first giving at most 120 bins is used.
BINS = ("1s", "2s", "5s", "10s", "15s", "30s", "1min", "2min", "5min", "10min", "15min", "30min", "1h", "2h",
        "3h", "6h", "12h", "1D", "2D", "7D", "30D")


#: Call outcomes (``call_outcome`` of a function's frame) that are failures whatever the execution's status.
FAILED_CALLS = ("raised", "no result", "timeout")


def _failed_call(frame: pd.DataFrame) -> pd.Series:
    import pandas as pd

    if "call_outcome" not in frame:
        return pd.Series(False, index=frame.index)
    return frame["call_outcome"].astype("string").isin(FAILED_CALLS).fillna(False).astype(bool)


def pending_of(frame: pd.DataFrame) -> pd.Series:
    """Boolean mask: the execution has not ended (SUBMITTED, RUNNING, or no status) and no call failed."""
    status = frame["status"].astype("string")
    return (~status.isin(["COMPLETE", "ERROR"]).fillna(False).astype(bool)) & ~_failed_call(frame)


def failures_of(frame: pd.DataFrame) -> pd.Series:
    """Boolean mask: the execution failed (status ERROR, or a non-zero exit code), or the call it ran did (a
    function that raised: ``call_outcome`` ``raised``, although the execution ended COMPLETE with exit 0)."""
    status = frame["status"].astype("string")
    exit_code = frame["exit_code"].astype("Float64")
    failed = ((status == "ERROR") | (exit_code.notna() & (exit_code != 0))).fillna(False).astype(bool)
    return failed | _failed_call(frame)


def _succeeded(frame: pd.DataFrame) -> pd.Series:
    status = frame["status"].astype("string")
    exit_code = frame["exit_code"].astype("Float64")
    ok = ((status == "COMPLETE") & (exit_code.isna() | (exit_code == 0))).fillna(False).astype(bool)
    return ok & ~_failed_call(frame)


def as_seconds(series: pd.Series) -> pd.Series:
    """A timedelta column as float seconds."""
    return series.dt.total_seconds().astype("float64")


def summarise(frame: pd.DataFrame) -> dict[str, Any]:
    """Figures of a whole execution frame: count, success rate, p50/p95/p99 of duration and queue wait (s),
    CPU (ns) and I/O (bytes) in total and per execution."""
    out: dict[str, Any] = {"count": len(frame)}
    pending = pending_of(frame)
    finished = int((~pending).sum())
    out["pending"] = len(frame) - finished  # not run yet, or running: neither a success nor a failure yet
    out["success_rate"] = round(float(_succeeded(frame).sum()) / finished, 4) if finished else None
    for column in ("duration", "queue_wait"):
        values = as_seconds(frame[column]).dropna()
        for q in (50, 95, 99):  # milliseconds are what the records hold
            out[f"{column}_p{q}_s"] = round(float(values.quantile(q / 100)), 3) if len(values) else None
    for column in ("cpu_ns", "io_bytes"):
        values = frame[column].astype("Float64").dropna()
        out[f"{column}_total"] = int(values.sum()) if len(values) else None
        out[f"{column}_mean"] = round(float(values.mean())) if len(values) else None  # whole ns, whole bytes
    return out


def summary_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per actor (name, or id when unnamed): the figures of :func:`summarise`, busiest actor first."""
    import pandas as pd

    if len(frame) == 0:
        return pd.DataFrame(columns=["actor", "count", "success_rate"])
    label = actor_labels(frame)
    rows = []
    for actor, group in frame.groupby(label, sort=False, observed=True):
        figures = summarise(group)
        rows.append({"actor": actor, **{k: v for k, v in figures.items() if not k.endswith("_total")}})
    table = pd.DataFrame(rows).sort_values(["count", "actor"], ascending=[False, True], ignore_index=True)
    return table


def actor_labels(frame: pd.DataFrame) -> pd.Series:
    """Each execution's actor: its name, or its id when unnamed."""
    names = frame["actor_name"].astype("string")
    ids = frame["actor_id"].astype("string")
    return names.where(names.notna() & (names != ""), ids).fillna("?")


def throughput_bin(span: pd.Timedelta) -> str:
    """The smallest bin of :data:`BINS` that cuts ``span`` into at most 120 bins."""
    import pandas as pd

    for rule in BINS:
        if span / pd.Timedelta(rule) <= 120:
            return rule
    return BINS[-1]


def throughput(frame: pd.DataFrame) -> pd.DataFrame:
    """Executions and failures per time bin of the message time (:func:`throughput_bin` of the span), every bin
    from the first to the last present, empty ones at zero. Columns ``executions``, ``failed``; UTC index."""
    import pandas as pd

    times = frame[TIME_COLUMN]
    if not times.notna().any():
        return pd.DataFrame({"executions": pd.Series(dtype="int64"), "failed": pd.Series(dtype="int64")})
    rule = throughput_bin(times.max() - times.min())
    index = pd.date_range(times.min().floor(rule), times.max().floor(rule), freq=rule, name="bin")
    counts = times.dt.floor(rule).value_counts().reindex(index, fill_value=0)
    failed = times[failures_of(frame)].dt.floor(rule).value_counts().reindex(index, fill_value=0)
    out = pd.DataFrame({"executions": counts.to_numpy(), "failed": failed.to_numpy()}, index=index)
    out.attrs["bin"] = rule
    return out
