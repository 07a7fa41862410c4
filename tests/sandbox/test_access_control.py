"""Access control of the sandbox emulators, over real loopback HTTP against the session sandbox (no mocks).

Abaco (TACC/abaco actors/auth.py: authentication, levels, nonces; actors/controllers.py: routes): every route of
the emulator's route table, under each prefix and with each method, refuses missing or bad credentials with Abaco's
status and message and changes nothing; a second user gets exactly the level granted; a nonce does no more than its
level, uses and actor/alias allow. Orchestrator (as swan-sdk 0.1.4 logs in, Orchestrator.api_key_login): every route
of its Starlette app except the listed public ones needs the API key.
``X-Jwt-Assertion-<TENANT>`` is refused by the session sandbox whatever it holds (it is started without the option
``jwt_assertion``; the option and its signed assertions are tested in ``test_trust.py``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from swan_jupyter.sandbox.abaco.app import ROUTES as ABACO_ROUTES
from swan_jupyter.sandbox.abaco.auth import ASSERTION_OFF
from tests.helpers import Scenario

IMAGE = "abacosamples/test"
# prefix -> (message without credentials, for an invalid token); internal /actors paths are v2 (Abaco's own v2
# tests call them, TACC/abaco tests/util.py). v2: TACC/abaco actors/auth.py check_nonce and agaveflask's auth.py
# check_jwt; v3: tapipy-tapisservice tapisservice/auth.py (validate_request_token, validate_token).
PREFIXES = {"/actors/v2": ("No JWT or nonce provided.", "Invalid JWT."),
            "/v3/actors": ("No access token found in the request.", "Invalid Tapis token."),
            "/actors": ("No JWT or nonce provided.", "Invalid JWT.")}
# The only Abaco requests answered without credentials (each checked below):
ABACO_PUBLIC = {
    ("OPTIONS", "any path"): "CORS pre-flight bypasses auth (agaveflask auth.py) and answers 200 with the CORS "
                                 "headers (TACC/abaco actors/reg_api.py, CORS(app))",
    ("GET", "/v3/sites"): "Tapis discovery for tapipy clients built without tenant_id (tapipy/tapis.py, "
                          "Tenants.reload_tenants)",
    ("GET", "/v3/tenants"): "Tapis discovery for tapipy clients built without tenant_id (tapipy/tapis.py, "
                            "Tenants.reload_tenants)",
}
DENIED = "Not authorized -- you do not have access to this actor."
ADMINS_ONLY = "Not authorized -- only admins are authorized to update workers."
LEVELS = ("NONE", "READ", "EXECUTE", "UPDATE")
# One body that every POST/PUT route would accept if the caller were authorised (a refused request must not act).
BODY = {"image": IMAGE, "description": "changed without credentials", "message": "intruder", "user": "testotheruser",
        "level": "UPDATE", "alias": "stolen-alias", "actor_id": "", "actorId": "", "num": 3, "runtime": "1",
        "cpu": "1", "io": "1"}


def k(prefix: str, snake: str) -> str:
    """A field name in the prefix's case: v2 camel as agavepy 0.9.5 reads it (agavepy/actors.py, executionId),
    v3 snake (TACC/abaco dev-v3 configschema.json, web_case)."""
    if prefix.startswith("/v3"):
        return snake
    head, *rest = snake.split("_")
    return head + "".join(w.title() for w in rest)


class Abaco:
    def __init__(self, sandbox: dict[str, Any]) -> None:
        self.url = sandbox["abaco"]["url"]
        self.tokens = {key: u["token"] for key, u in sandbox["abaco"]["users"].items()}
        self.names = {key: u["username"] for key, u in sandbox["abaco"]["users"].items()}
        self.state_dir = Path(sandbox["host"]["state_dir"])
        self.session = requests.Session()
        self.ids: dict[str, str] = {}

    def call(self, method: str, path: str, who: str | None = "user", *, headers: dict[str, str] | None = None,
             **kw: Any) -> requests.Response:
        h = dict(headers or {})
        if who is not None:  # what the real clients send: tapipy X-Tapis-Token, agavepy a bearer token
            h.update({"X-Tapis-Token": self.tokens[who]} if path.startswith("/v3") else
                     {"Authorization": f"Bearer {self.tokens[who]}"})
        return self.session.request(method, self.url + path, headers=h, timeout=30, **kw)

    def ok(self, method: str, path: str, who: str | None = "user", **kw: Any) -> Any:
        r = self.call(method, path, who, **kw)
        assert r.status_code == 200, (method, path, r.status_code, r.text[:300])
        return r.json()["result"]

    def new_actor(self, prefix: str = "/v3/actors", **fields: Any) -> str:
        return str(self.ok("POST", prefix, json={"image": IMAGE, **fields})["id"])


def refused(r: requests.Response, status: int, message: str, *why: Any) -> None:
    assert r.status_code == status, (*why, r.status_code, r.text[:300])
    body = r.json()
    assert body["status"] == "error" and body["result"] is None and body["message"] == message, (*why, body)


@pytest.fixture(scope="module")
def ab(sandbox: dict[str, Any]) -> Iterator[Abaco]:
    a = Abaco(sandbox)
    assert a.names["user"] != a.names["user2"]
    for key in ("user", "user2"):  # both are plain users: an admin would pass every check
        roles = jwt.decode(a.tokens[key], options={"verify_signature": False})["http://wso2.org/claims/role"]
        assert "admin" not in roles, roles
    aid = a.new_actor(name="acl-target")
    eid = a.ok("POST", f"/v3/actors/{aid}/messages", json={"message": "hello"})["execution_id"]
    deadline = time.monotonic() + 30
    while a.ok("GET", f"/v3/actors/{aid}/executions/{eid}")["status"] != "COMPLETE":
        assert time.monotonic() < deadline, "the first execution never completed"
        time.sleep(0.05)
    alias = f"acl-{aid[:6].lower()}"
    a.ok("POST", "/v3/actors/aliases", json={"alias": alias, "actor_id": aid})
    config = f"acl-config-{aid[:6].lower()}"  # the actor config routes (issue 22)
    a.ok("POST", "/v3/actors/configs", json={"name": config, "value": "v", "actors": aid, "is_secret": False})
    a.ids = {"aid": aid, "eid": eid, "alias": alias, "type": "actors", "name": config,
             "wid": a.ok("GET", f"/v3/actors/{aid}/workers")[0]["id"],
             "nid": a.ok("POST", f"/v3/actors/{aid}/nonces", json={"level": "READ", "max_uses": 5})["id"],
             "alias_nid": a.ok("POST", f"/v3/actors/aliases/{alias}/nonces", json={"level": "READ"})["id"]}
    yield a
    a.call("DELETE", f"/v3/actors/aliases/{alias}")
    a.call("DELETE", f"/v3/actors/configs/{config}")
    a.call("DELETE", f"/v3/actors/{aid}")
    a.session.close()


def fill(pattern: tuple[str, ...], ids: dict[str, str]) -> str:
    """A route pattern with real ids (an alias nonce on alias routes, an actor nonce on actor routes)."""
    values = {**ids, "nid": ids["alias_nid"]} if pattern[:1] == ("aliases",) else ids
    return "".join("/" + (values[seg[1:-1]] if seg.startswith("{") else seg) for seg in pattern)


def snapshot(a: Abaco) -> dict[str, Any]:
    aid, p = a.ids["aid"], "/v3/actors"
    actor = a.ok("GET", f"{p}/{aid}")
    return {"actor": {f: actor[f] for f in ("image", "description", "owner", "stateless", "state")},
            "executions": a.ok("GET", f"{p}/{aid}/executions")["total_executions"],
            "mailbox": a.ok("GET", f"{p}/{aid}/messages")["messages"],
            "permissions": a.ok("GET", f"{p}/{aid}/permissions"),
            "nonces": {n["id"]: n["current_uses"] for n in a.ok("GET", f"{p}/{aid}/nonces")
                       + a.ok("GET", f"{p}/aliases/{a.ids['alias']}/nonces")},
            "aliases": sorted(x["alias"] for x in a.ok("GET", f"{p}/aliases")),
            "all actors": sorted(x["id"] for x in a.ok("GET", p, "admin")),
            "workers": sorted(w["id"] for w in a.ok("GET", f"{p}/{aid}/workers"))}


def bad_tokens(a: Abaco) -> dict[str, str]:
    """Garbage; the user's claims signed with another key, unsigned, or expired with the sandbox's key; truncated."""
    from swan_jupyter.sandbox.abaco.auth import SANDBOX_USERS, load_secret, mint_token

    assert (a.state_dir / "abaco" / "jwt_secret").exists()  # the sandbox's own key, not a new one
    claims = jwt.decode(a.tokens["user"], options={"verify_signature": False})
    return {"garbage": "not-a-jwt",
            "other key": jwt.encode(claims, "x" * 64, algorithm="HS256"),
            "alg none": jwt.encode(claims, None, algorithm="none"),
            "expired": mint_token(load_secret(a.state_dir / "abaco"), a.names["user"], claims["tapis/tenant_id"],
                                  SANDBOX_USERS["user"][1], lifetime=-120),
            "truncated": a.tokens["user"][:-6]}


# -- 1. no credentials, bad credentials --------------------------------------------------------------------------

def test_abaco_requests_without_credentials_are_refused_on_every_route(ab: Abaco) -> None:
    assert len(ABACO_ROUTES) >= 35 and {r.method for r in ABACO_ROUTES} == {"GET", "POST", "PUT", "DELETE"}
    body = {**BODY, "actor_id": ab.ids["aid"], "actorId": ab.ids["aid"]}
    before, count = snapshot(ab), 0
    bad = bad_tokens(ab).values()
    unsigned_admin = jwt.encode({"http://wso2.org/claims/enduser": ab.names["admin"],
                                 "http://wso2.org/claims/role": "Internal/abaco-admin"}, None, algorithm="none")
    assertions = [{"X-Jwt-Assertion-DEV": v} for v in ("garbage", unsigned_admin, ab.tokens["admin"])]
    attempts = [*assertions, *({"Authorization": f"Bearer {t}"} for t in bad),
                *({"X-Tapis-Token": t} for t in bad)]
    # The emulator's Starlette app has one catch-all route handing every request to its dispatcher, which routes by
    # the table ABACO_ROUTES (method + pattern): that table is the emulator's route list.
    for prefix, (missing, invalid) in PREFIXES.items():
        for route in ABACO_ROUTES:
            path = prefix + fill(route.pattern, ab.ids)
            kw: dict[str, Any] = {"json": body} if route.method in ("POST", "PUT") else {}
            refused(ab.call(route.method, path, None, **kw), 400, missing, route.method, path)
            for headers in attempts:
                why = f"{invalid} {ASSERTION_OFF}" if headers in assertions else invalid
                refused(ab.call(route.method, path, None, headers=headers, **kw), 400, why, route.method, path,
                        headers)
            count += 1 + len(attempts)
    assert snapshot(ab) == before  # nothing deleted, changed, queued, granted, created or redeemed
    # control: the same filled paths are real, the owner reads every GET route on every prefix
    for prefix in PREFIXES:
        for route in (r for r in ABACO_ROUTES if r.method == "GET"):
            assert ab.call("GET", prefix + fill(route.pattern, ab.ids)).status_code == 200, (prefix, route.pattern)
    assert count == len(ABACO_ROUTES) * len(PREFIXES) * 14 >= 1400, (
        f"{len(ABACO_ROUTES)} Abaco routes x {len(PREFIXES)} prefixes: {count} route/method/credential requests")
    # the exemptions: OPTIONS everywhere (and it reveals nothing), the Tapis discovery documents
    for prefix in PREFIXES:
        for route in ABACO_ROUTES:
            r = ab.call("OPTIONS", prefix + fill(route.pattern, ab.ids), None)
            assert r.status_code == 200 and r.content == b"", (prefix, route.pattern, r.text[:200])
            assert r.headers["access-control-allow-origin"] == "*"
    for method, path in (m_p for m_p in ABACO_PUBLIC if m_p[1].startswith("/")):
        r = ab.call(method, path, None)
        assert r.status_code == 200 and r.json()["status"] == "success", (path, r.text[:200])


_BEFORE_LOGIN = ("read before login by swan-sdk (Orchestrator.__init__) and go-swan-sdk (NewAPIClient): served "
                 "without auth")
_NOT_API = "not Orchestrator API: a page a deployed task serves (job app, job source)"
ORCHESTRATOR_PUBLIC = {
    "/login_by_api_key": "logging in is how an API key becomes a token (Orchestrator.api_key_login)",
    "/contract_info": _BEFORE_LOGIN,
    "/cp/machines-dp-ssh-ready": _BEFORE_LOGIN, "/cp/machines-dp": _BEFORE_LOGIN, "/cp/machines": _BEFORE_LOGIN,
    "/abi_version": "a path constant of swan-sdk 0.1.4 (swan/common/constant.py, GET_ABI_VERSION) it never calls; "
                    "answers a constant",
    "/_sources/{source_id}": _NOT_API, "/_jobs/{job_uuid}/": _NOT_API, "/_jobs/{job_uuid}/{rest:path}": _NOT_API}


@pytest.fixture(scope="class")
def orch_routes(sandbox: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    """TestOrchestratorRoutesRefuseRequestsWithoutTheApiKey's world: the route table of the Orchestrator app, a task
    created with the key, a token issued for the key, the wallet's task count before."""
    from swan_jupyter.sandbox.orchestrator.lifecycle import Clock
    from swan_jupyter.sandbox.orchestrator.routes import OrchestratorRoutes
    from swan_jupyter.sandbox.orchestrator.store import Store

    store = Store(tmp_path_factory.mktemp("orch-routes") / "routes.db")
    table = [(r.path, sorted(r.methods - {"HEAD"}))  # type: ignore[attr-defined]
             for r in OrchestratorRoutes(store, None, "unused", Clock(1.0)).app.routes]
    store.close()
    url, key = sandbox["orchestrator"]["url"], sandbox["orchestrator"]["api_key"]
    wallet = sandbox["chain"]["wallet"]["address"]
    s = requests.Session()
    good = {"Authorization": f"Bearer {key}"}
    form = {"duration": 3600, "cfg_name": "C1ae.small", "region": "global", "start_in": 600, "wallet": wallet,
            "wallet_address": wallet, "job_source_uri": f"{url}/_sources/none", "deploy_type": -99}
    created = s.post(url + "/v2/task_deployment-dp", data=form, headers=good, timeout=30).json()
    assert created["status"] == "success", created
    task = created["data"]["task"]["uuid"]

    def tasks() -> Any:
        return s.get(url + "/v2/task_list", params={"wallet_address": wallet, "size": 100}, headers=good,
                     timeout=30).json()["data"]["total"]

    story = Scenario(table=table, url=url, key=key, s=s, good=good, form=form, task=task, tasks=tasks,
                     before=tasks(), protected=[(p, m) for p, m in table if p not in ORCHESTRATOR_PUBLIC],
                     issued=s.post(url + "/login_by_api_key", data={"api_key": key}, timeout=30).json()["data"])
    yield story
    s.close()


