"""A sandbox no one else can drive (issue 11, items 12-14), over real loopback HTTP with forged requests.

* 12: ``X-Jwt-Assertion-<TENANT>`` is refused unless the sandbox was started with ``jwt_assertion``; then only a
  JWT signed with the sandbox's own key passes (alg none, another key, expired, no expiry are refused).
* 13: every listener (Abaco, Orchestrator, the chain's RPC proxy, health and admin routes) refuses a foreign
  ``Host`` (DNS rebinding) and a foreign ``Origin`` (pre-flight included, without any allow header); a loopback
  origin is answered by name, never with credentials.
* 14: ``file://`` and ``python:`` images only for the users of ``local_code_users``.

Every refused request is checked to have changed nothing. The session ``sandbox`` runs with the default options;
the module fixture ``trusted`` is a second sandbox (no chain) started with the options on, stopped in teardown.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from swan_jupyter.sandbox import host
from swan_jupyter.sandbox.abaco.auth import SANDBOX_USERS, load_secret, mint_token
from tests.sandbox.abaco_tools import write_script

EVIL = "http://evil.example"
ADMIN_CLAIMS = {"http://wso2.org/claims/enduser": "testuser@carbon.super", "tapis/username": "testuser",
                "http://wso2.org/claims/role": "Internal/abaco-admin,Internal/abaco-user", "tapis/tenant_id": "dev"}
SCRIPT = "print('local code ran')\n"


def _bearer(token: str, path: str) -> dict[str, str]:
    return {"X-Tapis-Token": token} if path.startswith("/v3") else {"Authorization": f"Bearer {token}"}


def _actor_ids(desc: dict[str, Any]) -> list[str]:
    """Every actor of the tenant, as the admin sees them."""
    url, token = desc["abaco"]["url"], desc["abaco"]["users"]["admin"]["token"]
    r = requests.get(url + "/v3/actors", headers={"X-Tapis-Token": token}, timeout=30)
    assert r.status_code == 200, r.text[:300]
    return sorted(a["id"] for a in r.json()["result"])


def _forged(state_dir: Path) -> dict[str, str]:
    """Assertions that must never pass: admin claims unsigned, signed with another key, expired or without expiry
    with the sandbox's own key, garbage."""
    secret = load_secret(state_dir / "abaco")
    exp = {"exp": int(time.time()) + 3600}
    return {"alg none": jwt.encode({**ADMIN_CLAIMS, **exp}, None, algorithm="none"),
            "other key": jwt.encode({**ADMIN_CLAIMS, **exp}, "k" * 64, algorithm="HS256"),
            "expired": mint_token(secret, "testuser", "dev", SANDBOX_USERS["admin"][1], lifetime=-120),
            "no expiry": jwt.encode(ADMIN_CLAIMS, secret, algorithm="HS256"),
            "garbage": "not-a-jwt"}


def _refused(r: requests.Response, status: int, start: str, *why: Any) -> str:
    assert r.status_code == status, (*why, r.status_code, r.text[:300])
    body = r.json()
    message = str(body.get("message") or body.get("error", {}).get("message"))
    assert message.startswith(start), (*why, message)
    return message


