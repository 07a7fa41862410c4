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
from tests.helpers import Scenario

AGAVEPY_NICKNAMES = [
    "list", "add", "get", "update", "delete", "getMessages", "sendMessage", "sendBinaryMessage", "deleteMessages",
    "getState", "updateState", "getPermissions", "updatePermissions", "listWorkers", "addWorker", "getWorker",
    "deleteWorker", "listNonces", "addNonce", "getNonce", "deleteNonce", "listAliases", "addAlias", "getAlias",
    "deleteAlias", "listExecutions", "getExecution", "getOneExecutionResult", "getExecutionLogs",
]


@pytest.fixture
def ag(abaco_sandbox: dict[str, Any]) -> Iterator[Agave]:
    abaco = abaco_sandbox["abaco"]
    client = Agave(api_server=abaco["url"], token=abaco["users"]["user"]["token"])
    yield client
    client.close()


def test_every_agavepy_operation_exists() -> None:
    from swan_jupyter.actors.agave import ActorsResource

    missing = [name for name in AGAVEPY_NICKNAMES if not callable(getattr(ActorsResource, name, None))]
    assert missing == []
    with pytest.raises(ValidationError):
        Agave(api_server="http://127.0.0.1:9", username="u", password="p")


@pytest.fixture(scope="class")
def story(abaco_sandbox: dict[str, Any]) -> Iterator[Scenario]:
    """One agavepy-style session (TestAgavepyStyleSession): its client, and the actor it adds (deleted at the end)."""
    abaco = abaco_sandbox["abaco"]
    client = Agave(api_server=abaco["url"], token=abaco["users"]["user"]["token"])
    story = Scenario(ag=client, user2=abaco["users"]["user2"]["username"])
    yield story
    if "alias" in story and "alias deleted" not in story:
        with contextlib.suppress(RemoteError):
            client.actors.deleteAlias(alias=story["alias"])
    if "actor" in story:
        with contextlib.suppress(RemoteError):
            client.actors.delete(actorId=story["actor"].id)
    client.close()


