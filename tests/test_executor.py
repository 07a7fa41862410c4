"""``Actors.executor``: a real ``concurrent.futures.Executor`` on Abaco function actors, against the sandbox's
py3_func emulator over loopback: submit/result, remote exceptions, map order and timeout, as_completed/wait,
run_in_executor, shutdown with cancel_futures, a call over its time force-quit."""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import cloudpickle
import pytest

from swan_jupyter.actors import Actors
from swan_jupyter.actors.executor import AbacoExecutor, executor_actor_name
from swan_jupyter.errors import RemoteFunctionError, RequestTimeoutError, ValidationError
from tests.helpers import function_client, wait_until

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # executions cannot import the tests


@pytest.fixture(scope="module")
def client(abaco_sandbox: dict[str, Any]) -> Iterator[Actors]:
    """The admin user (only admins add workers), v3; the function actors it made are deleted at the end."""
    yield from function_client(abaco_sandbox, "swan-fn-executor")


@pytest.fixture(scope="module")
def ex(client: Actors) -> Iterator[AbacoExecutor]:
    executor = client.executor(max_workers=4, workers=4, timeout=60)
    yield executor
    executor.shutdown(wait=True, cancel_futures=True)


def square(x: int) -> int:
    return x * x


def fails_on_five(x: int) -> float:
    return 1 / (x - 5)


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def _statuses(client: Actors, actor_id: str) -> list[str]:
    return [str(e.status) for e in client.list_executions(actor_id).executions]


def _exit_codes(client: Actors, actor_id: str) -> set[str]:
    executions = client.list_executions(actor_id).executions
    return {str(client.get_execution(actor_id, str(e.id)).exit_code) for e in executions}


def _running(client: Actors, actor_id: str) -> list[str]:
    return [str(e.id) for e in client.list_executions(actor_id).executions if e.status in ("RUNNING", "SUBMITTED")]


def test_submit_returns_a_standard_future_and_the_actor_is_shared(client: Actors, ex: AbacoExecutor) -> None:
    assert isinstance(ex, cf.Executor)
    future = ex.submit(square, 7)
    assert isinstance(future, cf.Future) and future.result(timeout=60) == 49
    assert ex.submit(divmod, 17, b=5).exception(timeout=60) is not None  # builtins take no keywords: remote error
    assert ex.submit(lambda a, *, b: a - b, 10, b=3).result(timeout=60) == 7
    actor = client.get(ex.actor_id)
    assert actor.name == "swan-fn-" + executor_actor_name() and executor_actor_name().endswith(
        f"py{sys.version_info[0]}.{sys.version_info[1]}")
    with client.executor(max_workers=2) as again:
        assert again.actor_id == ex.actor_id  # one actor per owner and Python version
    count = len(client.list_executions(ex.actor_id).executions)
    assert count >= 3


def test_a_remote_exception_is_raised_with_its_traceback(ex: AbacoExecutor) -> None:
    future = ex.submit(fails_on_five, 5)
    with pytest.raises(RemoteFunctionError) as caught:
        future.result(timeout=60)
    err = caught.value
    assert err.remote_type == "ZeroDivisionError" and "in fails_on_five" in err.remote_traceback
    assert err.execution_id and err.actor_id == ex.actor_id


def test_map_yields_in_input_order(ex: AbacoExecutor) -> None:
    def late_for_small(x: int) -> int:
        time.sleep(0.05 * (6 - x))  # the first inputs finish last
        return x * 10

    assert list(ex.map(late_for_small, range(6))) == [0, 10, 20, 30, 40, 50]
    assert list(ex.map(pow, [2, 3], [5, 2])) == [32, 9]
    with pytest.raises(RemoteFunctionError, match="ZeroDivisionError"):
        list(ex.map(fails_on_five, range(7)))


def test_map_timeout_raises_and_stops_what_it_sent(client: Actors, ex: AbacoExecutor) -> None:
    t0 = time.monotonic()
    results = ex.map(nap, [0.0, 30.0, 30.0, 30.0, 30.0, 30.0], timeout=3)
    assert next(results) == 0.0
    with pytest.raises(cf.TimeoutError):
        next(results)
    assert time.monotonic() - t0 < 10
    # the calls sent are force-quit, the ones still queued here cancelled: nothing is left on the actor
    assert wait_until(lambda: _running(client, ex.actor_id) == [], timeout=20)


