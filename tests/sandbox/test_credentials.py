"""Access control in the sandbox, route by route, over loopback (Abaco: TACC/abaco actors/auth.py; the
Orchestrator: as swan-sdk 0.1.4 and swanchain/go-swan-sdk authenticate).

* No credentials, or a forged/expired/garbled one, are refused on every route of every prefix, and change nothing.
* A second user can do nothing with another user's actor until granted a level, and then exactly that level.
* A nonce does no more than its level, its uses and its actor allow.

The routes are read from the emulator's own route table, so a route added later is covered automatically.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
import requests

from swan_jupyter.sandbox.abaco.app import ROUTES
from tests.helpers import Scenario

PREFIXES = {"/actors/v2": "v2", "/v3/actors": "v3", "/actors": "plain"}
MISSING = {"v2": "No JWT or nonce provided.", "v3": "No access token found in the request."}
INVALID = {"v2": "Invalid JWT.", "v3": "Invalid Tapis token."}
# Public by design: CORS pre-flight (any path: agaveflask's auth.py leaves OPTIONS alone) and tapipy's discovery
# documents (tapipy/tapis.py, Tenants.reload_tenants, reads them when a client has no tenant_id).
PUBLIC = [("OPTIONS", "/v3/actors"), ("GET", "/v3/tenants"), ("GET", "/v3/sites")]
LEVELS = ("NONE", "READ", "EXECUTE", "UPDATE")


@dataclass
class World:
    url: str
    tokens: dict[str, str]
    names: dict[str, str]
    state_dir: str
    aid: str
    eid: str
    wid: str
    nid: str
    alias: str

    def call(self, method: str, path: str, who: str | None = "user", *, headers: dict[str, str] | None = None,
             **kwargs: Any) -> requests.Response:
        h = dict(headers or {})
        if who is not None:
            h["Authorization"] = f"Bearer {self.tokens[who]}"
        return requests.request(method, self.url + path, headers=h, timeout=30, **kwargs)


def _ok(resp: requests.Response) -> Any:
    assert resp.status_code == 200, (resp.status_code, resp.text[:300])
    return resp.json()["result"]


@pytest.fixture(scope="module")
def world(sandbox: dict[str, Any]) -> Iterator[World]:
    abaco = sandbox["abaco"]
    tokens = {name: user["token"] for name, user in abaco["users"].items()}
    names = {key: user["username"] for key, user in abaco["users"].items()}
    w = World(abaco["url"], tokens, names, sandbox["host"]["state_dir"], "", "", "", "", "")
    w.aid = _ok(w.call("POST", "/actors/v2", json={"image": "abacosamples/test", "name": "acl-owner"}))["id"]
    w.eid = _ok(w.call("POST", f"/actors/v2/{w.aid}/messages", json={"hello": 1}))["executionId"]
    deadline = time.monotonic() + 30
    while _ok(w.call("GET", f"/actors/v2/{w.aid}/executions/{w.eid}"))["status"] != "COMPLETE":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    workers = _ok(w.call("GET", f"/actors/v2/{w.aid}/workers"))
    w.wid = workers[0]["id"] if workers else "no-worker"
    w.nid = _ok(w.call("POST", f"/actors/v2/{w.aid}/nonces", json={"level": "READ", "maxUses": 5}))["id"]
    w.alias = f"acl{int(time.time() * 1000) % 10**8}"
    _ok(w.call("POST", "/actors/v2/aliases", json={"alias": w.alias, "actorId": w.aid}))
    yield w
    w.call("DELETE", f"/actors/v2/aliases/{w.alias}")
    w.call("DELETE", f"/actors/v2/{w.aid}")


def _fill(pattern: tuple[str, ...], w: World) -> str:
    values = {"{aid}": w.aid, "{eid}": w.eid, "{wid}": w.wid, "{nid}": w.nid, "{alias}": w.alias,
              "{type}": "actors"}
    return "".join("/" + values.get(seg, seg) for seg in pattern)


def _snapshot(w: World) -> dict[str, Any]:
    actor = _ok(w.call("GET", f"/actors/v2/{w.aid}"))
    return {
        "actor": {k: actor[k] for k in ("image", "name", "description", "defaultEnvironment", "stateless")},
        "executions": _ok(w.call("GET", f"/actors/v2/{w.aid}/executions"))["totalExecutions"],
        "mailbox": _ok(w.call("GET", f"/actors/v2/{w.aid}/messages"))["messages"],
        "permissions": _ok(w.call("GET", f"/actors/v2/{w.aid}/permissions")),
        "nonces": sorted(n["id"] for n in _ok(w.call("GET", f"/actors/v2/{w.aid}/nonces"))),
        "aliases": sorted(a["alias"] for a in _ok(w.call("GET", "/actors/v2/aliases"))),
        "actors": sorted(a["id"] for a in _ok(w.call("GET", "/actors/v2"))),
    }


def _forged(w: World) -> dict[str, str]:
    """Tokens that must not pass: garbage, a good token's claims signed with another key, a token signed with the
    sandbox's own key but expired, one without an expiry, and a truncated one."""
    from pathlib import Path

    from swan_jupyter.sandbox.abaco.auth import load_secret, mint_token

    folder = Path(w.state_dir) / "abaco"
    assert (folder / "jwt_secret").exists()  # the sandbox's own signing key, not a new one
    secret = load_secret(folder)
    claims = jwt.decode(w.tokens["user"], options={"verify_signature": False})
    return {"garbage": "not-a-token",
            "wrong key": jwt.encode(claims, "another-secret-that-is-long-enough-32b", algorithm="HS256"),
            "expired": mint_token(secret, "user", claims["tapis/tenant_id"], (), lifetime=-60),
            "no expiry": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, secret, algorithm="HS256"),
            "truncated": w.tokens["user"][:-5]}


