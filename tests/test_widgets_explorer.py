"""ExecutionExplorer headless on a literal execution frame: filters, per-actor summary, plots, failures, and
the throughput bins (real executions: tests/test_execution_metrics.py)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from swan_jupyter.errors import TransportError
from swan_jupyter.frames.actors import executions_frame
from swan_jupyter.widgets.explorer import ExecutionExplorer, summarise, summary_table, throughput, throughput_bin


def metrics() -> pd.DataFrame:
    """40 executions of two actors over 40 minutes with a 20-minute gap; every fifth one failed."""
    base = pd.Timestamp("2026-11-01 10:00:00", tz="UTC")
    rows = []
    for i in range(40):
        received = base + pd.Timedelta(minutes=i + (20 if i >= 20 else 0))
        started = received + pd.Timedelta(milliseconds=30 + i)
        rows.append({
            "actor_id": "A" if i % 2 else "B", "id": f"e{i}", "status": "COMPLETE" if i % 5 else "ERROR",
            "exit_code": 0 if i % 5 else 1, "cpu": 1000 * i, "io": 10 * i, "runtime": 1,
            "message_received_time": received.isoformat(), "start_time": started.isoformat(),
            "finish_time": (started + pd.Timedelta(milliseconds=80 * (i % 7 + 1))).isoformat(),
            "executor": "user",
        })
    return executions_frame(rows)


def test_summary_figures() -> None:
    frame = metrics()
    s = summarise(frame)
    assert s["count"] == 40 and s["success_rate"] == pytest.approx(32 / 40)
    assert s["duration_p50_s"] == pytest.approx(frame["duration"].dt.total_seconds().median())
    assert 0.08 <= s["duration_p50_s"] < 1  # not Abaco's whole second
    assert s["cpu_ns_total"] == sum(1000 * i for i in range(40))
    table = summary_table(frame)
    assert list(table["actor"]) == ["A", "B"] and list(table["count"]) == [20, 20]
    assert {"duration_p99_s", "queue_wait_p95_s", "cpu_ns_mean", "io_bytes_mean"} <= set(table.columns)
    assert summarise(frame.iloc[0:0])["count"] == 0


def test_filters_update_summary_plots_and_frame() -> None:
    explorer = ExecutionExplorer(metrics())
    assert {value for _label, value in explorer.actor_filter.options} == {"A", "B"}
    assert bytes(explorer.distribution_plot.value)[:4] == b"\x89PNG"
    assert bytes(explorer.throughput_plot.value)[:4] == b"\x89PNG"
    assert all(explorer.plotted[k] > 0 for k in ("summary", "distributions", "throughput", "failures"))
    explorer.actor_filter.value = ("A",)
    assert set(explorer.filtered["actor_id"]) == {"A"} and len(explorer.filtered) == 20
    explorer.status_filter.value = ("ERROR",)
    assert len(explorer.filtered) == 4 and explorer.summary()["success_rate"] == 0.0
    assert "executions" in explorer.summary_html.value and "0.0%" in explorer.summary_html.value
    frame = explorer.set_filters(actors=[], statuses=[], since=dt.datetime(2026, 11, 1, 10, 50, tzinfo=dt.UTC))
    assert len(frame) == 10 and frame["message_received_time"].min() >= pd.Timestamp("2026-11-01 10:50", tz="UTC")
    assert "ExecutionExplorer(10 of 40" in repr(explorer)
    assert len(explorer.failure_list.options) == 2  # failures in the window, with their exit code
    assert "exit code 1" in explorer.failure_list.options[0][0]
    assert explorer.logs_button.disabled  # no client: nothing to fetch logs from


def test_set_filters_redraws_once_whatever_it_sets() -> None:
    """Setting actors, statuses and a window in one call redraws the plots once (each redraw is two figures
    rendered to PNG), not once per filter and again at the end; a filter set by hand redraws once."""
    explorer = ExecutionExplorer(metrics())
    drawn: list[int] = []
    render = explorer._render
    explorer._render = lambda: (drawn.append(len(explorer.filtered)), render())[1]  # type: ignore[method-assign]
    frame = explorer.set_filters(actors=["A"], statuses=["ERROR"], since=dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC),
                                 until=dt.datetime(2026, 11, 1, 11, 0, tzinfo=dt.UTC))
    assert drawn == [len(frame)] == [4]
    explorer.status_filter.value = ()
    assert drawn == [4, 20]


def test_throughput_bins_suit_the_span_and_empty_bins_are_zero() -> None:
    assert throughput_bin(pd.Timedelta(seconds=50)) == "1s"
    assert throughput_bin(pd.Timedelta(minutes=60)) == "30s"
    assert throughput_bin(pd.Timedelta(days=3)) == "1h"
    bins = throughput(metrics())  # 59 minutes with a 20-minute gap: 30 s bins
    assert bins.attrs["bin"] == "30s" and len(bins) == 119 and bins["executions"].sum() == 40
    assert (bins.index.to_series().diff().dropna() == pd.Timedelta(seconds=30)).all()  # no bin skipped
    gap = bins.loc["2026-11-01 10:20:00+00:00":"2026-11-01 10:39:30+00:00"]
    assert len(gap) == 40 and (gap["executions"] == 0).all()  # the gap is drawn as zeros, not joined over
    assert bins["failed"].sum() == 8
    explorer = ExecutionExplorer(metrics())
    assert explorer.plotted["throughput"] == 40


def test_fetch_errors_show_in_the_widget() -> None:
    def failing() -> pd.DataFrame:
        raise TransportError("Could not connect to Abaco", hint="start the sandbox")

    explorer = ExecutionExplorer(fetch=failing, background=False)
    assert "TransportError" in explorer.message.value and "start the sandbox" in explorer.message.value
    assert explorer.refresh_button.disabled is False
    calls = {"n": 0}

    def works() -> pd.DataFrame:
        calls["n"] += 1
        return metrics()

    explorer = ExecutionExplorer(fetch=works, background=False)
    explorer.refresh_button.click()
    assert calls["n"] == 2 and len(explorer.filtered) == 40


def test_rows_fetched_one_by_one_are_said_in_the_widget() -> None:
    """Issue 22: a frame part-built by the details fallback says so in the explorer, with the reason."""
    frame = metrics()
    frame.attrs.update(built={"A": "search + details", "B": "search"},
                       fallback={"A": "search does not see actors shared with everyone through ABACO_WORLD"})
    explorer = ExecutionExplorer(fetch=lambda: frame, background=False)
    assert "ABACO_WORLD: A (rows fetched one by one)" in explorer.message.value
    plain = metrics()
    assert "one by one" not in ExecutionExplorer(fetch=lambda: plain, background=False).message.value