def test_as_completed_wait_and_run_in_executor(ex: AbacoExecutor) -> None:
    futures = {ex.submit(nap, s): s for s in (1.5, 0.0, 0.5)}
    finished = [futures[f] for f in cf.as_completed(futures, timeout=60)]
    assert sorted(finished) == [0.0, 0.5, 1.5] and finished[0] != 1.5
    done, not_done = cf.wait([ex.submit(square, 3), ex.submit(nap, 20.0)], timeout=8,
                             return_when=cf.FIRST_COMPLETED)
    assert [f.result() for f in done] == [9] and len(not_done) == 1
    assert ex.force_quit(not_done.pop())

    async def main() -> list[int]:
        loop = asyncio.get_running_loop()
        return list(await asyncio.gather(*(loop.run_in_executor(ex, square, x) for x in range(4))))

    assert asyncio.run(main()) == [0, 1, 4, 9]


def test_cancelling_an_asyncio_task_force_quits_its_call(client: Actors) -> None:
    """``run_in_executor`` chains the asyncio future to the executor's: cancelling the task cancels the call,
    which force-quits its execution at Abaco."""
    actor = client.add({"image": "abacosamples/py3_func", "name": "swan-fn-executor-asyncio"})
    assert actor.id

    async def main(ex: AbacoExecutor) -> bool:
        call = asyncio.get_running_loop().run_in_executor(ex, nap, 30.0)
        while _statuses(client, ex.actor_id) != ["RUNNING"]:
            await asyncio.sleep(0.05)
        call.cancel()
        await asyncio.sleep(0)
        return call.cancelled()

    with client.executor(max_workers=1, actor=actor.id, timeout=60) as one:
        assert asyncio.run(asyncio.wait_for(main(one), timeout=20))
        assert wait_until(lambda: _statuses(client, one.actor_id) == ["COMPLETE"], timeout=10)
    assert _exit_codes(client, str(actor.id)) == {"137"}


def test_cancel_of_a_queued_call_and_of_a_running_one(client: Actors) -> None:
    """``cancel()`` on a call running at Abaco returns True and force-quits its execution: the future stays
    pending while the call is remote (it can still be cancelled), so the standard contract holds."""
    actor = client.add({"image": "abacosamples/py3_func", "name": "swan-fn-executor-cancel"})
    assert actor.id
    with client.executor(max_workers=1, actor=actor.id, timeout=60) as one:
        running = one.submit(nap, 30.0)
        queued = one.submit(square, 4)
        assert wait_until(lambda: _statuses(client, one.actor_id) == ["RUNNING"], timeout=10)
        assert not running.running() and not running.done()  # pending while remote: it can be cancelled
        assert queued.cancel() and queued.cancelled()  # never sent
        assert running.cancel() and running.cancelled()
        assert cf.wait([running, queued], timeout=1).not_done == set()  # waiters see the cancel at once
        with pytest.raises(cf.CancelledError):
            running.result(timeout=1)
        assert wait_until(lambda: _statuses(client, one.actor_id) == ["COMPLETE"], timeout=20)
        [execution] = client.list_executions(one.actor_id).executions
        assert str(client.get_execution(one.actor_id, str(execution.id)).exit_code) == "137"  # force-quit
        assert not one.force_quit(running)  # already cancelled: nothing left to stop
    time.sleep(1.0)
    assert _statuses(client, str(actor.id)) == ["COMPLETE"]  # nothing ran later


def test_shutdown_with_cancel_futures_force_quits_the_sent_calls(client: Actors) -> None:
    ex = client.executor(max_workers=2, workers=2, timeout=60)
    before = {str(e.id) for e in client.list_executions(ex.actor_id).executions}
    futures = [ex.submit(nap, 30.0) for _ in range(5)]
    assert wait_until(lambda: len(_running(client, ex.actor_id)) == 2, timeout=10)
    t0 = time.monotonic()
    ex.shutdown(wait=True, cancel_futures=True)
    assert time.monotonic() - t0 < 15
    assert all(f.cancelled() for f in futures)  # sent or not, every call still pending was cancelled
    sent = [e for e in client.list_executions(ex.actor_id).executions if str(e.id) not in before]
    assert len(sent) == 2  # the ones queued here never went
    assert wait_until(lambda: _running(client, ex.actor_id) == [], timeout=20)
    assert all(str(client.get_execution(ex.actor_id, str(e.id)).exit_code) == "137" for e in sent)
    with pytest.raises(RuntimeError):
        ex.submit(square, 2)


def test_a_call_over_its_timeout_is_force_quit(client: Actors) -> None:
    with client.executor(max_workers=2, timeout=2) as short:
        future = short.submit(nap, 60.0)
        with pytest.raises(RequestTimeoutError) as caught:
            future.result(timeout=30)
        assert "did not finish in time" in caught.value.message
        assert wait_until(lambda: _running(client, short.actor_id) == [], timeout=20)


