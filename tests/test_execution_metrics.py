"""Execution metrics against real sandbox executions: one schema everywhere, exact durations, incremental refresh,
the explorer built headless (every plot drawn, a failure's logs opened) and the install hint without matplotlib.

The workload is real local processes of varied length: ``abacosamples/sleep_loop`` with different sleeps,
``abacosamples/wc`` over different inputs, and a sleep_loop actor whose configuration makes every run fail.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any

import cloudpickle
import pandas as pd
import pytest

from swan_jupyter.actors import Actor, Actors
from swan_jupyter.actors.records import fetch_execution_records
from swan_jupyter.errors import ConfigurationError
from swan_jupyter.frames import actors as frames
from tests.helpers import TestingShell

SLEEPS = (0.05, 0.2, 0.45, 1.3)
DTYPES = {"str": "string", "int": "Int64", "time": "datetime64[ns, UTC]", "cat": "category", "dur": "timedelta64[ns]"}


def _client(abaco_sandbox: dict[str, Any], flavor: str = "v3") -> Actors:
    abaco = abaco_sandbox["abaco"]
    # the user the magics act as (the sandbox profile's default, ABACO_USER=admin): Abaco's search shows only
    # actors the searching user has a permission on, admins included (TACC/abaco actors/models.py)
    return Actors(abaco["url"], token=abaco["users"]["admin"]["token"], flavor=flavor)  # type: ignore[arg-type]


def assert_schema(frame: pd.DataFrame) -> None:
    """The frame has exactly the execution schema: names, order and dtypes."""
    expected = [(c.name, DTYPES[c.kind]) for c in frames.EXECUTION_COLUMNS]
    assert [(name, str(dtype)) for name, dtype in frame.dtypes.items()] == expected


@pytest.fixture(scope="module")
def workload(abaco_sandbox: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Three actors with really different durations, one that always fails; every execution final."""
    client = _client(abaco_sandbox)
    sleeper = client.add({"image": "abacosamples/sleep_loop", "name": "m-sleep"})
    counter = client.add({"image": "abacosamples/wc", "name": "m-wc"})
    broken = client.add({"image": "abacosamples/py3_func", "name": "m-broken"})

    def parse_setting(text: str) -> int:  # pickled by value: every run fails with a ValueError (exit code 1)
        return int(text)

    failing_call = cloudpickle.dumps({"func": parse_setting, "args": ["not-a-number"], "kwargs": {}})
    sent = [client.send_message(str(sleeper.id), {"iterations": 1, "sleep": s}) for s in SLEEPS]
    sent += [client.send_message(str(counter.id), " ".join(["w"] * n)) for n in (1, 500, 20_000)]
    sent += [client.send_binary(str(broken.id), failing_call) for _ in range(2)]
    for execution in sent:
        execution.wait(120, poll=0.1)
    actors = {"sleep": sleeper, "wc": counter, "broken": broken}
    try:
        yield {"client": client, "actors": actors, "ids": [str(a.id) for a in actors.values()]}
    finally:
        for actor in actors.values():
            client.delete(str(actor.id))
        client.close()


# -- one schema ----------------------------------------------------------------------------------------------


def test_every_execution_frame_has_the_one_schema(workload: dict[str, Any], ip: TestingShell) -> None:
    client: Actors = workload["client"]
    ids: list[str] = workload["ids"]
    sleeper: Actor = workload["actors"]["sleep"]
    metrics = frames.execution_metrics(client, ids, progress_after=-1)
    assert_schema(metrics)
    assert len(metrics) == 9 and metrics.attrs["time_resolution"] == frames.PRECISE_TIMES
    assert set(metrics["actor_name"]) == {"m-sleep", "m-wc", "m-broken"}
    assert set(metrics["image"]) == {"abacosamples/sleep_loop", "abacosamples/wc", "abacosamples/py3_func"}
    assert_schema(frames.execution_metrics(client, ids, method="details", progress_after=-1))
    assert_schema(frames.search_frame("executions", client.search("executions", {"actor_id": sleeper.id})))
    summary = frames.executions_frame(client.list_executions(str(sleeper.id)).executions, actor_id=sleeper.id)
    assert_schema(summary)
    assert "1 s" in summary.attrs["time_resolution"]  # the summary's times are whole seconds, and it says so
    assert_schema(frames.executions_frame([]))
    executions = ip.run_line_magic("actors", f"executions {sleeper.id}")
    assert_schema(executions)
    assert len(executions) == len(SLEEPS) and executions.attrs["time_resolution"] == frames.PRECISE_TIMES
    ip.run_line_magic("actors", f"metrics --actor {ids[0]} --actor {ids[1]} --actor {ids[2]} m")
    assert_schema(ip.user_ns["m"])
    ip.run_line_magic("actors", "metrics --refresh m")
    assert_schema(ip.user_ns["m"]) and len(ip.user_ns["m"]) == 9
    recent = ip.run_line_magic("actors", f"metrics --actor {ids[0]} --since 1h")
    assert_schema(recent) and len(recent) == len(SLEEPS)
    assert len(ip.run_line_magic("actors", f"metrics --actor {ids[0]} --since 2999-01-01T00:00")) == 0


