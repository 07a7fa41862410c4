"""The Abaco emulator's HTTP API over real loopback HTTP, both flavors: envelopes, case, ids and times, auth,
permissions, validation, state, mailbox, nonces, aliases, workers, search, tenancy and the routing quirks."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from swan_jupyter.sandbox.abaco.wire import is_hashid, new_hashid
from tests.helpers import Scenario
from tests.sandbox.abaco_tools import AbacoServer, Api, wait_for

METHOD_NOT_ALLOWED = "Invalid request: the API endpoint does not exist or the provided HTTP method is not allowed."
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+Z\d*)?$")
FLAVORS = ["v2", "v3"]


@pytest.fixture
def actor(api: Api) -> dict[str, Any]:
    return api.create(image="abacosamples/test", description="d", **{api.k("default_environment"): {"K": "v"}})


# -- envelope, case, ids, times ---------------------------------------------------------------------------------

def test_create_actor_envelope_case_and_ready(api: Api) -> None:
    response = api.call("POST", "", json={"image": "abacosamples/test", api.k("default_environment"): {"A": "1"}})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["access-control-allow-origin"] == "*"
    body = response.json()
    assert body["message"] == "Actor created successfully."
    assert body["status"] == "success"
    assert body["version"] == (":dev" if api.flavor == "v2" else "dev")
    assert ("metadata" in body) == (api.flavor == "v3")
    actor = body["result"]
    assert is_hashid(actor["id"]) and len(actor["id"]) >= 10
    assert actor["status"] == "SUBMITTED" and actor["owner"] == "jdoe" and actor["stateless"] is True
    assert actor[api.k("default_environment")] == {"A": "1"}
    assert TIME_RE.match(actor[api.k("create_time")]), actor[api.k("create_time")]
    if api.flavor == "v2":
        assert "cronSchedule" not in actor and "maxWorkers" not in actor and "name" not in actor
        assert "default_environment" not in actor and "run_as_executor" not in actor
        assert actor["_links"]["self"].endswith(f"/actors/v2/{actor['id']}")
        assert "/profiles/v2/jdoe" in actor["_links"]["owner"]
    else:
        assert actor["cron_schedule"] is None and actor["max_workers"] is None and actor["name"] is None
        assert actor["run_as_executor"] is False
        assert actor["_links"]["self"].endswith(f"/v3/actors/{actor['id']}")
        assert actor["_links"]["owner"].endswith("/v3/oauth2/profiles/jdoe")
    ready = api.wait_actor(actor["id"])
    assert ready[api.k("status_message")] == "" or api.flavor == "v2"
    assert ready["revision"] == 1


def test_same_actor_through_all_three_prefixes(make: Callable[..., Api]) -> None:
    v3 = make("user", "v3")
    actor = v3.create(image="abacosamples/test")
    v2 = make("user", "v2").ok("GET", f"/{actor['id']}")
    internal = make("user", "internal").ok("GET", f"/{actor['id']}")
    assert v2["id"] == internal["id"] == actor["id"]
    assert "createTime" in v2 and "createTime" in internal and "create_time" in actor


def test_list_actors_and_search_mode_switch(api: Api, actor: dict[str, Any]) -> None:
    listed = api.ok("GET", "")
    assert isinstance(listed, list) and actor["id"] in [a["id"] for a in listed]
    response = api.call("GET", "", params={"limit": 5, "offset": 0})
    body = response.json()
    assert body["message"] == "Actors search completed successfully."
    meta = body["result"]["_metadata"]
    assert meta[api.k("total_count")] == 0  # offset is a field filter, not a keyword
    found = api.ok("GET", "", params={"id": actor["id"]})
    assert [a["id"] for a in found["search"]] == [actor["id"]]
    assert found["_metadata"] == {api.k("total_count"): 1, api.k("records_skipped"): 0,
                                  api.k("record_limit"): 100, api.k("count_returned"): 1}
    assert found["search"][0]["token"] == "false"  # default from configuration, shown as a string


def test_time_display_quirks() -> None:
    from swan_jupyter.sandbox.abaco.wire import display_time

    base = 1588344341.0  # 2020-05-01T14:45:41Z
    assert display_time(base + 0.591) == "2020-05-01T14:45:41.591Z"
    assert display_time(base) == "2020-05-01T14:45:41"
    assert display_time(base + 0.5) == "2020-05-01T14:45:41.5Z00"
    assert display_time(None) == "None"
    assert display_time(947462400.25).startswith("2Z-01-10T")


# -- routing, auth, CORS ----------------------------------------------------------------------------------------

def test_unknown_paths_and_wrong_methods_are_405_before_auth(make: Callable[..., Api], flavor: str) -> None:
    anonymous = make(None, flavor)
    assert anonymous.error("GET", "/x/y/z/w/v", 405) == METHOD_NOT_ALLOWED
    assert anonymous.error("PATCH", "", 405) == METHOD_NOT_ALLOWED
    assert anonymous.error("PUT", "/someid/messages", 405) == METHOD_NOT_ALLOWED
    assert anonymous.error("GET", "/admin", 405) == METHOD_NOT_ALLOWED  # the admin API is not served
    assert anonymous.error("PATCH", "/configs", 405) == METHOD_NOT_ALLOWED


def test_non_abaco_path_is_a_json_404(abaco: AbacoServer) -> None:
    response = requests.get(f"{abaco.url}/nothing/here", timeout=5)
    assert response.status_code == 404 and response.json()["status"] == "error"


def test_missing_and_invalid_tokens_are_400(make: Callable[..., Api]) -> None:
    assert make(None, "v2").error("GET", "") == "No JWT or nonce provided."
    assert make(None, "v3").error("GET", "") == "No access token found in the request."
    bad = jwt.encode({"exp": int(time.time()) + 60, "tapis/username": "x", "tapis/tenant_id": "dev"}, "wrong-secret"
                     * 4, algorithm="HS256")
    assert Api(make(None).url, bad, "v3").error("GET", "") == "Invalid Tapis token."
    assert Api(make(None).url, bad, "v2").error("GET", "") == "Invalid JWT."
    expired = jwt.encode({"exp": 1, "tapis/username": "x"}, "s" * 32, algorithm="HS256")
    assert Api(make(None).url, expired, "v3").error("GET", "") == "Invalid Tapis token."


def test_jwt_assertion_header_needs_the_sandbox_signature(abaco: AbacoServer) -> None:
    """With the option on (fixture), an assertion signed with the sandbox's key is Abaco's v2 gateway header; one
    signed with another key, or unsigned, is an invalid JWT (see also tests/sandbox/test_trust.py)."""
    from swan_jupyter.sandbox.abaco.auth import load_secret

    secret = load_secret(abaco.state_dir / "abaco")
    claims = {"http://wso2.org/claims/enduser": "jdoe@carbon.super",
              "http://wso2.org/claims/role": "Internal/abaco-user", "exp": int(time.time()) + 60}
    for forged in (jwt.encode(claims, "not-the-secret-at-all-not-the-secret", algorithm="HS256"),
                   jwt.encode(claims, None, algorithm="none")):
        response = requests.post(f"{abaco.url}/actors", json={"image": "abacosamples/wc"},
                                 headers={"X-Jwt-Assertion-DEV": forged}, timeout=5)
        assert response.status_code == 400 and response.json()["message"] == "Invalid JWT."
    assertion = jwt.encode(claims, secret, algorithm="HS256")
    response = requests.post(f"{abaco.url}/actors", json={"image": "abacosamples/wc"},
                             headers={"X-Jwt-Assertion-DEV": assertion}, timeout=5)
    assert response.status_code == 200 and response.json()["result"]["owner"] == "jdoe"
    no_role = jwt.encode({"http://wso2.org/claims/enduser": "jdoe", "http://wso2.org/claims/role": "Internal/other",
                          "exp": int(time.time()) + 60}, secret, algorithm="HS256")
    refused = requests.get(f"{abaco.url}/actors", headers={"X-Jwt-Assertion-DEV": no_role}, timeout=5)
    assert refused.status_code == 400 and refused.json()["message"] == "Not authorized -- missing required role."


def test_options_answers_cors_without_auth(abaco: AbacoServer) -> None:
    response = requests.options(f"{abaco.url}/actors/v2", timeout=5)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]


def test_repeated_slashes_are_merged(api: Api, actor: dict[str, Any]) -> None:
    assert api.ok("GET", f"//{actor['id']}///messages")["messages"] == 0
    assert api.ok("GET", f"/{actor['id']}/")["id"] == actor["id"]


def test_unknown_actor_404_and_400_split(make: Callable[..., Api], flavor: str) -> None:
    user, admin = make("user", flavor), make("admin", flavor)
    ghost = new_hashid()
    expected = "Not authorized -- you do not have access to this actor." if flavor == "v3" \
        else f"Actor DEV_{ghost} does not exist"
    assert user.error("GET", f"/{ghost}") == expected
    assert admin.error("GET", f"/{ghost}", 404) == f"No actor found with identifier: {ghost}."
    assert user.error("GET", "/no-such-alias", 404) == "Actor with identifier 'no-such-alias' not found"


# -- permissions ----------------------------------------------------------------------------------------------

def test_permissions_levels_and_world(make: Callable[..., Api], flavor: str) -> None:
    owner, other = make("user", flavor), make("user2", flavor)
    actor = owner.create(image="abacosamples/test")
    aid = actor["id"]
    denied = "Not authorized -- you do not have access to this actor."
    assert other.error("GET", f"/{aid}") == denied
    assert aid not in [a["id"] for a in other.ok("GET", "")]
    perms = owner.ok("GET", f"/{aid}/permissions")
    assert perms == {"jdoe": "UPDATE"}
    updated = owner.ok("POST", f"/{aid}/permissions", json={"user": "testotheruser", "level": "READ"})
    assert updated == {"jdoe": "UPDATE", "testotheruser": "READ"}
    assert other.ok("GET", f"/{aid}")["id"] == aid
    assert other.error("POST", f"/{aid}/messages", json={"message": "x"}) == denied
    owner.ok("POST", f"/{aid}/permissions", json={"user": "testotheruser", "level": "EXECUTE"})
    assert other.send(aid, "from other")
    assert other.error("PUT", f"/{aid}", json={"image": "abacosamples/test"}) == denied
    owner.ok("POST", f"/{aid}/permissions", json={"user": "testotheruser", "level": "NONE"})
    assert other.error("GET", f"/{aid}") == denied
    owner.ok("POST", f"/{aid}/permissions", json={"user": "ABACO_WORLD", "level": "READ"})
    assert other.ok("DELETE", f"/{aid}/messages")["msg"] == "Actor mailbox purged."  # WORLD passes any level
    assert owner.error("POST", f"/{aid}/permissions", json={"user": "x", "level": "WRITE"}).startswith(
        "Invalid permission level: WRITE.")
    assert owner.error("POST", f"/{aid}/permissions", json={"level": "READ"}).startswith(
        "Invalid permissions description")
    assert make("admin", flavor).ok("GET", f"/{aid}")["id"] == aid


def test_update_by_another_user_keeps_owner(make: Callable[..., Api]) -> None:
    owner, other = make("user", "v3"), make("user2", "v3")
    actor = owner.create(image="abacosamples/test")
    owner.ok("POST", f"/{actor['id']}/permissions", json={"user": "testotheruser", "level": "UPDATE"})
    updated = other.ok("PUT", f"/{actor['id']}", json={"image": "abacosamples/wc"})
    assert updated["owner"] == "jdoe"
    assert owner.ok("GET", f"/{actor['id']}/permissions")["testotheruser"] == "UPDATE"


# -- validation and updates -------------------------------------------------------------------------------------

def test_validation_messages(api: Api) -> None:
    assert api.error("POST", "", json={"name": "x"}) == \
        "Invalid actor description: {'image': 'Reference to image on docker hub for this actor.'}"
    assert api.error("POST", "", json={"image": "abacosamples/test", "stateless": "maybe"}) == \
        "Invalid actor description: {'stateless': 'Whether the actor stores private state.'}"
    assert api.error("POST", "", json={"image": "abacosamples/test", api.k("default_environment"): [1]}) == \
        f"Invalid actor description: {{'{api.k('default_environment')}': 'A dictionary of default environmental " \
        "variables and values.'}"
    assert api.error("POST", "", data=b"not json", headers={"Content-Type": "application/json"}).startswith(
        "Invalid actor description: {'image'")
    assert api.error("POST", "", json=[1, 2]).startswith("Invalid actor description")


def test_privileged_fields(make: Callable[..., Api], flavor: str) -> None:
    user, privileged = make("user", flavor), make("privileged", flavor)
    prefix = "Not authorized -- only admins and privileged users can "
    assert user.error("POST", "", json={"image": "abacosamples/test", "privileged": True}) == \
        prefix + "make privileged actors."
    assert user.error("POST", "", json={"image": "abacosamples/test", user.k("max_workers"): 3}) == \
        prefix + "set max workers."
    made = privileged.create(image="abacosamples/test", **{privileged.k("max_workers"): 3})
    assert made[privileged.k("max_workers")] == 3
    stateful = privileged.call("POST", "", json={"image": "abacosamples/test", "stateless": False,
                                                 privileged.k("max_workers"): 2})
    assert stateful.json()["message"] == "Invalid actor description: stateful actors can only have 1 worker."
    # the quirk: the check also runs on message bodies
    target = user.create(image="abacosamples/test")
    assert user.error("POST", f"/{target['id']}/messages", json={"privileged": True}) == \
        prefix + "make privileged actors."


def test_form_encoded_create_like_abacos_test_suite(make: Callable[..., Api]) -> None:
    api = make("user", "internal")
    actor = api.ok("POST", "", data={"image": "abacosamples/test", "name": "abaco_test_suite", "stateless": "False"})
    assert actor["stateless"] is False and actor["name"] == "abaco_test_suite"


def test_put_is_full_replacement(api: Api) -> None:
    actor = api.create(image="abacosamples/test", name="keepme", description="first",
                       **{api.k("default_environment"): {"A": "1"}})
    aid = actor["id"]
    same = api.ok("PUT", f"/{aid}", json={"image": "abacosamples/test", "name": "renamed"})
    assert same["name"] == "keepme" and same["description"] == "" and same["revision"] == 1
    assert same[api.k("default_environment")] == {}
    newer = api.ok("PUT", f"/{aid}", json={"image": "abacosamples/wc"})
    assert newer["revision"] == 2 and newer["status"] == "SUBMITTED"
    forced = api.ok("PUT", f"/{aid}", json={"image": "abacosamples/wc", "force": True})
    assert forced["revision"] == 3
    api.wait_actor(aid)
    assert api.error("PUT", f"/{aid}", json={"description": "no image"}).startswith("Invalid actor description")
    stateful = api.create(image="abacosamples/test", stateless=False)
    assert api.error("PUT", f"/{stateful['id']}", json={"image": "abacosamples/test"}) == \
        "Invalid actor description: an actor that was not stateless cannot be updated to be stateless."


def test_delete_actor(api: Api) -> None:
    actor = api.create(image="abacosamples/test")
    api.wait_actor(actor["id"])
    response = api.call("DELETE", f"/{actor['id']}")
    assert response.status_code == 200
    assert response.json()["message"] == "Actor deleted successfully." and response.json()["result"] is None
    assert api.call("GET", f"/{actor['id']}").status_code == 400


# -- state ------------------------------------------------------------------------------------------------------

def test_state(api: Api) -> None:
    stateless = api.create(image="abacosamples/test")
    assert api.error("POST", f"/{stateless['id']}/state", 404, json={"a": 1}) == "actor is stateless."
    stateful = api.create(image="abacosamples/test", stateless=False)
    sid = stateful["id"]
    assert api.ok("GET", f"/{sid}/state") == {"state": {}}
    invalid = "Invalid actor state description: state must be JSON serializable."
    for bad in (b"{}", b"0", b'""', b"false", b"abc"):
        assert api.error("POST", f"/{sid}/state", data=bad, headers={"Content-Type": "application/json"}) == invalid
    updated = api.ok("POST", f"/{sid}/state", json={"count": 3, "tags": ["a"]})
    assert updated["id"] == sid and updated["state"] == {"count": 3, "tags": ["a"]}
    assert api.ok("GET", f"/{sid}/state") == {"state": {"count": 3, "tags": ["a"]}}
    assert api.ok("POST", f"/{sid}/state", json=[1, 2])["state"] == [1, 2]


# -- messages, mailbox ----------------------------------------------------------------------------------------

def test_mailbox_count_and_purge(api: Api) -> None:
    actor = api.create(image="abacosamples/sleep_loop")
    aid = actor["id"]
    api.wait_actor(aid)
    first = api.send(aid, "30")
    api.wait_execution(aid, first, "RUNNING")
    for _ in range(3):
        api.send(aid, "1")
    box = api.ok("GET", f"/{aid}/messages")
    assert box["messages"] == 3 and set(box["_links"]) == {"self", "owner"}
    purged = api.ok("DELETE", f"/{aid}/messages")
    assert purged["msg"] == "Actor mailbox purged."
    assert api.ok("GET", f"/{aid}/messages")["messages"] == 0
    for _ in range(4):  # refused only when more than 3 wait (controllers.py master 1786-1792)
        api.send(aid, "1")
    assert api.error("POST", f"/{aid}/messages", params={"_abaco_synchronous": "true"}, json={"message": "1"}) == \
        "Cannot issue synchronous execution when actor message queue > 0."
    api.ok("DELETE", f"/{aid}/messages")
    assert api.ok("DELETE", f"/{aid}/executions/{first}") is None


def test_message_body_rules(api: Api, actor: dict[str, Any]) -> None:
    aid = actor["id"]
    query = api.ok("POST", f"/{aid}/messages", params={"message": "from query"})
    assert query["msg"] == "from query"
    json_msg = api.ok("POST", f"/{aid}/messages", json={"x": 1})
    assert json_msg["msg"] == {"x": 1}
    raw = api.ok("POST", f"/{aid}/messages", data=b'"a json string"', headers={"Content-Type": "text/plain"})
    assert raw["msg"] == "a json string"
    assert set(raw["_links"]) == {"self", "owner", "messages"} and api.k("execution_id") in raw
    bad = "message POST body could not be serialized. Pass JSON data or use the message attribute."
    assert api.error("POST", f"/{aid}/messages", data=b"{not json", headers={"Content-Type": "text/plain"}) == bad
    assert api.error("POST", f"/{aid}/messages") == bad
    binary = api.ok("POST", f"/{aid}/messages", data=b"\x00\x01",
                    headers={"Content-Type": "application/octet-stream"})
    assert binary["msg"] == "binary - omitted"


def test_binary_message_limits(api: Api, actor: dict[str, Any]) -> None:
    aid = actor["id"]
    too_big = api.error("POST", f"/{aid}/messages", data=b"x" * 5000,
                        headers={"Content-Type": "application/octet-stream"})
    assert too_big == "Message exceeds max content length of: 4096"

    def chunks() -> Iterator[bytes]:
        yield b"abc"

    assert api.error("POST", f"/{aid}/messages", data=chunks(),
                     headers={"Content-Type": "application/octet-stream"}) == \
        "Content Length required for application/octet-stream."


# -- executions ---------------------------------------------------------------------------------------------

def test_execution_errors(api: Api, actor: dict[str, Any]) -> None:
    aid = actor["id"]
    ghost = new_hashid()
    assert api.error("GET", f"/{aid}/executions/{ghost}") == \
        f"No executions found with actor id of {aid} and execution id of {ghost}."
    assert api.error("GET", f"/{aid}/executions/{ghost}/logs").startswith("No executions found")
    eid = api.send(aid, "quick")
    api.wait_execution(aid, eid)
    assert api.error("DELETE", f"/{aid}/executions/{eid}") == \
        "Cannot force quit an execution not in RUNNING status. Execution was found in status: COMPLETE"
    summary = api.ok("GET", f"/{aid}/executions")
    assert summary[api.k("total_executions")] >= 1 and summary[api.k("actor_id")] == aid
    item = summary["executions"][0]
    assert re.match(r"^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$", item[api.k("message_received_time")])
    searched = api.ok("GET", f"/{aid}/executions", params={"status": "COMPLETE"})
    assert eid in [e["id"] for e in searched["search"]]
    logs = api.ok("GET", f"/{aid}/executions/{eid}/logs", params={"search": "Contents"})
    assert logs["search"] and "Contents of MSG: quick" in logs["search"][0]["logs"]


def test_legacy_execution_post(api: Api, actor: dict[str, Any]) -> None:
    aid = actor["id"]
    result = api.ok("POST", f"/{aid}/executions", json={"runtime": "3", "cpu": "100", "io": "7"})
    assert result["id"] == aid
    assert api.error("POST", f"/{aid}/executions", json={"runtime": "3"}).startswith("Invalid execution description")


# -- nonces ---------------------------------------------------------------------------------------------------

def test_nonce_counting_and_levels(make: Callable[..., Api], flavor: str) -> None:
    owner = make("user", flavor)
    anonymous = make(None, flavor)
    actor = owner.create(image="abacosamples/test")
    aid = actor["id"]
    nonce = owner.ok("POST", f"/{aid}/nonces", json={"level": "READ", owner.k("max_uses"): 3})
    nid = nonce["id"]
    assert nid.startswith("DEV_") and nonce[owner.k("remaining_uses")] == 3
    assert nonce[owner.k("last_use_time")] == "None" and nonce["roles"] == ["Internal/abaco-user"]
    for _ in range(3):
        assert anonymous.ok("GET", f"/{aid}", params={"x-nonce": nid})["id"] == aid
    assert anonymous.error("GET", f"/{aid}", params={"x-nonce": nid}) == "No remaining uses left for this nonce."
    assert anonymous.error("POST", f"/{aid}/messages", params={"x-nonce": nid}, json={"message": "x"}) == \
        "Nonce does not have sufficient permissions level."
    after = owner.ok("GET", f"/{aid}/nonces/{nid}")
    assert after[owner.k("current_uses")] == 3 and after[owner.k("remaining_uses")] == 0
    assert TIME_RE.match(after[owner.k("last_use_time")])
    unlimited = owner.ok("POST", f"/{aid}/nonces", json={})
    assert unlimited["level"] == "EXECUTE" and unlimited[owner.k("max_uses")] == -1
    for _ in range(3):
        anonymous.ok("GET", f"/{aid}/messages", params={"x-nonce": unlimited["id"]})
    execution = anonymous.ok("POST", f"/{aid}/messages", params={"x-nonce": unlimited["id"]}, json={"message": "n"})
    assert execution[owner.k("execution_id")]
    counted = owner.ok("GET", f"/{aid}/nonces/{unlimited['id']}")
    assert counted[owner.k("current_uses")] == 4 and counted[owner.k("remaining_uses")] == -1
    assert len(owner.ok("GET", f"/{aid}/nonces")) == 2
    message = "The max uses parameter must be a positive integer or -1 (to denote unlimited uses)."
    assert owner.error("POST", f"/{aid}/nonces", json={owner.k("max_uses"): 0}) == message
    assert owner.error("POST", f"/{aid}/nonces", json={owner.k("max_uses"): -2}) == message
    assert anonymous.error("GET", "", params={"x-nonce": nid}) == "Not authorized."
    assert anonymous.error("GET", f"/{aid}", params={"x-nonce": "DEV_nope"}) == "Nonce does not exist."
    assert owner.error("GET", f"/{aid}/nonces/DEV_nope") == "Nonce not found."
    assert owner.ok("DELETE", f"/{aid}/nonces/{nid}") is None
    assert anonymous.error("GET", f"/{aid}", params={"x-nonce": nid}) == "Nonce does not exist."
    assert make("user2", flavor).error("GET", f"/{aid}/nonces") == \
        "Not authorized -- you do not have access to this actor."


# -- aliases --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="class", params=FLAVORS)
def aliases(request: pytest.FixtureRequest, abaco: AbacoServer) -> Iterator[Scenario]:
    """TestAliases on one flavor: the owner's, another user's, the admin's and an anonymous client, and the actor
    the alias names; the alias is deleted at the end if the delete step did not run."""
    flavor = str(request.param)
    apis = {who: Api(abaco.url, abaco.token(user) if user else None, flavor)
            for who, user in (("owner", "user"), ("other", "user2"), ("admin", "admin"), ("anonymous", None))}
    story = Scenario(flavor=flavor, **apis)
    story["aid"] = apis["owner"].create(image="abacosamples/test")["id"]
    yield story
    if "name" in story and "deleted" not in story:
        apis["owner"].call("DELETE", f"/aliases/{story['name']}")
    for api in apis.values():
        api.session.close()


class TestAliases:
    """An alias's life, one rule per test, on each flavor: create, refusals, reads, alias-addressed actor routes,
    permissions, alias nonces, moving it to another actor, deleting it."""

    def test_create(self, aliases: Scenario) -> None:
        owner, aid = aliases["owner"], aliases["aid"]
        name = f"counter.{aliases['flavor']}.{int(time.time() * 1000) % 100000}"
        created = owner.ok("POST", "/aliases", json={"alias": name, owner.k("actor_id"): aid})
        aliases["name"] = name
        assert created["alias"] == name and created[owner.k("actor_id")] == aid and created["owner"] == "jdoe"
        assert created["_links"]["self"].endswith(f"/aliases/{name}")

    def test_an_alias_is_created_once(self, aliases: Scenario) -> None:
        owner, name = aliases["owner"], aliases.need("name")
        assert owner.error("POST", "/aliases", json={"alias": name, owner.k("actor_id"): aliases["aid"]}) == \
            f"Alias {name} already exists."

    def test_an_alias_may_not_be_a_hash_id(self, aliases: Scenario) -> None:
        owner = aliases["owner"]
        assert owner.error("POST", "/aliases", json={"alias": new_hashid(), owner.k("actor_id"): aliases["aid"]}) == \
            "Invalid alias description. Alias cannot be an Abaco hash id."

    def test_an_alias_may_not_be_a_reserved_word(self, aliases: Scenario) -> None:
        owner, aid = aliases["owner"], aliases["aid"]
        assert owner.error("POST", "/aliases", json={"alias": "messages", owner.k("actor_id"): aid}).startswith(
            "messages is a reserved word.")  # no prefix: models.py master 1157-1161

    def test_an_alias_may_not_hold_a_slash(self, aliases: Scenario) -> None:
        owner, aid = aliases["owner"], aliases["aid"]
        assert "'/' is a forbidden character" in owner.error("POST", "/aliases",
                                                               json={"alias": "a/b", owner.k("actor_id"): aid})

    def test_only_who_may_update_the_actor_names_it(self, aliases: Scenario) -> None:
        other, aid, name = aliases["other"], aliases["aid"], aliases.need("name")
        assert other.error("POST", "/aliases", json={"alias": name + "x", other.k("actor_id"): aid}) == \
            f"Not authorized -- you do not have access to {aid}."  # controllers.py master 464-466

    def test_the_listing_is_not_filtered(self, aliases: Scenario) -> None:
        assert aliases.need("name") in [a["alias"] for a in aliases["other"].ok("GET", "/aliases")]

    def test_the_owner_reads_the_alias(self, aliases: Scenario) -> None:
        name = aliases.need("name")
        assert aliases["owner"].ok("GET", f"/aliases/{name}")["alias"] == name

    def test_another_user_may_not_read_it(self, aliases: Scenario) -> None:
        assert aliases["other"].error("GET", f"/aliases/{aliases.need('name')}") == \
            "Not authorized -- you do not have access to this alias."

    def test_actor_routes_by_alias(self, aliases: Scenario) -> None:
        owner, name = aliases["owner"], aliases.need("name")
        assert owner.ok("GET", f"/{name}")["id"] == aliases["aid"]
        assert owner.ok("GET", f"/{name}/messages")["messages"] >= 0

    def test_an_unknown_alias(self, aliases: Scenario) -> None:
        assert aliases["admin"].error("GET", "/aliases/nothing-here", 404) == "No alias found: nothing-here."
        assert aliases["owner"].error("GET", "/aliases/nothing-here", 404) == \
            "Actor with identifier 'nothing-here' not found"

    def test_alias_permissions(self, aliases: Scenario) -> None:
        name = aliases.need("name")
        perms = aliases["owner"].ok("POST", f"/aliases/{name}/permissions",
                                    json={"user": "testotheruser", "level": "READ"})
        assert perms == {"jdoe": "UPDATE", "testotheruser": "READ"}
        assert aliases["other"].ok("GET", f"/aliases/{name}")["alias"] == name

    def test_an_alias_nonce(self, aliases: Scenario) -> None:
        owner, name = aliases["owner"], aliases.need("name")
        nonce = owner.ok("POST", f"/aliases/{name}/nonces", json={"level": "EXECUTE", owner.k("max_uses"): 2})
        aliases["nonce"] = nonce
        assert nonce["alias"] == name
        assert nonce.get("actor_id") is None and "actorId" not in nonce

    def test_alias_nonces_stop_at_execute(self, aliases: Scenario) -> None:
        assert aliases["owner"].error("POST", f"/aliases/{aliases.need('name')}/nonces",
                                      json={"level": "UPDATE"}).startswith("Invalid nonce description")

    def test_an_alias_nonce_sends_on_the_alias_path(self, aliases: Scenario) -> None:
        name, nonce = aliases.need("name"), aliases.need("nonce")
        sent = aliases["anonymous"].ok("POST", f"/{name}/messages", params={"x-nonce": nonce["id"]},
                                       json={"message": "via alias"})
        assert sent[aliases["owner"].k("execution_id")]
        aliases["sent"] = sent

    def test_an_alias_nonce_is_refused_on_the_actor_path(self, aliases: Scenario) -> None:
        nonce = aliases.need("nonce")
        assert aliases["anonymous"].error("GET", f"/{aliases['aid']}", params={"x-nonce": nonce["id"]}) == \
            "Nonce does not exist."

    def test_alias_nonces_are_listed_with_their_uses(self, aliases: Scenario) -> None:
        owner, name, nonce = aliases["owner"], aliases.need("name"), aliases.need("nonce")
        aliases.need("sent")
        assert [n["id"] for n in owner.ok("GET", f"/aliases/{name}/nonces")] == [nonce["id"]]
        assert owner.ok("GET", f"/aliases/{name}/nonces/{nonce['id']}")[owner.k("current_uses")] == 1

    def test_delete_an_alias_nonce(self, aliases: Scenario) -> None:
        name, nonce = aliases.need("name"), aliases.need("nonce")
        assert aliases["owner"].ok("DELETE", f"/aliases/{name}/nonces/{nonce['id']}") is None

    def test_moving_the_alias_to_another_actor(self, aliases: Scenario) -> None:
        owner, name = aliases["owner"], aliases.need("name")
        second = owner.create(image="abacosamples/wc")
        moved = owner.ok("PUT", f"/aliases/{name}", json={owner.k("actor_id"): second["id"]})
        assert moved[owner.k("actor_id")] == second["id"]

    def test_an_update_may_not_rename_the_alias(self, aliases: Scenario) -> None:
        owner, name = aliases["owner"], aliases.need("name")
        assert owner.error("PUT", f"/aliases/{name}", json={"alias": "other", owner.k("actor_id"): aliases["aid"]}
                           ).startswith("Invalid alias update description.")

    def test_delete(self, aliases: Scenario) -> None:
        owner, name = aliases["owner"], aliases.need("name")
        response = owner.call("DELETE", f"/aliases/{name}")
        aliases["deleted"] = True
        assert response.json()["message"] == f"Alias {name} deleted successfully."
        assert owner.error("GET", f"/{name}", 404) == f"Actor with identifier '{name}' not found"


# -- workers --------------------------------------------------------------------------------------------------

def test_workers(make: Callable[..., Api], flavor: str) -> None:
    owner, admin = make("user", flavor), make("admin", flavor)
    actor = owner.create(image="abacosamples/test")
    aid = actor["id"]
    owner.wait_actor(aid)
    workers = wait_for(lambda: owner.ok("GET", f"/{aid}/workers"), lambda w: w and w[0]["status"] == "READY")
    assert len(workers) == 1
    worker = workers[0]
    for key in ("image", "location", "cid", "tenant", "ch_name", "last_execution_time", "last_health_check_time"):
        assert owner.k(key) in worker
    assert worker[owner.k("last_execution_time")] == "None" and worker["tenant"] == "DEV"
    assert owner.error("POST", f"/{aid}/workers", json={"num": 2}) == \
        "Not authorized -- only admins are authorized to update workers."
    response = admin.call("POST", f"/{aid}/workers", json={"num": 3})
    assert response.json()["message"] == "Scheduled 2 new worker(s) to start. Previously, there were 1 workers."
    assert response.json()["result"] is None
    assert admin.call("POST", f"/{aid}/workers", json={"num": 2}).json()["message"] == \
        f"Actor {aid} already had 2 worker(s)."
    listed = wait_for(lambda: owner.ok("GET", f"/{aid}/workers"),
                      lambda w: len(w) == 3 and all(x["status"] == "READY" for x in w))
    assert owner.ok("GET", f"/{aid}/workers/{listed[1]['id']}")["id"] == listed[1]["id"]
    assert owner.ok("DELETE", f"/{aid}/workers/{listed[1]['id']}") is None
    wait_for(lambda: owner.ok("GET", f"/{aid}/workers"), lambda w: len(w) == 2)
    assert owner.error("GET", f"/{aid}/workers/{new_hashid()}", 404) == "Worker not found."
    found = owner.ok("GET", f"/{aid}/workers", params={"status": "READY"})
    assert found["_metadata"][owner.k("total_count")] == 2


# -- search, tenancy, misc -------------------------------------------------------------------------------------

def test_search_operators(make: Callable[..., Api], flavor: str) -> None:
    api = make("privileged", flavor)
    tag = f"srch{flavor}{int(time.time() * 1000) % 100000}"
    ids = [api.create(image=image, description=f"{tag} number {i}")["id"]
           for i, image in enumerate(["abacosamples/test", "abacosamples/wc", "abacosamples/test"])]
    base = {"search": tag}
    assert api.ok("GET", "/search/actors", params=base)["_metadata"][api.k("total_count")] == 3
    assert len(api.ok("GET", "/search/actors", params={**base, "image": "abacosamples/wc"})["search"]) == 1
    assert len(api.ok("GET", "/search/actors", params={**base, "image.neq": "abacosamples/wc"})["search"]) == 2
    assert len(api.ok("GET", "/search/actors", params={**base, "image.in": '["abacosamples/wc"]'})["search"]) == 1
    assert len(api.ok("GET", "/search/actors", params={**base, "image.nin": '["abacosamples/wc"]'})["search"]) == 2
    assert len(api.ok("GET", "/search/actors", params={**base, "image.like": "w.$"})["search"]) == 1
    assert len(api.ok("GET", "/search/actors", params={**base, "revision.gte": 1, "revision.lt": 2})["search"]) == 3
    assert len(api.ok("GET", "/search/actors", params={**base, "create_time.gt": "2000-01-01T00:00:00"})["search"]) == 3
    assert len(api.ok("GET", "/search/actors", params={**base, "create_time.between":
                                                         "2000-01-01T00:00:00,2001-01-01T00:00:00"})["search"]) == 0
    paged = api.ok("GET", "/search/actors", params={**base, "skip": 1, "limit": 1})
    assert paged["_metadata"] == {api.k("total_count"): 3, api.k("records_skipped"): 1, api.k("record_limit"): 1,
                                  api.k("count_returned"): 1}
    assert paged["search"][0]["id"] in ids
    assert api.ok("GET", "/search/actors", params={"exactsearch": f"{tag} number 2"})["search"][0]["id"] == ids[2]
    for item in paged["search"]:
        assert "tenant" not in item and "permissions" not in item and "_links" in item
    assert api.error("GET", "/search/actors", params={"limit": -1}).startswith("The limit parameter")
    for hostile in ("1_0", "\u0663", "9" * 5000, "--1"):  # ASCII digits only, at most 80 (int() reads the first two)
        assert api.error("GET", "/search/actors", params={"limit": hostile}).startswith("The limit parameter")
        assert api.error("GET", "/search/actors", params={"skip": hostile}).startswith("The skip parameter")
    assert api.error("GET", "/search/nothing").startswith("Invalid search type")
    other = make("user2", flavor)
    assert other.ok("GET", "/search/actors", params=base)["search"] == []
    assert make(None, flavor).error("GET", "/search/actors", 404, params={"x-nonce": "DEV_x"}) == "Not authorized."
    executions = api.ok("GET", "/search/executions", params={"limit": 1})
    assert api.k("total_count") in executions["_metadata"]


def test_execution_search_by_actor_paging_and_text(make: Callable[..., Api], flavor: str) -> None:
    """The store reads only the actors an ``actor_id`` filter names and parses only what it filters or returns:
    the answers must be those of a full scan (no record lost, none leaked from another user's actor)."""
    api, other = make("user", flavor), make("user2", flavor)
    mine = [api.create(image="abacosamples/test")["id"] for _ in range(2)]
    theirs = other.create(image="abacosamples/test")["id"]
    sent = {aid: [api.send(aid, f"m{i}") for i in range(2)] for aid in mine}
    foreign = other.send(theirs, "x")
    other.wait_execution(theirs, foreign)
    all_mine = [eid for eids in sent.values() for eid in eids]
    for aid, eids in sent.items():
        for eid in eids:
            api.wait_execution(aid, eid)
    key = api.k("actor_id")

    def found(params: dict[str, Any]) -> list[str]:
        return [item["id"] for item in api.ok("GET", "/search/executions", params={"limit": 1000, **params})["search"]]

    assert sorted(found({f"{key}.in": json.dumps([mine[0]])})) == sorted(sent[mine[0]])
    assert sorted(found({key: mine[1]})) == sorted(sent[mine[1]])
    assert sorted(found({f"{key}.eq": mine[1]})) == sorted(sent[mine[1]])
    assert sorted(found({f"{key}.in": json.dumps([mine[0], theirs])})) == sorted(sent[mine[0]])
    assert found({f"{key}.in": json.dumps([mine[0]]), key: mine[1]}) == []
    assert sorted(found({f"{key}.in": json.dumps(mine), "status": "COMPLETE"})) == sorted(all_mine)
    assert api.error("GET", "/search/executions", params={f"{key}.in": "[not json"}).endswith("must be a JSON list.")
    every = found({})
    assert set(all_mine) <= set(every) and foreign not in every
    paged = [eid for skip in range(0, len(every), 3) for eid in found({"skip": skip, "limit": 3})]
    assert paged == every
    target = sent[mine[1]][0]
    assert found({"search": target}) == [target]


def test_tenants_are_isolated(abaco: AbacoServer, make: Callable[..., Api]) -> None:
    from swan_jupyter.sandbox.abaco.auth import USER_ROLE, load_secret, mint_token

    make("user", "v3").create(image="abacosamples/test")
    secret = load_secret(abaco.state_dir / "abaco")
    staging = mint_token(secret, "jdoe", "staging", (USER_ROLE,), 300)
    api = Api(abaco.url, staging, "v3")
    assert api.ok("GET", "") == []
    made = api.create(image="abacosamples/test")
    assert made["id"] not in [a["id"] for a in make("user", "v3").ok("GET", "")]


def test_utilization_sites_and_tenants(abaco: AbacoServer, api: Api) -> None:
    usage = api.ok("GET", "/utilization")
    assert set(usage) == {"currentActors", "totalActors", "workers", "commandQueue"}
    sites = requests.get(f"{abaco.url}/v3/sites", timeout=5).json()["result"]
    tenants = requests.get(f"{abaco.url}/v3/tenants", timeout=5).json()["result"]
    assert sites[0]["site_id"] == tenants[0]["site_id"]
    assert tenants[0]["tenant_id"] == "dev" and tenants[0]["base_url"] == abaco.url


def test_describe_gives_tokens_for_four_users(abaco: AbacoServer) -> None:
    users = abaco.description["users"]
    assert set(users) == {"admin", "privileged", "user", "user2"}
    assert abaco.description["tenant"] == "dev" and abaco.description["url"] == abaco.url
    claims = jwt.decode(users["user"]["token"], options={"verify_signature": False})
    assert claims["tapis/username"] == users["user"]["username"] and claims["exp"] > time.time()
    assert "AbacoService(" in repr(abaco.service) and users["user"]["token"] not in repr(abaco.service)
    secret_file = abaco.state_dir / "abaco" / "jwt_secret"
    assert secret_file.stat().st_mode & 0o777 == 0o600


# -- malformed input never gives a 500 ---------------------------------------------------------------------------

JUNK_BODIES: list[dict[str, Any]] = [
    {"data": b"\xff\xfe\x00garbage", "headers": {"Content-Type": "application/json"}},
    {"json": [1, {"a": None}]},
    {"json": "just a string"},
    {"json": {"image": {"nested": True}, "stateless": [], "hints": [1, 2], "max_uses": "many", "maxUses": {},
              "level": 7, "user": ["x"], "alias": 12, "actor_id": None, "num": "lots", "runtime": [1],
              "default_environment": "{bad", "log_ex": "x", "token": "perhaps"}},
    {"json": {"hints": ["bad{hint"], "image": "abacosamples/test"}},
    {"data": b"[" * 5000 + b"]" * 5000, "headers": {"Content-Type": "application/json"}},
    {"data": b"a=1&b=%zz&&=", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    {"data": b"--x\r\nbroken", "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
    {"data": b"\x00" * 10, "headers": {"Content-Type": "application/octet-stream"}},
]


def test_malformed_input_never_answers_500(make: Callable[..., Api]) -> None:
    api = make("user", "v3")
    admin = make("admin", "v2")
    actor = api.create(image="abacosamples/test", stateless=False)
    aid = actor["id"]
    api.wait_actor(aid)
    assert admin.error("POST", f"/{aid}/workers", json={"num": 10_000}).startswith("Invalid workers description")
    ghost = new_hashid()
    paths = ["", f"/{aid}", f"/{aid}/state", f"/{aid}/messages", f"/{aid}/executions", f"/{aid}/executions/{ghost}",
             f"/{aid}/executions/{ghost}/logs", f"/{aid}/nonces", f"/{aid}/nonces/DEV_{ghost}", f"/{aid}/permissions",
             f"/{aid}/workers", f"/{aid}/workers/{ghost}", "/aliases", "/aliases/zz", "/aliases/zz/nonces",
             "/aliases/zz/permissions", "/search/actors", "/search/../etc", "/utilization", f"/{aid}/%00", "/%ff"]
    queries = [{}, {"limit": "x"}, {"skip": "-3"}, {"status.in": "[bad"}, {"id.like": "("}, {"create_time.gt": "nope"},
               {"x-nonce": "DEV_" + ghost}, {"create_time.between": "1"}, {"_abaco_synchronous": "maybe"}]
    statuses: set[int] = set()
    for client in (api, admin):
        for path in paths:
            for method in ("GET", "POST", "PUT", "DELETE"):
                for body in JUNK_BODIES[:4] if method in ("POST", "PUT") else [{}]:
                    response = client.call(method, path, **body)
                    statuses.add(response.status_code)
                    assert response.status_code < 500, (method, path, body, response.text)
                    assert response.headers["content-type"] in ("application/json", "application/octet-stream")
                    response.json() if response.headers["content-type"] == "application/json" else None
            for params in queries:
                response = client.call("GET", path, params=params)
                assert response.status_code < 500, (path, params, response.text)
    for body in JUNK_BODIES:
        for path in ("", f"/{aid}/messages", f"/{aid}/state", f"/{aid}/nonces", "/aliases"):
            response = api.call("POST", path, **body)
            assert response.status_code < 500, (path, body, response.text)
    assert 400 in statuses and 405 in statuses and 200 in statuses


def test_settings_strict_auth_and_snake_internal_prefix(tmp_path: Path) -> None:
    server = AbacoServer(tmp_path, {"abaco_strict_auth": True, "abaco_internal_case": "snake",
                                    "abaco_tenant": "dev"})
    try:
        anonymous = Api(server.url, None, "v3")
        assert anonymous.error("GET", "", 401) == "Invalid Credentials"
        assert Api(server.url, "not.a.jwt", "v2").error("GET", "", 401) == "Invalid Credentials"
        internal = Api(server.url, server.token("user"), "internal")
        actor = internal.ok("POST", "", json={"image": "abacosamples/test", "default_environment": {"A": "b"}})
        assert actor["default_environment"] == {"A": "b"} and actor["cron_schedule"] is None
        assert actor["_links"]["self"].endswith(f"/actors/v2/{actor['id']}")
        with pytest.raises(RuntimeError, match="another Abaco emulator is using"):
            AbacoServer(tmp_path)
    finally:
        server.stop()
