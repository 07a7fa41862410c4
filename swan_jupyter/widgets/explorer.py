"""``ExecutionExplorer``: explore an execution frame: per-actor summary, distributions, throughput, failures.

::

    from swan_jupyter.widgets import ExecutionExplorer
    explorer = ExecutionExplorer(actors=session.actors())   # fetches the execution frame
    explorer                                                # filters, then four tabs
    explorer.filtered                                       # the filtered DataFrame, for further analysis
    explorer.summary_table()                                # the per-actor summary as a DataFrame

The frame is in the execution schema of :mod:`swan_jupyter.frames.actors` (``duration``, ``queue_wait``,
``cpu_ns``, ``io_bytes``, ...). Filters: actor (by name), status, and a time window on the message time. Tabs:

* **Summary**: one line per actor: executions, success rate (COMPLETE with exit code 0), p50/p95/p99 of
  ``duration`` and ``queue_wait``, CPU and I/O per execution;
* **Distributions**: the empirical distribution (ECDF) of ``duration`` and ``queue_wait`` per actor, on a
  log scale when the values spread over more than two decades;
* **Throughput**: executions per time bin (the bin suits the span: 1 s to 1 day), failures in red, empty
  bins at zero;
* **Failures**: ERROR executions and those with a non-zero exit code, with their exit code; pick one and
  *Show logs* fetches its logs.

``Refresh`` fetches only what is new (:func:`~swan_jupyter.frames.actors.refresh_execution_metrics`). Plots
are matplotlib figures rendered to PNG (no GUI backend), so they show in JupyterLab, in a saved notebook and in
any front end; matplotlib comes with ``pip install 'swan-jupyter[explore]'``. Everything fits a 1024 px
window: the filter rows wrap and the plots shrink with the output area.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..display import esc
from ..errors import ConfigurationError
from ..frames.execution_stats import (
    TIME_COLUMN,
    actor_labels,
    as_seconds,
    failures_of,
    summarise,
    summary_table,
    throughput,
    throughput_bin,
)
from ._base import WidgetView, error_html, figure_png, run_background

if TYPE_CHECKING:
    import pandas as pd

    from ..actors.functions import FunctionHandle

#: Plot width, in pixels; plots shrink with the output area (a 1024 px JupyterLab window with its side bar
#: open leaves about 600 px), and the filter rows wrap.
PLOT_WIDTH_PX = 640
INSTALL_HINT = ("pip install 'swan-jupyter[explore]' (or pip install matplotlib) in the kernel's environment, "
                "then restart the kernel.")


def require_plotting() -> None:
    """Raise :class:`~swan_jupyter.errors.ConfigurationError` with an install hint when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ConfigurationError("The execution explorer draws its plots with matplotlib, which is not installed.",
                                 hint=INSTALL_HINT) from None


