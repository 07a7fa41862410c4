"""The execution search answers from JSON encoded once per stored record (what a large search spends most on):
the bytes must be those of encoding the records in the answer, and a changed record is encoded again."""

from __future__ import annotations

import json
from typing import Any

from swan_jupyter.sandbox.abaco.routes_executions import encoded_search_item
from swan_jupyter.sandbox.abaco.wire import V2, V3, Encoded, display_time, json_response, ok


def _stored(status: str, finish: float | None) -> str:
    return json.dumps({"actor_id": "A1", "id": "E1", "cpu": 10, "executor": "jdoe", "exit_code": 0,
                       "final_state": {"Status": "exited", "StartedAt": "2026-01-01T00:00:00Z"},
                       "finish_time": finish, "io": 3, "message_received_time": 1_700_000_000.123456,
                       "runtime": 1, "start_time": 1_700_000_000.5, "status": status, "worker_id": "W1",
                       "tenant": "dev", "message": "not shown", "note": "caf\u00e9 \u2603"})


def test_an_answer_with_encoded_records_is_byte_for_byte_the_plain_answer() -> None:
    from swan_jupyter.sandbox.abaco.models import search_execution

    for flavor in (V2, V3):
        docs = [json.loads(_stored("COMPLETE", 1_700_000_001.0)), json.loads(_stored("RUNNING", None))]
        plain = [search_execution(d, flavor, "http://127.0.0.1:9") for d in docs]
        meta: dict[str, Any] = {"total_count": 2, "records_skipped": 0, "record_limit": 100, "count_returned": 2}
        encoded = [encoded_search_item(json.dumps(d), flavor, "http://127.0.0.1:9") for d in docs]
        assert all(isinstance(item, Encoded) for item in encoded)
        fast = ok(flavor, {"_metadata": meta, "search": encoded}, "Search completed successfully.").body
        slow = json_response({"message": "Search completed successfully.",
                              "result": {"_metadata": meta, "search": plain}, "status": "success",
                              "version": flavor.version, **({"metadata": {}} if flavor.v3 else {})}).body
        assert fast == slow
        mixed = ok(flavor, {"_metadata": meta, "search": [encoded[0], plain[1]]}, "m").body
        assert json.loads(mixed)["result"]["search"] == plain


def test_a_changed_record_is_encoded_again() -> None:
    base = "http://127.0.0.1:9"
    running = json.loads(str(encoded_search_item(_stored("RUNNING", None), V3, base)))
    done = json.loads(str(encoded_search_item(_stored("COMPLETE", 1_700_000_001.0), V3, base)))
    assert running["status"] == "RUNNING" and running["finish_time"] is None
    assert done["status"] == "COMPLETE" and done["finish_time"] == display_time(1_700_000_001.0)
    again = json.loads(str(encoded_search_item(_stored("RUNNING", None), V3, base)))
    assert again == running
    camel = json.loads(str(encoded_search_item(_stored("COMPLETE", 1_700_000_001.0), V2, base)))
    assert camel["actorId"] == "A1" and "actor_id" not in camel  # the flavor is part of what is cached


def test_the_encoded_records_are_bounded(monkeypatch: Any) -> None:
    from swan_jupyter.sandbox.abaco import routes_executions

    monkeypatch.setattr(routes_executions, "ENCODED_LIMIT", 3)
    monkeypatch.setattr(routes_executions, "_ENCODED", {})
    for i in range(7):
        item = encoded_search_item(_stored("COMPLETE", 1_700_000_000.0 + i), V3, "http://127.0.0.1:9")
        assert json.loads(str(item))["finish_time"] == display_time(1_700_000_000.0 + i)
        assert len(routes_executions._ENCODED) <= 3
