"""Remote Python functions (``Actors.function``, ``%%actor_function``, ``%actors map``) against the sandbox's
py3_func emulator over loopback: calls, keyword arguments, remote exceptions, maps (order, failures,
timeouts, interrupts), the pickling and size checks before sending, the map frame and its metrics join."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import cloudpickle
import pandas as pd
import pytest

from swan_jupyter.actors import Actors
from swan_jupyter.actors.functions import FunctionHandle, MapInterrupted
from swan_jupyter.errors import RemoteFunctionError, RequestTimeoutError, ValidationError
from tests.helpers import function_client, wait_until

# Functions of this module travel by value: executions run isolated and cannot import the tests (nor could an
# Abaco container).
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def client(abaco_sandbox: dict[str, Any]) -> Iterator[Actors]:
    """The admin user (Abaco lets only admins add workers), v3."""
    yield from function_client(abaco_sandbox, "swan-fn-")


def square(x: int) -> int:
    return x * x


def fails_on_five(x: int) -> float:
    return 1 / (x - 5)


def _actor_names(client: Actors) -> list[str]:
    return sorted(a.name or "" for a in client.list())


@pytest.fixture(scope="module")
def sq(client: Actors) -> FunctionHandle:
    return client.function(square, workers=4)


def test_one_call_and_the_actor_is_reused(client: Actors, sq: FunctionHandle) -> None:
    assert sq(7) == 49
    assert sq.trust == "owned" and sq.workers == 4
    assert sq.remote_python is not None and sq.remote_python.startswith(f"{sys.version_info[0]}.{sys.version_info[1]}.")
    again = client.function(square)
    assert again.actor_id == sq.actor_id  # your own swan-fn-square, found by name, image and owner


def test_keyword_arguments_and_submit(client: Actors) -> None:
    def combine(a: int, b: int = 2, *, c: int = 0, **more: int) -> dict[str, int]:
        return {"a": a, "b": b, "c": c, **more}

    fn = client.function(combine)
    assert fn(1, c=5, d=9) == {"a": 1, "b": 2, "c": 5, "d": 9}
    future = fn.submit(3, 4, c=1)
    assert future.result(timeout=60) == {"a": 3, "b": 4, "c": 1}
    fn.close()


def test_a_remote_exception_is_raised_with_its_traceback(client: Actors) -> None:
    handle = client.function(fails_on_five)
    with pytest.raises(RemoteFunctionError) as caught:
        handle(5)
    err = caught.value
    assert err.remote_type == "ZeroDivisionError" and "division by zero" in err.remote_message
    # the frame names the function; no source line: a function sent by value has no file remotely (cloudpickle
    # names its code "<dynamic-code>", as for a notebook's functions)
    assert "in fails_on_five" in err.remote_traceback and "<dynamic-code>" in err.remote_traceback
    assert "swan_jupyter_runner" not in err.remote_traceback  # the runner's own frame is left out
    assert err.execution_id and err.actor_id == handle.actor_id
    assert client.get_execution(handle.actor_id, err.execution_id).status == "COMPLETE"
    lines = err.summary_lines()
    assert "RemoteFunctionError" in lines[0] and any("ZeroDivisionError" in line for line in lines)
    future = handle.submit(5)
    with pytest.raises(RemoteFunctionError):
        future.result(timeout=60)
    handle.close()


def test_an_execution_without_a_result_carries_its_log_tail(client: Actors) -> None:
    def crash(code: int) -> None:
        print("about to leave without a result")
        os._exit(code)

    handle = client.function(crash)
    with pytest.raises(RemoteFunctionError) as caught:
        handle(3)
    assert "without a result (exit code 3)" in caught.value.message
    assert "about to leave without a result" in caught.value.log_tail


def test_map_in_order_and_unordered(sq: FunctionHandle, capsys: pytest.CaptureFixture[str]) -> None:
    frame = sq.map(range(24), max_in_flight=8, progress_after=-1)
    assert list(frame.index) == list(range(24)) and frame.index.name == "input"
    assert frame["result"].tolist() == [x * x for x in range(24)]
    assert (frame["status"] == "ok").all() and frame.attrs["failures"] == [] and frame.attrs["left"] == []
    assert str(frame["duration"].dtype) == "timedelta64[ns]" and str(frame["queue_wait"].dtype) == "timedelta64[ns]"
    assert frame["duration"].notna().all() and (frame["duration"] > pd.Timedelta(0)).all()
    assert frame["queue_wait"].notna().all()
    assert str(frame["execution_id"].dtype) == "string" and frame["execution_id"].is_unique
    assert frame["arg"].tolist() == [repr(x) for x in range(24)]
    assert "map of 24 call(s): 24 ok" in capsys.readouterr().out
    unordered = sq.map(list(range(24)), ordered=False, progress_after=-1, verbose=False)
    assert sorted(unordered.index) == list(range(24))
    assert all(unordered.loc[i, "result"] == i * i for i in range(24))
    stars = sq.map([(3,), (4,)], star=True, progress_after=-1, verbose=False)
    assert stars["result"].tolist() == [9, 16]


def test_a_map_polls_each_call_a_few_times_not_in_a_busy_loop(client: Actors) -> None:
    """The polls are paced by the calls already seen: after the first ones, a call is looked at a few times,
    not every 20 ms of its queueing and running (each look is a request the server serves)."""
    handle = client.function(square, workers=2)
    polls = 0
    lock = threading.Lock()
    get_execution = client.get_execution

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal polls
        with lock:
            polls += 1
        return get_execution(*args, **kwargs)

    handle.map(range(4), progress_after=-1, verbose=False)  # what the pace learns from
    client.get_execution = counted  # type: ignore[method-assign]
    try:
        frame = handle.map(range(16), max_in_flight=4, progress_after=-1, verbose=False)
    finally:
        del client.get_execution
    assert (frame["status"] == "ok").all()
    assert polls / 16 <= 6.0, f"{polls} polls for 16 calls"


def test_a_failure_in_the_middle_of_a_map_is_a_row(client: Actors, capsys: pytest.CaptureFixture[str]) -> None:
    handle = client.function(fails_on_five, workers=4)
    frame = handle.map(range(10), progress_after=-1)
    assert frame.loc[5, "status"] == "error" and frame.loc[5, "error"].startswith("ZeroDivisionError")
    assert "in fails_on_five" in frame.loc[5, "traceback"]
    assert pd.isna(frame.loc[5, "result"]) or frame.loc[5, "result"] is None
    ok = frame.drop(index=5)
    assert (ok["status"] == "ok").all() and ok.loc[6, "result"] == 1.0
    assert frame.attrs["failures"] == [5]
    assert "9 ok, 1 error" in capsys.readouterr().out and "failed inputs: 5" in frame.attrs["summary"]


def test_an_unpicklable_function_is_refused_before_anything_is_sent(client: Actors) -> None:
    sock = socket.socket()
    try:
        def uses_a_socket() -> int:
            return sock.fileno()

        before = _actor_names(client)
        with pytest.raises(ValidationError, match="cannot be pickled") as caught:
            client.function(uses_a_socket)
        assert "socket" in str(caught.value).lower()
        assert _actor_names(client) == before  # no actor registered
    finally:
        sock.close()


def test_an_oversize_payload_is_refused_with_its_size(client: Actors, sq: FunctionHandle) -> None:
    small = client.function(square, max_message_bytes=4096)
    count = len(client.list_executions(small.actor_id).executions)
    with pytest.raises(ValidationError, match=r"payload is [\d,]+ bytes, over the message size limit of 4,096"):
        small("x" * 10_000)
    frame = small.map(["x" * 10_000, 3], progress_after=-1, verbose=False)
    assert frame["status"].tolist() == ["refused", "ok"] and "4,096" in frame.loc[0, "error"]
    assert pd.isna(frame.loc[0, "execution_id"])
    assert len(client.list_executions(small.actor_id).executions) == count + 1  # only the small one went


def test_a_python_version_mismatch_is_stated_up_front(client: Actors) -> None:
    before = _actor_names(client)
    with pytest.raises(ValidationError, match="cloudpickle does not travel across minor versions"):
        client.function(square, python_version="3.6")
    assert _actor_names(client) == before


def test_a_timeout_of_one_item_while_the_others_finish(client: Actors) -> None:
    def slow_on_three(x: int) -> int:
        if x == 3:
            time.sleep(60)
        return x

    handle = client.function(slow_on_three, workers=4)
    t0 = time.monotonic()
    frame = handle.map(range(6), timeout=4, progress_after=-1, verbose=False)
    assert time.monotonic() - t0 < 30
    assert frame.loc[3, "status"] == "timeout" and frame.attrs["left"] == []
    assert (frame.drop(index=3)["status"] == "ok").all()
    stopped = str(frame.loc[3, "execution_id"])
    assert wait_until(lambda: client.get_execution(handle.actor_id, stopped).status == "COMPLETE", timeout=20)
    killed = client.get_execution(handle.actor_id, stopped)
    assert str(killed.exit_code) == "137"  # force-quit: no orphan left running
    handle.timeout = 2  # a direct call over time: raised, and its execution stopped too
    with pytest.raises(RequestTimeoutError):
        handle(3)
    assert wait_until(lambda: not [e for e in client.list_executions(handle.actor_id).executions
                                   if e.status in ("RUNNING", "SUBMITTED")], timeout=10)


def test_an_interrupt_during_a_map_leaves_no_orphan_work(client: Actors) -> None:
    def nap(x: int) -> int:
        time.sleep(3)
        return x

    handle = client.function(nap, workers=2)
    main = threading.get_ident()
    timer = threading.Timer(2.5, lambda: signal.pthread_kill(main, signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(MapInterrupted) as caught:
            handle.map(range(12), max_in_flight=4, progress_after=-1, verbose=False)
    finally:
        timer.cancel()
    frame, left = caught.value.frame, caught.value.left
    assert isinstance(caught.value, KeyboardInterrupt)
    assert len(frame) == 12 and sorted(frame.index) == list(range(12))
    assert (frame["status"] == "cancelled").sum() >= 8
    assert left == []  # everything sent was stopped or dropped from the mailbox
    assert client.message_count(handle.actor_id) == 0
    assert wait_until(lambda: not [e for e in client.list_executions(handle.actor_id).executions
                                   if e.status == "RUNNING"], timeout=10)
    sent = set(frame["execution_id"].dropna())
    assert 2 <= len(sent) <= 4  # max_in_flight bounded what was sent; never-sent items stayed local


def test_join_with_the_execution_metrics(client: Actors, sq: FunctionHandle) -> None:
    from swan_jupyter.frames.functions import function_metrics, join_metrics

    frame = sq.map(range(5), progress_after=-1, verbose=False)
    joined = join_metrics(frame, client=client)
    assert list(joined.index) == list(range(5)) and joined.index.name == "input"
    assert joined["result"].tolist() == [0, 1, 4, 9, 16]
    assert joined["cpu" if "cpu" in joined.columns else "cpu_ns"].notna().all()
    assert str(joined["duration"].dtype) == "timedelta64[ns]"
    renamed = function_metrics(sq).rename(columns={"execution_id": "id"})
    assert len(join_metrics(frame, renamed)) == 5


def test_the_views_of_a_handle_come_from_the_view_layer(sq: FunctionHandle) -> None:
    """function_metrics and ExecutionExplorer.for_function give the handle's frame and explorer; the handle's
    own metrics() and explore() still work for one release, with a DeprecationWarning naming what to write."""
    pytest.importorskip("matplotlib")
    from swan_jupyter.frames.functions import function_metrics
    from swan_jupyter.widgets import ExecutionExplorer

    frame = sq.map(range(3), progress_after=-1, verbose=False)
    ran = set(frame["execution_id"])
    metrics = function_metrics(sq)
    assert ran <= set(metrics["execution_id"]) and "call_outcome" in metrics
    assert set(metrics.loc[metrics["execution_id"].isin(ran), "call_outcome"]) == {"ok"}
    explorer = ExecutionExplorer.for_function(sq)
    assert ran <= set(explorer.wait().frame["execution_id"]) and explorer.error is None
    with pytest.warns(DeprecationWarning, match=r"function_metrics\(handle\)"):
        old = sq.metrics()
    assert list(old.columns) == list(metrics.columns) and ran <= set(old["execution_id"])
    with pytest.warns(DeprecationWarning, match=r"ExecutionExplorer.for_function\(handle\)"):
        assert ran <= set(sq.explore().wait().frame["execution_id"])


def test_magics_define_bind_and_map(ip: Any, abaco_sandbox: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_cell_magic("actor_function", "cube --workers 2", "def cube(x):\n    return x ** 3\n")
    handle = ip.user_ns["cube"]
    assert isinstance(handle, FunctionHandle) and handle.fn(2) == 8 and handle(3) == 27
    ip.user_ns["numbers"] = list(range(6))
    assert ip.run_line_magic("actors", "map cube numbers df --max-in-flight 4") is None
    df = ip.user_ns["df"]
    assert df["result"].tolist() == [x ** 3 for x in range(6)]
    shown = ip.run_line_magic("actors", "map cube numbers --unordered")
    assert sorted(shown["result"]) == [x ** 3 for x in range(6)]
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="not a function handle"):
        ip.run_line_magic("actors", "map numbers numbers")
    with pytest.raises(UsageError, match="No variable named 'nothing'"):
        ip.run_line_magic("actors", "map cube nothing")
    with pytest.raises(UsageError, match="No variable named 'other'"):
        ip.run_cell_magic("actor_function", "other", "def something(x):\n    return x\n")
    assert ip.run_cell_magic("actor_function", "--help", "pass") is None
    assert "%%actor_function NAME" in capsys.readouterr().out
    handle.delete()
