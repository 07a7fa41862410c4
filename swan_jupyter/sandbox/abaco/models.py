"""Abaco's models: parsing actor descriptions (POST/PUT) and displaying every record (spec §9).

Stored documents are snake_case with unix-second times; ``display_*`` functions build the wire form for a
flavour: ``_links``, display times (§6), hidden fields removed, then camel conversion (which drops ``None``
values) on camel flavours. Request fields are accepted in snake or camel case on every flavour.
"""

from __future__ import annotations

import json
from typing import Any

from .wire import AbacoError, Flavour, cased, display_time, display_time_or_null, plain_cased, rfc1123

Doc = dict[str, Any]

ACTOR_HELP = {
    "name": "User defined name for this actor.",
    "image": "Reference to image on docker hub for this actor.",
    "stateless": "Whether the actor stores private state.",
    "type": "Return type (none, bin, json) for this actor. Default is none.",
    "link": "Actor identifier of actor to link this actor's events too. May be an actor id or an alias. "
            "Cycles not permitted.",
    "token": "Whether this actor requires an OAuth access token.",
    "webhook": "URL to publish this actor's events to.",
    "hints": "Hints for personal tagging or Abaco special hints",
    "description": "Description of this actor",
    "privileged": "Whether this actor runs in privileged mode.",
    "max_workers": "How many workers this actor is allowed at the same time.",
    "mem_limit": "maximum amount of memory this actor can use.",
    "max_cpus": "Maximum number of CPUs (nanoCPUs) this actor will have available to it.",
    "use_container_uid": "Whether this actor runs as the UID set in the container image.",
    "default_environment": "A dictionary of default environmental variables and values.",
    "queue": "The command channel that this actor uses.",
    "log_ex": "Amount of time, in seconds, after which logs will expire",
    "cron_schedule": "Cron schedule for this actor.",
    "cron_on": "Whether cron is on or off for this actor.",
    "run_as_executor": "Whether this actor runs as the executor's UID and GID.",
    "force": "Whether to force an update of the actor image.",
}
BOOL_FIELDS = ("stateless", "token", "privileged", "use_container_uid", "cron_on", "run_as_executor", "force")
INT_FIELDS = ("max_workers", "max_cpus", "log_ex")
STR_FIELDS = ("name", "image", "description", "link", "webhook", "mem_limit", "queue", "cron_schedule", "type")
ACTOR_DEFAULTS: Doc = {
    "name": None, "description": "", "stateless": True, "token": False, "default_environment": {}, "hints": [],
    "link": "", "webhook": "", "privileged": False, "max_workers": None, "mem_limit": None, "max_cpus": None,
    "use_container_uid": False, "queue": "default", "log_ex": None, "cron_schedule": None, "cron_on": False,
    "run_as_executor": False, "type": "none",
}
QUEUES = ("default",)
LOG_EX_DEFAULT = 43200
LOG_EX_LIMIT = 86400
_TRUE = {"true", "t", "1", "on", "yes", "y"}
_FALSE = {"false", "f", "0", "off", "no", "n", ""}
_HINT_FORBIDDEN = "\"'{}[]"

PRIVILEGED_CHECKS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("privileged",), "make privileged actors."),
    (("max_workers", "maxWorkers"), "set max workers."),
    (("max_cpus", "maxCpus"), "set max CPUs."),
    (("mem_limit", "memLimit"), "set mem limit."),
    (("use_container_uid", "useContainerUid"), "use the container uid."),
)


def _invalid(name: str) -> AbacoError:
    return AbacoError(f"Invalid actor description: {({name: ACTOR_HELP.get(name, name)})}")


def field(body: dict[str, Any], snake: str) -> Any:
    """A request field given in snake or camel case (camel wins when both are present)."""
    from .wire import under_to_camel

    camel = under_to_camel(snake)
    if camel in body:
        return body[camel]
    return body.get(snake)


def has_field(body: dict[str, Any], snake: str) -> bool:
    from .wire import under_to_camel

    return snake in body or under_to_camel(snake) in body