def test_the_readme_documents_the_schema_as_one_table() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for column in frames.EXECUTION_COLUMNS:
        assert f"| `{column.name}` |" in readme, column.name


# -- durations from the timestamps -----------------------------------------------------------------------------


@pytest.mark.parametrize("flavor", ["v2", "v3"])
def test_duration_is_finish_minus_start_at_full_precision(workload: dict[str, Any], abaco_sandbox: dict[str, Any],
                                                          flavor: str) -> None:
    client = _client(abaco_sandbox, flavor)
    frame = frames.execution_metrics(client, workload["ids"], progress_after=-1)
    assert frame["duration"].notna().all() and frame["queue_wait"].notna().all()
    for row in frame.itertuples():
        # The process's own start and finish (microseconds, in final_state) are the independent truth.
        state = client.get_execution(row.actor_id, row.execution_id).final_state
        truth = pd.Timestamp(state["FinishedAt"]) - pd.Timestamp(state["StartedAt"])
        assert abs(row.duration - truth) <= pd.Timedelta(milliseconds=1), (row.execution_id, row.duration, truth)
        assert row.duration == row.finish_time - row.start_time
        assert row.turnaround == row.queue_wait + row.duration
        assert row.runtime_reported_s >= 1
    sleeps = frame[frame["actor_name"] == "m-sleep"].sort_values("duration")["duration"].dt.total_seconds()
    assert list(sleeps) == sorted(sleeps) and sleeps.iloc[0] < 0.9 and sleeps.iloc[-1] > 1.2
    assert sleeps.nunique() == len(SLEEPS) and (sleeps.round(3) != sleeps.round(0)).all()  # not whole seconds
    assert frame["duration"].dt.total_seconds().std() > 0
    client.close()


# -- incremental refresh ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["search", "details"])
def test_refresh_fetches_only_the_new_executions_and_appends_them(abaco_sandbox: dict[str, Any], method: str) -> None:
    client = _client(abaco_sandbox)
    actor = client.add({"image": "abacosamples/sleep_loop", "name": f"m-refresh-{method}"})
    aid = str(actor.id)
    try:
        for execution in [client.send_message(aid, {"iterations": 1, "sleep": 0.01}) for _ in range(3)]:
            execution.wait(60, poll=0.1)
        running = client.send_message(aid, {"iterations": 1, "sleep": 2})
        deadline = time.monotonic() + 30
        while running.status == "SUBMITTED" and time.monotonic() < deadline:
            time.sleep(0.05)
        frame = frames.execution_metrics(client, [aid], method=method, progress_after=-1)
        assert len(frame) == 4 and set(frame["status"].astype(str)) >= {"COMPLETE"}
        newest = frame["message_received_time"].max()
        fresh = [client.send_message(aid, {"iterations": 1, "sleep": 0.01}) for _ in range(2)]
        for execution in [*fresh, running]:
            execution.wait(60, poll=0.1)
        only_new = fetch_execution_records(client, [aid], since=newest.to_pydatetime(), method=method,
                                           progress_after=-1)
        # The running execution was the newest row: it comes again (at the boundary), with the new ones.
        assert {str(r["id"]) for r in only_new.rows} == {e.id for e in fresh} | {running.id}
        refreshed = frames.refresh_execution_metrics(client, frame, progress_after=-1)
        assert_schema(refreshed)
        assert len(refreshed) == 6 and refreshed["execution_id"].is_unique
        assert set(refreshed["execution_id"]) == set(frame["execution_id"]) | {e.id for e in fresh}
        assert (refreshed["status"] == "COMPLETE").all()  # the row RUNNING before is replaced by its final record
        assert refreshed.attrs["query"].actor_ids == (aid,) and len(frame) == 4  # the frame in hand is untouched
        assert refreshed["message_received_time"].is_monotonic_increasing
    finally:
        client.delete(aid)
        client.close()


