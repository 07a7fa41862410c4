"""Abaco's models: parsing actor descriptions (POST/PUT) and displaying every record (TACC/abaco
actors/models.py, the ``display`` methods).

Stored documents are snake_case with unix-second times; ``display_*`` functions build the wire form for a flavor:
``_links``, display times (``display_time``), hidden fields removed, then camel conversion (which drops ``None``
values) on camel flavors. Request fields are accepted in snake or camel case on every flavor.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from .environment import check_variables
from .wire import (
    AbacoError,
    Flavor,
    cased,
    display_time,
    display_time_or_null,
    plain_cased,
    rfc1123,
    under_to_camel,
)

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
QUEUES = ("default", "special")  # the reference configuration's ``[spawner] host_queues`` (local-dev.conf)
CRON_UNITS = ("hours", "hour", "days", "day", "weeks", "week", "months", "month")
_CRON = re.compile(r"(.+?) \+ (.+?) (.+?)", re.DOTALL)
_CRON_START = re.compile(r"(.+?)-(.+?)-(.+?) (.+?)", re.DOTALL)
LOG_EX_DEFAULT = 43200
LOG_EX_LIMIT = 86400
_TRUE = {"true", "t", "1", "on", "yes", "y"}
_FALSE = {"false", "f", "0", "off", "no", "n", ""}
HINT_FORBIDDEN = ('"', "'", "{", "}", "[", "]")  # checked in this order (controllers.py validate_post)

# auth.py check_privileged: in this order, each refused when the body's value is truthy (a form's "false" too)
PRIVILEGED_CHECKS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("privileged",), "make privileged actors."),
    (("max_workers", "maxWorkers"), "set max workers."),
    (("max_cpus", "maxCpus"), "set max CPUs."),
    (("mem_limit", "memLimit"), "set mem limit."),
    (("queue",), "set queue."),
    (("use_container_uid", "useContainerUid"), "use container uid."),
)
BAD_REQUEST_500 = "Unrecognized exception type: <class 'werkzeug.exceptions.BadRequest'>. Exception: 400 Bad Request: "
UNPROCESSABLE = "Invalid actor description: Unable to process the JSON description.: 400 Bad Request: "


def _invalid(name: str, flavor: Flavor | None = None) -> AbacoError:
    """flask-restful's refusal of one argument: ``{name: help}``, the name as the parser knows it (camel on
    camel servers: ``models.py`` ``request_parser`` adds each argument as ``under_to_camel(name)``)."""
    key = under_to_camel(name) if flavor is not None and flavor.camel else name
    return AbacoError(f"Invalid actor description: {({key: ACTOR_HELP.get(name, name)})}")


def field(body: dict[str, Any], snake: str) -> Any:
    """A request field given in snake or camel case (camel wins when both are present)."""
    camel = under_to_camel(snake)
    if camel in body:
        return body[camel]
    return body.get(snake)


def has_field(body: dict[str, Any], snake: str) -> bool:
    return snake in body or under_to_camel(snake) in body


def parse_bool(value: Any, name: str, flavor: Flavor | None = None) -> bool:
    """flask-restful's ``inputs.boolean``: JSON booleans, 0/1 and the usual strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _invalid(name, flavor)


def parse_int(value: Any, name: str, flavor: Flavor | None = None) -> int:
    """An integer given as a JSON number or a numeric string."""
    if isinstance(value, bool):
        raise _invalid(name, flavor)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _invalid(name, flavor)


def check_privileged_fields(body: Any, privileged: bool) -> None:
    """Abaco runs this on every POST/PUT body (message bodies included): privileged fields need the role.

    ``auth.py`` ``check_privileged`` (master 299-345): a field is refused when its value is truthy, so
    ``"queue": "default"`` and a form's ``privileged=false`` are refused too.
    """
    if privileged or not isinstance(body, dict):
        return
    for keys, what in PRIVILEGED_CHECKS:
        if any(body.get(key) for key in keys):
            raise AbacoError(f"Not authorized -- only admins and privileged users can {what}")