class TestOrchestratorRoutesRefuseRequestsWithoutTheApiKey:
    """Every route of the Orchestrator app but the listed public ones needs the API key; refusals change nothing."""

    def test_the_exemptions_name_real_routes(self, orch_routes: Scenario) -> None:
        assert set(ORCHESTRATOR_PUBLIC) <= {path for path, _ in orch_routes["table"]}

    def test_every_protected_route_refuses_bad_credentials(self, orch_routes: Scenario) -> None:
        w, key, issued = orch_routes, orch_routes["key"], orch_routes["issued"]
        attempts = [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {key[:-1]}"},
                    {"Authorization": f"Bearer {key}x"}, {"Authorization": key}, {"Authorization": f"Basic {key}"},
                    {"X-API-Key": key}, {"Authorization": f"Bearer {issued[:-2]}"}, {"Authorization": "Bearer "}]
        count, protected = 0, w["protected"]
        w["refusals sent"] = True
        for path, methods in protected:
            filled = path.replace("{task_uuid}", w["task"])
            for method in methods:
                for headers in attempts:
                    r = w["s"].request(method, w["url"] + filled, headers=headers,
                                       data={**w["form"], "task_uuid": w["task"]}, timeout=30)
                    assert r.status_code == 401, (method, path, headers, r.status_code, r.text[:200])
                    answer = r.json()
                    assert answer["status"] == "failed" and answer["data"] is None, answer
                    assert "login_by_api_key" in answer["message"], answer
                    count += 1
        figures = (f"{len(protected)} protected Orchestrator routes: {count} route/method/credential requests "
                   f"refused without the API key; {len(ORCHESTRATOR_PUBLIC)} public routes listed")
        assert len(protected) >= 14 and count >= 14 * len(attempts), figures
        assert count == sum(len(methods) for _, methods in protected) * len(attempts), figures

    def test_the_key_and_an_issued_token_pass_authentication(self, orch_routes: Scenario) -> None:
        w = orch_routes
        for path, methods in w["protected"]:
            filled = path.replace("{task_uuid}", w["task"])
            for method in methods:
                for bearer in (w["key"], w["issued"]):
                    r = w["s"].request(method, w["url"] + filled, headers={"Authorization": f"Bearer {bearer}"},
                                       timeout=30)
                    assert r.status_code != 401, (method, path, r.text[:200])

    @pytest.mark.parametrize("path", ["/contract_info", "/cp/machines-dp-ssh-ready", "/cp/machines-dp", "/cp/machines",
                                      "/abi_version"])
    def test_a_public_route_answers_without_the_key(self, orch_routes: Scenario, path: str) -> None:
        assert orch_routes["s"].get(orch_routes["url"] + path, timeout=30).json()["status"] == "success", path

    def test_no_refused_request_created_a_task(self, orch_routes: Scenario) -> None:
        orch_routes.need("refusals sent")
        assert orch_routes["tasks"]() == orch_routes["before"]

    def test_no_refused_request_touched_the_task(self, orch_routes: Scenario) -> None:
        w = orch_routes
        w.need("refusals sent")
        info = w["s"].get(f"{w['url']}/v2/task_deployment/{w['task']}", headers=w["good"], timeout=30).json()["data"]
        assert info["task"]["status"] not in ("terminate_pending", "terminated") and info["config_orders"] == []


