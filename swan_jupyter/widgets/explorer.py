"""``ExecutionExplorer``: filter, summarise and plot the execution-metrics DataFrame.

::

    from swan_jupyter.widgets import ExecutionExplorer
    explorer = ExecutionExplorer(actors=session.actors())   # fetches the metrics frame
    explorer                                                # filters, summary figures, plots
    explorer.filtered                                       # the filtered DataFrame, for further analysis

The frame's columns are those of :func:`swan_jupyter.frames.actors.execution_metrics`: ``actor_id``,
``status``, ``runtime`` (seconds), ``cpu``, ``io``, ``message_received_time`` (UTC) and so on. Filters: actors,
statuses, and a time window on the message-received time. Summary: count, success rate, p50/p95 runtime, total
and mean cpu and io. Plots (matplotlib, rendered to PNG so they work in any front end): runtime distribution per
actor and executions over time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..display import esc
from ._base import error_html, figure_png, run_background

if TYPE_CHECKING:
    import pandas as pd

SUCCESS_STATUSES = frozenset({"COMPLETE", "COMPLETED", "SUCCESS"})
TIME_COLUMN = "message_received_time"


def _seconds(series: pd.Series) -> pd.Series:
    import pandas as pd

    if pd.api.types.is_timedelta64_dtype(series):
        return series.dt.total_seconds()
    return pd.to_numeric(series, errors="coerce").astype("float64")


def summarise(frame: pd.DataFrame) -> dict[str, Any]:
    """Summary figures of an execution-metrics frame (count, success rate, runtime percentiles, cpu, io)."""
    count = len(frame)
    if count == 0:
        return {"count": 0, "success_rate": None, "runtime_p50_s": None, "runtime_p95_s": None,
                "cpu_total": None, "cpu_mean": None, "io_total": None, "io_mean": None}
    statuses = frame["status"].astype("string").str.upper() if "status" in frame else None
    runtime = _seconds(frame["runtime"]) if "runtime" in frame else None
    out: dict[str, Any] = {"count": count}
    out["success_rate"] = float(statuses.isin(SUCCESS_STATUSES).mean()) if statuses is not None else None
    out["runtime_p50_s"] = float(runtime.quantile(0.5)) if runtime is not None and runtime.notna().any() else None
    out["runtime_p95_s"] = float(runtime.quantile(0.95)) if runtime is not None and runtime.notna().any() else None
    for col in ("cpu", "io"):
        if col in frame:
            values = frame[col].astype("Float64")
            out[f"{col}_total"] = int(values.sum()) if values.notna().any() else None
            out[f"{col}_mean"] = float(values.mean()) if values.notna().any() else None
        else:
            out[f"{col}_total"] = out[f"{col}_mean"] = None
    return out


class ExecutionExplorer:
    """Interactive explorer of execution metrics (see the module docstring).

    :param frame: an execution-metrics DataFrame; or
    :param actors: an :class:`~swan_jupyter.actors.Actors` client to fetch it from (``Refresh`` refetches);
    :param fetch: any callable returning the frame (takes precedence over ``actors``).
    """

    def __init__(
        self,
        frame: pd.DataFrame | None = None,
        *,
        actors: Any = None,
        fetch: Callable[[], pd.DataFrame] | None = None,
        background: bool = True,
    ) -> None:
        import ipywidgets as w

        if fetch is None and actors is not None:
            from ..frames.actors import execution_metrics

            def fetch() -> pd.DataFrame:
                return execution_metrics(actors)

        self._fetch = fetch
        self._background = background
        self.frame: pd.DataFrame = frame if frame is not None else _empty()
        self.filtered: pd.DataFrame = self.frame
        self.actor_filter = w.SelectMultiple(description="Actors", rows=6, layout=w.Layout(width="320px"))
        self.status_filter = w.SelectMultiple(description="Status", rows=6, layout=w.Layout(width="260px"))
        self.since = w.DatetimePicker(description="From")
        self.until = w.DatetimePicker(description="Until")
        self.refresh_button = w.Button(description="Refresh", icon="refresh", disabled=fetch is None)
        self.summary_html = w.HTML()
        self.message = w.HTML()
        self.runtime_plot = w.Image(format="png", layout=w.Layout(max_width="560px"))
        self.timeline_plot = w.Image(format="png", layout=w.Layout(max_width="560px"))
        for control in (self.actor_filter, self.status_filter, self.since, self.until):
            control.observe(self._on_filter, names="value")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.widget = w.VBox([
            w.HTML("<b>Execution explorer</b>"),
            w.HBox([self.actor_filter, self.status_filter, w.VBox([self.since, self.until, self.refresh_button])]),
            self.message,
            self.summary_html,
            w.HBox([self.runtime_plot, self.timeline_plot]),
        ])
        if frame is not None:
            self._load(frame)
        elif fetch is not None:
            self.refresh()

    # -- data -------------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Fetch the frame again (in the background unless ``background=False``)."""
        if self._fetch is None:
            return
        self.refresh_button.disabled = True
        self.message.value = "<i>Fetching executions…</i>"

        def done(frame: pd.DataFrame) -> None:
            self._load(frame)
            self.message.value = ""
            self.refresh_button.disabled = False

        def failed(exc: BaseException) -> None:
            self.message.value = error_html(exc)
            self.refresh_button.disabled = False

        run_background(self._fetch, on_done=done, on_error=failed, synchronous=not self._background)

    def _load(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        actors = sorted(str(a) for a in frame["actor_id"].dropna().unique()) if "actor_id" in frame else []
        statuses = sorted(str(s) for s in frame["status"].dropna().unique()) if "status" in frame else []
        self.actor_filter.options = actors
        self.status_filter.options = statuses
        failures = frame.attrs.get("failures") if hasattr(frame, "attrs") else None
        if failures:
            self.message.value = (
                f"<div style='color:#b26a00'>{len(failures)} actor(s) could not be read: "
                f"{esc(', '.join(map(str, list(failures)[:5])))}</div>"
            )
        self.apply()

    def set_filters(
        self,
        *,
        actors: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> pd.DataFrame:
        """Set filters programmatically; returns the filtered frame."""
        if actors is not None:
            self.actor_filter.value = tuple(a for a in actors if a in self.actor_filter.options)
        if statuses is not None:
            self.status_filter.value = tuple(s for s in statuses if s in self.status_filter.options)
        if since is not None:
            self.since.value = since
        if until is not None:
            self.until.value = until
        return self.apply()

    def _on_filter(self, _change: Any) -> None:
        self.apply()

    def apply(self) -> pd.DataFrame:
        """Apply the current filters, update the summary and plots, and return :attr:`filtered`."""
        import pandas as pd

        frame = self.frame
        mask = pd.Series(True, index=frame.index)
        if self.actor_filter.value and "actor_id" in frame:
            mask &= frame["actor_id"].astype("string").isin(self.actor_filter.value).fillna(False)
        if self.status_filter.value and "status" in frame:
            mask &= frame["status"].astype("string").isin(self.status_filter.value).fillna(False)
        if TIME_COLUMN in frame:
            times = frame[TIME_COLUMN]
            if self.since.value is not None:
                mask &= (times >= _utc(self.since.value)).fillna(False)
            if self.until.value is not None:
                mask &= (times <= _utc(self.until.value)).fillna(False)
        self.filtered = frame[mask.astype(bool)]
        self._render()
        return self.filtered

    def summary(self) -> dict[str, Any]:
        """The summary figures of :attr:`filtered`."""
        return summarise(self.filtered)

    # -- rendering --------------------------------------------------------------------------------------------

    def _render(self) -> None:
        s = self.summary()

        def fmt(value: Any, pattern: str) -> str:
            return "-" if value is None else pattern.format(value)

        cells = [
            ("executions", fmt(s["count"], "{:,}")),
            ("success rate", fmt(s["success_rate"], "{:.1%}")),
            ("runtime p50", fmt(s["runtime_p50_s"], "{:.2f} s")),
            ("runtime p95", fmt(s["runtime_p95_s"], "{:.2f} s")),
            ("cpu total / mean", f"{fmt(s['cpu_total'], '{:,}')} / {fmt(s['cpu_mean'], '{:,.0f}')}"),
            ("io total / mean", f"{fmt(s['io_total'], '{:,}')} / {fmt(s['io_mean'], '{:,.0f}')}"),
        ]
        self.summary_html.value = "<table class='swan-summary'><tr>" + "".join(
            f"<td style='padding:0 12px'><div style='color:#777'>{esc(k)}</div><b>{esc(v)}</b></td>"
            for k, v in cells
        ) + "</tr></table>"
        self.runtime_plot.value = self._runtime_figure()
        self.timeline_plot.value = self._timeline_figure()

    def _runtime_figure(self) -> bytes:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(5.5, 3.2))
        ax = fig.subplots()
        frame = self.filtered
        if len(frame) and "runtime" in frame and "actor_id" in frame:
            runtime = _seconds(frame["runtime"])
            groups = [(str(a), runtime[frame["actor_id"] == a].dropna().to_numpy())
                      for a in frame["actor_id"].dropna().unique()]
            groups = sorted([g for g in groups if len(g[1])], key=lambda g: -len(g[1]))[:15]
            if groups:
                ax.boxplot([g[1] for g in groups], showfliers=False)
                ax.set_xticks(range(1, len(groups) + 1), [g[0][:8] for g in groups], rotation=60, fontsize=7)
        ax.set_title("Runtime per actor (s)", fontsize=9)
        ax.set_ylabel("seconds", fontsize=8)
        return figure_png(fig)

    def _timeline_figure(self) -> bytes:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(5.5, 3.2))
        ax = fig.subplots()
        frame = self.filtered
        if len(frame) and TIME_COLUMN in frame and frame[TIME_COLUMN].notna().any():
            times = frame[TIME_COLUMN].dropna()
            span = (times.max() - times.min()).total_seconds()
            rule = "1s" if span <= 120 else "1min" if span <= 7200 else "1h" if span <= 172800 else "1D"
            counts = times.dt.floor(rule).value_counts().sort_index()
            ax.plot(counts.index.tz_convert(None), counts.to_numpy(), marker=".", linewidth=1)
            ax.tick_params(axis="x", labelsize=7, rotation=30)
            ax.set_ylabel(f"executions per {rule}", fontsize=8)
        ax.set_title("Executions over time (UTC)", fontsize=9)
        return figure_png(fig)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        return self.widget._repr_mimebundle_(include=include, exclude=exclude)

    def __repr__(self) -> str:
        s = self.summary()
        return f"ExecutionExplorer({s['count']} of {len(self.frame)} executions shown)"


def _utc(value: dt.datetime) -> Any:
    import pandas as pd

    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _empty() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({"actor_id": pd.Series(dtype="string"), "status": pd.Series(dtype="string")})