class TestAgavepyStyleSession:
    """An actor's life the agavepy way, one call (or pair of calls) per test, in order."""

    def test_add(self, story: Scenario) -> None:
        actor: Any = story["ag"].actors.add(body={"image": "abacosamples/test", "name": "agave-style",
                                                  "defaultEnvironment": {"a": "b"}})
        story["actor"] = actor
        assert isinstance(actor, Actor) and actor["defaultEnvironment"] == {"a": "b"} and actor.id
        assert actor.defaultEnvironment == {"a": "b"} and "id" in actor and dict(actor)["image"] == "abacosamples/test"

    def test_list(self, story: Scenario) -> None:
        actor = story.need("actor")
        assert actor.id in [a["id"] for a in story["ag"].actors.list()]
        assert len(story["ag"].actors.list(limit=1, offset=0)) == 1

    def test_update_the_agavepy_way(self, story: Scenario) -> None:
        ag, actor = story["ag"], story.need("actor")
        fetched = ag.actors.get(actorId=actor.id)
        fetched_body = dict(fetched)
        fetched_body["description"] = "updated the agavepy way"
        updated = ag.actors.update(actorId=actor.id, body=fetched_body)
        assert updated["description"] == "updated the agavepy way" and updated["defaultEnvironment"] == {"a": "b"}

    def test_send_message(self, story: Scenario) -> None:
        ag, actor = story["ag"], story.need("actor")
        sent = ag.actors.sendMessage(actorId=actor.id, body={"message": "hello"}, environment={"k1": "v1"})
        story["sent"] = sent
        assert isinstance(sent, MessageReceipt) and sent["executionId"] and sent.executionId == sent.execution_id

    def test_send_json_and_binary(self, story: Scenario) -> None:
        ag, actor = story["ag"], story.need("actor")
        json_sent = ag.actors.sendMessage(actorId=actor.id, body={"x": 1})
        binary_sent = ag.actors.sendBinaryMessage(actorId=actor.id, message=b"\x00\x01")
        story.update(json_sent=json_sent, binary_sent=binary_sent)
        for receipt in (json_sent, binary_sent):
            assert isinstance(receipt, MessageReceipt) and receipt["executionId"]
            assert ag.actors.getExecution(actorId=actor.id, executionId=receipt.executionId)["actorId"] == actor.id
        assert json_sent.executionId != binary_sent.executionId  # two messages, two executions

    def test_the_executions_finish(self, story: Scenario) -> None:
        actor, client = story.need("actor"), story["ag"].actors.client
        for receipt in (story.need("sent"), story.need("json_sent"), story.need("binary_sent")):
            execution = client.execution(actor.id, str(receipt.execution_id)).wait(timeout=30)
            assert execution.status == "COMPLETE", (receipt.execution_id, execution.status)

    def test_get_execution(self, story: Scenario) -> None:
        ag, actor, sent = story["ag"], story.need("actor"), story.need("sent")
        execution = ag.actors.getExecution(actorId=actor.id, executionId=sent["executionId"])
        assert isinstance(execution, ExecutionInfo) and execution["actorId"] == actor.id
        assert execution["status"] == "COMPLETE" and execution.get("status") == "COMPLETE"

    def test_execution_logs(self, story: Scenario) -> None:
        ag, actor, sent = story["ag"], story.need("actor"), story.need("sent")
        logs = ag.actors.getExecutionLogs(actorId=actor.id, executionId=sent["executionId"])
        assert "hello" in logs["logs"] and "v1" in logs.logs

    def test_list_executions(self, story: Scenario) -> None:
        ag, actor = story["ag"], story.need("actor")
        sent, json_sent = story.need("sent"), story.need("json_sent")
        summary = ag.actors.listExecutions(actorId=actor.id)
        assert isinstance(summary, ExecutionsSummary)
        assert {sent.executionId, json_sent.executionId} <= {e["id"] for e in summary["executions"]}
        assert len(ag.actors.listExecutions(actorId=actor.id, limit=1)["executions"]) == 1

    def test_execution_result(self, story: Scenario) -> None:
        ag, actor, sent = story["ag"], story.need("actor"), story.need("sent")
        result = ag.actors.getOneExecutionResult(actorId=actor.id, executionId=sent["executionId"])
        assert result.content == b"" and result.status_code == 200

    def test_messages(self, story: Scenario) -> None:
        ag, actor = story["ag"], story.need("actor")
        assert ag.actors.getMessages(actorId=actor.id)["messages"] == 0
        assert ag.actors.deleteMessages(actorId=actor.id)["msg"]

    def test_add_nonce(self, story: Scenario) -> None:
        ag, actor = story["ag"], story.need("actor")
        nonce = ag.actors.addNonce(actorId=actor.id, body={"maxUses": 3, "level": "READ"})
        story["nonce"] = nonce
        assert nonce["maxUses"] == 3 and nonce["level"] == "READ"

    def test_list_nonces(self, story: Scenario) -> None:
        ag, actor, nonce = story["ag"], story.need("actor"), story.need("nonce")
        assert nonce["id"] in [n["id"] for n in ag.actors.listNonces(actorId=actor.id)]

    def test_a_call_with_the_nonce_uses_it(self, story: Scenario) -> None:
        ag, actor, nonce = story["ag"], story.need("actor"), story.need("nonce")
        assert ag.actors.get(actorId=actor.id, nonce=nonce["id"])["id"] == actor.id  # agavepy's per-call nonce
        assert ag.actors.getNonce(actorId=actor.id, nonceId=nonce["id"])["currentUses"] == 1

    def test_delete_nonce(self, story: Scenario) -> None:
        ag, actor, nonce = story["ag"], story.need("actor"), story.need("nonce")
        ag.actors.deleteNonce(actorId=actor.id, nonceId=nonce["id"])
        assert nonce["id"] not in [n["id"] for n in ag.actors.listNonces(actorId=actor.id)]
        with pytest.raises(NotFoundError):
            ag.actors.getNonce(actorId=actor.id, nonceId=nonce["id"])

    def test_permissions(self, story: Scenario) -> None:
        ag, actor, user2 = story["ag"], story.need("actor"), story["user2"]
        perms = ag.actors.updatePermissions(actorId=actor.id, body={"user": user2, "level": "READ"})
        assert perms[user2] == "READ" and ag.actors.getPermissions(actorId=actor.id)[user2] == "READ"

    def test_adding_workers_needs_an_admin(self, story: Scenario) -> None:
        ag, actor = story["ag"], story.need("actor")
        with pytest.raises(PermissionDeniedError):
            ag.actors.addWorker(actorId=actor.id, body={"num": 2})

    def test_list_workers(self, story: Scenario) -> None:
        ag, actor = story["ag"], story.need("actor")
        assert isinstance(ag.actors.listWorkers(actorId=actor.id), list)

    def test_add_alias(self, story: Scenario) -> None:
        ag, actor = story["ag"], story.need("actor")
        alias = f"agave-{actor.id[:6].lower()}"
        created = ag.actors.addAlias(body={"alias": alias, "actorId": actor.id})
        story["alias"] = alias
        assert created["actorId"] == actor.id and ag.actors.getAlias(alias=alias)["alias"] == alias

    def test_list_aliases(self, story: Scenario) -> None:
        alias = story.need("alias")
        assert alias in [a["alias"] for a in story["ag"].actors.listAliases()]

    def test_delete_alias(self, story: Scenario) -> None:
        ag, alias = story["ag"], story.need("alias")
        ag.actors.deleteAlias(alias=alias)
        story["alias deleted"] = True
        assert alias not in [a["alias"] for a in ag.actors.listAliases()]
        with pytest.raises(NotFoundError):
            ag.actors.getAlias(alias=alias)

    def test_update_state_refuses_invalid_json(self, story: Scenario) -> None:
        ag, actor = story["ag"], story.need("actor")
        with pytest.raises(ValidationError):
            ag.actors.updateState(actorId=actor.id, body="abc")  # agavepy would send invalid JSON


def test_get_of_an_unknown_actor_is_not_found(ag: Agave) -> None:
    with pytest.raises(NotFoundError):
        ag.actors.get(actorId="no-such-alias-anywhere")


def test_agavepy_state_and_workers(ag: Agave, abaco_sandbox: dict[str, Any]) -> None:
    actor: Any = ag.actors.add(body={"image": "abacosamples/test", "stateless": False})
    abaco = abaco_sandbox["abaco"]
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