def test_refresh_of_a_frame_that_lost_its_query_refuses_instead_of_widening(workload: dict[str, Any]) -> None:
    """A frame whose attrs were lost (a parquet round trip, ``pd.concat``) no longer says which actors it was
    built for: refreshing it must refuse, not fetch every actor's executions."""
    from swan_jupyter.errors import ValidationError

    client: Actors = workload["client"]
    sleeper = str(workload["actors"]["sleep"].id)
    frame = frames.execution_metrics(client, [sleeper], progress_after=-1)
    assert set(frame["actor_id"].astype(str)) == {sleeper}
    for bare in (frame.copy(), frame.iloc[0:0].copy()):  # a frame with rows, and an empty one
        bare.attrs = {}
        with pytest.raises(ValidationError) as refused:
            frames.refresh_execution_metrics(client, bare, progress_after=-1)
        assert "query" in str(refused.value) and "execution_metrics" in str(refused.value.hint)
        again = frames.refresh_execution_metrics(client, bare, query=frame.attrs["query"], progress_after=-1)
        assert set(again["actor_id"].astype(str)) == {sleeper} and len(again) == len(frame)  # the query given
    assert set(frame["actor_id"].astype(str)) == {sleeper}  # the frame in hand is untouched


# -- the explorer ------------------------------------------------------------------------------------------------


def test_explorer_on_real_executions_draws_every_plot_and_opens_a_failures_logs(workload: dict[str, Any]) -> None:
    from swan_jupyter.widgets.explorer import ExecutionExplorer

    client: Actors = workload["client"]
    broken: Actor = workload["actors"]["broken"]
    explorer = ExecutionExplorer(actors=client, background=False)
    explorer.set_filters(actors=["m-sleep", "m-wc", "m-broken"])
    assert len(explorer.filtered) == 9
    assert explorer.plotted["summary"] == 3 and explorer.plotted["distributions"] == 6
    assert explorer.plotted["throughput"] == 9 and explorer.plotted["failures"] == 2
    for image in (explorer.distribution_plot, explorer.throughput_plot):
        assert bytes(image.value)[:4] == b"\x89PNG" and len(image.value) > 5_000
    table = explorer.summary_table().set_index("actor")
    assert table.loc["m-broken", "success_rate"] == 0.0 and table.loc["m-sleep", "success_rate"] == 1.0
    assert table.loc["m-sleep", "duration_p99_s"] > 1.2 > table.loc["m-sleep", "duration_p50_s"]
    assert "m-broken" in explorer.summary_html.value and "duration p50" in explorer.summary_html.value
    label, execution_id = explorer.failure_list.options[0]
    assert "exit code 1" in label and "m-broken" in label
    explorer.failure_list.value = execution_id
    assert explorer.logs_button.disabled is False
    explorer.logs_button.click()
    assert "ValueError" in explorer.logs_html.value and execution_id in explorer.logs_html.value
    explorer.set_filters(actors=[str(broken.id)], statuses=["COMPLETE"])
    assert len(explorer.filtered) == 2 and explorer.summary()["success_rate"] == 0.0
    # Refresh appends only what is new.
    client.send_message(str(broken.id), "again").wait(60, poll=0.1)
    before = len(explorer.frame)
    explorer.refresh_button.click()
    assert len(explorer.frame) == before + 1 and len(explorer.filtered) == 3


def test_explore_without_matplotlib_gives_an_install_hint(ip: TestingShell, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    with pytest.raises(ConfigurationError) as caught:
        ip.run_line_magic("actors", "explore")
    assert "matplotlib" in caught.value.message and "pip install" in (caught.value.hint or "")
    assert "swan-jupyter[explore]" in (caught.value.hint or "")