def test_every_route_refuses_requests_without_valid_credentials(world: World) -> None:
    before = _snapshot(world)
    refused = 0
    body = {"image": "abacosamples/test", "level": "UPDATE", "user": "user2", "alias": "x1", "actorId": world.aid,
            "num": 1, "hello": 1}
    for prefix, flavor in PREFIXES.items():
        for route in ROUTES:
            path = prefix + _fill(route.pattern, world)
            kwargs: dict[str, Any] = {"json": body} if route.method in ("POST", "PUT") else {}
            resp = world.call(route.method, path, None, **kwargs)
            assert resp.status_code == 400, (route.method, path, resp.status_code, resp.text[:200])
            message = resp.json()["message"]
            expected = {MISSING[flavor]} if flavor != "plain" else set(MISSING.values())
            assert message in expected, (route.method, path, message)
            refused += 1
            for name, token in _forged(world).items():
                for header in ("Authorization", "X-Tapis-Token"):
                    value = f"Bearer {token}" if header == "Authorization" else token
                    resp = world.call(route.method, path, None, headers={header: value}, **kwargs)
                    assert resp.status_code == 400, (name, header, route.method, path, resp.text[:200])
                    wanted = {INVALID[flavor]} if flavor != "plain" else set(INVALID.values())
                    assert resp.json()["message"] in wanted, (name, route.method, path, resp.json()["message"])
                    refused += 1
    assert refused >= len(ROUTES) * len(PREFIXES) * 11, (
        f"{len(ROUTES)} routes x {len(PREFIXES)} prefixes: {refused} requests without valid credentials refused")
    assert _snapshot(world) == before  # nothing changed, nothing was queued


@pytest.mark.parametrize(("method", "path"), PUBLIC)
def test_the_public_routes_are_only_discovery_and_cors(world: World, method: str, path: str) -> None:
    resp = world.call(method, path, None)
    assert resp.status_code == 200
    if method == "GET":
        assert resp.json()["status"] == "success"


# Open by design: log-in itself, the contract and machine catalogues (swan-sdk 0.1.4 reads the machines without a
# token when login=False, swan/api/orchestrator.py Orchestrator.__init__; go-swan-sdk's NewAPIClient reads both
# before logging in), the ABI version, and the job pages/sources a deployed task serves.
ORCHESTRATOR_OPEN = {"/login_by_api_key", "/contract_info", "/cp/machines-dp-ssh-ready", "/cp/machines-dp",
                     "/cp/machines", "/abi_version", "/_sources/{source_id}", "/_jobs/{job_uuid}/",
                     "/_jobs/{job_uuid}/{rest:path}"}