def test_bad_input_is_refused_before_sending(client: Actors, ex: AbacoExecutor) -> None:
    count = len(client.list_executions(ex.actor_id).executions)
    small = client.executor(max_workers=1, max_message_bytes=4096)
    with pytest.raises(ValidationError, match=r"payload is [\d,]+ bytes, over the message size limit of 4,096"):
        small.submit(square, "x" * 10_000)
    with pytest.raises(ValidationError, match="cannot be pickled"):
        small.submit(square, iter_lock())
    small.shutdown()
    with pytest.raises(ValidationError, match="max_workers"):
        client.executor(max_workers=0)
    with pytest.raises(ValidationError, match="timeout"):
        client.executor(timeout=-1)
    assert len(client.list_executions(ex.actor_id).executions) == count


def iter_lock() -> Any:
    import threading

    return threading.Lock()


def test_a_call_stopped_while_queued_at_abaco_does_not_run_later(client: Actors) -> None:
    """A sent call whose execution still waits in the mailbox (SUBMITTED) cannot be force-quit yet: cancelling it
    waits for the execution to start and stops it then, instead of letting it run later."""
    actor = client.add({"image": "abacosamples/py3_func", "name": "swan-fn-executor-one-worker"})
    assert actor.id
    with client.executor(max_workers=2, actor=actor.id, timeout=60) as two:
        first, second = two.submit(nap, 30.0), two.submit(nap, 30.0)
        assert wait_until(lambda: sorted(_statuses(client, two.actor_id)) == ["RUNNING", "SUBMITTED"], timeout=10)
        assert second.cancel()  # SUBMITTED behind the first on the one worker
        assert two.force_quit(first)  # the same as cancel()
        assert first.cancelled() and second.cancelled()
    # the block waited for both force-quits (Abaco marks a force-quit execution COMPLETE a moment later)
    assert wait_until(lambda: _statuses(client, str(actor.id)) == ["COMPLETE", "COMPLETE"], timeout=10)
    assert _exit_codes(client, str(actor.id)) == {"137"}  # both force-quit


def _interrupt_main_in(seconds: float) -> threading.Timer:
    """A real SIGINT to this (the main) thread after ``seconds``, as a kernel interrupt delivers it."""
    main = threading.get_ident()
    timer = threading.Timer(seconds, lambda: signal.pthread_kill(main, signal.SIGINT))
    timer.start()
    return timer


def test_an_interrupt_during_a_bare_result_stops_the_executors_calls(client: Actors) -> None:
    """Ctrl-C while ``future.result()`` waits cancels the calls still queued at the executor, force-quits the
    ones sent (running or waiting in the mailbox), and re-raises."""
    actor = client.add({"image": "abacosamples/py3_func", "name": "swan-fn-executor-interrupt"})
    assert actor.id
    with client.executor(max_workers=2, actor=actor.id, timeout=60) as two:
        futures = [two.submit(nap, 30.0) for _ in range(4)]  # two sent (one runs, one waits), two queued here
        assert wait_until(lambda: sorted(_statuses(client, two.actor_id)) == ["RUNNING", "SUBMITTED"], timeout=10)
        timer = _interrupt_main_in(0.5)
        try:
            with pytest.raises(KeyboardInterrupt):
                futures[0].result()
        finally:
            timer.cancel()
        assert all(f.cancelled() for f in futures)
        t0 = time.monotonic()
    assert time.monotonic() - t0 < 15
    # the two queued here never went
    assert wait_until(lambda: _statuses(client, str(actor.id)) == ["COMPLETE", "COMPLETE"], timeout=10)
    assert _exit_codes(client, str(actor.id)) == {"137"}


def test_an_interrupt_anywhere_in_the_with_block_stops_the_calls(client: Actors) -> None:
    """``cf.wait`` and ``cf.as_completed`` are the standard library's: an interrupt there reaches the executor
    through its ``with`` block, whose exit then cancels and force-quits instead of waiting for the calls."""
    actor = client.add({"image": "abacosamples/py3_func", "name": "swan-fn-executor-interrupt-wait"})
    assert actor.id
    for waiting in (lambda fs: cf.wait(fs), lambda fs: list(cf.as_completed(fs))):
        timer = _interrupt_main_in(1.0)
        t0 = time.monotonic()
        try:
            with pytest.raises(KeyboardInterrupt), client.executor(max_workers=2, actor=actor.id, timeout=60) as ex:
                futures = [ex.submit(nap, 30.0) for _ in range(3)]
                waiting(futures)
        finally:
            timer.cancel()
        assert time.monotonic() - t0 < 20
        assert all(f.cancelled() for f in futures)
        assert wait_until(lambda: _running(client, str(actor.id)) == [], timeout=10)
    assert _exit_codes(client, str(actor.id)) == {"137"}