def next_cron(schedule: str, now: float) -> str:
    """Abaco's ``Actor.set_cron`` and the unit check of ``POST``/``PUT /actors`` (models.py 896-933,
    controllers.py 901-912 and 1050-1061): the first execution's ``cron_next_ex`` (``"Y-M-D H"``).

    Refusals: 400 ``The cron is not in the correct format`` (no ``<start> + <n> <unit>``), 400 ``The starting
    date <start> is not in the correct format``, 400 ``The starting datetime is old. The current UTC time is
    <Y-m-d H:00:00>``; an unknown unit is a werkzeug ``BadRequest`` raised outside any handler, which Abaco's
    error handler answers with a 500 ``Unrecognized exception type`` (so does a start or count that is not a
    number, there a ``ValueError``).
    """
    current = datetime.fromtimestamp(now, UTC).replace(tzinfo=None)
    hour = current.replace(minute=0, second=0, microsecond=0)
    found = _CRON.fullmatch(schedule)
    if found is None:
        raise AbacoError("The cron is not in the correct format")
    start, count, unit = found.groups()
    if start in ("now", "Now"):
        try:
            int(count)
        except ValueError:
            raise AbacoError(f"Unrecognized exception type: <class 'ValueError'>. Exception: invalid literal for "
                             f"int() with base 10: {count!r}", 500) from None
        start = f"{hour.year}-{hour.month}-{hour.day} {hour.hour}"
    else:
        parts = _CRON_START.fullmatch(start)
        if parts is None:
            raise AbacoError(f"The starting date {start} is not in the correct format")
        try:
            year, month, day, hour_of_day = (int(p) for p in parts.groups())
            first = datetime(year, month, day, hour_of_day)
        except ValueError as exc:
            raise AbacoError(f"Unrecognized exception type: <class 'ValueError'>. Exception: {exc}", 500) from None
        if first < hour:
            raise AbacoError(f"The starting datetime is old. The current UTC time is {hour}")
    if unit not in CRON_UNITS:
        raise AbacoError(f"{BAD_REQUEST_500}{unit} is an invalid unit of time", 500)
    return start


def _environment(body: dict[str, Any], flavor: Flavor | None) -> Doc:
    """The body's ``default_environment``: an object, or its JSON text (empty text and null read as ``{}``)."""
    env = field(body, "default_environment")
    if isinstance(env, str):
        try:
            env = json.loads(env) if env.strip() else {}
        except ValueError:
            raise _invalid("default_environment", flavor) from None
    if env is None:
        env = {}
    if not isinstance(env, dict):
        raise _invalid("default_environment", flavor)
    env = {str(k): v for k, v in env.items()}  # kept as given, like Mongo keeps it
    key = flavor.key("default_environment") if flavor is not None else "default_environment"
    given = ((k, v if isinstance(v, str) else str(v)) for k, v in env.items() if v is not None)
    check_variables(given, "Invalid actor description: ", key)
    return env


def _hints(body: dict[str, Any], post: bool, flavor: Flavor | None) -> list[str]:
    """The body's ``hints``: a list of strings, or one comma-separated string; no quotes, braces or brackets."""
    hints = field(body, "hints")
    if hints is None:
        hints = []
    if isinstance(hints, str):
        hints = [h.strip() for h in hints.split(",") if h.strip()]
    if not isinstance(hints, list) or not all(isinstance(h, str) for h in hints):
        raise _invalid("hints", flavor)
    for hint in hints:
        for char in HINT_FORBIDDEN:
            if char in hint:
                # controllers.py: inside validate_post's try on POST (a 400 DAOError), outside any try on PUT
                text = f"Hints must be simple stings or numbers, no lists or dicts. Error character: {char}"
                if post:
                    raise AbacoError(UNPROCESSABLE + text)
                raise AbacoError(BAD_REQUEST_500 + text, 500)
    return hints