def test_orchestrator_routes_need_the_api_key(sandbox: dict[str, Any], tmp_path: Any) -> None:
    from swan_jupyter.sandbox.orchestrator.lifecycle import Clock
    from swan_jupyter.sandbox.orchestrator.routes import OrchestratorRoutes
    from swan_jupyter.sandbox.orchestrator.store import Store

    table = OrchestratorRoutes(Store(tmp_path / "routes.sqlite"), None, "unused", Clock()).app.routes
    url, key = sandbox["orchestrator"]["url"], sandbox["orchestrator"]["api_key"]
    tasks_before = requests.get(url + "/v2/task_list", params={"wallet_address": sandbox["chain"]["wallet"]["address"],
                                                              "size": 100},
                                headers={"Authorization": f"Bearer {key}"}, timeout=30).json()["data"]["total"]
    refused = pairs = 0
    protected = [r for r in table if r.path not in ORCHESTRATOR_OPEN]  # type: ignore[attr-defined]
    assert len(protected) >= 14
    for route in protected:
        path = route.path.replace("{task_uuid}", "00000000-0000-0000-0000-000000000000")  # type: ignore[attr-defined]
        for method in route.methods - {"HEAD"}:  # type: ignore[attr-defined]
            pairs += 1
            for headers in ({}, {"Authorization": "Bearer sk-wrong"}, {"Authorization": f"Bearer {key[:-1]}"},
                            {"Authorization": key}, {"X-API-Key": key}):
                resp = requests.request(method, url + path, headers=headers,
                                        data={"task_uuid": "x", "wallet_address": "0x" + "1" * 40}, timeout=30)
                assert resp.status_code == 401, (method, path, headers.keys(), resp.status_code, resp.text[:200])
                body = resp.json()
                assert body["status"] == "failed" and "login_by_api_key" in body["message"]
                refused += 1
    after = requests.get(url + "/v2/task_list", params={"wallet_address": sandbox["chain"]["wallet"]["address"],
                                                       "size": 100},
                         headers={"Authorization": f"Bearer {key}"}, timeout=30).json()["data"]["total"]
    assert after == tasks_before  # no task was created by a refused request
    assert refused == 5 * pairs, (
        f"{len(protected)} protected Orchestrator routes: {refused} requests without a valid API key refused")


# -- a second user ---------------------------------------------------------------------------------------------

# (method, path under the actor, body) and the level each needs (TACC/abaco actors/auth.py, required_level and
# authorization): READ any GET, EXECUTE messages,
# UPDATE the rest. Force-quit and DELETE of the actor are checked on their own actor below.
OPERATIONS: list[tuple[str, str, Any, str]] = [
    ("GET", "", None, "READ"), ("GET", "/state", None, "READ"), ("GET", "/executions", None, "READ"),
    ("GET", "/executions/{eid}", None, "READ"), ("GET", "/executions/{eid}/logs", None, "READ"),
    ("GET", "/messages", None, "READ"), ("GET", "/nonces", None, "READ"), ("GET", "/permissions", None, "READ"),
    ("GET", "/workers", None, "READ"),
    ("POST", "/messages", {"n": 1}, "EXECUTE"),
    ("PUT", "", {"image": "abacosamples/test", "description": "changed by user2"}, "UPDATE"),
    ("POST", "/nonces", {"level": "READ"}, "UPDATE"), ("DELETE", "/messages", None, "UPDATE"),
    ("POST", "/permissions", {"user": "testshareuser", "level": "READ"}, "UPDATE"),  # the "privileged" user
]
DENIED = {"v2": "Not authorized -- you do not have access to this actor.",
          "v3": "Not authorized -- you do not have access to this actor."}


def _grant(w: World, aid: str, user: str, level: str) -> None:
    """Give the sandbox user ``user`` (a key of sandbox.json's users, or ABACO_WORLD) ``level`` on ``aid``."""
    _ok(w.call("POST", f"/actors/v2/{aid}/permissions", json={"user": w.names.get(user, user), "level": level}))


@pytest.mark.parametrize("prefix", ["/actors/v2", "/v3/actors"])
def test_a_second_user_gets_exactly_the_level_granted(world: World, prefix: str) -> None:
    flavor = PREFIXES[prefix]
    assert world.names["privileged"] == "testshareuser"
    aid = _ok(world.call("POST", "/actors/v2", json={"image": "abacosamples/test", "name": "acl-levels"}))["id"]
    try:
        eid = _ok(world.call("POST", f"/actors/v2/{aid}/messages", json={"first": 1}))["executionId"]
        checked = 0
        for level in LEVELS:
            if level != "NONE":
                _grant(world, aid, "user2", level)
            for method, sub, body, needs in OPERATIONS:
                path = f"{prefix}/{aid}{sub.replace('{eid}', eid)}"
                resp = world.call(method, path, "user2", json=body)
                allowed = LEVELS.index(level) >= LEVELS.index(needs)
                if allowed:
                    assert resp.status_code == 200, (level, method, sub, resp.status_code, resp.text[:200])
                else:
                    assert resp.status_code == 400, (level, method, sub, resp.status_code, resp.text[:200])
                    assert resp.json()["message"] == DENIED[flavor], (level, method, sub, resp.json()["message"])
                checked += 1
            # the v3 list shows actors with an explicit grant only; v2 lists what the caller can read
            listed = {a["id"] for a in _ok(world.call("GET", prefix, "user2"))}
            assert (aid in listed) == (level != "NONE"), (level, listed)
        owner = _ok(world.call("GET", f"/actors/v2/{aid}"))
        # a PUT by another user with UPDATE keeps the original owner (TACC/abaco actors/controllers.py,
        # ActorResource.put)
        assert owner["owner"] == world.names["user"] and owner["description"] == "changed by user2"
        # revoking with NONE takes everything away again, including force-quit and delete
        _grant(world, aid, "user2", "NONE")
        for method, sub in (("GET", ""), ("DELETE", f"/executions/{eid}"), ("DELETE", "")):
            resp = world.call(method, f"{prefix}/{aid}{sub}", "user2")
            assert resp.status_code == 400 and resp.json()["message"] == DENIED[flavor], (method, sub, resp.text)
        _grant(world, aid, "user2", "UPDATE")
        assert world.call("DELETE", f"{prefix}/{aid}", "user2").status_code == 200
        aid = ""
        assert checked == len(LEVELS) * len(OPERATIONS), f"{flavor}: {checked} operation/level pairs checked"
    finally:
        if aid:
            world.call("DELETE", f"/actors/v2/{aid}")


