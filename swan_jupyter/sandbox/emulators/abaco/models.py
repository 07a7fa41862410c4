"""Actor validation and the display form of every model (spec §9), in snake case before shaping."""

from __future__ import annotations

from typing import Any

from .wire import TENANT, AbacoError, display_time, rfc1123, to_snake

PRIVILEGED = ("privileged", "max_workers", "max_cpus", "mem_limit", "queue")
PRIV_TEXT = {"privileged": "make privileged actors.", "max_workers": "set max workers.",
             "max_cpus": "set max CPUs.", "mem_limit": "set mem limit.", "queue": "set queue."}
DEFAULTS: dict[str, Any] = {
    "name": None, "description": "", "stateless": True, "token": False, "default_environment": {}, "hints": [],
    "link": "", "webhook": "", "privileged": False, "max_workers": None, "mem_limit": None, "max_cpus": None,
    "use_container_uid": False, "queue": "default", "log_ex": None, "cron_schedule": None, "cron_on": False,
    "run_as_executor": False,
}


def snake_body(body: dict[str, Any]) -> dict[str, Any]:
    """Request body keys in snake case (camel prefixes send camel)."""
    return {to_snake(k): v for k, v in body.items()}


def as_bool(value: Any) -> bool:
    """Form fields arrive as strings."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def check_privileged(body: dict[str, Any], privileged: bool) -> None:
    """The privileged-field check Abaco runs on every POST/PUT body (message bodies included)."""
    if privileged:
        return
    for key in PRIVILEGED:
        value = body.get(key)
        if key == "privileged" and not as_bool(value):
            continue
        if key == "queue" and value in (None, "default"):
            continue
        if key != "privileged" and value is None:
            continue
        raise AbacoError(f"Not authorized -- only admins and privileged users can {PRIV_TEXT[key]}")


def validate(body: dict[str, Any]) -> dict[str, Any]:
    """Actor fields from a POST/PUT body with defaults (full replacement semantics)."""
    if not body.get("image"):
        raise AbacoError("Invalid actor description: {'image': 'Reference to image on docker hub for this actor.'}")
    fields = {k: body.get(k, v) for k, v in DEFAULTS.items()}
    fields["image"] = str(body["image"])
    for key in ("stateless", "token", "privileged", "use_container_uid", "cron_on", "run_as_executor"):
        fields[key] = as_bool(fields[key])
    if not isinstance(fields["default_environment"], dict):
        raise AbacoError("Invalid actor description: default_environment must be a dict.")
    if not isinstance(fields["hints"], list):
        raise AbacoError("Invalid actor description: hints must be a list.")
    if not fields["stateless"] and fields["max_workers"] not in (None, 1):
        raise AbacoError("Invalid actor description: stateful actors can only have 1 worker.")
    return fields


def actor_view(actor: dict[str, Any], links: Any, v3: bool) -> dict[str, Any]:
    """An actor as Abaco displays it (server fields, times, ``_links``)."""
    out = {k: v for k, v in actor.items() if k not in ("run_as_executor",)}
    if v3:
        out["run_as_executor"] = actor.get("run_as_executor", False)
    out["create_time"] = display_time(actor["create_time"])
    out["last_update_time"] = display_time(actor["last_update_time"])
    out["_links"] = {"executions": links.url(f"{actor['id']}/executions"), "owner": links.owner(actor["owner"]),
                     "self": links.url(actor["id"])}
    return out


def execution_view(ex: dict[str, Any], links: Any, v3: bool) -> dict[str, Any]:
    """An execution record (logs are served separately)."""
    out = {k: v for k, v in ex.items() if k != "logs"}
    for key in ("start_time", "finish_time", "message_received_time"):
        out[key] = display_time(ex[key]) if ex.get(key) else None
    if not v3:
        out.pop("executor_uid", None)
        out.pop("executor_gid", None)
    base = f"{ex['actor_id']}/executions/{ex['id']}"
    out["_links"] = {"logs": links.url(base + "/logs"), "owner": links.owner(ex["executor"]),
                     "self": links.url(base)}
    return out


def summary_view(actor: dict[str, Any], execs: list[dict[str, Any]], links: Any, camel: bool) -> dict[str, Any]:
    """The executions summary (§9.3); items keep ``None`` values even in camel."""
    item_keys = ("id", "status", "start_time", "finish_time", "message_received_time")
    items = []
    for ex in execs:
        item = {k: (rfc1123(ex.get(k)) if k.endswith("time") else ex.get(k)) for k in item_keys}
        if camel:
            item = {"id": item["id"], "status": item["status"], "startTime": item["start_time"],
                    "finishTime": item["finish_time"], "messageReceivedTime": item["message_received_time"]}
        items.append(item)
    return {"_links": {"self": links.url(f"{actor['id']}/executions"), "owner": links.owner(actor["owner"])},
            "actor_id": actor["id"], "api_server": links.api, "owner": actor["owner"], "executions": items,
            "total_executions": len(execs), "total_cpu": sum(int(e.get("cpu") or 0) for e in execs),
            "total_io": sum(int(e.get("io") or 0) for e in execs),
            "total_runtime": sum(int(e.get("runtime") or 0) for e in execs)}


def nonce_view(nonce: dict[str, Any], links: Any) -> dict[str, Any]:
    """A nonce with display times and links."""
    out = dict(nonce)
    out["create_time"] = display_time(nonce["create_time"])
    out["last_use_time"] = display_time(nonce.get("last_use_time"))
    out["_links"] = {"actor": links.url(str(nonce["actor_id"])), "owner": links.owner(nonce["owner"]),
                     "self": links.url(f"{nonce['actor_id']}/nonces/{nonce['id']}")}
    return out


def worker_view(worker: dict[str, Any]) -> dict[str, Any]:
    """A worker (statuses of §10)."""
    out = {k: v for k, v in worker.items() if not k.startswith("_")}
    out["create_time"] = display_time(worker["create_time"])
    out["last_execution_time"] = display_time(worker.get("last_execution_time"))
    out["last_health_check_time"] = display_time(worker["create_time"])
    out["tenant"] = TENANT
    return out


def alias_view(alias: dict[str, Any], links: Any) -> dict[str, Any]:
    """An alias record."""
    return {"_links": {"actor": links.url(alias["actor_id"]), "owner": links.owner(alias["owner"]),
                       "self": links.url(f"aliases/{alias['alias']}")},
            "actor_id": alias["actor_id"], "alias": alias["alias"], "owner": alias["owner"]}
