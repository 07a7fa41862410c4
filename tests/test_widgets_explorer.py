"""ExecutionExplorer headless: filters, summary figures, plots and the filtered frame (no browser)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from swan_jupyter.errors import TransportError
from swan_jupyter.widgets.explorer import ExecutionExplorer, summarise


def metrics() -> pd.DataFrame:
    base = pd.Timestamp("2026-11-01 10:00:00", tz="UTC")
    rows = []
    for i in range(40):
        rows.append({
            "actor_id": "A" if i % 2 else "B",
            "execution_id": f"e{i}",
            "status": "COMPLETE" if i % 5 else "ERROR",
            "runtime": float(i % 7 + 1),
            "cpu": 1000 * i,
            "io": 10 * i,
            "message_received_time": base + pd.Timedelta(minutes=i),
        })
    frame = pd.DataFrame(rows)
    frame["status"] = frame["status"].astype("category")
    frame["cpu"] = frame["cpu"].astype("Int64")
    frame["io"] = frame["io"].astype("Int64")
    return frame


def test_summary_figures() -> None:
    s = summarise(metrics())
    assert s["count"] == 40
    assert s["success_rate"] == pytest.approx(32 / 40)
    assert s["runtime_p50_s"] == pytest.approx(metrics()["runtime"].median())
    assert s["cpu_total"] == sum(1000 * i for i in range(40))
    assert summarise(metrics().iloc[0:0])["count"] == 0


def test_filters_update_summary_plots_and_frame() -> None:
    explorer = ExecutionExplorer(metrics())
    assert set(explorer.actor_filter.options) == {"A", "B"}
    assert bytes(explorer.runtime_plot.value)[:4] == b"\x89PNG"
    assert bytes(explorer.timeline_plot.value)[:4] == b"\x89PNG"
    explorer.actor_filter.value = ("A",)
    assert set(explorer.filtered["actor_id"]) == {"A"} and len(explorer.filtered) == 20
    explorer.status_filter.value = ("ERROR",)
    assert len(explorer.filtered) == 4 and explorer.summary()["success_rate"] == 0.0
    assert "executions" in explorer.summary_html.value and "0.0%" in explorer.summary_html.value
    frame = explorer.set_filters(actors=[], statuses=[], since=dt.datetime(2026, 11, 1, 10, 30, tzinfo=dt.timezone.utc))
    assert len(frame) == 10 and frame["message_received_time"].min() >= pd.Timestamp("2026-11-01 10:30", tz="UTC")
    assert "ExecutionExplorer(10 of 40" in repr(explorer)


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
