"""The agavepy-compatible facade (``from swan_jupyter.actors import Agave``) against the sandbox emulator.

The calls are written exactly as agavepy 0.9.5 users write them (nicknames, ``actorId=``, ``body=``,
``environment=``); answers are this package's typed models, read the agavepy way (camelCase keys, attributes).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from swan_jupyter.actors import Actor, Agave, ExecutionInfo, ExecutionsSummary, MessageReceipt
from swan_jupyter.errors import NotFoundError, PermissionDeniedError, RemoteError, ValidationError

AGAVEPY_NICKNAMES = [
    "list", "add", "get", "update", "delete", "getMessages", "sendMessage", "sendBinaryMessage", "deleteMessages",
    "getState", "updateState", "getPermissions", "updatePermissions", "listWorkers", "addWorker", "getWorker",
    "deleteWorker", "listNonces", "addNonce", "getNonce", "deleteNonce", "listAliases", "addAlias", "getAlias",
    "deleteAlias", "listExecutions", "getExecution", "getOneExecutionResult", "getExecutionLogs",
]


@pytest.fixture
def ag(sandbox: dict[str, Any]) -> Iterator[Agave]:
    abaco = sandbox["abaco"]
    client = Agave(api_server=abaco["url"], token=abaco["users"]["user"]["token"])
    yield client
    client.close()


def test_every_agavepy_operation_exists() -> None:
    from swan_jupyter.actors.agave import ActorsResource

    missing = [name for name in AGAVEPY_NICKNAMES if not callable(getattr(ActorsResource, name, None))]
    assert missing == []
    with pytest.raises(ValidationError):
        Agave(api_server="http://127.0.0.1:9", username="u", password="p")


def test_agavepy_style_session(ag: Agave, sandbox: dict[str, Any]) -> None:
    actor: Any = ag.actors.add(body={"image": "abacosamples/test", "name": "agave-style",
                                "defaultEnvironment": {"a": "b"}})
    try:
        assert isinstance(actor, Actor) and actor["defaultEnvironment"] == {"a": "b"} and actor.id
        assert actor.defaultEnvironment == {"a": "b"} and "id" in actor and dict(actor)["image"] == "abacosamples/test"
        assert actor.id in [a["id"] for a in ag.actors.list()]
        assert len(ag.actors.list(limit=1, offset=0)) == 1
        fetched = ag.actors.get(actorId=actor.id)
        fetched_body = dict(fetched)
        fetched_body["description"] = "updated the agavepy way"
        updated = ag.actors.update(actorId=actor.id, body=fetched_body)
        assert updated["description"] == "updated the agavepy way" and updated["defaultEnvironment"] == {"a": "b"}

        sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "hello"}, environment={"k1": "v1"})
        assert isinstance(sent, MessageReceipt) and sent["executionId"] and sent.executionId == sent.execution_id
        json_sent = ag.actors.sendMessage(actorId=actor.id, body={"x": 1})
        binary_sent = ag.actors.sendBinaryMessage(actorId=actor.id, message=b"\x00\x01")
        client = ag.actors.client
        for receipt in (sent, json_sent, binary_sent):
            client.execution(actor.id, str(receipt.execution_id)).wait(timeout=30)
        execution = ag.actors.getExecution(actorId=actor.id, executionId=sent["executionId"])
        assert isinstance(execution, ExecutionInfo) and execution["actorId"] == actor.id
        assert execution["status"] == "COMPLETE" and execution.get("status") == "COMPLETE"
        logs = ag.actors.getExecutionLogs(actorId=actor.id, executionId=sent["executionId"])
        assert "hello" in logs["logs"] and "v1" in logs.logs
        summary = ag.actors.listExecutions(actorId=actor.id)
        assert isinstance(summary, ExecutionsSummary)
        assert {sent.executionId, json_sent.executionId} <= {e["id"] for e in summary["executions"]}
        assert len(ag.actors.listExecutions(actorId=actor.id, limit=1)["executions"]) == 1
        result = ag.actors.getOneExecutionResult(actorId=actor.id, executionId=sent["executionId"])
        assert result.content == b"" and result.status_code == 200
        assert ag.actors.getMessages(actorId=actor.id)["messages"] == 0
        assert ag.actors.deleteMessages(actorId=actor.id)["msg"]

        nonce = ag.actors.addNonce(actorId=actor.id, body={"maxUses": 3, "level": "READ"})
        assert nonce["maxUses"] == 3 and nonce["level"] == "READ"
        assert nonce["id"] in [n["id"] for n in ag.actors.listNonces(actorId=actor.id)]
        assert ag.actors.get(actorId=actor.id, nonce=nonce["id"])["id"] == actor.id  # agavepy's per-call nonce
        assert ag.actors.getNonce(actorId=actor.id, nonceId=nonce["id"])["currentUses"] == 1
        ag.actors.deleteNonce(actorId=actor.id, nonceId=nonce["id"])

        user2 = sandbox["abaco"]["users"]["user2"]["username"]
        perms = ag.actors.updatePermissions(actorId=actor.id, body={"user": user2, "level": "READ"})
        assert perms[user2] == "READ" and ag.actors.getPermissions(actorId=actor.id)[user2] == "READ"
        with pytest.raises(PermissionDeniedError):
            ag.actors.addWorker(actorId=actor.id, body={"num": 2})
        assert isinstance(ag.actors.listWorkers(actorId=actor.id), list)

        alias = f"agave-{actor.id[:6].lower()}"
        created = ag.actors.addAlias(body={"alias": alias, "actorId": actor.id})
        assert created["actorId"] == actor.id and ag.actors.getAlias(alias=alias)["alias"] == alias
        assert alias in [a["alias"] for a in ag.actors.listAliases()]
        ag.actors.deleteAlias(alias=alias)
        with pytest.raises(ValidationError):
            ag.actors.updateState(actorId=actor.id, body="abc")  # agavepy would send invalid JSON
    finally:
        with contextlib.suppress(RemoteError):
            ag.actors.delete(actorId=actor.id)
    with pytest.raises(NotFoundError):
        ag.actors.get(actorId="no-such-alias-anywhere")


def test_agavepy_state_and_workers(ag: Agave, sandbox: dict[str, Any]) -> None:
    actor: Any = ag.actors.add(body={"image": "abacosamples/test", "stateless": False})
    abaco = sandbox["abaco"]
    admin = Agave(api_server=abaco["url"], token=abaco["users"]["admin"]["token"])
    try:
        assert ag.actors.updateState(actorId=actor.id, body={"n": 1})["id"] == actor.id
        assert ag.actors.getState(actorId=actor.id)["state"] == {"n": 1}
        admin.actors.addWorker(actorId=actor.id, body={"num": 1})
        workers = ag.actors.listWorkers(actorId=actor.id)
        assert workers and ag.actors.getWorker(actorId=actor.id, workerId=workers[0]["id"])["id"] == workers[0].id
        ag.actors.deleteWorker(actorId=actor.id, workerId=workers[0]["id"])
    finally:
        admin.close()
        ag.actors.delete(actorId=actor.id)