# -- 2. a second user ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("p", ["/actors/v2", "/v3/actors"])
def test_a_second_user_gets_exactly_the_level_granted(ab: Abaco, p: str) -> None:
    aid = ab.new_actor(p, description="A's")
    try:
        eid = ab.ok("POST", f"{p}/{aid}/messages", json={"message": "from A"})[k(p, "execution_id")]
        nid = ab.ok("POST", f"{p}/{aid}/nonces", json={"level": "READ"})["id"]
        reads = ("", "/state", "/executions", f"/executions/{eid}", f"/executions/{eid}/logs", "/messages", "/nonces",
                 f"/nonces/{nid}", "/permissions", "/workers")
        ops = [*(("GET", sub, None, "READ") for sub in reads), ("POST", "/messages", {"message": "from B"}, "EXECUTE"),
               ("PUT", "", {"image": IMAGE, "description": "B's"}, "UPDATE"),
               ("POST", "/nonces", {"level": "UPDATE"}, "UPDATE"), ("DELETE", "/messages", None, "UPDATE"),
               ("POST", "/permissions", {"user": ab.names["user2"], "level": "UPDATE"}, "UPDATE")]
        checked = 0
        for level in LEVELS:
            if level != "NONE":
                ab.ok("POST", f"{p}/{aid}/permissions", json={"user": ab.names["user2"], "level": level})
            for method, sub, body, needs in ops:
                r = ab.call(method, f"{p}/{aid}{sub}", "user2", json=body)
                if LEVELS.index(level) >= LEVELS.index(needs):
                    assert r.status_code == 200, (level, method, sub, r.text[:200])
                else:
                    refused(r, 400, DENIED, level, method, sub)
                checked += 1
            # workers can be added by admins only, whatever the level (TACC/abaco actors/auth.py, authorization)
            refused(ab.call("POST", f"{p}/{aid}/workers", "user2", json={"num": 2}), 400, ADMINS_ONLY, level)
            if level != "UPDATE":
                refused(ab.call("DELETE", f"{p}/{aid}", "user2"), 400, DENIED, level)
            listed = {a["id"] for a in ab.ok("GET", p, "user2")}
            assert (aid in listed) == (level != "NONE"), level
            checked += 3
        actor = ab.ok("GET", f"{p}/{aid}")
        assert actor["owner"] == ab.names["user"] and actor["description"] == "B's"  # owner kept (ActorResource.put)
        assert ab.ok("GET", f"{p}/{aid}/permissions")[ab.names["user2"]] == "UPDATE"
        ab.ok("POST", f"{p}/{aid}/permissions", json={"user": ab.names["user2"], "level": "NONE"})  # revoke
        refused(ab.call("GET", f"{p}/{aid}", "user2"), 400, DENIED, "revoked")
        refused(ab.call("DELETE", f"{p}/{aid}/executions/{eid}", "user2"), 400, DENIED, "revoked force-quit")
        ab.ok("POST", f"{p}/{aid}/permissions", json={"user": ab.names["user2"], "level": "UPDATE"})
        ab.ok("DELETE", f"{p}/{aid}", "user2")
        assert ab.call("GET", f"{p}/{aid}").status_code in (400, 404)
        assert checked == len(LEVELS) * (len(ops) + 3), f"{p}: {checked} second-user operation/level pairs checked"
    finally:
        ab.call("DELETE", f"{p}/{aid}", "admin")


