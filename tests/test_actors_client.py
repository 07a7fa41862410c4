"""The Abaco client against the sandbox's emulator over loopback, for both flavors (v2 camel, v3 snake).

Every client operation, its error paths (unknown actor, insufficient permission, exhausted nonce, stateless
state, bad JSON, oversize binary, reserved environment names, lost synchronous answer) and the dtypes of every
DataFrame built from real answers.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest

from swan_jupyter.actors import Actor, Actors, Execution, ExecutionInfo, Worker
from swan_jupyter.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RemoteError,
    UnknownOutcomeError,
    ValidationError,
)
from swan_jupyter.frames import actors as frames

UTC_DTYPE = "datetime64[ns, UTC]"


def _client(abaco_sandbox: dict[str, Any], user: str, flavor: str, **options: Any) -> Actors:
    abaco = abaco_sandbox["abaco"]
    return Actors(abaco["url"], token=abaco["users"][user]["token"], flavor=flavor,  # type: ignore[arg-type]
                  tenant=abaco.get("tenant"), **options)


@pytest.fixture(params=["v2", "v3"])
def flavor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def client(abaco_sandbox: dict[str, Any], flavor: str) -> Iterator[Actors]:
    c = _client(abaco_sandbox, "user", flavor)
    yield c
    c.close()


@pytest.fixture
def other(abaco_sandbox: dict[str, Any], flavor: str) -> Iterator[Actors]:
    """A second ordinary user (no permission on the first user's actors)."""
    c = _client(abaco_sandbox, "user2", flavor)
    yield c
    c.close()


@pytest.fixture
def admin(abaco_sandbox: dict[str, Any], flavor: str) -> Iterator[Actors]:
    c = _client(abaco_sandbox, "admin", flavor)
    yield c
    c.close()


@pytest.fixture
def actor(client: Actors) -> Iterator[Actor]:
    created = client.add({"image": "abacosamples/test", "name": f"t-{client.flavor}",
                          "default_environment": {"GREETING": "hi"}})
    assert created.id
    yield created
    with contextlib.suppress(RemoteError):
        client.delete(created.id)


def _id(actor: Actor) -> str:
    assert actor.id is not None
    return actor.id


# -- actors ------------------------------------------------------------------------------------------------------


def test_actor_lifecycle(client: Actors, actor: Actor) -> None:
    aid = _id(actor)
    got = client.get(aid)
    assert got.image == "abacosamples/test" and got.default_environment == {"GREETING": "hi"}
    assert got.owner and got.stateless is True and isinstance(got.create_time, datetime)
    assert got.create_time.tzinfo is not None and got.status in frames.ACTOR_STATUSES
    assert aid in {a.id for a in client.list()}
    assert len(client.list(limit=1)) == 1
    updated = client.update(aid, description="changed")
    # The PUT replaced the whole description: the fields we did not name survived.
    assert updated.description == "changed" and updated.default_environment == {"GREETING": "hi"}
    assert updated.name == f"t-{client.flavor}" and client.get(aid).description == "changed"
    updated = client.update(aid, {"defaultEnvironment": {"A": "1"}})
    assert updated.default_environment == {"A": "1"} and updated.description == "changed"
    client.delete(aid)
    with pytest.raises((NotFoundError, PermissionDeniedError)):
        client.get(aid)


def test_unknown_actor_is_not_found(client: Actors) -> None:
    with pytest.raises(NotFoundError) as info:
        client.get("no-such-alias-anywhere")
    assert info.value.status == 404 and "no-such-alias-anywhere" in info.value.server_message


def test_missing_image_is_refused_by_the_server_too(client: Actors) -> None:
    with pytest.raises(RemoteError) as info:
        client.transport.post("", json={"name": "no image"})
    assert info.value.status == 400 and "image" in info.value.server_message


# -- messages, executions, logs, results ---------------------------------------------------------------------------


def test_messages_executions_logs_and_results(client: Actors, actor: Actor) -> None:
    aid = _id(actor)
    before = datetime.now(UTC)
    ex = client.send_message(aid, {"n": 3}, environment={"MODE": "fast"})
    assert isinstance(ex, Execution) and ex.actor_id == aid and ex.id and ex.receipt is not None
    assert ex.wait(timeout=30) is ex and ex.done and ex.info is not None
    assert ex.info.status == "COMPLETE" and ex.status == "COMPLETE"
    logs = ex.logs()
    assert "MODE" in logs and "GREETING" in logs  # the test image prints its environment
    assert "Abaco execution" in repr(ex) and ex.id in ex._repr_html_() and "COMPLETE" in ex._repr_html_()
    info = client.get_execution(aid, ex.id)
    assert isinstance(info, ExecutionInfo) and info.id == ex.id and info.actor_id == aid
    assert info.message_received_time is not None and info.message_received_time >= before.replace(
        microsecond=0) - pd.Timedelta(seconds=2)
    assert info.finish_time is not None and info.worker_id and isinstance(info.runtime, int)
    summary = client.list_executions(aid)
    assert ex.id in {e.id for e in summary.executions} and (summary.total_executions or 0) >= 1
    assert ex.id in {e.id for e in client.executions_since(aid, before)}
    text_ex = client.send_message(aid, "plain text").wait(timeout=30)
    assert "plain text" in text_ex.logs()
    assert text_ex.results() == [] and client.get_result(aid, text_ex.id) is None
    bex = client.send_binary(aid, b"\x00\x01binary", environment={"KIND": "bin"})
    bex.wait(timeout=30)
    assert bex.info is not None and bex.info.status == "COMPLETE"
    assert client.message_count(aid) == 0
    client.purge_messages(aid)


def test_results_queue_is_drained(client: Actors) -> None:
    import cloudpickle

    actor = client.add({"image": "abacosamples/py3_func"})
    try:
        aid = _id(actor)

        def f(a: int, b: int, c: int = 1) -> int:
            return a + b + c

        payload = cloudpickle.dumps({"func": f, "args": [5, 7], "kwargs": {"c": 5}})
        ex = client.send_binary(aid, payload).wait(timeout=30)
        items = ex.results()
        assert len(items) >= 1 and cloudpickle.loads(items[0]) == 17
        assert ex.results() == []  # drained
    finally:
        client.delete(_id(actor))


def test_synchronous_execution(client: Actors, actor: Actor) -> None:
    answer = client.run_sync(_id(actor), "sync please", timeout=30)
    assert isinstance(answer, str) and "sync please" in answer


def test_lost_synchronous_answer_names_how_to_check(client: Actors) -> None:
    actor = client.add({"image": "abacosamples/sleep_loop"})
    aid = _id(actor)
    try:
        with pytest.raises(UnknownOutcomeError) as info:
            client.run_sync(aid, {"iterations": 40, "sleep": 0.25}, timeout=0.5)
        assert "executions_since" in info.value.check and "message_count" in info.value.check
        # The check the error names works: the execution is there, still running; force-quit it.
        running = client.executions_since(aid, datetime.now(UTC) - pd.Timedelta(minutes=1))
        assert len(running) == 1
        execution = client.execution(aid, str(running[0].id))
        deadline = time.monotonic() + 15
        while execution.status != "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.05)
        client.force_quit(aid, execution.id)
        execution.wait(timeout=30)
        assert execution.info is not None and execution.info.status == "COMPLETE"
        with pytest.raises(RemoteError) as quit_again:
            client.force_quit(aid, execution.id)
        assert quit_again.value.status == 400
    finally:
        client.delete(aid)


def test_message_refusals(client: Actors, actor: Actor) -> None:
    aid = _id(actor)
    with pytest.raises(ValidationError):
        client.send_message(aid, "x", {"_abaco_synchronous": "true"})
    with pytest.raises(ValidationError):
        client.send_message(aid, "x", {"message": "other"})
    with pytest.raises(ValidationError):
        client.send_binary(aid, b"\0" * (client.max_binary_bytes + 1))
    # The server's own checks, reached without the client's: bad JSON, and an oversize binary message.
    with pytest.raises(RemoteError) as bad_json:
        client.transport.post(f"/{aid}/messages", content=b"{not json",
                              headers={"Content-Type": "application/json"})
    assert bad_json.value.status == 400 and "could not be serialized" in bad_json.value.server_message
    with pytest.raises(RemoteError):
        client.get_execution(aid, "noSuchExecution")


# -- permissions, nonces, state ------------------------------------------------------------------------------------


def test_other_user_is_denied_until_granted(abaco_sandbox: dict[str, Any], client: Actors, other: Actors,
                                            actor: Actor) -> None:
    aid = _id(actor)
    with pytest.raises(PermissionDeniedError):
        other.get(aid)
    username = abaco_sandbox["abaco"]["users"]["user2"]["username"]
    perms = client.grant(aid, username, "read")
    assert perms.get(username) == "READ"
    assert other.get(aid).id == aid
    with pytest.raises(PermissionDeniedError):
        other.send_message(aid, "not allowed")
    with pytest.raises(PermissionDeniedError):
        other.update(aid, description="not allowed")
    table = frames.permissions_frame(client.get_permissions(aid))
    assert list(table.columns) == ["user", "level"] and str(table["level"].dtype) == "category"
    assert set(table["user"]) >= {username} and len(table) >= 2
    client.grant(aid, username, "NONE")


def test_nonce_uses_run_out(client: Actors, actor: Actor) -> None:
    aid = _id(actor)
    nonce = client.add_nonce(aid, level="READ", max_uses=2, description="two reads")
    assert nonce.id and nonce.max_uses == 2 and nonce.level == "READ" and nonce.remaining_uses == 2
    assert nonce.last_use_time is None  # the string "None" on the wire
    by_nonce = client.with_nonce(nonce.id)
    assert by_nonce.get(aid).id == aid
    with pytest.raises(PermissionDeniedError):
        by_nonce.send_message(aid, "needs EXECUTE")  # refused by level: uses nothing (Nonce.check_and_redeem_nonce)
    assert by_nonce.get(aid).id == aid  # the second and last use
    with pytest.raises((AuthenticationError, PermissionDeniedError)) as info:
        by_nonce.get(aid)
    assert "No remaining uses" in info.value.server_message
    again = client.get_nonce(aid, nonce.id)
    assert again.remaining_uses == 0 and again.current_uses == 2 and again.last_use_time is not None
    listed = client.list_nonces(aid)
    assert nonce.id in {n.id for n in listed}
    df = frames.nonces_frame(listed)
    assert nonce.id not in df.to_string() and nonce.id not in df.to_html()  # a credential: masked when shown
    assert df["id"].str.startswith("*****").all() and nonce.id[-4:] in set(df["id"].str[-4:])
    assert nonce.id in set(frames.nonces_frame(listed, reveal=True)["id"])
    assert str(df["max_uses"].dtype) == "Int64" and str(df["create_time"].dtype) == UTC_DTYPE
    assert str(df["level"].dtype) == "category"
    client.delete_nonce(aid, nonce.id)
    with pytest.raises(RemoteError):
        client.get_nonce(aid, nonce.id)


def test_state_only_for_stateful_actors(client: Actors, actor: Actor) -> None:
    with pytest.raises(NotFoundError) as info:
        client.set_state(_id(actor), {"count": 1})
    assert "stateless" in info.value.server_message
    stateful = client.add({"image": "abacosamples/test", "stateless": False})
    sid = _id(stateful)
    try:
        returned = client.set_state(sid, {"count": 1})
        assert isinstance(returned, Actor) and returned.id == sid
        assert client.get_state(sid) == {"count": 1}
        with pytest.raises(ValidationError):
            client.set_state(sid, {})
        with pytest.raises(RemoteError) as bad:
            client.transport.post(f"/{sid}/state", content=b"{bad",
                                  headers={"Content-Type": "application/json"})
        assert bad.value.status == 400
    finally:
        client.delete(sid)


# -- workers -------------------------------------------------------------------------------------------------------


def test_workers_need_admin(client: Actors, admin: Actors, actor: Actor) -> None:
    aid = _id(actor)
    with pytest.raises(PermissionDeniedError):
        client.add_workers(aid, 2)
    admin.add_workers(aid, 2)
    deadline = time.monotonic() + 15
    workers = client.list_workers(aid)
    while len(workers) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
        workers = client.list_workers(aid)
    assert len(workers) >= 2 and all(isinstance(w, Worker) and w.id for w in workers)
    one = workers[0]
    assert one.id is not None and client.get_worker(aid, one.id).id == one.id
    df = frames.workers_frame(workers)
    assert str(df["status"].dtype) == "category" and str(df["create_time"].dtype) == UTC_DTYPE
    assert str(df["last_execution_time"].dtype) == UTC_DTYPE
    client.delete_worker(aid, one.id)
    with pytest.raises(NotFoundError):
        client.get_worker(aid, "noSuchWorker")


# -- aliases and search -------------------------------------------------------------------------------------------


def test_aliases(client: Actors, actor: Actor) -> None:
    aid = _id(actor)
    name = f"alias-{client.flavor}-{aid[:6].lower()}"
    created = client.add_alias(name, aid)
    assert created.alias == name and created.actor_id == aid
    with pytest.raises(RemoteError, match="already exists"):
        client.add_alias(name, aid)  # duplicate
    try:
        assert client.get(name).id == aid
        assert client.get_alias(name).actor_id == aid
        assert name in {a.alias for a in client.list_aliases()}
        ex = client.send_message(name, "via alias").wait(timeout=30)
        assert ex.info is not None and ex.info.status == "COMPLETE"
        second = client.add({"image": "abacosamples/test"})
        try:
            moved = client.update_alias(name, _id(second))
            assert moved.actor_id == second.id and client.get(name).id == second.id
        finally:
            client.delete(_id(second))
        df = frames.aliases_frame(client.list_aliases())
        assert list(df.columns) == ["alias", "actor_id", "owner"] and str(df["alias"].dtype) == "string"
    finally:
        # deleting the actor an alias points to removes the alias too, so it may already be gone
        with contextlib.suppress(NotFoundError):
            client.delete_alias(name)
    with pytest.raises(NotFoundError):
        client.get_alias(name)


def test_search(client: Actors, actor: Actor) -> None:
    aid = _id(actor)
    client.send_message(aid, "searchable").wait(timeout=30)
    found = client.search("actors", {"name": actor.name or ""}, limit=10)
    assert any(item.id == aid for item in found) and isinstance(found[0], Actor)
    assert found.total_count is not None and found.total_count >= 1
    page = client.search("executions", {"actor_id": aid, "status": "COMPLETE"}, limit=1, skip=0)
    assert len(page) == 1 and isinstance(page[0], ExecutionInfo) and page[0].actor_id == aid
    assert page[0].cpu is not None and page[0].message_received_time is not None
    logs = client.search("logs", {"search": "searchable"}, limit=5)
    assert logs.total_count is not None and logs.total_count >= 1
    assert client.search("workers", limit=5).total_count is not None


# -- frames ---------------------------------------------------------------------------------------------------------


def test_frames_round_trip_dtypes(client: Actors, actor: Actor, capsys: pytest.CaptureFixture[str]) -> None:
    aid = _id(actor)
    for i in range(3):
        client.send_message(aid, f"m{i}").wait(timeout=30)
    df = frames.actors_frame(client.list())
    assert list(df.columns) == [c.name for c in frames.ACTOR_COLUMNS]
    assert str(df["status"].dtype) == "category" and str(df["create_time"].dtype) == UTC_DTYPE
    assert str(df["revision"].dtype) == "Int64" and str(df["stateless"].dtype) == "boolean"
    assert str(df["id"].dtype) == "string"
    ex = frames.executions_frame(client.list_executions(aid).executions, actor_id=aid)
    assert len(ex) == 3 and str(ex["start_time"].dtype) == UTC_DTYPE and ex["start_time"].notna().all()
    assert str(ex["status"].dtype) == "category" and pd.api.types.is_timedelta64_dtype(ex["queue_wait"])
    assert list(ex.columns) == [c.name for c in frames.EXECUTION_COLUMNS] and "1 s" in ex.attrs["time_resolution"]
    for method in ("search", "details"):
        with pytest.warns(RuntimeWarning):
            metrics = frames.execution_metrics(client, [aid, "no-such-alias-anywhere"], max_workers=4,
                                               method=method)
        assert metrics.attrs["method"] == method
        assert list(metrics.columns) == [c.name for c in frames.METRIC_COLUMNS]
        assert "no-such-alias-anywhere" in metrics.attrs["failures"]
        assert len(metrics) == 3 and (metrics["actor_id"] == aid).all()
        assert {str(metrics[c].dtype) for c in ("cpu_ns", "io_bytes", "runtime_reported_s", "exit_code")} == {
            "Int64"}
        assert (metrics["actor_name"] == actor.name).all() and (metrics["image"] == actor.image).all()
        assert str(metrics["status"].dtype) == "category" and (metrics["status"] == "COMPLETE").all()
        for col in ("message_received_time", "start_time", "finish_time"):
            assert str(metrics[col].dtype) == UTC_DTYPE and metrics[col].notna().all()
        assert pd.api.types.is_timedelta64_dtype(metrics["queue_wait"]) and (metrics["queue_wait"] >= pd.Timedelta(
            0)).all()
        assert metrics["worker_id"].notna().all() and (metrics["exit_code"] == 0).all()
    by_filter = frames.execution_metrics(client, {"name": actor.name or ""})
    assert aid in set(by_filter["actor_id"])
    by_predicate = frames.execution_metrics(client, lambda a: a.id == aid)
    assert set(by_predicate["actor_id"]) == {aid} and len(by_predicate) == 3
    everything = frames.execution_metrics(client)
    assert everything.attrs["method"] == "search" and len(everything) >= 3
    capsys.readouterr()
    frames.execution_metrics(client, [aid], method="details", max_workers=1, progress_after=-1)
    assert "executions" not in capsys.readouterr().err  # no bar when switched off
    frames.execution_metrics(client, [aid], method="details", max_workers=1, progress_after=0)
    assert "executions" in capsys.readouterr().err  # tqdm's bar (text outside a notebook)