def parse_actor_body(body: dict[str, Any], existing: Doc | None, flavor: Flavor | None = None,
                     queues: tuple[str, ...] = QUEUES, now: float = 0.0) -> Doc:
    """Validate a POST (``existing`` None) or PUT body into actor fields; PUT is a full replacement.

    Raises :class:`AbacoError` with Abaco's ``Invalid actor description: ...`` messages; argument names in
    them are camel on camel flavors (``request_parser``, models.py 637-658).
    """
    image = field(body, "image")
    if image is None or (isinstance(image, str) and not image.strip()):
        raise _invalid("image", flavor)
    fields: Doc = dict(ACTOR_DEFAULTS)
    for name in STR_FIELDS:
        if has_field(body, name) and field(body, name) is not None:
            value = field(body, name)
            if isinstance(value, dict | list):
                raise _invalid(name, flavor)
            fields[name] = str(value)
    for name in BOOL_FIELDS:
        if has_field(body, name) and field(body, name) is not None:
            fields[name] = parse_bool(field(body, name), name, flavor)
    for name in INT_FIELDS:
        if has_field(body, name) and field(body, name) not in (None, ""):
            fields[name] = parse_int(field(body, name), name, flavor)
    fields["default_environment"] = _environment(body, flavor)
    fields["hints"] = _hints(body, existing is None, flavor)
    if fields["max_workers"] is not None and fields["max_workers"] < 1:
        raise _invalid("max_workers", flavor)
    if not fields["stateless"] and fields["max_workers"] is not None and fields["max_workers"] > 1:
        raise AbacoError("Invalid actor description: stateful actors can only have 1 worker.")
    if flavor is not None and not flavor.v3:
        fields["run_as_executor"] = False  # v2 (master) has no such argument: its parser ignores it
    if fields["use_container_uid"] and fields["run_as_executor"]:  # v3 controllers.py 891-895, 1150-1155
        raise AbacoError("Cannot set both use_container_uid and run_as_executor as true")
    if fields["queue"] and fields["queue"] not in queues:
        # controllers.py master 829-833 (POST, inside validate_post's try) and 1062-1066 (PUT, outside it)
        if existing is None:
            raise AbacoError(UNPROCESSABLE + "Invalid queue name.")
        raise AbacoError(BAD_REQUEST_500 + "Invalid queue name.", 500)
    if fields["log_ex"] is not None:
        if fields["log_ex"] <= 0:
            raise _invalid("log_ex", flavor)
        fields["log_ex"] = min(fields["log_ex"], LOG_EX_LIMIT)
    fields["cron_next_ex"] = None
    if fields["cron_schedule"]:
        fields["cron_next_ex"] = next_cron(fields["cron_schedule"], now)
        if existing is None:
            fields["cron_on"] = True  # POST only (controllers.py master 907-910); PUT keeps the body's cronOn
    if existing is not None:
        if not existing["stateless"] and fields["stateless"]:
            raise AbacoError("Invalid actor description: an actor that was not stateless cannot be updated to be "
                             "stateless.")
        fields["name"] = existing.get("name")  # PUT cannot change the name
    return fields


# -- display -------------------------------------------------------------------------------------------------

def display_actor(doc: Doc, flavor: Flavor, base: str) -> Doc:
    """An actor on the wire (TACC/abaco actors/models.py, Actor.display): camel drops ``None`` values."""
    return cased(actor_record(doc, flavor, base), flavor)


def search_actor(doc: Doc, flavor: Flavor, base: str) -> Doc:
    """An actor as a search item (models.py ``Search.post_processing``): the stored fields, ``None`` values kept
    in camel too (``dict_to_camel``); its token a string when it came from the configuration default."""
    record = actor_record(doc, flavor, base)
    if doc.get("token_from_config"):
        record["token"] = "true" if doc["token"] else "false"
    return plain_cased(record, flavor)