def test_abaco_world_opens_an_actor_to_every_user(ab: Abaco) -> None:
    aid = ab.new_actor()
    try:
        refused(ab.call("GET", f"/v3/actors/{aid}", "user2"), 400, DENIED)
        ab.ok("POST", f"/v3/actors/{aid}/permissions", json={"user": "ABACO_WORLD", "level": "READ"})
        assert aid in {a["id"] for a in ab.ok("GET", "/actors/v2", "user2")}
        # v3 lists explicit grants (TACC/abaco dev-v3 actors/controllers.py, ActorsResource.get)
        assert aid not in {a["id"] for a in ab.ok("GET", "/v3/actors", "user2")}
        # with ABACO_WORLD present a user without an entry of their own passes any level check, whatever level is
        # stored for it (TACC/abaco actors/models.py, permission_process)
        for who in ("user2", "privileged"):
            for p in ("/actors/v2", "/v3/actors"):
                ab.ok("GET", f"{p}/{aid}", who)
                ab.ok("POST", f"{p}/{aid}/messages", who, json={"message": "world"})
                ab.ok("PUT", f"{p}/{aid}", who, json={"image": IMAGE, "description": f"by {who}"})
        # a PUT by another user keeps the owner and gives the updater UPDATE (TACC/abaco actors/controllers.py,
        # ActorResource.put)
        assert ab.ok("GET", f"/v3/actors/{aid}")["owner"] == ab.names["user"]
        assert ab.ok("GET", f"/v3/actors/{aid}/permissions")[ab.names["user2"]] == "UPDATE"
    finally:
        ab.call("DELETE", f"/v3/actors/{aid}")