class ExecutionExplorer(WidgetView):
    """Interactive explorer of an execution frame (see the module docstring).

    :param frame: an execution frame (``%actors metrics df``); or
    :param actors: an :class:`~swan_jupyter.actors.Actors` client to fetch it from (``Refresh`` then fetches
        only what is new, and *Show logs* works);
    :param fetch: any callable returning the frame (takes precedence over ``actors`` for fetching);
    :param logs: ``logs(actor_id, execution_id) -> str`` for *Show logs* (default: the client's ``get_logs``);
    :param background: fetch in a background thread (False: in the caller's, as tests do).

    Raises :class:`~swan_jupyter.errors.ConfigurationError` with an install hint when matplotlib is missing.
    """

    def __init__(
        self,
        frame: pd.DataFrame | None = None,
        *,
        actors: Any = None,
        fetch: Callable[[], pd.DataFrame] | None = None,
        logs: Callable[[str, str], str] | None = None,
        background: bool = True,
    ) -> None:
        require_plotting()
        import ipywidgets as w

        self._client = actors
        self._fetch = fetch
        self._logs = logs if logs is not None else (actors.get_logs if actors is not None else None)
        self._background = background
        self._loaded = threading.Event()  # set once the frame in hand is the one asked for (see wait)
        #: The error of the last fetch, if it failed.
        self.error: BaseException | None = None
        self.frame: pd.DataFrame = frame if frame is not None else _empty()
        self.filtered: pd.DataFrame = self.frame
        #: How many series/points each plot drew at the last render (0: the plot is empty).
        self.plotted: dict[str, int] = {}
        #: The matplotlib figures of the last render (``distributions``, ``throughput``).
        self.figures: dict[str, Any] = {}
        self.actor_filter = w.SelectMultiple(description="Actors", rows=5, layout=w.Layout(width="300px"))
        self.status_filter = w.SelectMultiple(description="Status", rows=5, layout=w.Layout(width="220px"))
        self.since = w.DatetimePicker(description="From", layout=w.Layout(width="auto"))
        self.until = w.DatetimePicker(description="Until", layout=w.Layout(width="auto"))
        self.refresh_button = w.Button(description="Refresh", icon="refresh",
                                       disabled=fetch is None and actors is None, layout=w.Layout(width="110px"))
        self.message = w.HTML()
        self.summary_html = w.HTML()
        plot_layout = {"width": "100%", "max_width": f"{PLOT_WIDTH_PX}px", "height": "auto"}
        self.distribution_plot = w.Image(format="png", layout=w.Layout(**plot_layout))
        self.throughput_plot = w.Image(format="png", layout=w.Layout(**plot_layout))
        self.failure_list = w.Select(rows=8, layout=w.Layout(width="100%", max_width=f"{PLOT_WIDTH_PX}px"))
        self.logs_button = w.Button(description="Show logs", icon="file-text", disabled=True)
        self.logs_html = w.HTML()
        for control in (self.actor_filter, self.status_filter, self.since, self.until):
            control.observe(self._on_filter, names="value")
        self.failure_list.observe(lambda _c: self._update_logs_button(), names="value")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.logs_button.on_click(lambda _b: self.show_logs())
        self.tabs = w.Tab(children=[
            self.summary_html, self.distribution_plot, self.throughput_plot,
            w.VBox([self.failure_list, self.logs_button, self.logs_html]),
        ])
        for index, title in enumerate(("Summary", "Distributions", "Throughput", "Failures")):
            self.tabs.set_title(index, title)
        wrap = w.Layout(flex_flow="row wrap", width="100%", align_items="flex-start")
        self.widget = w.VBox([
            w.HTML("<b>Execution explorer</b>"),
            w.HBox([self.actor_filter, self.status_filter, self.refresh_button], layout=wrap),
            w.HBox([self.since, self.until], layout=wrap),
            self.message,
            self.tabs,
        ], layout=w.Layout(width="100%"))  # the summary table uses the whole width; the plots keep theirs
        if frame is not None:
            self._load(frame)
        elif fetch is not None or actors is not None:
            self.refresh()
        else:
            self._loaded.set()

    @classmethod
    def for_function(cls, handle: FunctionHandle, *, background: bool = False) -> ExecutionExplorer:
        """The explorer on a function handle's actor: its executions
        (:func:`~swan_jupyter.frames.functions.function_metrics`, with each call's ``call_outcome``), fetched
        again by *Refresh*, and *Show logs* through the handle's client. Example::

            explorer = ExecutionExplorer.for_function(square)   # square = client.function(...)
        """
        from ..frames.functions import function_metrics

        return cls(fetch=lambda: function_metrics(handle), logs=handle.client.get_logs, background=background)

    # -- data -------------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Fetch what is new (in the background unless ``background=False``) and show it.

        With a client and a frame in hand, only the executions newer than the newest row are fetched
        (:func:`~swan_jupyter.frames.actors.refresh_execution_metrics`); with ``fetch=``, that callable runs.
        """
        work = self._work()
        if work is None:
            return
        self.refresh_button.disabled = True
        self.message.value = "<i>Fetching executions…</i>"
        self._loaded.clear()

        def done(frame: pd.DataFrame) -> None:
            self.error = None
            self._load(frame)
            self.refresh_button.disabled = False

        def failed(exc: BaseException) -> None:
            self.error = exc
            self.message.value = error_html(exc)
            self.refresh_button.disabled = False
            self._loaded.set()

        run_background(work, on_done=done, on_error=failed, synchronous=not self._background)

    def _work(self) -> Callable[[], pd.DataFrame] | None:
        if self._fetch is not None:
            return self._fetch
        if self._client is None:
            return None
        from ..frames.actors import execution_metrics, refresh_execution_metrics

        client, current = self._client, self.frame
        if len(current) and "execution_id" in current:
            return lambda: refresh_execution_metrics(client, current, progress_after=-1)
        return lambda: execution_metrics(client, progress_after=-1)

    def _load(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        labels = actor_labels(frame) if len(frame) else None
        pairs = {} if labels is None else dict(zip(frame["actor_id"].astype(str), labels, strict=True))
        options = sorted(((f"{name} ({aid[:6]})" if name != aid else aid, aid) for aid, name in pairs.items()),
                         key=lambda o: o[0].lower())
        keep_actors = tuple(a for a in self.actor_filter.value if a in pairs)
        statuses = sorted(str(s) for s in frame["status"].dropna().unique()) if len(frame) else []
        keep_statuses = tuple(s for s in self.status_filter.value if s in statuses)
        self._quiet = True  # code sets the filters: their observers do not redraw
        try:
            self.actor_filter.options = options
            self.actor_filter.value = keep_actors
            self.status_filter.options = statuses
            self.status_filter.value = keep_statuses
        finally:
            self._quiet = False
        failures = frame.attrs.get("failures") if hasattr(frame, "attrs") else None
        fallback = frame.attrs.get("fallback") if hasattr(frame, "attrs") else None
        notes = [] if not failures else [
            f"{len(failures)} actor(s)/execution(s) could not be read: {', '.join(map(str, list(failures)[:5]))}"]
        if fallback:  # search could not see these actors' executions: they were fetched one by one
            notes += [f"{reason}: {', '.join(sorted(a for a, r in fallback.items() if r == reason)[:5])} "
                      "(rows fetched one by one)" for reason in dict.fromkeys(fallback.values())]
        self.message.value = "".join(f"<div style='color:#b26a00'>{esc(n)}</div>" for n in notes)
        self.apply()
        self._loaded.set()

    def wait(self, timeout: float = 120.0) -> ExecutionExplorer:
        """Block until the executions asked for are loaded (the fetch runs in the background); raises the
        fetch's error, or TimeoutError saying it is still loading. Returns the explorer."""
        if not self._loaded.wait(timeout):
            raise TimeoutError(f"The explorer is still loading its executions after {timeout:g} s; "
                               "call explorer.wait() again, or look at the widget when it shows them.")
        if self.error is not None:
            raise self.error
        return self

    @property
    def loading(self) -> bool:
        """True while a fetch runs in the background."""
        return not self._loaded.is_set()

    def set_filters(
        self,
        *,
        actors: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> pd.DataFrame:
        """Set filters programmatically (``actors`` by id or name); returns the filtered frame (one redraw)."""
        self._quiet = True  # one redraw at the end, not one per filter set
        try:
            if actors is not None:
                by_label = {label: value for label, value in self.actor_filter.options}
                values = {value for _label, value in self.actor_filter.options}
                chosen = [a if a in values else by_label.get(a) for a in actors]
                names = dict(zip(self.frame["actor_id"].astype(str), actor_labels(self.frame), strict=True)) \
                    if len(self.frame) else {}
                chosen += [aid for aid, name in names.items() if name in actors]
                self.actor_filter.value = tuple(dict.fromkeys(c for c in chosen if c in values))
            if statuses is not None:
                self.status_filter.value = tuple(s for s in statuses if s in self.status_filter.options)
            if since is not None:
                self.since.value = since
            if until is not None:
                self.until.value = until
        finally:
            self._quiet = False
        return self.apply()

    def _on_filter(self, _change: Any) -> None:
        if not getattr(self, "_quiet", False):
            self.apply()

    def apply(self) -> pd.DataFrame:
        """Apply the current filters, redraw the tabs, and return :attr:`filtered`."""
        import pandas as pd

        frame = self.frame
        mask = pd.Series(True, index=frame.index)
        if self.actor_filter.value:
            mask &= frame["actor_id"].astype("string").isin(self.actor_filter.value).fillna(False)
        if self.status_filter.value:
            mask &= frame["status"].astype("string").isin(self.status_filter.value).fillna(False)
        times = frame[TIME_COLUMN]
        if self.since.value is not None:
            mask &= (times >= _utc(self.since.value)).fillna(False)
        if self.until.value is not None:
            mask &= (times <= _utc(self.until.value)).fillna(False)
        self.filtered = frame[mask.astype(bool)]
        self._render()
        return self.filtered

    def summary(self) -> dict[str, Any]:
        """The figures of :attr:`filtered` as a whole (see :func:`summarise`), once loaded (:meth:`wait`)."""
        return summarise(self.wait().filtered)

    def summary_table(self) -> pd.DataFrame:
        """The per-actor summary of :attr:`filtered` (see :func:`summary_table`), once loaded (:meth:`wait`)."""
        return summary_table(self.wait().filtered)

    def failures(self) -> pd.DataFrame:
        """The failed executions of :attr:`filtered` (status ERROR, a non-zero exit code, or a function call
        that raised), newest first, once loaded (:meth:`wait`)."""
        return self.wait()._failures()

    def _failures(self) -> pd.DataFrame:
        failed = self.filtered[failures_of(self.filtered)]
        return failed.sort_values(TIME_COLUMN, ascending=False, na_position="last")

    def show_logs(self, execution_id: str | None = None) -> str:
        """Fetch and show the logs of ``execution_id`` (default: the one selected in the Failures tab)."""
        execution_id = execution_id or self.failure_list.value
        if not execution_id or self._logs is None:
            return ""
        rows = self.frame[self.frame["execution_id"] == execution_id]
        if not len(rows):
            return ""
        actor_id = str(rows["actor_id"].iloc[0])
        try:
            text = self._logs(actor_id, execution_id)
        except Exception as exc:
            self.logs_html.value = error_html(exc)
            return ""
        self.logs_html.value = (
            f"<div style='color:#555'>Logs of {esc(execution_id)} ({esc(actor_id)})</div>"
            f"<pre style='white-space:pre-wrap;max-height:240px;overflow:auto'>{esc(text) or '(empty)'}</pre>")
        return text

    def _update_logs_button(self) -> None:
        self.logs_button.disabled = self._logs is None or not self.failure_list.value

    # -- rendering --------------------------------------------------------------------------------------------

    def _render(self) -> None:
        self.summary_html.value = self._summary_html()
        self.distribution_plot.value = self._distribution_figure()
        self.throughput_plot.value = self._throughput_figure()
        failed = self._failures()
        self.failure_list.options = [
            (f"{_when(row[TIME_COLUMN])}  {row['label']}  {row['execution_id']}  {row['status']}  "
             f"exit code {_fmt(row['exit_code'], '{}')}" + (f"  call {row['call_outcome']}" if isinstance(
                 row.get("call_outcome"), str) else ""), str(row["execution_id"]))
            for _, row in failed.assign(label=actor_labels(failed)).head(500).iterrows()
        ]
        self.plotted["failures"] = len(failed)
        self._update_logs_button()

    def _summary_html(self) -> str:
        s = summarise(self.filtered)
        table = summary_table(self.filtered)
        waiting = f" ({s['pending']:,} not ended yet)" if s.get("pending") else ""
        head = (f"<div style='margin:4px 0'><b>{s['count']:,}</b> executions{waiting}, success rate "
                f"<b>{_fmt(s['success_rate'], '{:.1%}')}</b>, duration p50 <b>{_secs(s['duration_p50_s'])}</b> "
                f"p95 <b>{_secs(s['duration_p95_s'])}</b>, queue wait p50 <b>{_secs(s['queue_wait_p50_s'])}</b>"
                "</div>")
        columns = [("actor", "actor", "{}"), ("count", "executions", "{:,}"), ("success_rate", "success", "{:.1%}"),
                   ("duration_p50_s", "duration p50", "s"), ("duration_p95_s", "p95", "s"),
                   ("duration_p99_s", "p99", "s"), ("queue_wait_p50_s", "queue wait p50", "s"),
                   ("queue_wait_p95_s", "p95", "s"), ("queue_wait_p99_s", "p99", "s"),
                   ("cpu_ns_mean", "CPU / exec", "cpu"), ("io_bytes_mean", "I/O / exec", "io")]
        cell = "padding:2px 8px;text-align:right;white-space:nowrap"
        header = "".join(f"<th style='{cell}'>{esc(title)}</th>" for _key, title, _f in columns)
        body = ""
        for row in table.to_dict("records"):
            cells = []
            for key, _title, pattern in columns:
                value = row.get(key)
                text = _secs(value) if pattern == "s" else _cpu(value) if pattern == "cpu" else \
                    _bytes(value) if pattern == "io" else _fmt(value, pattern)
                cells.append(f"<td style='{cell}'>{esc(text)}</td>")
            body += "<tr>" + "".join(cells) + "</tr>"
        self.plotted["summary"] = len(table)
        return (f"{head}<div style='overflow-x:auto;max-width:100%'>"
                f"<table class='swan-summary' style='font-size:12px;border-collapse:collapse'>"
                f"<tr>{header}</tr>{body}</table></div>")

    def _distribution_figure(self) -> bytes:
        import numpy as np
        from matplotlib.figure import Figure

        fig = Figure(figsize=(PLOT_WIDTH_PX / 96, 5.6))
        axes = fig.subplots(2, 1)
        frame = self.filtered
        labels = actor_labels(frame) if len(frame) else None
        drawn = 0
        for ax, column, title in ((axes[0], "duration", "Duration"), (axes[1], "queue_wait", "Queue wait")):
            series = [] if labels is None else [
                (str(name), np.sort(as_seconds(frame[column][labels == name]).dropna().to_numpy()))
                for name in labels.value_counts().index[:10]
            ]
            series = [(name, values) for name, values in series if len(values)]
            positive = np.concatenate([v[v > 0] for _n, v in series]) if series else np.array([])
            wide = len(positive) > 1 and np.quantile(positive, 0.99) > 100 * np.quantile(positive, 0.01)
            for name, values in series:
                ax.step(np.maximum(values, positive.min()) if wide else values,
                        np.arange(1, len(values) + 1) / len(values), where="post", label=name[:18], linewidth=1.2)
                drawn += 1
            if wide:
                ax.set_xscale("log")
            ax.set_ylim(0, 1.03)
            ax.set_title(f"{title} per actor (ECDF{', log scale' if wide else ''})", fontsize=9)
            ax.set_xlabel("seconds", fontsize=8)
            ax.set_ylabel("fraction of executions", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
        if drawn:  # beside the plots, never over a curve
            axes[0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
        self.plotted["distributions"] = drawn
        fig.tight_layout()
        self.figures["distributions"] = fig
        return figure_png(fig)

    def _throughput_figure(self) -> bytes:
        import matplotlib.dates as mdates
        import pandas as pd
        from matplotlib.figure import Figure

        fig = Figure(figsize=(PLOT_WIDTH_PX / 96, 2.9))
        ax = fig.subplots()
        bins = throughput(self.filtered)
        self.plotted["throughput"] = 0
        if len(bins):
            rule = bins.attrs["bin"]
            width = pd.Timedelta(rule).total_seconds() / 86_400 * 0.9  # matplotlib dates are in days
            x = pd.DatetimeIndex(bins.index).tz_convert(None)
            ax.bar(x, bins["executions"].to_numpy(), width=width, align="edge", color="#4c72b0", label="executions")
            if bins["failed"].any():
                ax.bar(x, bins["failed"].to_numpy(), width=width, align="edge", color="#c44e52", label="failed")
            ax.set_ylabel(f"executions per {rule}", fontsize=8)
            bin_days = pd.Timedelta(rule).total_seconds() / 86_400  # a burst at an edge keeps a bin's width
            ax.set_xlim(mdates.date2num(x.min()) - bin_days, mdates.date2num(x.max()) + 2 * bin_days)
            ax.legend(fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, borderaxespad=0.2)
            ax.tick_params(axis="x", labelsize=7, rotation=20)
            ax.tick_params(axis="y", labelsize=7)
            self.plotted["throughput"] = int(bins["executions"].sum())
        ax.set_title("Throughput (message time, UTC; empty bins are zero)", fontsize=9)
        fig.tight_layout()
        self.figures["throughput"] = fig
        return figure_png(fig)

    def __repr__(self) -> str:
        return f"ExecutionExplorer({len(self.filtered)} of {len(self.frame)} executions shown)"


def _fmt(value: Any, pattern: str) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "-"
    return pattern.format(value)


def _secs(value: float | None) -> str:
    if value is None or value != value:
        return "-"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s" if value < 100 else f"{value:,.0f} s"


def _cpu(value: float | None) -> str:
    return "-" if value is None or value != value else _secs(value / 1e9)


def _bytes(value: float | None) -> str:
    if value is None or value != value:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if abs(value) < 1000 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1000
    return "-"  # pragma: no cover


def _when(value: Any) -> str:
    import pandas as pd

    return "-" if value is None or pd.isna(value) else value.strftime("%Y-%m-%d %H:%M:%S")


def _utc(value: dt.datetime) -> Any:
    import pandas as pd

    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _empty() -> pd.DataFrame:
    from ..frames.actors import executions_frame

    return executions_frame([])


__all__ = ["ExecutionExplorer", "failures_of", "require_plotting", "summarise", "summary_table", "throughput",
           "throughput_bin"]