def test_abaco_world_opens_an_actor_to_every_user(world: World) -> None:
    aid = _ok(world.call("POST", "/actors/v2", json={"image": "abacosamples/test", "name": "acl-world"}))["id"]
    try:
        assert world.call("GET", f"/actors/v2/{aid}", "user2").status_code == 400
        _grant(world, aid, "ABACO_WORLD", "READ")
        assert world.call("GET", f"/actors/v2/{aid}", "user2").status_code == 200
        # with ABACO_WORLD present a user without an entry of their own passes any level check, whatever level is
        # stored for it (TACC/abaco actors/models.py, permission_process)
        assert world.call("POST", f"/actors/v2/{aid}/messages", "user2", json={"n": 1}).status_code == 200
    finally:
        world.call("DELETE", f"/actors/v2/{aid}")


# -- nonces ----------------------------------------------------------------------------------------------------


def _nonce(w: World, aid: str, level: str, max_uses: int = -1, alias: str | None = None) -> str:
    path = f"/actors/v2/aliases/{alias}/nonces" if alias else f"/actors/v2/{aid}/nonces"
    return str(_ok(w.call("POST", path, json={"level": level, "maxUses": max_uses}))["id"])


def _uses(w: World, aid: str, nid: str) -> tuple[int, int]:
    n = _ok(w.call("GET", f"/actors/v2/{aid}/nonces/{nid}"))
    return n["currentUses"], n["remainingUses"]


@pytest.fixture(scope="class", params=["/actors/v2", "/v3/actors"])
def nonce_world(request: pytest.FixtureRequest, world: World) -> Iterator[Scenario]:
    """TestANonceDoesNoMoreThanItsLevelAndUses on one prefix: an actor for the nonces and another one (both deleted at
    the end)."""
    aid = _ok(world.call("POST", "/actors/v2", json={"image": "abacosamples/test", "name": "acl-nonce"}))["id"]
    other = _ok(world.call("POST", "/actors/v2", json={"image": "abacosamples/test", "name": "acl-other"}))["id"]
    yield Scenario(prefix=request.param, aid=aid, other=other)
    world.call("DELETE", f"/actors/v2/{aid}")
    world.call("DELETE", f"/actors/v2/{other}")


def _use(w: World, s: Scenario, nid: str, method: str, sub: str = "", target: str | None = None,
         body: Any = None) -> requests.Response:
    return w.call(method, f"{s['prefix']}/{target or s['aid']}{sub}", None, params={"x-nonce": nid}, json=body)