def test_aliases_need_their_own_permission_and_alias_nonces_need_alias_and_actor(ab: Abaco) -> None:
    p, alias, aid = "/v3/actors", ab.ids["alias"], ab.ids["aid"]
    assert alias in {a["alias"] for a in ab.ok("GET", f"{p}/aliases", "user2")}  # public (AliasesResource.get)
    refused(ab.call("GET", f"{p}/aliases/{alias}", "user2"), 400, DENIED.replace("actor", "alias"))
    refused(ab.call("GET", f"{p}/{alias}", "user2"), 400, DENIED)  # an alias path checks the actor
    both = "Not authorized -- you do not have access to this alias and actor."
    refused(ab.call("POST", f"{p}/aliases/{alias}/nonces", "user2", json={"level": "READ"}), 400, both)
    try:
        ab.ok("POST", f"{p}/aliases/{alias}/permissions", json={"user": ab.names["user2"], "level": "UPDATE"})
        ab.ok("GET", f"{p}/aliases/{alias}", "user2")
        refused(ab.call("GET", f"{p}/{alias}", "user2"), 400, DENIED)
        # alias permissions too need the level on the alias and on its actor: the emulator's rule; Abaco checks the
        # alias alone there (TACC/abaco actors/auth.py, authorization, asks both only for alias nonces)
        refused(ab.call("GET", f"{p}/aliases/{alias}/permissions", "user2"), 400, both)
        refused(ab.call("POST", f"{p}/aliases/{alias}/permissions", "user2",
                        json={"user": ab.names["privileged"], "level": "READ"}), 400, both)
        # alias nonces need the level on the alias and on its actor (TACC/abaco actors/auth.py, authorization)
        refused(ab.call("GET", f"{p}/aliases/{alias}/nonces", "user2"), 400, both)
        refused(ab.call("POST", f"{p}/aliases/{alias}/nonces", "user2", json={"level": "READ"}), 400, both)
        ab.ok("POST", f"{p}/{aid}/permissions", json={"user": ab.names["user2"], "level": "READ"})
        ab.ok("GET", f"{p}/aliases/{alias}/nonces", "user2")
        ab.ok("GET", f"{p}/aliases/{alias}/permissions", "user2")
        refused(ab.call("POST", f"{p}/aliases/{alias}/nonces", "user2", json={"level": "READ"}), 400, both)
    finally:
        ab.ok("POST", f"{p}/aliases/{alias}/permissions", json={"user": ab.names["user2"], "level": "NONE"})
        ab.ok("POST", f"{p}/{aid}/permissions", json={"user": ab.names["user2"], "level": "NONE"})


