"""The joblib backend ``"abaco"`` against the sandbox: Parallel with auto-batching, remote errors, payloads
over the limit refused before sending, and scikit-learn's GridSearchCV giving the local run's answer with
every fit an execution."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import Any

import cloudpickle
import joblib
import numpy as np
import pytest

import swan_jupyter.joblib as abaco_joblib  # registers the backend
from swan_jupyter.actors import Actors
from swan_jupyter.errors import RemoteError, RemoteFunctionError, ValidationError
from tests.helpers import wait_until

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # executions cannot import the tests


@pytest.fixture(scope="module")
def client(sandbox: dict[str, Any]) -> Iterator[Actors]:
    abaco = sandbox["abaco"]
    c = Actors(abaco["url"], token=abaco["users"]["admin"]["token"], flavor="v3")
    abaco_joblib.register(c, workers=4, timeout=120)
    yield c
    abaco_joblib.register()
    for actor in c.list():
        if (actor.name or "").startswith("swan-fn-executor") and actor.id:
            with contextlib.suppress(RemoteError):
                c.delete(actor.id)
    c.close()


def _actor(client: Actors) -> str:
    ex = client.executor(max_workers=1)
    ex.shutdown()
    return ex.actor_id


def _count(client: Actors, actor_id: str) -> int:
    return len(client.list_executions(actor_id).executions)


def _active(client: Actors, actor_id: str) -> list[str]:
    return [str(e.id) for e in client.list_executions(actor_id).executions if e.status in ("RUNNING", "SUBMITTED")]


def add_one(x: int) -> int:
    return x + 1


def fails_on_seven(x: int) -> int:
    if x == 7:
        raise KeyError(f"no key {x}")
    time.sleep(0.2)
    return x


def test_parallel_with_auto_batching(client: Actors) -> None:
    actor_id = _actor(client)
    before = _count(client, actor_id)
    with joblib.parallel_config(backend="abaco", n_jobs=8):  # twice the workers: a batch waits its turn
        out = joblib.Parallel()(joblib.delayed(add_one)(x) for x in range(1000))
    assert out == list(range(1, 1001))
    sent = _count(client, actor_id) - before
    # a round trip costs far more than a task: batches grow while growing them cuts the time per task (joblib's
    # own rule alone took 512 executions here: with the queueing, a batch of two already lasted its 1 s
    # minimum); joblib still sends the last tasks in batches of len // (10 * n_jobs)
    assert 4 <= sent <= 250, f"{sent} executions for 1,000 tiny tasks: auto-batching did not group them"
    with joblib.parallel_config(backend="abaco", n_jobs=2, batch_size=5):
        assert joblib.Parallel()(joblib.delayed(add_one)(x) for x in range(20)) == list(range(1, 21))
    # a fixed batch size (joblib still splits the last tasks finer to spread them over the workers)
    assert _count(client, actor_id) - before - sent <= 10


def test_a_remote_error_re_raises_with_its_traceback_and_aborts_the_rest(client: Actors) -> None:
    actor_id = _actor(client)
    with joblib.parallel_config(backend="abaco", n_jobs=2, batch_size=1), \
            pytest.raises(RemoteFunctionError) as caught:
        joblib.Parallel()(joblib.delayed(fails_on_seven)(x) for x in range(40))
    err = caught.value
    assert err.remote_type == "KeyError" and "no key 7" in err.remote_message
    assert "in fails_on_seven" in err.remote_traceback
    assert wait_until(lambda: _active(client, actor_id) == [], timeout=20)


def test_a_batch_over_the_message_size_limit_is_refused_before_sending(client: Actors) -> None:
    actor_id = _actor(client)
    before = _count(client, actor_id)
    big = np.zeros(20_000)
    with joblib.parallel_config(backend="abaco", n_jobs=2, max_message_bytes=50_000), \
            pytest.raises(ValidationError) as caught:
        joblib.Parallel()(joblib.delayed(np.sum)(big) for _ in range(3))
    text = str(caught.value)
    assert "over the message size limit of 50,000 bytes" in text and "joblib batch" in text
    assert "pass a reference" in caught.value.hint
    assert _count(client, actor_id) == before


def test_grid_search_on_abaco_matches_the_local_run(client: Actors) -> None:
    from sklearn.datasets import load_iris
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    X, y = load_iris(return_X_y=True)
    grid = {"C": [0.1, 1.0, 10.0], "kernel": ["linear", "rbf"]}
    local = GridSearchCV(SVC(), grid, cv=3, n_jobs=1).fit(X, y)
    actor_id = _actor(client)
    before = _count(client, actor_id)
    with joblib.parallel_config(backend="abaco", n_jobs=4, batch_size=1):
        remote = GridSearchCV(SVC(), grid, cv=3, n_jobs=4).fit(X, y)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"])
    assert remote.cv_results_["params"] == local.cv_results_["params"]
    fits = len(local.cv_results_["params"]) * 3
    from swan_jupyter.frames.actors import execution_metrics

    metrics = execution_metrics(client, [actor_id], progress_after=-1)
    assert _count(client, actor_id) - before == fits  # every fit is one execution ...
    assert len(metrics) >= fits and (metrics["status"] == "COMPLETE").sum() >= fits  # ... seen in the metrics


def test_parallelism_and_requirements_are_checked() -> None:
    backend = abaco_joblib.AbacoBackend()
    assert backend.effective_n_jobs(None) == abaco_joblib.DEFAULT_N_JOBS
    assert backend.effective_n_jobs(3) == 3
    assert backend.effective_n_jobs(-1) == abaco_joblib.DEFAULT_N_JOBS  # before an actor is known
    with pytest.raises(ValidationError, match="n_jobs=0"):
        backend.effective_n_jobs(0)
    with pytest.raises(ValidationError, match="sharedmem"):
        backend.configure(n_jobs=2, require="sharedmem")
    with pytest.raises(ValidationError, match="batch_size"):
        abaco_joblib.AbacoBackend(batch_size=0)
    nested, _ = backend.get_nested_backend()  # a Parallel inside an execution does not fan out again
    assert isinstance(nested, joblib.parallel.SequentialBackend)
