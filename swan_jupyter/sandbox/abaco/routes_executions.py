"""Executions: the summary (or a search), one execution, force-quit, logs and the results queue (TACC/abaco
actors/controllers.py: ActorExecutionsResource, ActorExecutionResource, ActorExecutionLogsResource,
ActorExecutionResultsResource)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

from .core import Call, Core, Route
from .models import display_actor, display_execution, display_summary, parse_int, search_execution
from .routes_actors import raw_record
from .search import run_search
from .wire import AbacoError, Encoded, Flavor, encode, new_hashid, ok, raw_response

Doc = dict[str, Any]
EXECUTION_TIMES = ("message_received_time", "start_time", "finish_time")


class StoredExecution:
    """A stored execution, parsed on first use: a search parses only what it filters on or returns."""

    __slots__ = ("_doc", "_text")

    def __init__(self, stored: Doc | str) -> None:
        self._doc: Doc | None = stored if isinstance(stored, dict) else None
        self._text = stored if isinstance(stored, str) else ""

    def doc(self) -> Doc:
        if self._doc is None:
            self._doc = json.loads(self._text)
        return self._doc


#: Search items already encoded, by (stored text, flavor, base): an ended execution's stored text never changes,
#: and a search of thousands of them spent most of its time parsing, formatting and encoding each one again.
#: A changed execution has a new text, hence a new entry; the cache is emptied when it reaches its bound.
_ENCODED: dict[tuple[str, str, str], Encoded] = {}
ENCODED_LIMIT = 50_000  # about 1.5 kB each (key text and encoded item): at most ~75 MB


def encoded_search_item(text: str, flavor: Flavor, base: str) -> Encoded:
    """The search item of the execution stored as ``text``, as JSON text (encoded once per stored text)."""
    key = (text, flavor.name, base)
    item = _ENCODED.get(key)
    if item is None:
        if len(_ENCODED) >= ENCODED_LIMIT:
            _ENCODED.clear()
        item = _ENCODED[key] = Encoded(encode(search_execution(json.loads(text), flavor, base)))
    return item


def _search_item(stored: StoredExecution, call: Call) -> Doc | Encoded:
    if stored._text:  # stored JSON text (the search route): encoded once
        return encoded_search_item(stored._text, call.flavor, call.base)
    return search_execution(stored.doc(), call.flavor, call.base)


def _execution_raw(stored: StoredExecution) -> Doc:
    raw = raw_record(stored.doc(), EXECUTION_TIMES)
    final = raw.get("final_state")
    if isinstance(final, dict):  # Mongo keeps the container's StartedAt/FinishedAt as datetimes
        raw["final_state"] = {k: _naive_utc(v) if k in ("StartedAt", "FinishedAt") else v for k, v in final.items()}
    return raw


def execution_records(executions: Sequence[Doc | str],
                      call: Call) -> list[tuple[Callable[[], Doc], Callable[[], Doc | Encoded]]]:
    """Search records of executions (documents or their stored JSON texts), built on demand: the raw form
    (times as datetimes) only when the search filters, the display form only for the page returned."""
    records: list[tuple[Callable[[], Doc], Callable[[], Doc | Encoded]]] = []
    for execution in executions:
        stored = StoredExecution(execution)
        records.append((functools.partial(_execution_raw, stored), functools.partial(_search_item, stored, call)))
    return records


def _naive_utc(value: Any) -> Any:
    """A Docker-style ISO time as a naive UTC datetime (other values unchanged)."""
    if not isinstance(value, str):
        return value
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def log_records(core: Core, executions: list[Doc], call: Call) -> list[tuple[Doc, Doc]]:
    """Search records of logs (one per execution with stored logs)."""
    records = []
    for e in executions:
        stored = core.store.log(e["id"])
        if stored is None:
            continue
        text, expires = stored
        if expires is not None and expires < core.now():
            continue
        url = f"{call.flavor.actors_url(call.base)}/{e['actor_id']}/executions/{e['id']}"
        owner = core.find_actor(e["tenant"], e["actor_id"])
        # Search.post_processing (v3 models.py 380-395): the stored log loses _id, exp, actor_id and tenant
        links = {"self": f"{url}/logs", "owner": call.flavor.profile_url(call.base, owner["owner"] if owner else ""),
                 "execution": url}
        shown = {"_links": links, "logs": text}
        records.append(({"actor_id": e["actor_id"], "execution_id": e["id"], "logs": text}, shown))
    return records


async def list_executions(call: Call, core: Core) -> Response:
    """GET /actors/{id}/executions: the summary, or a search on this actor's executions."""
    actor = call.the_actor
    executions = core.store.executions(actor["id"])
    if call.search_mode:
        return ok(call.flavor, run_search(execution_records(executions, call), call.query, call.flavor),
                  "Executions search completed successfully.")
    return ok(call.flavor, display_summary(actor, executions, call.flavor, call.base),
              "Actor executions retrieved successfully.")