# -- 3. nonces -------------------------------------------------------------------------------------------------

LOW = "Nonce does not have sufficient permissions level."


@pytest.fixture(scope="class", params=["/actors/v2", "/v3/actors"])
def nonces(request: pytest.FixtureRequest, ab: Abaco) -> Iterator[Scenario]:
    """TestANonceDoesNoMoreThanItsLevelUsesAndActor on one prefix: its actor and another one (deleted at the end),
    and the nonces its steps make."""
    p = request.param
    story = Scenario(p=p, aid=ab.new_actor(p), other=ab.new_actor(p))
    story["path"] = f"{p}/{story['aid']}/nonces"
    yield story
    ab.call("DELETE", f"{p}/{story['aid']}")
    ab.call("DELETE", f"{p}/{story['other']}")


def new_nonce(ab: Abaco, s: Scenario, level: str, max_uses: int = -1) -> str:
    return str(ab.ok("POST", s["path"], json={"level": level, k(s["p"], "max_uses"): max_uses})["id"])


def use_nonce(ab: Abaco, s: Scenario, nid: str, method: str, sub: str = "", target: str | None = None,
              **kw: Any) -> requests.Response:
    return ab.call(method, f"{s['p']}/{target or s['aid']}{sub}", None, params={"x-nonce": nid}, **kw)


