"""Issue 22, item 2: the deviations Abaco's own suites found after issue 16, each against the source it follows.

Sources: ``TACC/abaco`` ``master`` (v2; 9e83e1c) and ``prod-v3`` (v3; d307420), paths under ``actors/``. Search
items are the stored Mongo documents post-processed by ``Search.post_processing`` (v3 models.py 327-420): some
fields popped, times displayed, and on camel servers ``dict_to_camel`` (which keeps ``None`` values, unlike the
models' ``case()``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.sandbox.abaco_tools import AbacoServer, Api, wait_for

ACTOR_FIELDS = {"_links", "create_time", "cron_next_ex", "cron_on", "cron_schedule", "default_environment",
                "description", "gid", "hints", "id", "image", "last_update_time", "link", "log_ex", "max_cpus",
                "max_workers", "mem_limit", "mounts", "name", "owner", "privileged", "queue", "revision", "state",
                "stateless", "status", "status_message", "tasdir", "token", "type", "uid", "use_container_uid",
                "webhook"}
WORKER_FIELDS = {"actor_id", "ch_name", "cid", "create_time", "host_id", "host_ip", "id", "image",
                 "last_execution_time", "last_health_check_time", "location", "status"}
EXECUTION_FIELDS = {"_links", "actor_id", "cpu", "executor", "exit_code", "final_state", "finish_time", "id", "io",
                    "message_received_time", "runtime", "start_time", "status", "worker_id"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _keys(api: Api, names: set[str]) -> set[str]:
    return {n if api.flavor == "v3" or n.startswith("_") else _camel(n) for n in names}


def test_worker_cid_is_stable_and_not_empty(api: Api) -> None:
    """docker_utils.py (master): a READY worker's ``cid`` is its container's id; the emulator gives each worker
    a container-like id of its own, the same on every read."""
    aid = api.create(image="jstubbs/abaco_test")["id"]
    api.wait_actor(aid)
    workers = wait_for(lambda: api.ok("GET", f"/{aid}/workers"), lambda ws: ws and ws[0]["status"] == "READY")
    cid = workers[0]["cid"]
    assert isinstance(cid, str) and len(cid) == 64 and int(cid, 16) >= 0
    eid = api.send(aid, "x")
    api.wait_execution(aid, eid)
    assert api.ok("GET", f"/{aid}/workers/{workers[0]['id']}")["cid"] == cid


def test_search_records_have_abacos_field_sets(api: Api) -> None:
    """Search post-processing: workers and executions lose ``tenant`` and carry ``actor_id``; actors keep every
    stored field (``gid``, ``uid``, ``tasdir`` ... null when unset, v2 ``test_search_actors_details``), in
    camel too; executions lose ``api_server``."""
    aid = api.create(image="jstubbs/abaco_test")["id"]
    eid = api.send(aid, "x")
    api.wait_execution(aid, eid)
    actor = api.ok("GET", "/search/actors", params={"id": aid})["search"][0]
    expected = _keys(api, ACTOR_FIELDS | ({"run_as_executor"} if api.flavor == "v3" else set()))
    assert set(actor) == expected
    assert actor[api.k("gid")] is None and actor[api.k("uid")] is None and actor[api.k("tasdir")] is None
    worker = api.ok("GET", "/search/workers", params={api.k("actor_id"): aid})["search"][0]
    assert set(worker) == _keys(api, WORKER_FIELDS) and worker[api.k("actor_id")] == aid
    execution = api.ok("GET", "/search/executions", params={"id": eid})["search"][0]
    extra = {"executor_uid", "executor_gid"} if api.flavor == "v3" else set()
    assert set(execution) == _keys(api, EXECUTION_FIELDS | extra)
    logs = api.ok("GET", "/search/logs", params={"search": "Contents"})["search"]
    assert logs and all(set(item) == {"_links", "logs"} for item in logs)
    assert set(logs[0]["_links"]) == {"self", "owner", "execution"}
    # the per-actor listings in search mode are the same search
    assert set(api.ok("GET", f"/{aid}/workers", params={"status": "READY"})["search"][0]) == _keys(api, WORKER_FIELDS)


def test_use_container_uid_with_run_as_executor_is_abacos_message(make: Callable[..., Api]) -> None:
    """v3 controllers.py 891-895 (POST) and 1150-1155 (PUT): ``Cannot set both use_container_uid and
    run_as_executor as true``; v2 has no ``run_as_executor`` (the parser ignores it)."""
    admin = make("admin", "v3")
    body = {"image": "jstubbs/abaco_test", "use_container_uid": True, "run_as_executor": True}
    assert admin.error("POST", "", json=body) == "Cannot set both use_container_uid and run_as_executor as true"
    aid = admin.create(image="jstubbs/abaco_test")["id"]
    assert admin.error("PUT", f"/{aid}", json=body) == "Cannot set both use_container_uid and run_as_executor as true"
    v2 = make("admin", "v2").create(image="jstubbs/abaco_test", useContainerUid=True, runAsExecutor=True)
    assert v2["useContainerUid"] is True and "runAsExecutor" not in v2


def test_run_as_executor_is_for_tas_tenants_only(make: Callable[..., Api], tmp_path: Path) -> None:
    """v3 controllers.py 896-898 and 1100-1102, auth.py 583-589 ``tenant_can_use_tas`` (DESIGNSAFE, SD2E, TACC,
    A2CPS): other tenants get ``run_as_executor isn't supported for your tenant``. The setting
    ``abaco_tas_tenants`` names the sandbox's TAS tenants."""
    api = make("user", "v3")
    body = {"image": "jstubbs/abaco_test", "run_as_executor": True}
    assert api.error("POST", "", json=body) == "run_as_executor isn't supported for your tenant"
    aid = api.create(image="jstubbs/abaco_test")["id"]
    assert api.error("PUT", f"/{aid}", json=body) == "run_as_executor isn't supported for your tenant"
    server = AbacoServer(tmp_path, {"abaco_tas_tenants": "dev"})
    try:
        tas = Api(server.url, server.token("user"), "v3")
        assert tas.create(**body)["run_as_executor"] is True
        tas.session.close()
    finally:
        server.stop()