async def add_execution(call: Call, core: Core) -> Response:
    """POST /actors/{id}/executions (legacy): record a finished execution with the given ``runtime``, ``cpu``
    and ``io`` (integer strings, all required)."""
    actor = call.the_actor
    body = call.body if isinstance(call.body, dict) else {}
    values: dict[str, int] = {}
    for name in ("runtime", "cpu", "io"):
        if body.get(name) in (None, ""):
            raise AbacoError(f"Invalid execution description: {({name: f'{name} of the execution.'})}")
        try:
            values[name] = parse_int(body[name], name)
        except AbacoError:
            raise AbacoError(f"Invalid execution description: {({name: f'{name} must be an integer.'})}") from None
    now = core.now()
    execution: Doc = {
        "id": new_hashid(), "tenant": actor["tenant"], "actor_id": actor["id"], "executor": call.caller.user,
        "status": "COMPLETE", "message_received_time": now, "start_time": now, "finish_time": now,
        "worker_id": None, "exit_code": None, "final_state": None, **values,
    }
    core.store.add_execution(execution)
    return ok(call.flavor, display_actor(actor, call.flavor, call.base), "Actor execution added successfully.")


def _execution(call: Call, core: Core) -> Doc:
    actor = call.the_actor
    execution = core.store.get("executions", call.path["eid"])
    if execution is None or execution["actor_id"] != actor["id"]:
        raise AbacoError(f"No executions found with actor id of {actor['id']} and execution id of "
                         f"{call.path['eid']}.")
    return execution


async def get_execution(call: Call, core: Core) -> Response:
    """GET /actors/{id}/executions/{eid}."""
    return ok(call.flavor, display_execution(_execution(call, core), call.flavor, call.base),
              "Actor execution retrieved successfully.")


async def force_quit(call: Call, core: Core) -> Response:
    """DELETE /actors/{id}/executions/{eid}: kill a RUNNING execution (it ends COMPLETE, exit code 137)."""
    execution = _execution(call, core)
    if execution["status"] != "RUNNING" or not core.runtime.force_quit(execution["id"]):
        raise AbacoError("Cannot force quit an execution not in RUNNING status. Execution was found in status: "
                         f"{execution['status']}")
    return ok(call.flavor, None, f"Issued force quit command for execution {execution['id']}.")


async def get_logs(call: Call, core: Core) -> Response:
    """GET /actors/{id}/executions/{eid}/logs (``""`` while running, when missing or expired)."""
    execution = _execution(call, core)
    if call.search_mode:
        return ok(call.flavor, run_search(log_records(core, [execution], call), call.query, call.flavor),
                  "Logs search completed successfully.")
    stored = core.store.log(execution["id"])
    text = ""
    if stored is not None and (stored[1] is None or stored[1] >= core.now()):
        text = stored[0]
    url = f"{call.flavor.actors_url(call.base)}/{execution['actor_id']}/executions/{execution['id']}"
    return ok(call.flavor, {"logs": text, "_links": {"self": f"{url}/logs", "owner": call.flavor.profile_url(
        call.base, call.the_actor["owner"]), "execution": url}}, "Logs retrieved successfully.")


async def get_result(call: Call, core: Core) -> Response:
    """GET /actors/{id}/executions/{eid}/results: pop one result item (raw bytes; empty body when none)."""
    execution = _execution(call, core)
    data = core.store.pop_result(execution["id"])
    return raw_response(data or b"", "application/octet-stream")


ROUTES = [
    Route("GET", ("{aid}", "executions"), list_executions),
    Route("POST", ("{aid}", "executions"), add_execution),
    Route("GET", ("{aid}", "executions", "{eid}"), get_execution),
    Route("DELETE", ("{aid}", "executions", "{eid}"), force_quit),
    Route("GET", ("{aid}", "executions", "{eid}", "logs"), get_logs),
    Route("GET", ("{aid}", "executions", "{eid}", "results"), get_result),
]
