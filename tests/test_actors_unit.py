"""The Abaco client's pure parts, and its wire format checked against a scripted loopback server.

Integration against the sandbox emulator is in test_actors_client.py / test_actors_magics.py /
test_actors_agave.py; here: case conversion, Abaco's time quirks, models, message validation, frames built from
literal server answers, and what the client puts on the wire for v2 and v3 (headers, case, query parameters),
including a lost POST answer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
from IPython.core.error import UsageError

from swan_jupyter.actors import Actor, Actors, ExecutionInfo, ExecutionsSummary, Nonce
from swan_jupyter.actors._cases import camel_keys, snake_keys, to_camel, to_snake
from swan_jupyter.actors.messages import MAX_BINARY_BYTES, check_environment, message_body
from swan_jupyter.actors.models import parse_time
from swan_jupyter.errors import UnknownOutcomeError, ValidationError
from swan_jupyter.frames import actors as frames
from swan_jupyter.magics.actors import message_from_body, parse_env
from tests.helpers import Scripted, ScriptedServer


def ok(result: Any) -> Scripted:
    return Scripted(200, {"message": "ok", "result": result, "status": "success", "version": "test"})


# -- cases, times, models ---------------------------------------------------------------------------------------


def test_case_conversion_round_trips() -> None:
    assert to_snake("defaultEnvironment") == "default_environment"
    assert to_camel("default_environment") == "defaultEnvironment"
    assert to_snake("_links") == "_links" and to_camel("_links") == "_links"
    assert snake_keys({"maxUses": 3, "id": "x"}) == {"max_uses": 3, "id": "x"}
    assert camel_keys({"actor_id": "a", "alias": "b"}) == {"actorId": "a", "alias": "b"}
    for name in ("message_received_time", "use_container_uid", "max_cpus", "last_health_check_time"):
        assert to_snake(to_camel(name)) == name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-05-01T14:45:41.591Z", datetime(2020, 5, 1, 14, 45, 41, 591000, tzinfo=UTC)),
        ("2020-05-01T14:45:06.5Z00", datetime(2020, 5, 1, 14, 45, 6, 500000, tzinfo=UTC)),
        ("2Z-01-10T10:00:00.123Z", datetime(2000, 1, 10, 10, 0, 0, 123000, tzinfo=UTC)),
        ("2020-05-01T14:45:41", datetime(2020, 5, 1, 14, 45, 41, tzinfo=UTC)),
        ("2021-01-02T03:04:05Z", datetime(2021, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2021-01-02T05:04:05+02:00", datetime(2021, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("Tue, 22 Nov 2026 10:50:38 GMT", datetime(2026, 11, 22, 10, 50, 38, tzinfo=UTC)),
        ("None", None),
        ("garbage", None),
        (None, None),
    ],
)
def test_abaco_time_formats(text: str | None, expected: datetime | None) -> None:
    assert parse_time(text) == expected


def test_models_read_camel_keep_unknown_and_missing_is_none() -> None:
    actor = Actor.from_wire({"id": "A", "defaultEnvironment": {"k": "v"}, "createTime": "2021-01-02T03:04:05.123Z",
                             "brandNew": 1})
    assert actor.default_environment == {"k": "v"} and actor["defaultEnvironment"] == {"k": "v"}
    assert actor.defaultEnvironment == {"k": "v"} and actor.brand_new == 1 and actor.brandNew == 1
    assert actor.create_time == datetime(2021, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
    assert actor.extra == {"brand_new": 1} and actor["brandNew"] == 1
    assert actor.max_workers is None and actor.get("nothing") is None and actor["maxWorkers"] is None
    assert "id" in actor and "nothing" not in actor and dict(actor)["id"] == "A"
    with pytest.raises(KeyError):
        actor["nothing"]
    with pytest.raises(AttributeError):
        _ = actor.nothing
    ex = ExecutionInfo.from_wire({"id": "E", "status": "SUBMITTED"})
    assert ex.worker_id is None and ex.exit_code is None and ex.finish_time is None
    summary = ExecutionsSummary.from_wire({"actorId": "A", "totalExecutions": 1, "executions": [
        {"id": "E", "status": "COMPLETE", "startTime": "Tue, 22 Nov 2026 10:50:38 GMT", "finishTime": None}]})
    assert summary.total_executions == 1 and summary.executions[0].start_time is not None
    assert summary["executions"][0]["id"] == "E"
    assert "Actor" in repr(actor) and "<table" in actor._repr_html_()


def test_nonce_id_is_masked_in_reprs() -> None:
    nonce = Nonce.from_wire({"id": "DEV_secretNonce123", "maxUses": 3})
    assert "secretNonce123" not in repr(nonce) and "secretNonce123" not in nonce._repr_html_()
    assert nonce.id == "DEV_secretNonce123" and nonce.max_uses == 3


# -- message validation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["message", "x-nonce", "_abaco_synchronous", "_abaco_actor_id", "MESSAGE", "MSG", "_actor_configs",
             "1abc", "with space", "a=b", ""],
)
def test_bad_environment_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        check_environment({name: "1"})


def test_environment_values_become_text() -> None:
    assert check_environment({"MODE": "fast", "N": 3, "L": [1, 2]}) == {"MODE": "fast", "N": "3", "L": "[1, 2]"}
    assert check_environment(None) == {}


def test_message_bodies() -> None:
    assert message_body({"n": 1}) == {"n": 1}
    assert message_body([1, 2]) == [1, 2]
    assert message_body("hi") == {"message": "hi"}
    assert message_body(5) == {"message": "5"}
    bad: Any
    for bad in ({}, [], b"bytes"):
        with pytest.raises(ValidationError):
            message_body(bad)


def test_validation_happens_before_any_request() -> None:
    with ScriptedServer() as server:
        client = Actors(server.url, token="t-token", flavor="v3", retries=0, max_binary_bytes=16)
        with pytest.raises(ValidationError):
            client.send_message("A", "hi", {"_abaco_x": "1"})
        with pytest.raises(ValidationError):
            client.send_binary("A", b"\0" * 17)
        with pytest.raises(ValidationError):
            client.send_binary("A", "text is not bytes")  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            client.add({"name": "no image"})
        with pytest.raises(ValidationError):
            client.grant("A", "bob", "OWNER")
        with pytest.raises(ValidationError):
            client.add_nonce("A", max_uses=0)
        with pytest.raises(ValidationError):
            client.search("nothing")
        with pytest.raises(ValidationError):
            client.run_sync("A", "x", timeout=0)
        with pytest.raises(ValidationError):
            client.update("A", {"owner": "me"})
        client.close()
        assert server.requests == []
    assert Actors("http://h", flavor="v3").max_binary_bytes == MAX_BINARY_BYTES


def test_base_paths_and_secret_free_reprs() -> None:
    v2 = Actors("http://127.0.0.1:9/", token="s3cr3tTok", flavor="v2")
    v3 = Actors("http://127.0.0.1:9", token="s3cr3tTok", flavor="v3", tenant="dev")
    assert v2.base_url.endswith("/actors/v2") and v3.base_url.endswith("/v3/actors") and v3.tenant == "dev"
    assert "s3cr3tTok" not in repr(v2.transport) and "s3cr3tTok" not in repr(v3)
    assert Actors("http://h/v3/actors", flavor="v3").base_url == "http://h/v3/actors"
    with pytest.raises(ValidationError):
        Actors("http://h", flavor="v4")  # type: ignore[arg-type]


# -- the wire, against a scripted loopback server ----------------------------------------------------------------


def test_v2_wire_is_bearer_and_camel_v3_is_tapis_token_and_snake() -> None:
    with ScriptedServer() as server:
        v2 = Actors(server.url, token="tok2", flavor="v2", retries=0)
        server.queue.append(ok({"id": "A", "maxWorkers": 2, "defaultEnvironment": {"k": "v"}}))
        actor = v2.add({"image": "img", "default_environment": {"k": "v"}, "max_workers": 2})
        request = server.requests[-1]
        assert request["path"] == "/actors/v2" and request["headers"]["Authorization"] == "Bearer tok2"
        assert json.loads(request["body"]) == {"image": "img", "defaultEnvironment": {"k": "v"}, "maxWorkers": 2}
        assert actor.max_workers == 2
        v3 = Actors(server.url, token="tok3", flavor="v3", retries=0)
        server.queue.append(ok({"id": "DEV_n0nce_id", "max_uses": 3, "level": "READ"}))
        v3.add_nonce("A", level="read", max_uses=3)
        request = server.requests[-1]
        assert request["path"] == "/v3/actors/A/nonces" and request["headers"]["X-Tapis-Token"] == "tok3"
        assert "Authorization" not in request["headers"]
        assert json.loads(request["body"]) == {"level": "READ", "max_uses": 3}
        server.queue.append(ok({"execution_id": "E1", "msg": "hi"}))
        ex = v3.send_message("my alias", "hi", {"MODE": "fast"})
        request = server.requests[-1]
        assert request["path"] == "/v3/actors/my%20alias/messages?MODE=fast"
        assert json.loads(request["body"]) == {"message": "hi"}
        assert ex.id == "E1" and ex.receipt is not None and ex.receipt.msg == "hi"
        nonce_client = v3.with_nonce("DEV_n0nce")
        server.queue.append(ok({"messages": 4}))
        assert nonce_client.message_count("A") == 4
        request = server.requests[-1]
        assert request["path"] == "/v3/actors/A/messages?x-nonce=DEV_n0nce" and "X-Tapis-Token" not in request[
            "headers"]
        v2.close()
        v3.close()


def test_update_merges_with_the_current_description() -> None:
    current = {"id": "A", "image": "img", "name": "n", "description": "old", "stateless": True, "token": "false",
               "defaultEnvironment": {"k": "v"}, "hints": ["h"], "queue": "default", "privileged": False,
               "status": "READY", "owner": "jdoe"}
    with ScriptedServer() as server:
        client = Actors(server.url, token="t-token", flavor="v2", retries=0)
        server.queue += [ok(current), ok({**current, "description": "new"})]
        updated = client.update("A", description="new")
        put = server.requests[-1]
        assert put["method"] == "PUT"
        body = json.loads(put["body"])
        assert body == {"image": "img", "name": "n", "description": "new", "stateless": True, "token": False,
                        "defaultEnvironment": {"k": "v"}, "hints": ["h"]}
        assert updated.description == "new"
        client.close()


def test_lost_post_answer_is_unknown_outcome_and_not_resent() -> None:
    with ScriptedServer() as server:
        client = Actors(server.url, token="t-token", flavor="v3", retries=3)
        server.queue.append(Scripted(drop=True))
        with pytest.raises(UnknownOutcomeError) as info:
            client.send_message("A", {"n": 1})
        assert "message_count('A')" in info.value.check and "executions_since('A'" in info.value.check
        assert len([r for r in server.requests if r["method"] == "POST"]) == 1
        client.close()


def test_sync_answers_raw_bytes_or_logs() -> None:
    with ScriptedServer() as server:
        client = Actors(server.url, token="t-token", flavor="v3", retries=0)
        server.queue.append(Scripted(200, b"\x80\x04result", content_type="application/octet-stream"))
        assert client.run_sync("A", "x", {"K": "V"}) == b"\x80\x04result"
        assert server.requests[-1]["path"] == "/v3/actors/A/messages?K=V&_abaco_synchronous=true"
        server.queue.append(Scripted(200, "Contents of MSG: x", content_type="text/html; charset=utf-8"))
        assert client.run_sync("A", "x") == "Contents of MSG: x"
        client.close()


def test_search_pages_and_typed_items() -> None:
    meta = {"_metadata": {"totalCount": 3, "recordsSkipped": 0, "recordLimit": 2, "countReturned": 2}}
    with ScriptedServer() as server:
        client = Actors(server.url, token="t-token", flavor="v2", retries=0)
        server.queue += [
            ok({**meta, "search": [{"id": "E1", "actorId": "A", "runtime": 1}, {"id": "E2", "actorId": "A"}]}),
            ok({"_metadata": {"totalCount": 3}, "search": [{"id": "E3", "actorId": "B", "status": "ERROR"}]}),
        ]
        items = list(client.search_all("executions", {"status.in": ["COMPLETE", "ERROR"], "flag": True},
                                       page_size=2))
        assert [i.id for i in items] == ["E1", "E2", "E3"] and isinstance(items[0], ExecutionInfo)
        first, second = server.requests[-2:]
        assert "status.in=%5B%22COMPLETE%22%2C+%22ERROR%22%5D" in first["path"] and "flag=true" in first["path"]
        assert "limit=2" in first["path"] and "skip=0" in first["path"] and "skip=2" in second["path"]
        client.close()


# -- frames from literal answers ---------------------------------------------------------------------------------


def test_metric_frame_parses_quirks_and_keeps_dtypes() -> None:
    records = [
        ExecutionInfo.from_wire({"id": "E1", "actorId": "A", "status": "COMPLETE", "cpu": 10, "io": 5, "runtime": 2,
                                 "messageReceivedTime": "2020-05-01T14:45:06.5Z00",
                                 "startTime": "2020-05-01T14:45:07.5Z00", "finishTime": "2020-05-01T14:45:09.591Z",
                                 "workerId": "W", "exitCode": "undetermined"}),
        ExecutionInfo.from_wire({"id": "E2", "actor_id": "A", "status": "SUBMITTED", "start_time": "None",
                                 "message_received_time": "2020-05-01T14:45:41"}),
    ]
    frame = frames.search_frame("executions", records)
    assert list(frame.columns) == [c.name for c in frames.EXECUTION_COLUMNS]
    assert str(frame["status"].dtype) == "category" and set(frames.EXECUTION_STATUSES) <= set(
        frame["status"].cat.categories)
    for col in ("cpu_ns", "io_bytes", "runtime_reported_s", "exit_code"):
        assert str(frame[col].dtype) == "Int64"
    for col in ("message_received_time", "start_time", "finish_time"):
        assert str(frame[col].dtype) == "datetime64[ns, UTC]"
    for col in ("duration", "queue_wait", "turnaround"):
        assert str(frame[col].dtype) == "timedelta64[ns]"
    assert frame["queue_wait"][0].total_seconds() == 1.0 and frame["exit_code"].isna()[0]
    assert frame["duration"][0] == pd.Timedelta(milliseconds=2091) and frame["runtime_reported_s"][0] == 2
    assert frame["turnaround"][0] == pd.Timedelta(milliseconds=3091) and frame["cpu_ns"][0] == 10
    assert frame["start_time"].isna()[1] and frame["queue_wait"].isna()[1]
    workers = frames.workers_frame([{"id": "W", "status": "SPAWNER SETUP", "last_execution_time": "None",
                                     "create_time": "2Z-01-10T10:00:00.123Z"}])
    assert workers["last_execution_time"].isna()[0] and workers["create_time"][0].year == 2000
    assert str(workers["status"].dtype) == "category"
    perms = frames.permissions_frame({"jdoe": "UPDATE", "bob": "READ"})
    assert list(perms["user"]) == ["jdoe", "bob"] and str(perms["level"].dtype) == "category"
    empty = frames.actors_frame([])
    assert list(empty.columns) == [c.name for c in frames.ACTOR_COLUMNS] and str(
        empty["create_time"].dtype) == "datetime64[ns, UTC]"


# -- magic helpers -----------------------------------------------------------------------------------------------


def test_magic_body_and_argument_helpers() -> None:
    assert message_from_body('{"n": 1}\n', None) == {"n": 1}
    assert message_from_body("[1, 2]", "json") == [1, 2]
    assert message_from_body('{"n": 1}', "text") == '{"n": 1}'
    assert message_from_body("42", None) == "42" and message_from_body("hello $x {y}", None) == "hello $x {y}"
    for body, kind in (("not json", "json"), ("{}", "json"), ("   ", None)):
        with pytest.raises(UsageError):
            message_from_body(body, kind)
    assert parse_env(["A=1", "B=x=y"]) == {"A": "1", "B": "x=y"}
    with pytest.raises(UsageError):
        parse_env(["NOEQUALS"])


def test_the_search_magic_takes_filters_and_a_last_word_as_the_variable(ip: Any) -> None:
    """``%actors search KIND KEY=VALUE... [VAR]``: the KEY=VALUE words are the search's filters, a last word
    without ``=`` the variable the frame goes to."""
    from urllib.parse import parse_qs, urlsplit

    from swan_jupyter.session import default_session

    def filters_sent(request: dict[str, Any]) -> dict[str, list[str]]:
        query = parse_qs(urlsplit(request["path"]).query)
        return {key: value for key, value in query.items() if key not in ("limit", "skip")}

    page = ok({"_metadata": {"totalCount": 1, "recordsSkipped": 0, "recordLimit": 10, "countReturned": 1},
               "search": [{"id": "E1", "actorId": "A", "status": "COMPLETE"}]})
    def last_search(server: Any) -> dict[str, Any]:
        return next(r for r in reversed(server.requests) if "/search/" in r["path"])

    no_actors = ok([])  # the actor listing the magic reads to cross-check what search cannot see
    with ScriptedServer() as server:
        default_session().configure(profile="testnet", abaco_url=server.url, abaco_token="t-token", abaco_flavor="v2",
                                    retries=0)
        server.queue += [page, no_actors, page, no_actors]
        assert ip.run_line_magic("actors", "search executions status=COMPLETE df") is None
        assert filters_sent(last_search(server)) == {"status": ["COMPLETE"]}
        assert list(ip.user_ns["df"]["execution_id"]) == ["E1"]
        frame = ip.run_line_magic("actors", "search executions runtime.gt=1")
        assert filters_sent(last_search(server)) == {"runtime.gt": ["1"]}
        assert isinstance(frame, pd.DataFrame) and list(frame["execution_id"]) == ["E1"]


def test_actors_show_by_name_where_they_have_one() -> None:
    from swan_jupyter.actors.models import Actor

    named = Actor(id="PZmwGM6voQEl5", name="wordcount", image="abacosamples/wc")
    assert "Actor wordcount (PZmwGM6voQEl5)" in repr(named)
    assert "Actor wordcount (PZmwGM6voQEl5)" in named._repr_html_()
    assert "Actor PZmwGM6voQEl5" in repr(Actor(id="PZmwGM6voQEl5"))


def test_one_map_summary_line_from_the_outcomes_and_the_deprecated_frame_summarise() -> None:
    from swan_jupyter.actors.functions import CallOutcome, map_summary
    from swan_jupyter.frames.functions import map_frame, summarise

    outcomes = [CallOutcome(i, str(i), "ok") for i in range(12)]
    outcomes += [CallOutcome(i, str(i), "error") for i in range(12, 23)] + [CallOutcome(23, "23", "timeout")]
    line = map_summary(outcomes, 1.25)
    assert line.startswith("map of 24 call(s): 12 ok, 11 error, 1 timeout in 1.2 s; failed inputs: 12, 13, ")
    assert line.endswith(", 21, … (see the error column)")
    assert map_summary([]) == "map of 0 call(s): nothing to do"
    with pytest.warns(DeprecationWarning, match=r"frame.attrs\['summary'\]"):
        assert summarise(map_frame(reversed(outcomes)), 1.25) == line


def test_the_client_and_the_emulator_compare_search_filters_one_way() -> None:
    """Issue 23 §4: the cross-check re-implemented the emulator's filter comparison; both use search_filters."""
    from swan_jupyter import search_filters as sf
    from swan_jupyter.actors import crosscheck
    from swan_jupyter.sandbox.abaco import search

    assert search.compare is sf.compare is crosscheck.compare and search.split_key is sf.split_key
    assert sf.split_key("runtime.gt") == ("runtime", "gt") and sf.split_key("final_state.StartedAt") == (
        "final_state.StartedAt", "eq")
    cases = [("eq", 3.0, 3.0, True), ("neq", sf.MISSING, None, True), ("eq", sf.MISSING, None, False),
             ("gt", 2.0, 1.0, True), ("lte", "a", 1.0, False), ("in", "A", ["A", "B"], True),
             ("nin", None, ["A"], True), ("between", 5.0, (1.0, 9.0), True), ("like", "abc", "^a", True),
             ("nlike", sf.MISSING, "x", True), ("lt", None, 1.0, False)]
    for op, have, want, passes in cases:
        assert sf.compare(op, have, want) is passes, (op, have, want)
    row = {"status": "COMPLETE", "runtime": 3, "message_received_time": "2026-01-01T00:00:00+00:00"}
    passes = crosscheck.matcher({"status.in": ["COMPLETE", "ERROR"], "runtime.between": "1,5",
                                 "status.like": "^COMP", "message_received_time.gte": "2025-12-31T00:00:00Z"})
    assert passes(row) and not crosscheck.matcher({"runtime.between": "4,5"})(row)
    assert not crosscheck.matcher({"status.like": "("})(row) and crosscheck.matcher({"gone.nlike": "("})(row)
    # and one reading of a filter's text, outside times (each side's own: by key, and by the record's value)
    texts = {"TRUE": True, " false": False, "None": None, "2.5": 2.5, "7": 7.0, "[1, 2]": [1, 2],
             '{"a": 1}': {"a": 1}, "[oops": "[oops", "word": "word"}
    for text, read in texts.items():
        assert sf.read_literal(text) == read and search._coerce("status", text) == read, text
        assert crosscheck._coerce(text, None) == read, text