class TestANonceDoesNoMoreThanItsLevelAndUses:
    """Nonces on one actor, one rule per test (TACC/abaco actors/auth.py, check_nonce), on each prefix."""

    @pytest.mark.parametrize("level", ["READ", "EXECUTE", "UPDATE"])
    def test_a_nonce_allows_exactly_its_level(self, world: World, nonce_world: Scenario, level: str) -> None:
        nid = _nonce(world, nonce_world["aid"], level)
        ops = [(method, sub, body, needs) for method, sub, body, needs in OPERATIONS if "{eid}" not in sub]
        checked = 0
        for method, sub, body, needs in ops:
            resp = _use(world, nonce_world, nid, method, sub, body=body)
            if sub == "/nonces":  # deliberately not Abaco: a nonce never lists, reads or makes nonces (FIDELITY.md)
                assert resp.status_code == 400, (level, method, sub, resp.text[:200])
                message = resp.json()["message"]
                assert "cannot list, read or create nonces" in message or (
                    LEVELS.index(level) < LEVELS.index(needs)
                    and message == "Nonce does not have sufficient permissions level."), (level, method, message)
            elif LEVELS.index(level) >= LEVELS.index(needs):
                assert resp.status_code == 200, (level, method, sub, resp.text[:200])
            else:
                assert resp.status_code == 400, (level, method, sub, resp.text[:200])
                assert resp.json()["message"] == "Nonce does not have sufficient permissions level."
            checked += 1
        assert checked == len(ops) >= 12, f"{PREFIXES[nonce_world['prefix']]} {level}: {checked} operations checked"

    @pytest.mark.parametrize("level", ["READ", "EXECUTE", "UPDATE"])
    def test_a_nonce_works_on_its_own_actor_only(self, world: World, nonce_world: Scenario, level: str) -> None:
        # never on another actor, never on unscoped routes
        prefix, nid = nonce_world["prefix"], _nonce(world, nonce_world["aid"], level)
        resp = _use(world, nonce_world, nid, "GET", target=nonce_world["other"])
        assert resp.status_code == 400 and resp.json()["status"] == "error", resp.text
        assert world.call("GET", prefix, None, params={"x-nonce": nid}).status_code == 400
        assert world.call("GET", f"{prefix}/search/actors", None, params={"x-nonce": nid}).status_code == 404

    def test_a_nonce_stops_after_its_uses(self, world: World, nonce_world: Scenario) -> None:
        # a READ nonce with 3 uses allows three GETs; refused requests use nothing (auth.py, check_nonce)
        nid = _nonce(world, nonce_world["aid"], "READ", max_uses=3)
        assert _use(world, nonce_world, nid, "POST", "/messages", body={"n": 1}).status_code == 400
        for i in range(3):
            assert _use(world, nonce_world, nid, "GET").status_code == 200, i
        last = _use(world, nonce_world, nid, "GET")
        assert last.status_code == 400 and last.json()["message"] == "No remaining uses left for this nonce."
        assert _uses(world, nonce_world["aid"], nid) == (3, 0)

    def test_an_unlimited_nonce_counts_its_uses(self, world: World, nonce_world: Scenario) -> None:
        unlimited = _nonce(world, nonce_world["aid"], "READ")
        for _ in range(3):
            _use(world, nonce_world, unlimited, "GET")
        assert _uses(world, nonce_world["aid"], unlimited) == (3, -1)
        nonce_world["unlimited"] = unlimited

    def test_a_deleted_nonce_is_dead(self, world: World, nonce_world: Scenario) -> None:
        unlimited = nonce_world.need("unlimited")
        _ok(world.call("DELETE", f"/actors/v2/{nonce_world['aid']}/nonces/{unlimited}"))
        assert _use(world, nonce_world, unlimited, "GET").status_code == 400

    def test_a_made_up_nonce_does_not_exist(self, world: World, nonce_world: Scenario) -> None:
        made_up = _use(world, nonce_world, "DEV_notanonce1234", "GET")
        assert made_up.status_code == 400 and made_up.json()["message"] == "Nonce does not exist."

    def test_a_token_wins_over_a_nonce(self, world: World, nonce_world: Scenario) -> None:
        # user2's own (missing) rights apply, not the nonce's
        strong = _nonce(world, nonce_world["aid"], "UPDATE")
        resp = world.call("GET", f"{nonce_world['prefix']}/{nonce_world['aid']}", "user2", params={"x-nonce": strong})
        assert resp.status_code == 400 and "Not authorized" in resp.json()["message"]


def test_alias_nonces_need_the_alias_and_stop_at_execute(world: World) -> None:
    alias_nonce = _nonce(world, world.aid, "READ", alias=world.alias)
    ok = world.call("GET", f"/actors/v2/aliases/{world.alias}", None, params={"x-nonce": alias_nonce})
    assert ok.status_code == 200
    # an alias nonce is not an actor nonce: refused on the actor-id path
    assert world.call("GET", f"/actors/v2/{world.aid}", None, params={"x-nonce": alias_nonce}).status_code == 400
    # and an actor nonce is refused on the alias path
    actor_nonce = _nonce(world, world.aid, "READ")
    assert world.call("GET", f"/actors/v2/aliases/{world.alias}", None,
                      params={"x-nonce": actor_nonce}).status_code == 400
    # alias nonce levels are NONE, READ and EXECUTE only (TACC/abaco actors/codes.py, ALIAS_NONCE_PERMISSION_LEVELS)
    resp = world.call("POST", f"/actors/v2/aliases/{world.alias}/nonces", json={"level": "UPDATE"})
    assert resp.status_code == 400 and resp.json()["message"]