def uses_of(ab: Abaco, s: Scenario, nid: str) -> tuple[int, int]:
    n = ab.ok("GET", f"{s['path']}/{nid}")
    return n[k(s["p"], "current_uses")], n[k(s["p"], "remaining_uses")]


class TestANonceDoesNoMoreThanItsLevelUsesAndActor:
    """Nonces of each level on one actor, one rule per test (TACC/abaco actors/auth.py, check_nonce), on each prefix."""

    def test_every_request_uses_a_read_nonce(self, ab: Abaco, nonces: Scenario) -> None:
        read = new_nonce(ab, nonces, "READ")
        assert uses_of(ab, nonces, read) == (0, -1)
        assert ab.ok("GET", f"{nonces['path']}/{read}")[k(nonces["p"], "last_use_time")] == "None"
        for sub in ("", "/state", "/executions"):  # every request uses the nonce, GETs included (check_nonce)
            assert use_nonce(ab, nonces, read, "GET", sub).status_code == 200, sub
        nonces["read"] = read

    def test_a_read_nonce_cannot_write_and_refusals_use_nothing(self, ab: Abaco, nonces: Scenario) -> None:
        read = nonces.need("read")
        refused(use_nonce(ab, nonces, read, "POST", "/messages", json={"message": "no"}), 400, LOW)
        refused(use_nonce(ab, nonces, read, "PUT", json={"image": IMAGE}), 400, LOW)
        assert uses_of(ab, nonces, read) == (3, -1)  # refused requests use nothing
        assert ab.ok("GET", f"{nonces['path']}/{read}")[k(nonces["p"], "last_use_time")] != "None"

    def test_an_execute_nonce_sends_a_message(self, ab: Abaco, nonces: Scenario) -> None:
        execute = new_nonce(ab, nonces, "EXECUTE")
        sent = use_nonce(ab, nonces, execute, "POST", "/messages", json={"message": "by nonce"})
        assert sent.status_code == 200, sent.text[:200]
        nonces["execute"], nonces["sent"] = execute, sent.json()["result"]

    @pytest.mark.parametrize(("method", "sub", "body"), [
        ("PUT", "", {"image": IMAGE, "description": "nonce"}), ("DELETE", "", None),
        ("POST", "/nonces", {"level": "UPDATE"}), ("DELETE", "/messages", None),
        ("POST", "/permissions", {"user": "user2", "level": "UPDATE"})],
        ids=["update", "delete", "add-nonce", "clear-mailbox", "grant"])
    def test_an_execute_nonce_does_nothing_more(self, ab: Abaco, nonces: Scenario, method: str, sub: str,
                                                body: Any) -> None:
        execute = nonces.need("execute")
        if sub == "/permissions":
            body = {**body, "user": ab.names["user2"]}
        refused(use_nonce(ab, nonces, execute, method, sub, json=body), 400, LOW, method, sub)
        assert ab.ok("GET", f"{nonces['p']}/{nonces['aid']}")[k(nonces["p"], "description")] == ""  # unchanged

    def test_the_message_ran_as_the_nonce_owner(self, ab: Abaco, nonces: Scenario) -> None:
        p, sent = nonces["p"], nonces.need("sent")
        execution = ab.ok("GET", f"{p}/{nonces['aid']}/executions/{sent[k(p, 'execution_id')]}")
        assert execution["executor"] == ab.names["user"]  # the request ran as the nonce's owner (check_nonce)

    def test_a_nonce_stops_after_its_uses(self, ab: Abaco, nonces: Scenario) -> None:
        twice = new_nonce(ab, nonces, "READ", max_uses=2)
        assert [use_nonce(ab, nonces, twice, "GET").status_code for _ in range(2)] == [200, 200]
        refused(use_nonce(ab, nonces, twice, "GET"), 400, "No remaining uses left for this nonce.")
        assert uses_of(ab, nonces, twice) == (2, 0)

    def test_a_nonce_works_on_its_own_actor_only(self, ab: Abaco, nonces: Scenario) -> None:
        # not on another actor, not on unscoped routes, not made up (TACC/abaco actors/auth.py, check_nonce)
        p, read, other = nonces["p"], nonces.need("read"), nonces["other"]
        refused(use_nonce(ab, nonces, read, "GET", target=other), 400, "Nonce does not exist.")
        refused(ab.call("GET", p, None, params={"x-nonce": read}), 400, "Not authorized.")
        refused(ab.call("POST", p, None, params={"x-nonce": read}, json={"image": IMAGE}), 400, "Not authorized.")
        assert ab.call("GET", f"{p}/search/actors", None, params={"x-nonce": read}).status_code == 404
        refused(use_nonce(ab, nonces, f"DEV_{other}", "GET"), 400, "Nonce does not exist.")
        assert uses_of(ab, nonces, read) == (3, -1)

    def test_a_token_present_means_the_nonce_is_ignored(self, ab: Abaco, nonces: Scenario) -> None:
        # the token's own rights apply, the nonce is not used
        p, aid = nonces["p"], nonces["aid"]
        strong = new_nonce(ab, nonces, "UPDATE")
        refused(ab.call("GET", f"{p}/{aid}", "user2", params={"x-nonce": strong}), 400, DENIED)
        refused(ab.call("GET", f"{p}/{aid}", None, params={"x-nonce": strong},
                        headers={"Authorization": "Bearer not-a-jwt"}), 400, PREFIXES[p][1])
        ab.ok("GET", f"{p}/{aid}", params={"x-nonce": strong})
        assert uses_of(ab, nonces, strong) == (0, -1)
        nonces["strong"] = strong

    def test_a_deleted_nonce_is_dead(self, ab: Abaco, nonces: Scenario) -> None:
        strong = nonces.need("strong")
        ab.ok("DELETE", f"{nonces['path']}/{strong}")
        refused(use_nonce(ab, nonces, strong, "PUT", json={"image": IMAGE}), 400, "Nonce does not exist.")