@pytest.fixture(scope="module")
def trusted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A sandbox started once with the defaults (jdoe registers a file:// actor), then restarted with
    ``jwt_assertion=True, local_code_users="user2"``; stopped at the end."""
    state = tmp_path_factory.mktemp("trusted")
    script = write_script(state, "mine.py", SCRIPT)
    try:
        first = host.start(state, chain=False, time_scale=60)
        url, token = first["abaco"]["url"], first["abaco"]["users"]["user"]["token"]
        created = requests.post(url + "/v3/actors", json={"image": script}, headers={"X-Tapis-Token": token},
                                timeout=30)
        assert created.status_code == 200, created.text[:300]
        host.stop(state)
        desc = host.start(state, chain=False, time_scale=60, jwt_assertion=True, local_code_users="user2")
        yield {**desc, "earlier": created.json()["result"]["id"], "script": script}
    finally:
        host.stop(state)


# -- 12. X-Jwt-Assertion -----------------------------------------------------------------------------------------

def test_sandbox_json_records_the_trust_options(sandbox: dict[str, Any], trusted: dict[str, Any]) -> None:
    assert sandbox["host"]["options"] == {"abaco_jwt_assertion": False,
                                          "abaco_local_code_users": ["jdoe", "testuser"]}
    assert sandbox["abaco"]["jwt_assertion"] is False
    assert trusted["host"]["options"] == {"abaco_jwt_assertion": True, "abaco_local_code_users": ["testotheruser"]}
    assert trusted["abaco"]["jwt_assertion"] is True and trusted["abaco"]["local_code_users"] == ["testotheruser"]
    # the key that signs the assertions is the sandbox's own, owner-only
    assert (Path(trusted["host"]["state_dir"]) / "abaco" / "jwt_secret").stat().st_mode & 0o077 == 0
    # a running sandbox is not silently reused with other options
    with pytest.raises(host.SandboxError, match="other options"):
        host.start(trusted["host"]["state_dir"], chain=False)


def test_the_options_on_the_command_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from swan_jupyter.cli import main

    calls: dict[str, dict[str, Any]] = {}

    def start(state: Any, **options: Any) -> dict[str, Any]:
        calls["start"] = options
        return {"host": {"state_dir": str(tmp_path)}}

    def serve(state: Any, **options: Any) -> None:
        calls["serve"] = options

    monkeypatch.setattr(host, "start", start)  # what the command asks the host for, nothing started
    monkeypatch.setattr(host, "serve", serve)
    monkeypatch.setattr(host, "status", lambda state: {"running": True})
    monkeypatch.setattr(host, "format_status", lambda report: "running")
    assert main(["sandbox", "start", "--jwt-assertion", "--local-code-users", "user,admin"]) == 0
    assert calls["start"]["jwt_assertion"] is True and calls["start"]["local_code_users"] == "user,admin"
    assert main(["sandbox", "serve"]) == 0
    assert calls["serve"]["jwt_assertion"] is False and calls["serve"]["local_code_users"] is None
    cmd = host.serve_command(Path("/s"), 1.0, True, host.trust_settings(True, "user2"))
    assert cmd[cmd.index("--local-code-users") + 1] == "testotheruser" and "--jwt-assertion" in cmd
    cmd = host.serve_command(Path("/s"), 1.0, True, host.trust_settings(False, "none"))
    assert cmd[cmd.index("--local-code-users") + 1] == "none" and "--jwt-assertion" not in cmd
    with pytest.raises(host.SandboxError, match="not a sandbox user"):
        host.trust_settings(False, "user,mallory")


def test_jwt_assertions_are_refused_by_default(sandbox: dict[str, Any]) -> None:
    url = sandbox["abaco"]["url"]
    before = _actor_ids(sandbox)
    assertions = {**_forged(Path(sandbox["host"]["state_dir"])),
                  "the user's own signed token": sandbox["abaco"]["users"]["admin"]["token"]}
    for name, value in assertions.items():
        for prefix, base in (("/actors/v2", "Invalid JWT."), ("/v3/actors", "Invalid Tapis token."),
                             ("/actors", "Invalid JWT.")):
            for method, body in (("POST", {"image": "abacosamples/test"}), ("GET", None)):
                r = requests.request(method, url + prefix, json=body, headers={"X-Jwt-Assertion-DEV": value},
                                     timeout=30)
                message = _refused(r, 400, base, name, method, prefix)
                assert "--jwt-assertion" in message, message
    assert _actor_ids(sandbox) == before


def test_only_assertions_signed_with_the_sandbox_key_are_accepted(trusted: dict[str, Any]) -> None:
    url, state = trusted["abaco"]["url"], Path(trusted["host"]["state_dir"])
    before = _actor_ids(trusted)
    for name, value in _forged(state).items():
        for method, body in (("POST", {"image": "abacosamples/test"}), ("GET", None)):
            r = requests.request(method, url + "/actors", json=body, headers={"X-Jwt-Assertion-DEV": value},
                                 timeout=30)
            assert _refused(r, 400, "Invalid JWT.", name, method) == "Invalid JWT."
    assert _actor_ids(trusted) == before
    signed = mint_token(load_secret(state / "abaco"), "testuser", "dev", SANDBOX_USERS["admin"][1], lifetime=60)
    r = requests.post(url + "/actors", json={"image": "abacosamples/test"}, headers={"X-Jwt-Assertion-DEV": signed},
                      timeout=30)
    assert r.status_code == 200 and r.json()["result"]["owner"] == "testuser", r.text[:300]
    requests.delete(f"{url}/actors/{r.json()['result']['id']}", headers={"X-Jwt-Assertion-DEV": signed}, timeout=30)


# -- 13. Host and Origin -----------------------------------------------------------------------------------------

def _listeners(desc: dict[str, Any]) -> dict[str, str]:
    return {"abaco": desc["abaco"]["url"], "orchestrator": desc["orchestrator"]["url"],
            "chain": desc["chain"]["rpc_url"]}


def test_every_listener_refuses_a_foreign_host(sandbox: dict[str, Any]) -> None:
    admin = {"X-Sandbox-Admin": sandbox["host"]["admin_token"]}
    for name, url in _listeners(sandbox).items():
        port = int(url.rsplit(":", 1)[1])
        for good in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
            assert requests.get(url + "/_sandbox/health", headers={"Host": good}, timeout=10).status_code == 200
        for bad in (f"evil.example:{port}", "evil.example", f"127.0.0.1:{port + 1}", f"[::1]:{port}", "127.0.0.1",
                    f"127.0.0.1.evil.example:{port}"):
            for path in ("/_sandbox/health", "/_sandbox/faults", "/"):
                r = requests.get(url + path, headers={"Host": bad, **admin}, timeout=10)
                message = _refused(r, 403, "Request refused by the sandbox", name, bad, path)
                assert bad in message and "DNS rebinding" in message, message
        # the admin route does not act for a foreign Host
        r = requests.put(url + "/_sandbox/faults", json={"rules": [{"error_rate": 1.0}]},
                         headers={"Host": f"evil.example:{port}", **admin}, timeout=10)
        assert r.status_code == 403
        assert requests.get(url + "/_sandbox/faults", headers=admin, timeout=10).json()["rules"] == []


def test_mutations_through_a_foreign_host_or_origin_change_nothing(sandbox: dict[str, Any]) -> None:
    abaco, orch, rpc = sandbox["abaco"]["url"], sandbox["orchestrator"]["url"], sandbox["chain"]["rpc_url"]
    token, key = sandbox["abaco"]["users"]["user"]["token"], sandbox["orchestrator"]["api_key"]
    wallet = sandbox["chain"]["wallet"]["address"]
    form = {"duration": 3600, "cfg_name": "C1ae.small", "region": "global", "start_in": 600, "wallet": wallet,
            "wallet_address": wallet, "job_source_uri": f"{orch}/_sources/none"}

    def tasks() -> int:
        r = requests.get(orch + "/v2/task_list", params={"wallet_address": wallet, "size": 100},
                         headers={"Authorization": f"Bearer {key}"}, timeout=30)
        return int(r.json()["data"]["total"])

    actors, count = _actor_ids(sandbox), tasks()
    port = {u: int(u.rsplit(":", 1)[1]) for u in (abaco, orch, rpc)}
    for foreign in ({"Host": f"evil.example:{port[abaco]}"}, {"Origin": EVIL}, {"Origin": "null"},
                    {"Origin": f"http://evil.example:{port[abaco]}"}, {"Origin": "http://127.0.0.1.evil.example"}):
        r = requests.post(abaco + "/v3/actors", json={"image": "abacosamples/test"},
                          headers={"X-Tapis-Token": token, **foreign}, timeout=30)
        _refused(r, 403, "Request refused by the sandbox", foreign)
        assert not any(h.lower().startswith("access-control-") for h in r.headers), dict(r.headers)
        r = requests.get(abaco + "/v3/actors", headers={"X-Tapis-Token": token, **foreign}, timeout=30)
        _refused(r, 403, "Request refused by the sandbox", foreign)
        assert "access-control-allow-origin" not in r.headers
        orch_foreign = {k: v.replace(str(port[abaco]), str(port[orch])) for k, v in foreign.items()}
        r = requests.post(orch + "/v2/task_deployment-dp", data=form,
                          headers={"Authorization": f"Bearer {key}", **orch_foreign}, timeout=30)
        assert r.status_code == 403 and r.json()["status"] == "failed", r.text[:300]
        rpc_foreign = {k: v.replace(str(port[abaco]), str(port[rpc])) for k, v in foreign.items()}
        r = requests.post(rpc, json={"jsonrpc": "2.0", "id": 1, "method": "evm_mine", "params": []},
                          headers=rpc_foreign, timeout=30)
        assert r.status_code == 403 and "refused" in r.json()["error"]["message"], r.text[:300]
    assert _actor_ids(sandbox) == actors and tasks() == count


def test_cors_is_granted_to_loopback_pages_only_and_never_with_credentials(sandbox: dict[str, Any]) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-tapis-token"}
    for name, url in _listeners(sandbox).items():
        for path in ("/v3/actors", "/actors/v2/abc/messages", "/v2/task_deployment-dp", "/"):
            r = requests.options(url + path, headers={"Origin": EVIL, **preflight}, timeout=10)
            assert r.status_code == 403, (name, path, r.status_code)
            assert not any(h.lower().startswith("access-control-") for h in r.headers), (name, dict(r.headers))
    abaco = sandbox["abaco"]["url"]
    for origin in ("http://localhost:8888", "http://127.0.0.1:3000", "http://[::1]:8888"):
        r = requests.options(abaco + "/v3/actors", headers={"Origin": origin, **preflight}, timeout=10)
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == origin, dict(r.headers)
        assert "access-control-allow-credentials" not in r.headers and "Origin" in r.headers["vary"]
        r = requests.get(abaco + "/v3/actors", headers={"Origin": origin,
                                                        "X-Tapis-Token": sandbox["abaco"]["users"]["user"]["token"]},
                         timeout=10)
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == origin
        assert "access-control-allow-credentials" not in r.headers
    # non-browser clients (no Origin) get Abaco's answer unchanged (flask-cors defaults: TACC/abaco
    # actors/reg_api.py, CORS(app))
    r = requests.options(abaco + "/v3/actors", timeout=10)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"


# -- 14. local code ------------------------------------------------------------------------------------------------

def test_local_code_images_only_for_the_configured_users(sandbox: dict[str, Any], tmp_path: Path) -> None:
    url, users = sandbox["abaco"]["url"], sandbox["abaco"]["users"]
    script = write_script(tmp_path, "intruder.py", SCRIPT)
    before = _actor_ids(sandbox)
    for image in (script, "python:swan_jupyter.sandbox.abaco.images.wc", " file:///etc/passwd"):
        for who in ("user2", "privileged"):
            for prefix in ("/actors/v2", "/v3/actors"):
                r = requests.post(url + prefix, json={"image": image}, headers=_bearer(users[who]["token"], prefix),
                                  timeout=30)
                message = _refused(r, 400, "Not authorized -- only the users named by the sandbox option "
                                   "--local-code-users", who, image)
                assert "jdoe, testuser" in message
    assert _actor_ids(sandbox) == before
    # the default users may; a user granted UPDATE on their actor, or a nonce, may not switch it to local code
    mine = requests.post(url + "/v3/actors", json={"image": script}, headers=_bearer(users["user"]["token"], "/v3"),
                         timeout=30)
    assert mine.status_code == 200, mine.text[:300]
    aid = mine.json()["result"]["id"]
    try:
        own = _bearer(users["user"]["token"], "/v3")
        nonce = requests.post(f"{url}/v3/actors/{aid}/nonces", json={"level": "UPDATE"}, headers=own,
                              timeout=30).json()["result"]["id"]
        requests.post(f"{url}/v3/actors/{aid}/permissions", json={"user": users["user2"]["username"],
                                                                  "level": "UPDATE"}, headers=own, timeout=30)
        other = write_script(tmp_path, "other.py", SCRIPT)
        r = requests.put(f"{url}/v3/actors/{aid}", json={"image": other}, headers=_bearer(users["user2"]["token"],
                                                                                           "/v3"), timeout=30)
        _refused(r, 400, "Not authorized -- only the users named", "update by user2")
        r = requests.put(f"{url}/v3/actors/{aid}", json={"image": other}, params={"x-nonce": nonce}, timeout=30)
        _refused(r, 400, "Not authorized -- only the users named", "update by nonce")
        got = requests.get(f"{url}/v3/actors/{aid}", headers=own, timeout=30).json()["result"]
        assert got["image"] == script and got["revision"] == 1
        # the owner's image stays runnable by others with UPDATE (no new local code)
        r = requests.put(f"{url}/v3/actors/{aid}", json={"image": script, "description": "d"},
                         headers=_bearer(users["user2"]["token"], "/v3"), timeout=30)
        assert r.status_code == 200, r.text[:300]
    finally:
        requests.delete(f"{url}/v3/actors/{aid}", headers=_bearer(users["user"]["token"], "/v3"), timeout=30)


def test_local_code_users_are_configurable_and_checked_again_at_run_time(trusted: dict[str, Any]) -> None:
    url, users = trusted["abaco"]["url"], trusted["abaco"]["users"]
    jdoe, other = _bearer(users["user"]["token"], "/v3"), _bearer(users["user2"]["token"], "/v3")
    # registered by jdoe when jdoe was allowed: after the restart it does not run
    deadline = time.monotonic() + 30
    while (earlier := requests.get(f"{url}/v3/actors/{trusted['earlier']}", headers=jdoe,
                                   timeout=30).json()["result"])["status"] != "ERROR":
        assert time.monotonic() < deadline, earlier
        time.sleep(0.1)
    assert "--local-code-users" in earlier["status_message"]
    r = requests.post(f"{url}/v3/actors/{trusted['earlier']}/messages", json={"message": "x"}, headers=jdoe,
                      timeout=30)
    if r.status_code == 200:  # accepted into the mailbox, but it never runs the file
        eid = r.json()["result"]["execution_id"]
        time.sleep(1.0)
        logs = requests.get(f"{url}/v3/actors/{trusted['earlier']}/executions/{eid}/logs", headers=jdoe,
                            timeout=30).json()["result"]["logs"]
        assert "local code ran" not in (logs or "")
    r = requests.post(url + "/v3/actors", json={"image": trusted["script"]}, headers=jdoe, timeout=30)
    assert "now allowed: testotheruser" in _refused(r, 400, "Not authorized -- only the users named", "jdoe")
    r = requests.post(url + "/v3/actors", json={"image": trusted["script"]}, headers=other, timeout=30)
    assert r.status_code == 200, r.text[:300]
    requests.delete(f"{url}/v3/actors/{r.json()['result']['id']}", headers=other, timeout=30)


def test_the_chain_node_grants_no_cors(sandbox: dict[str, Any]) -> None:
    """Clients reach the chain through the guarded proxy (``rpc_url``); anvil's own port (``node_url``) answers any
    Host (it cannot be told otherwise: a DNS-rebinding page that finds its port reaches it, see the README), but
    it grants no CORS, so an ordinary cross-origin page cannot send it JSON-RPC."""
    node = sandbox["chain"]["node_url"]
    r = requests.options(node, headers={"Origin": EVIL, "Access-Control-Request-Method": "POST",
                                        "Access-Control-Request-Headers": "content-type"}, timeout=10)
    assert "access-control-allow-origin" not in r.headers, dict(r.headers)
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    r = requests.post(node, json=body, headers={"Origin": EVIL}, timeout=10)
    assert "access-control-allow-origin" not in r.headers, dict(r.headers)
    assert requests.post(node, json=body, timeout=10).json()["result"] == hex(sandbox["chain"]["chain_id"])


def test_a_websocket_handshake_with_a_foreign_host_is_refused(sandbox: dict[str, Any]) -> None:
    import socket

    port = int(sandbox["abaco"]["url"].rsplit(":", 1)[1])
    for host_header in (f"evil.example:{port}", f"127.0.0.1:{port}"):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall((f"GET /v3/actors HTTP/1.1\r\nHost: {host_header}\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\nOrigin: http://evil.example\r\n\r\n").encode())
            status = sock.recv(4096).split(b"\r\n", 1)[0]
        assert b" 101 " not in status and (b" 403 " in status or b" 400 " in status), (host_header, status)
