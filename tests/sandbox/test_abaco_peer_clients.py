"""The real public clients against the Abaco emulator, unchanged, each in its own virtualenv:
tapipy 25.x (``benchmarks/.venvs/tapipy``) on ``/v3/actors`` and agavepy 0.9.5 (``benchmarks/.venvs/agavepy``)
on ``/actors/v2`` (and ``/actors`` in JWT mode). Create the venvs with ``scripts/make_peer_venvs.sh tapipy agavepy``.

Each test runs a script with the peer interpreter; the script prints one JSON line of observations, which the
test checks. The emulator runs in this process (fixture ``abaco``).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.abaco_tools import ROOT, AbacoServer

VENVS = ROOT / "benchmarks" / ".venvs"

TAPIPY_SCRIPT = r'''
import json, os, sys, time
import cloudpickle
from tapipy.tapis import Tapis
from tapipy.errors import BadRequestError, NotFoundError

URL, TOKEN, OTHER = os.environ["ABACO_URL"], os.environ["ABACO_TOKEN"], os.environ["ABACO_OTHER_USER"]
out = {}
t = Tapis(base_url=URL, tenant_id="dev", access_token=TOKEN)

def wait(fetch, done, timeout=30):
    deadline = time.time() + timeout
    value = fetch()
    while not done(value):
        if time.time() > deadline:
            raise SystemExit(f"timeout: {value}")
        time.sleep(0.05)
        value = fetch()
    return value

actor = t.actors.create_actor(image="abacosamples/test", default_environment={"K": "v"}, stateless=True)
aid = actor.id
out["created_status"] = actor.status
out["ready"] = wait(lambda: t.actors.get_actor(actor_id=aid), lambda a: a.status == "READY").status
out["listed"] = aid in [a.id for a in t.actors.list_actors()]
sent = t.actors.send_message(actor_id=aid, message="hello tapipy", _tapis_query_parameters={"EXTRA": "x1"})
eid = sent.execution_id
execution = wait(lambda: t.actors.get_execution(actor_id=aid, execution_id=eid), lambda e: e.status == "COMPLETE")
out["execution"] = {"status": execution.status, "cpu": execution.cpu, "runtime": execution.runtime,
                    "exit_code": execution.exit_code, "worker_id": execution.worker_id}
logs = t.actors.get_execution_logs(actor_id=aid, execution_id=eid).logs
out["logs_msg"] = "Contents of MSG: hello tapipy" in logs
out["logs_env"] = "EXTRA=x1" in logs and "K=v" in logs
json_sent = t.actors.send_json_message(actor_id=aid, message={"a": 1})          # POST ///messages
out["json_msg"] = json_sent.msg
binary_sent = t.actors.send_binary_message(actor_id=aid, message=b"\x00\x01")  # POST //messages
out["binary_msg"] = binary_sent.msg
summary = t.actors.list_executions(actor_id=aid)
out["total_executions"] = summary.total_executions
out["messages"] = t.actors.get_messages(actor_id=aid).messages >= 0
purged = t.actors.delete_pending_messages(actor_id=aid)
out["purged"] = purged.msg

func = t.actors.create_actor(image="abacosamples/py3_func")
def add(a, b, c=0):
    return a + b + c
fid = func.id
wait(lambda: t.actors.get_actor(actor_id=fid), lambda a: a.status == "READY")
sent = t.actors.send_binary_message(actor_id=fid, message=cloudpickle.dumps({"func": add, "args": [5, 7],
                                                                            "kwargs": {"c": 5}}))
wait(lambda: t.actors.get_execution(actor_id=fid, execution_id=sent.execution_id), lambda e: e.status == "COMPLETE")
raw = t.actors.get_execution_result(actor_id=fid, execution_id=sent.execution_id)
out["result"] = cloudpickle.loads(raw)
out["result_empty"] = t.actors.get_execution_result(actor_id=fid, execution_id=sent.execution_id) == b""
sync = t.actors.send_message(actor_id=aid, message="sync tapipy", _abaco_synchronous="true")
out["sync_has_logs"] = b"Contents of MSG: sync tapipy" in sync

nonce = t.actors.create_nonce(actor_id=aid, level="READ", max_uses=2)
out["nonce"] = {"id": nonce.id, "level": nonce.level, "max_uses": nonce.max_uses,
                "remaining_uses": nonce.remaining_uses}
out["nonces_listed"] = [n.id for n in t.actors.list_nonces(actor_id=aid)] == [nonce.id]
out["nonce_got"] = t.actors.get_nonce(actor_id=aid, nonce_id=nonce.id).id == nonce.id

stateful = t.actors.create_actor(image="abacosamples/test", stateless=False)
updated = t.actors.update_state(actor_id=stateful.id, request_body={"count": 1})
out["state_after_update"] = updated.state.count
out["state"] = t.actors.get_state(actor_id=stateful.id).state.count
try:
    t.actors.update_state(actor_id=aid, request_body={"x": 1})
    out["stateless_state"] = "accepted"
except NotFoundError as exc:
    out["stateless_state"] = exc.message

perms = t.actors.update_permissions(actor_id=aid, user=OTHER, level="READ")
out["permissions"] = getattr(t.actors.list_permissions(actor_id=aid), OTHER, None)
alias = t.actors.create_alias(alias="tapipy-alias", actor_id=aid)
out["alias"] = t.actors.get_alias(alias="tapipy-alias").actor_id == aid
out["aliases"] = "tapipy-alias" in [a.alias for a in t.actors.list_aliases()]
out["alias_deleted"] = t.actors.delete_alias(alias="tapipy-alias")["message"]
found = t.actors.search_database(search_type="actors", search="abacosamples", limit=2, skip=0)
out["search"] = {"count": found._metadata.count_returned, "limit": found._metadata.record_limit}
out["workers"] = [w.status for w in t.actors.list_workers(actor_id=aid)]
try:
    t.actors.get_actor(actor_id="no-such-actor")
except NotFoundError as exc:
    out["not_found"] = exc.message
try:
    t.actors.create_actor(image="abacosamples/test", max_workers=None, stateless="maybe")
    out["bad_request"] = "accepted"
except BadRequestError as exc:
    out["bad_request"] = exc.message
no_tenant = Tapis(base_url=URL, access_token=TOKEN)   # looks the tenant up in /v3/sites and /v3/tenants
out["tenant_lookup"] = no_tenant.tenant_id
linked = t.actors.create_actor(image="abacosamples/wc", link=stateful.id)   # its events go to `stateful`
out["link"] = linked.link == stateful.id
runs = wait(lambda: t.actors.list_executions(actor_id=stateful.id).executions,
            lambda xs: len(xs) >= 1 and xs[0].status == "COMPLETE")
event_run = t.actors.get_execution(actor_id=stateful.id, execution_id=runs[0].id)
out["event_executor"] = event_run.executor
out["event_logs"] = "'event_type': 'ACTOR_READY'" in t.actors.get_execution_logs(actor_id=stateful.id,
                                                                                 execution_id=event_run.id).logs
try:
    t.actors.update_actor(actor_id=stateful.id, image="abacosamples/test", stateless=False, link=linked.id)
    out["cycle"] = "accepted"
except BadRequestError as exc:
    out["cycle"] = exc.message
deleted = t.actors.delete_actor(actor_id=stateful.id)
out["deleted"] = deleted["message"]
print(json.dumps(out))
'''

AGAVEPY_SCRIPT = r'''
import json, os, time
import cloudpickle
import requests
from agavepy.agave import Agave, load_resource

URL, TOKEN = os.environ["ABACO_URL"], os.environ["ABACO_TOKEN"]
out = {}
# agavepy 0.9.5 forces https (the basePath of agavepy/resources/*.json.j2) and drops the Authorization header
# when the URL has a port (agavepy/swaggerpy/http_client.py, Authenticator.matches: netloc vs host name)
resources = json.loads(json.dumps(load_resource(URL)).replace("https://", "http://"))
ag = Agave(api_server=URL, token=TOKEN, resources=resources)
ag.all.http_client.authenticator.host = "127.0.0.1"

def wait(fetch, done, timeout=30):
    deadline = time.time() + timeout
    value = fetch()
    while not done(value):
        if time.time() > deadline:
            raise SystemExit(f"timeout: {value}")
        time.sleep(0.05)
        value = fetch()
    return value

actor = ag.actors.add(body={"image": "abacosamples/test", "name": "agave", "defaultEnvironment": {"K": "v"}})
aid = actor.id
out["created"] = {"status": actor.status, "name": actor.name, "env": actor.defaultEnvironment}
out["ready"] = wait(lambda: ag.actors.get(actorId=aid), lambda a: a.status == "READY").status
out["listed"] = aid in [a["id"] for a in ag.actors.list()]
sent = ag.actors.sendMessage(actorId=aid, body={"message": "hello agave"}, environment={"k1": "v1"})
eid = sent.executionId
execution = wait(lambda: ag.actors.getExecution(actorId=aid, executionId=eid), lambda e: e.get("status") == "COMPLETE")
out["execution"] = {"cpu": execution.cpu, "runtime": execution.runtime, "exitCode": execution.exitCode,
                    "workerId": execution.workerId}
logs = ag.actors.getExecutionLogs(actorId=aid, executionId=eid).logs
out["logs_msg"] = "Contents of MSG: hello agave" in logs
out["logs_env"] = "k1=v1" in logs and "environment=k1" in logs and "K=v" in logs
summary = ag.actors.listExecutions(actorId=aid)
out["total_executions"] = summary.totalExecutions
out["messages"] = ag.actors.getMessages(actorId=aid)["messages"]
try:
    ag.actors.deleteMessages(actorId=aid)
    out["delete_messages"] = "returned"
except KeyError as exc:  # agavepy 0.9.5 bug: its swagger lacks the ActorMessagesDeleteResponse model
    out["delete_messages"] = f"KeyError {exc}"

func = ag.actors.add(body={"image": "abacosamples/py3_func"})
def add(a, b, c=0):
    return a + b + c
sent = ag.actors.sendBinaryMessage(actorId=func.id, message=cloudpickle.dumps({"func": add, "args": [5, 7],
                                                                              "kwargs": {"c": 5}}))
out["binary_msg"] = sent.msg
wait(lambda: ag.actors.getExecution(actorId=func.id, executionId=sent.executionId),
     lambda e: e.get("status") == "COMPLETE")
response = ag.actors.getOneExecutionResult(actorId=func.id, executionId=sent.executionId)
out["result"] = cloudpickle.loads(response.content)
out["result_empty"] = ag.actors.getOneExecutionResult(actorId=func.id, executionId=sent.executionId).content == b""

nonce = ag.actors.addNonce(actorId=aid, body={"maxUses": 3, "level": "READ"})
out["nonce"] = {"level": nonce.level, "maxUses": nonce.maxUses, "lastUseTime": nonce.lastUseTime}
for _ in range(3):
    requests.get(f"{URL}/actors/v2/{aid}", params={"x-nonce": nonce.id}, timeout=10).raise_for_status()
out["nonce_used"] = ag.actors.getNonce(actorId=aid, nonceId=nonce.id).currentUses
out["nonces"] = len(ag.actors.listNonces(actorId=aid))
out["nonce_deleted"] = ag.actors.deleteNonce(actorId=aid, nonceId=nonce.id)

stateful = ag.actors.add(body={"image": "abacosamples/test", "stateless": False})
out["state_update"] = ag.actors.updateState(actorId=stateful.id, body={"s": 1}).state
linked = ag.actors.add(body={"image": "abacosamples/wc", "link": stateful.id})   # its events go to `stateful`
out["link"] = linked.link == stateful.id
runs = wait(lambda: ag.actors.listExecutions(actorId=stateful.id).executions,
            lambda xs: len(xs) >= 1 and xs[0]["status"] == "COMPLETE")
out["event_executor"] = ag.actors.getExecution(actorId=stateful.id, executionId=runs[0]["id"]).executor
out["event_logs"] = "'event_type': 'ACTOR_READY'" in ag.actors.getExecutionLogs(actorId=stateful.id,
                                                                                executionId=runs[0]["id"]).logs
try:
    ag.actors.add(body={"image": "abacosamples/wc", "webhook": "http://example.com/events"})
    out["webhook"] = "accepted"
except requests.exceptions.HTTPError as exc:
    out["webhook"] = [exc.response.status_code, exc.response.json()["message"]]
out["state"] = ag.actors.getState(actorId=stateful.id)["state"]
try:
    ag.actors.updateState(actorId=stateful.id, body="abc")
    out["bad_state"] = "accepted"
except requests.exceptions.HTTPError as exc:
    out["bad_state"] = [exc.response.status_code, exc.response.json()["message"]]
out["permissions"] = ag.actors.updatePermissions(actorId=aid, body={"user": "bob", "level": "READ"})
out["permissions_get"] = ag.actors.getPermissions(actorId=aid)
out["alias"] = ag.actors.addAlias(body={"alias": "agave-alias", "actorId": aid}).actorId
out["alias_get"] = ag.actors.getAlias(alias="agave-alias").alias
out["aliases"] = [a["alias"] for a in ag.actors.listAliases()]
out["alias_deleted"] = ag.actors.deleteAlias(alias="agave-alias")
workers = ag.actors.listWorkers(actorId=aid)
out["worker"] = ag.actors.getWorker(actorId=aid, workerId=workers[0]["id"]).status
try:
    ag.actors.addWorker(actorId=aid, body={"num": 2})
    out["add_worker"] = "accepted"
except requests.exceptions.HTTPError as exc:
    out["add_worker"] = exc.response.json()["message"]
try:
    ag.actors.get(actorId="nope-nope")
except requests.exceptions.HTTPError as exc:
    out["not_found"] = [exc.response.status_code, exc.response.json()["message"]]
updated = ag.actors.update(actorId=aid, body={"image": "abacosamples/wc"})
out["updated"] = {"revision": updated.revision, "name": updated.name}
jwt_client = Agave(api_server=URL, jwt=TOKEN, jwt_header_name="X-Jwt-Assertion-DEV", resources=resources)
jwt_client.all.http_client.authenticator.host = "127.0.0.1"
out["jwt_mode"] = jwt_client.actors.get(actorId=aid).id == aid      # url.strip('/v2') -> /actors
out["deleted"] = ag.actors.delete(actorId=stateful.id)
print(json.dumps(out))
'''


def _run(venv: str, script: str, abaco: AbacoServer, tmp_path: Path) -> dict[str, Any]:
    python = VENVS / venv / "bin" / "python"
    if not python.exists():
        pytest.skip(f"peer virtualenv {python.parent.parent} is absent: create it with "
                    f"scripts/make_peer_venvs.sh {venv}")
    path = tmp_path / f"{venv}_script.py"
    path.write_text(script)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "ABACO_URL": abaco.url,
           "ABACO_TOKEN": abaco.token("user"), "ABACO_OTHER_USER": abaco.username("user2")}
    done = subprocess.run([str(python), str(path)], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=240, check=False)
    assert done.returncode == 0, f"{venv} script failed:\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_tapipy_unchanged(abaco: AbacoServer, tmp_path: Path) -> None:
    out = _run("tapipy", TAPIPY_SCRIPT, abaco, tmp_path)
    assert out["created_status"] == "SUBMITTED" and out["ready"] == "READY" and out["listed"]
    execution = out["execution"]
    assert execution["status"] == "COMPLETE" and execution["cpu"] > 0 and execution["runtime"] >= 1
    assert execution["exit_code"] == 0 and execution["worker_id"]
    assert out["logs_msg"] and out["logs_env"]
    assert out["json_msg"] == "{'a': 1}"  # send_json_message wraps under "message": a str (Python repr)
    assert out["binary_msg"] == "binary - omitted"
    assert out["total_executions"] >= 3 and out["messages"] and out["purged"] == "Actor mailbox purged."
    assert out["result"] == 17 and out["result_empty"] is True
    assert out["sync_has_logs"]
    assert out["nonce"]["id"].startswith("DEV_") and out["nonce"]["level"] == "READ"
    assert out["nonce"]["max_uses"] == 2 and out["nonce"]["remaining_uses"] == 2
    assert out["nonces_listed"] and out["nonce_got"]
    assert out["state_after_update"] == 1 and out["state"] == 1
    assert out["stateless_state"] == "actor is stateless."
    assert out["permissions"] == "READ"
    assert out["alias"] and out["aliases"] and out["alias_deleted"] == "Alias tapipy-alias deleted successfully."
    assert out["search"] == {"count": 2, "limit": 2}
    assert out["workers"] == ["READY"]
    assert out["not_found"] == "Actor with identifier 'no-such-actor' not found"
    assert out["bad_request"] == "Invalid actor description: {'stateless': 'Whether the actor stores private state.'}"
    assert out["tenant_lookup"] == "dev"
    assert out["link"] and out["event_executor"] == "Abaco Event" and out["event_logs"]
    assert out["cycle"] == "Error: this update would result in a cycle of linked actors."
    assert out["deleted"] == "Actor deleted successfully."


def test_agavepy_unchanged(abaco: AbacoServer, tmp_path: Path) -> None:
    out = _run("agavepy", AGAVEPY_SCRIPT, abaco, tmp_path)
    assert out["created"] == {"status": "SUBMITTED", "name": "agave", "env": {"K": "v"}}
    assert out["ready"] == "READY" and out["listed"]
    assert out["execution"]["cpu"] > 0 and out["execution"]["runtime"] >= 1
    assert out["execution"]["exitCode"] == 0 and out["execution"]["workerId"]
    assert out["logs_msg"] and out["logs_env"]
    assert out["total_executions"] == 1 and out["messages"] == 0
    assert out["delete_messages"] == "KeyError 'ActorMessagesDeleteResponse'"
    assert out["binary_msg"] == "binary - omitted" and out["result"] == 17 and out["result_empty"]
    assert out["nonce"] == {"level": "READ", "maxUses": 3, "lastUseTime": "None"}
    assert out["nonce_used"] == 3 and out["nonces"] == 1 and out["nonce_deleted"] is None
    assert out["state_update"] == {"s": 1} and out["state"] == {"s": 1}
    assert out["link"] and out["event_executor"] == "Abaco Event" and out["event_logs"]
    assert out["webhook"][0] == 400 and "'example.com' is not a loopback address" in out["webhook"][1]
    assert out["bad_state"] == [400, "Invalid actor state description: state must be JSON serializable."]
    assert out["permissions"] == {"jdoe": "UPDATE", "bob": "READ"} == out["permissions_get"]
    assert out["alias_get"] == "agave-alias" and "agave-alias" in out["aliases"] and out["alias_deleted"] is None
    assert out["worker"] == "READY"
    assert out["add_worker"] == "Not authorized -- only admins are authorized to update workers."
    assert out["not_found"] == [404, "Actor with identifier 'nope-nope' not found"]
    assert out["updated"] == {"revision": 2, "name": "agave"}
    assert out["jwt_mode"] is True and out["deleted"] is None