def parse_bool(value: Any, name: str) -> bool:
    """flask-restful's ``inputs.boolean``: JSON booleans, 0/1 and the usual strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _invalid(name)


def parse_int(value: Any, name: str) -> int:
    """An integer given as a JSON number or a numeric string."""
    if isinstance(value, bool):
        raise _invalid(name)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _invalid(name)


def check_privileged_fields(body: Any, privileged: bool) -> None:
    """Abaco runs this on every POST/PUT body (message bodies included): privileged fields need the role."""
    if privileged or not isinstance(body, dict):
        return
    for keys, what in PRIVILEGED_CHECKS:
        for key in keys:
            value = body.get(key)
            if value not in (None, False, "", 0, "false", "False"):
                raise AbacoError(f"Not authorized -- only admins and privileged users can {what}")
    queue = body.get("queue")
    if queue not in (None, "", "default"):
        raise AbacoError("Not authorized -- only admins and privileged users can set the actor queue.")


def parse_actor_body(body: dict[str, Any], existing: Doc | None) -> Doc:
    """Validate a POST (``existing`` None) or PUT body into actor fields; PUT is a full replacement.

    Raises :class:`AbacoError` with Abaco's ``Invalid actor description: ...`` messages.
    """
    image = field(body, "image")
    if image is None or (isinstance(image, str) and not image.strip()):
        raise _invalid("image")
    fields: Doc = dict(ACTOR_DEFAULTS)
    for name in STR_FIELDS:
        if has_field(body, name) and field(body, name) is not None:
            value = field(body, name)
            if isinstance(value, dict | list):
                raise _invalid(name)
            fields[name] = str(value)
    for name in BOOL_FIELDS:
        if has_field(body, name) and field(body, name) is not None:
            fields[name] = parse_bool(field(body, name), name)
    for name in INT_FIELDS:
        if has_field(body, name) and field(body, name) not in (None, ""):
            fields[name] = parse_int(field(body, name), name)
    env = field(body, "default_environment")
    if isinstance(env, str):
        try:
            env = json.loads(env) if env.strip() else {}
        except ValueError:
            raise _invalid("default_environment") from None
    if env is None:
        env = {}
    if not isinstance(env, dict):
        raise _invalid("default_environment")
    fields["default_environment"] = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in env.items()}
    hints = field(body, "hints")
    if hints is None:
        hints = []
    if isinstance(hints, str):
        hints = [h.strip() for h in hints.split(",") if h.strip()]
    if not isinstance(hints, list) or not all(isinstance(h, str) for h in hints):
        raise _invalid("hints")
    for hint in hints:
        if any(c in hint for c in _HINT_FORBIDDEN):
            raise AbacoError(f"Invalid actor description: hints cannot contain any of the characters "
                             f"{_HINT_FORBIDDEN}; got {hint!r}.")
    fields["hints"] = hints
    if fields["max_workers"] is not None and fields["max_workers"] < 1:
        raise _invalid("max_workers")
    if not fields["stateless"] and fields["max_workers"] is not None and fields["max_workers"] > 1:
        raise AbacoError("Invalid actor description: stateful actors can only have 1 worker.")
    if fields["use_container_uid"] and fields["run_as_executor"]:
        raise AbacoError("Invalid actor description: use_container_uid and run_as_executor are mutually exclusive.")
    if fields["queue"] not in QUEUES:
        raise AbacoError(f"Invalid actor description: queue {fields['queue']} does not exist.")
    if fields["log_ex"] is not None:
        if fields["log_ex"] <= 0:
            raise _invalid("log_ex")
        fields["log_ex"] = min(fields["log_ex"], LOG_EX_LIMIT)
    if fields["cron_schedule"]:
        fields["cron_on"] = True
    if existing is not None:
        if not existing["stateless"] and fields["stateless"]:
            raise AbacoError("Invalid actor description: an actor that was not stateless cannot be updated to be "
                             "stateless.")
        fields["name"] = existing.get("name")  # PUT cannot change the name
    return fields


# -- display -------------------------------------------------------------------------------------------------

def display_actor(doc: Doc, flavour: Flavour, base: str) -> Doc:
    """An actor on the wire (§9.1)."""
    url = flavour.actors_url(base)
    record: Doc = {
        "_links": {"executions": f"{url}/{doc['id']}/executions", "owner": flavour.profile_url(base, doc["owner"]),
                   "self": f"{url}/{doc['id']}"},
        "create_time": display_time(doc["create_time"]),
        "cron_next_ex": doc.get("cron_next_ex"),
        "cron_on": doc["cron_on"],
        "cron_schedule": doc["cron_schedule"],
        "default_environment": doc["default_environment"],
        "description": doc["description"],
        "gid": None,
        "hints": doc["hints"],
        "id": doc["id"],
        "image": doc["image"],
        "last_update_time": display_time(doc["last_update_time"]),
        "link": doc["link"],
        "log_ex": doc["log_ex"],
        "max_cpus": doc["max_cpus"],
        "max_workers": doc["max_workers"],
        "mem_limit": doc["mem_limit"],
        "mounts": [],
        "name": doc["name"],
        "owner": doc["owner"],
        "privileged": doc["privileged"],
        "queue": doc["queue"],
        "revision": doc["revision"],
        "state": doc["state"],
        "stateless": doc["stateless"],
        "status": doc["status"],
        "status_message": doc["status_message"],
        "tasdir": None,
        "token": doc["token"],
        "type": doc["type"],
        "uid": None,
        "use_container_uid": doc["use_container_uid"],
        "webhook": doc["webhook"],
    }
    if flavour.v3:
        record["run_as_executor"] = doc["run_as_executor"]
    return cased(record, flavour)


def display_execution(doc: Doc, flavour: Flavour, base: str) -> Doc:
    """An execution on the wire (§9.2)."""
    url = f"{flavour.actors_url(base)}/{doc['actor_id']}/executions/{doc['id']}"
    record: Doc = {
        "_links": {"logs": f"{url}/logs", "owner": flavour.profile_url(base, doc["executor"]), "self": url},
        "actor_id": doc["actor_id"],
        "api_server": base,
        "cpu": doc["cpu"],
        "executor": doc["executor"],
        "exit_code": doc["exit_code"],
        "final_state": doc["final_state"],
        "finish_time": display_time_or_null(doc["finish_time"]),
        "id": doc["id"],
        "io": doc["io"],
        "message_received_time": display_time(doc["message_received_time"]),
        "runtime": doc["runtime"],
        "start_time": display_time_or_null(doc["start_time"]),
        "status": doc["status"],
        "worker_id": doc["worker_id"],
    }
    if flavour.v3:
        record["executor_uid"] = None
        record["executor_gid"] = None
    return cased(record, flavour)


def display_summary(actor: Doc, executions: list[Doc], flavour: Flavour, base: str) -> Doc:
    """The executions summary of an actor (§9.3); items keep their ``None`` values and raw (RFC 1123) times."""
    url = flavour.actors_url(base)
    items = [plain_cased({"id": e["id"], "status": e["status"], "start_time": rfc1123(e["start_time"]),
                          "finish_time": rfc1123(e["finish_time"]),
                          "message_received_time": rfc1123(e["message_received_time"])}, flavour)
             for e in executions]
    record: Doc = {
        "_links": {"self": f"{url}/{actor['id']}/executions", "owner": flavour.profile_url(base, actor["owner"])},
        "actor_id": actor["id"],
        "api_server": base,
        "owner": actor["owner"],
        "executions": items,
        "total_executions": len(executions),
        "total_cpu": sum(int(e["cpu"] or 0) for e in executions),
        "total_io": sum(int(e["io"] or 0) for e in executions),
        "total_runtime": sum(int(e["runtime"] or 0) for e in executions),
    }
    return cased(record, flavour)


def display_worker(doc: Doc, flavour: Flavour) -> Doc:
    """A worker on the wire (§9.4)."""
    record: Doc = {
        "ch_name": doc["ch_name"], "cid": doc["cid"], "create_time": display_time(doc["create_time"]),
        "host_id": "0", "host_ip": "127.0.0.1", "id": doc["id"], "image": doc["image"],
        "last_execution_time": display_time(doc["last_execution_time"]),
        "last_health_check_time": display_time(doc["last_health_check_time"]),
        "location": "local://subprocess", "status": doc["status"], "tenant": doc["tenant"],
    }
    return cased(record, flavour)


def display_nonce(doc: Doc, flavour: Flavour, base: str) -> Doc:
    """A nonce on the wire (§9.5); alias nonces carry ``alias`` and a null ``actor_id``."""
    url = flavour.actors_url(base)
    if doc.get("alias"):
        owner_url = f"{url}/aliases/{doc['alias']}"
        links = {"actor": owner_url, "owner": flavour.profile_url(base, doc["owner"]),
                 "self": f"{owner_url}/nonces/{doc['id']}"}
    else:
        links = {"actor": f"{url}/{doc['actor_id']}", "owner": flavour.profile_url(base, doc["owner"]),
                 "self": f"{url}/{doc['actor_id']}/nonces/{doc['id']}"}
    record: Doc = {
        "_links": links,
        "actor_id": doc.get("actor_id"),
        "api_server": base,
        "create_time": display_time(doc["create_time"]),
        "current_uses": doc["current_uses"],
        "description": doc["description"],
        "id": doc["id"],
        "last_use_time": display_time(doc["last_use_time"]),
        "level": doc["level"],
        "max_uses": doc["max_uses"],
        "owner": doc["owner"],
        "remaining_uses": doc["remaining_uses"],
        "roles": doc["roles"],
    }
    if doc.get("alias"):
        record["alias"] = doc["alias"]
    return cased(record, flavour)


def display_alias(doc: Doc, flavour: Flavour, base: str) -> Doc:
    """An alias on the wire (§9.6)."""
    url = flavour.actors_url(base)
    record: Doc = {
        "_links": {"actor": f"{url}/{doc['actor_id']}", "owner": flavour.profile_url(base, doc["owner"]),
                   "self": f"{url}/aliases/{doc['alias']}"},
        "actor_id": doc["actor_id"], "alias": doc["alias"], "owner": doc["owner"],
    }
    return cased(record, flavour)