def test_alias_nonces_work_on_alias_paths_only_and_stop_at_execute(ab: Abaco) -> None:
    p, alias, aid = "/v3/actors", ab.ids["alias"], ab.ids["aid"]
    apath = f"{p}/aliases/{alias}/nonces"
    on_alias = str(ab.ok("POST", apath, json={"level": "EXECUTE", "max_uses": 10})["id"])
    on_actor = str(ab.ok("POST", f"{p}/{aid}/nonces", json={"level": "EXECUTE"})["id"])
    try:
        def use(nid: str, method: str, path: str, **kw: Any) -> requests.Response:
            return ab.call(method, path, None, params={"x-nonce": nid}, **kw)

        assert use(on_alias, "GET", f"{p}/{alias}").status_code == 200
        assert use(on_alias, "GET", f"{p}/aliases/{alias}").status_code == 200
        assert use(on_alias, "POST", f"{p}/{alias}/messages", json={"message": "via alias"}).status_code == 200
        refused(use(on_alias, "PUT", f"{p}/{alias}", json={"image": IMAGE}), 400,
                "Nonce does not have sufficient permissions level.")
        # an alias path needs an alias nonce, an actor-id path an actor nonce (check_nonce)
        refused(use(on_alias, "GET", f"{p}/{aid}"), 400, "Nonce does not exist.")
        refused(use(on_actor, "GET", f"{p}/{alias}"), 400, "Nonce does not exist.")
        refused(use(on_actor, "GET", f"{p}/aliases/{alias}"), 400, "Nonce does not exist.")
        assert ab.ok("GET", f"{apath}/{on_alias}")["current_uses"] == 3
        # alias nonces stop at EXECUTE (TACC/abaco actors/codes.py, ALIAS_NONCE_PERMISSION_LEVELS)
        r = ab.call("POST", apath, json={"level": "UPDATE"})
        assert r.status_code == 400 and r.json()["status"] == "error", r.text[:200]
    finally:
        ab.call("DELETE", f"{apath}/{on_alias}")
        ab.call("DELETE", f"{p}/{aid}/nonces/{on_actor}")