def actor_record(doc: Doc, flavor: Flavor, base: str) -> Doc:
    """An actor's displayed fields, snake_case, before any case conversion."""
    url = flavor.actors_url(base)
    record: Doc = {
        "_links": {"executions": f"{url}/{doc['id']}/executions", "owner": flavor.profile_url(base, doc["owner"]),
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
    if flavor.v3:
        record["run_as_executor"] = doc["run_as_executor"]
    return record


def display_execution(doc: Doc, flavor: Flavor, base: str) -> Doc:
    """An execution on the wire (TACC/abaco actors/models.py, Execution.display)."""
    return cased(execution_record(doc, flavor, base), flavor)


def search_execution(doc: Doc, flavor: Flavor, base: str) -> Doc:
    """An execution as a search item: no ``api_server``, ``None`` values kept in camel too."""
    record = execution_record(doc, flavor, base)
    record.pop("api_server")
    return plain_cased(record, flavor)


def execution_record(doc: Doc, flavor: Flavor, base: str) -> Doc:
    """An execution's displayed fields, snake_case, before any case conversion."""
    url = f"{flavor.actors_url(base)}/{doc['actor_id']}/executions/{doc['id']}"
    record: Doc = {
        "_links": {"logs": f"{url}/logs", "owner": flavor.profile_url(base, doc["executor"]), "self": url},
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
    if flavor.v3:
        record["executor_uid"] = None
        record["executor_gid"] = None
    return record


def display_summary(actor: Doc, executions: list[Doc], flavor: Flavor, base: str) -> Doc:
    """The executions summary of an actor (TACC/abaco actors/models.py, ExecutionsSummary.compute_summary_stats);
    items keep their ``None`` values and raw (RFC 1123) times."""
    url = flavor.actors_url(base)
    items = [plain_cased({"id": e["id"], "status": e["status"], "start_time": rfc1123(e["start_time"]),
                          "finish_time": rfc1123(e["finish_time"]),
                          "message_received_time": rfc1123(e["message_received_time"])}, flavor)
             for e in executions]
    record: Doc = {
        "_links": {"self": f"{url}/{actor['id']}/executions", "owner": flavor.profile_url(base, actor["owner"])},
        "actor_id": actor["id"],
        "api_server": base,
        "owner": actor["owner"],
        "executions": items,
        "total_executions": len(executions),
        "total_cpu": sum(int(e["cpu"] or 0) for e in executions),
        "total_io": sum(int(e["io"] or 0) for e in executions),
        "total_runtime": sum(int(e["runtime"] or 0) for e in executions),
    }
    return cased(record, flavor)


def display_worker(doc: Doc, flavor: Flavor) -> Doc:
    """A worker on the wire (TACC/abaco actors/models.py, Worker.display)."""
    record: Doc = {
        "ch_name": doc["ch_name"], "cid": doc["cid"], "create_time": display_time(doc["create_time"]),
        "host_id": "0", "host_ip": "127.0.0.1", "id": doc["id"], "image": doc["image"],
        "last_execution_time": display_time(doc["last_execution_time"]),
        "last_health_check_time": display_time(doc["last_health_check_time"]),
        "location": "local://subprocess", "status": doc["status"], "tenant": doc["tenant"],
    }
    return cased(record, flavor)


def search_worker(doc: Doc, flavor: Flavor) -> Doc:
    """A worker as a search item (``Search.post_processing``): ``tenant`` dropped, the actor's id added, unset
    times null, ``None`` values kept in camel too."""
    record: Doc = {
        "actor_id": doc["actor_id"], "ch_name": doc["ch_name"], "cid": doc["cid"],
        "create_time": display_time_or_null(doc["create_time"]), "host_id": "0", "host_ip": "127.0.0.1",
        "id": doc["id"], "image": doc["image"], "last_execution_time": display_time_or_null(doc["last_execution_time"]),
        "last_health_check_time": display_time_or_null(doc["last_health_check_time"]),
        "location": "local://subprocess", "status": doc["status"],
    }
    return plain_cased(record, flavor)


def display_nonce(doc: Doc, flavor: Flavor, base: str) -> Doc:
    """A nonce on the wire (TACC/abaco actors/models.py, Nonce.display); alias nonces carry ``alias`` and a
    null ``actor_id``."""
    url = flavor.actors_url(base)
    if doc.get("alias"):
        owner_url = f"{url}/aliases/{doc['alias']}"
        links = {"actor": owner_url, "owner": flavor.profile_url(base, doc["owner"]),
                 "self": f"{owner_url}/nonces/{doc['id']}"}
    else:
        links = {"actor": f"{url}/{doc['actor_id']}", "owner": flavor.profile_url(base, doc["owner"]),
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
    return cased(record, flavor)


def display_alias(doc: Doc, flavor: Flavor, base: str) -> Doc:
    """An alias on the wire (TACC/abaco actors/models.py, Alias.display)."""
    url = flavor.actors_url(base)
    record: Doc = {
        "_links": {"actor": f"{url}/{doc['actor_id']}", "owner": flavor.profile_url(base, doc["owner"]),
                   "self": f"{url}/aliases/{doc['alias']}"},
        "actor_id": doc["actor_id"], "alias": doc["alias"], "owner": doc["owner"],
    }
    return cased(record, flavor)
