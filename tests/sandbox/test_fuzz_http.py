"""Property-based HTTP requests against both emulators (valid credentials, hostile everything else): never a 5xx,
every refusal in the service's own JSON envelope with a message, and the service still answers afterwards.

Paths come from the emulators' own route tables with fuzzed parameters; methods, query strings, content types
and bodies (JSON of the wrong shapes, invalid UTF-8, form data, huge numbers, empty) are drawn by hypothesis.
The last test checks the case counts.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swan_jupyter.sandbox.abaco.app import ROUTES as ABACO_ROUTES

CASES: Counter[str] = Counter()
SEGMENT = st.one_of(st.sampled_from(["", ".", "..", "%2F", "%00", "null", "-1", "0", "x" * 300, "ABACO_WORLD",
                                     "%E2%80%AE", "%FF", "aliases", "executions", "search", "nonces"]),
                    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
                            max_size=20).map(lambda t: requests.utils.quote(t, safe="")))
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**40), max_value=10**40),
                   st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30))
JSON_VALUE = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(st.text(max_size=12), inner, max_size=5)),
                          max_leaves=15)
FIELDS = ["image", "name", "stateless", "description", "defaultEnvironment", "default_environment", "level",
          "maxUses", "max_uses", "user", "alias", "actorId", "actor_id", "num", "message", "cron", "token",
          "hints", "link", "webhook", "privileged", "maxWorkers", "queue", "tx_hash", "task_uuid", "duration",
          "wallet_address", "hardware_id", "region", "job_source_uri", "repo_uri", "cpu", "memory", "storage"]
BODY = st.one_of(
    st.tuples(st.just("application/json"), JSON_VALUE.map(lambda v: json.dumps(v).encode())),
    st.tuples(st.just("application/json"), st.dictionaries(st.sampled_from(FIELDS), JSON_VALUE, max_size=6)
              .map(lambda v: json.dumps(v).encode())),
    st.tuples(st.sampled_from(["application/json", "text/plain", "application/octet-stream", "", "text/html"]),
              st.binary(max_size=200)),
    st.tuples(st.just("application/x-www-form-urlencoded"),
              st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=30), max_size=6)
              .map(lambda d: urlencode(d).encode())),
    st.tuples(st.just("application/json"), st.sampled_from([b"{", b"[1,", b'{"a": NaN}', b"1e999999",
                                                            b'"\\ud800"', b"\xff\xfe", b"null", b"{}", b"[]"])),
)
QUERY = st.dictionaries(st.sampled_from(["limit", "offset", "skip", "x-nonce", "_abaco_synchronous", "page",
                                         "size", "wallet_address", "region", "name", "status", "message"]),
                        st.one_of(st.text(max_size=20), st.integers().map(str)), max_size=3)
SETTINGS = settings(max_examples=400, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def abaco(sandbox: dict[str, Any]) -> Iterator[tuple[str, dict[str, str], str]]:
    url = sandbox["abaco"]["url"]
    headers = {"Authorization": f"Bearer {sandbox['abaco']['users']['user']['token']}"}
    before = {a["id"] for a in requests.get(url + "/actors/v2", headers=headers, timeout=30).json()["result"]}
    aid = requests.post(url + "/actors/v2", json={"image": "abacosamples/test", "name": "http-fuzz"},
                        headers=headers, timeout=30).json()["result"]["id"]
    yield url, headers, aid
    # remove whatever the fuzzer managed to create
    for actor in requests.get(url + "/actors/v2", headers=headers, timeout=30).json()["result"]:
        if actor["id"] not in before:
            requests.delete(f"{url}/actors/v2/{actor['id']}", headers=headers, timeout=30)


def _check_envelope(resp: requests.Response, keys: set[str], where: str) -> None:
    assert resp.status_code < 500, (where, resp.status_code, resp.text[:300])
    if resp.status_code >= 400:
        body = resp.json()  # refusals are JSON, never an HTML page or a bare text
        assert keys <= set(body), (where, body)
        assert isinstance(body["message"], str) and body["message"].strip(), (where, body)


@SETTINGS
@given(prefix=st.sampled_from(["/actors/v2", "/v3/actors", "/actors"]), route=st.sampled_from(ABACO_ROUTES),
       method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]), known=st.booleans(),
       segments=st.lists(SEGMENT, min_size=4, max_size=4), query=QUERY, body=BODY)
def test_abaco_never_fails_on_hostile_requests(abaco: tuple[str, dict[str, str], str], prefix: str, route: Any,
                                               method: str, known: bool, segments: list[str],
                                               query: dict[str, str], body: tuple[str, bytes]) -> None:
    url, headers, aid = abaco
    fuzz = iter(segments)
    parts = [(aid if known and seg == "{aid}" else next(fuzz, "x")) if seg.startswith("{") else seg
             for seg in route.pattern]
    if method == "DELETE" and parts[:1] == [aid] and len(parts) == 1:
        method = "GET"  # keep the fixture's actor alive
    if query.get("_abaco_synchronous"):
        query["_abaco_synchronous"] = "false"  # a sync run would wait for an execution: not what is fuzzed here
    content_type, data = body
    path = prefix + "".join("/" + p for p in parts)
    resp = requests.request(method, url + path, params=query, data=data if method in ("POST", "PUT", "PATCH") else None,
                            headers={**headers, **({"Content-Type": content_type} if content_type else {})},
                            timeout=60)
    CASES[f"abaco:{resp.status_code // 100}xx"] += 1
    _check_envelope(resp, {"status", "message", "result", "version"}, f"{method} {path}")


ORCH_PATHS = ["/v2/task_deployment-dp", "/v2/task_deployment", "/v2/task_deployment/{task}",
              "/v2/task_payment_validate", "/v2/extend_task", "/terminate_task", "/v2/task_list",
              "/v2/config_order_status", "/claim_review",
              "/custom_instance", "/v2/get_source_uri", "/gpu-selection-list", "/util/example_code_mapping",
              "/login_by_api_key", "/provider/payments", "/cp/machines-dp-ssh-ready", "/contract_info",
              "/_jobs/{task}/", "/_sources/{task}"]


@SETTINGS
@given(path=st.sampled_from(ORCH_PATHS), method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
       segment=SEGMENT, query=QUERY, body=BODY)
def test_orchestrator_never_fails_on_hostile_requests(sandbox: dict[str, Any], path: str, method: str,
                                                      segment: str, query: dict[str, str],
                                                      body: tuple[str, bytes]) -> None:
    url = sandbox["orchestrator"]["url"]
    content_type, data = body
    headers = {"Authorization": f"Bearer {sandbox['orchestrator']['api_key']}"}
    if content_type:
        headers["Content-Type"] = content_type
    full = path.replace("{task}", segment)
    resp = requests.request(method, url + full, params=query, data=data if method != "GET" else None,
                            headers=headers, timeout=60)
    CASES[f"orchestrator:{resp.status_code // 100}xx"] += 1
    if path.startswith(("/_jobs", "/_sources")):
        # the deployed job's own web pages and source documents, not the API: plain pages, but never a 5xx
        assert resp.status_code < 500, (method, full, resp.status_code, resp.text[:200])
        return
    if resp.status_code in (404, 405) and "json" not in resp.headers.get("Content-Type", ""):
        pytest.fail(f"{method} {full}: a {resp.status_code} outside the Swan envelope: {resp.text[:200]!r}")
    _check_envelope(resp, {"status", "message", "data"}, f"{method} {full}")


def test_both_services_still_answer_after_the_fuzz(sandbox: dict[str, Any]) -> None:
    abaco = sandbox["abaco"]
    resp = requests.get(abaco["url"] + "/v3/actors", headers={"X-Tapis-Token": abaco["users"]["user"]["token"]},
                        timeout=30)
    assert resp.status_code == 200 and resp.json()["status"] == "success"
    resp = requests.get(sandbox["orchestrator"]["url"] + "/cp/machines-dp-ssh-ready", timeout=30)
    assert resp.status_code == 200 and resp.json()["data"]["hardware"]
    figures = f"hostile HTTP requests: {sum(CASES.values())} ({dict(sorted(CASES.items()))})"
    assert sum(CASES.values()) >= 700, figures
    for service in ("abaco", "orchestrator"):  # both were fuzzed, and neither ever answered a 5xx
        assert sum(n for kind, n in CASES.items() if kind.startswith(service + ":")) > 0, figures
        assert CASES[f"{service}:5xx"] == 0, figures
