"""Routes on actors themselves: list/search, create, get, full-replacement update, delete, state, permissions
and workers (TACC/abaco actors/controllers.py: ActorsResource, ActorResource, ActorStateResource,
ActorPermissionsResource, WorkersResource, WorkerResource)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ...numbers import parse_int
from .auth import Caller
from .core import Call, Core, Route
from .events import check_webhook
from .local_code import check_caller
from .models import display_actor, display_worker, parse_actor_body, search_actor, search_worker
from .routes_permissions import permission_routes
from .search import run_search
from .wire import AbacoError, new_hashid, ok, to_datetime

Doc = dict[str, Any]
MAX_WORKERS = 50  # workers are local processes: more per actor would only exhaust the machine


def searchable_actors(core: Core, caller: Caller) -> list[Doc]:
    """The actors a search looks at: those with an entry for the caller in their permissions, admins included
    (``Search.get_db_specific_sections``, models.py master 132-163: ``{'permissions.<user>': {'$exists': True}}``)."""
    return [a for a in core.store.actors(caller.tenant)
            if caller.user in core.store.permissions(caller.tenant, "actor", a["id"])]


def raw_record(doc: Doc, time_keys: tuple[str, ...]) -> Doc:
    """A stored document with its times as naive UTC datetimes (what search filters compare)."""
    raw: Doc = {k: v for k, v in doc.items() if not k.startswith("_")}
    for key in time_keys:
        if key in raw:
            value = raw[key]
            raw[key] = to_datetime(value) if isinstance(value, int | float) else value
    return raw


def actor_records(core: Core, call: Call, actors: list[Doc]) -> list[tuple[Doc, Doc]]:
    """Search records of actors."""
    times = ("create_time", "last_update_time")
    return [(raw_record(a, times), search_actor(a, call.flavor, call.base)) for a in actors]


async def list_actors(call: Call, core: Core) -> Response:
    """GET /actors: the caller's actors, or a search over them when any parameter is given."""
    caller = call.caller
    actors = core.store.actors(caller.tenant)
    if call.search_mode:  # Search always needs an entry `permissions.<user>`, admins included (models.py)
        actors = searchable_actors(core, caller)
    elif not caller.admin:
        visible = core.store.permitted_actor_ids(caller.tenant, caller.user)
        if not call.flavor.v3:
            visible |= {a["id"] for a in actors if core.has_level(caller, "actor", a["id"], "READ")}
        actors = [a for a in actors if a["id"] in visible]
    if call.search_mode:
        result = run_search(actor_records(core, call, actors), call.query, call.flavor)
        return ok(call.flavor, result, "Actors search completed successfully.")
    return ok(call.flavor, [display_actor(a, call.flavor, call.base) for a in actors],
              "Actors retrieved successfully.")


def _body_dict(call: Call) -> dict[str, Any]:
    if call.body is None:
        return {}
    if not isinstance(call.body, dict):
        raise AbacoError("Invalid actor description: the body must be a JSON object or a form.")
    return call.body


def _check_tas(core: Core, call: Call, fields: Doc) -> None:
    """``run_as_executor`` needs a tenant whose users are TAS accounts (v3 controllers.py 896-898, 1100-1102;
    auth.py ``tenant_can_use_tas``: DESIGNSAFE, SD2E, TACC, A2CPS; here the setting ``abaco_tas_tenants``)."""
    if fields.get("run_as_executor") and call.caller.tenant.upper() not in core.tas_tenants:
        raise AbacoError("run_as_executor isn't supported for your tenant")


def _check_link(core: Core, call: Call, fields: Doc, actor_id: str | None) -> None:
    if fields.get("webhook"):
        check_webhook(str(fields["webhook"]))
    link = fields.get("link")
    if not link:
        return
    # validate_link (controllers.py master 742-778): an unknown link, a link to itself, a cycle. Its EXECUTE check
    # calls check_permissions, which returns False instead of raising, so Abaco never refuses on it; the emulator
    # does (events now run the linked actor: see FIDELITY.md).
    try:
        target = core.resolve(call, link)
    except AbacoError:
        raise AbacoError("Invalid link parameter; unable to retrieve linked actor data. The link must be a valid "
                         "actor id or alias for which you have EXECUTE permission. ") from None
    if not core.has_level(call.caller, "actor", target["id"], "EXECUTE"):
        raise AbacoError("Invalid link parameter. The link must be a valid actor id or alias for which you have "
                         f"EXECUTE permission. Additional info: you do not have EXECUTE permission on actor "
                         f"{target['id']}.")
    if target["id"] == actor_id:
        raise AbacoError("Invalid link parameter. An actor cannot link to itself.")
    seen = {actor_id} if actor_id else set()
    current: Doc | None = target
    while current is not None:
        if current["id"] in seen:
            raise AbacoError("Error: this update would result in a cycle of linked actors.")
        seen.add(current["id"])
        nxt = current.get("link")
        current = None
        if nxt:
            try:
                current = core.resolve(call, nxt)
            except AbacoError:
                current = None


async def create_actor(call: Call, core: Core) -> Response:
    """POST /actors: register an actor; it is SUBMITTED and becomes READY when its first worker is up."""
    body = _body_dict(call)
    now = core.now()
    fields = parse_actor_body(body, None, call.flavor, core.queues, now)
    check_caller(fields["image"], call.caller, core.runtime.local_code_users)
    _check_tas(core, call, fields)
    _check_link(core, call, fields, None)
    token_given = "token" in body
    fields.pop("force", None)
    doc: Doc = {
        **fields, "id": new_hashid(), "tenant": call.caller.tenant, "owner": call.caller.user, "status": "SUBMITTED",
        "status_message": "", "state": {}, "revision": 1, "create_time": now, "last_update_time": now,
        "token_from_config": not token_given,
    }
    core.store.add_actor(doc, call.caller.user)
    core.runtime.spawn_worker(doc)
    return ok(call.flavor, display_actor(doc, call.flavor, call.base), "Actor created successfully.")


async def get_actor(call: Call, core: Core) -> Response:
    """GET /actors/{id}."""
    return ok(call.flavor, display_actor(call.the_actor, call.flavor, call.base), "Actor retrieved successfully.")


async def update_actor(call: Call, core: Core) -> Response:
    """PUT /actors/{id}: full replacement; the name and owner are kept; a new image or ``force`` bumps the
    revision, sets SUBMITTED and restarts the workers. The updater gets UPDATE."""
    actor = call.the_actor
    body = _body_dict(call)
    fields = parse_actor_body(body, actor, call.flavor, core.queues, core.now())
    if fields["image"] != actor["image"]:
        check_caller(fields["image"], call.caller, core.runtime.local_code_users)
    _check_tas(core, call, fields)
    _check_link(core, call, fields, actor["id"])
    force = bool(fields.pop("force", False))
    new_image = fields["image"] != actor["image"]
    updated: Doc = {**actor, **fields, "last_update_time": core.now(), "token_from_config": "token" not in body}
    if new_image or force:
        updated["revision"] = int(actor["revision"]) + 1
        updated["status"] = "SUBMITTED"
        updated["status_message"] = ""
    core.store.put_actor(updated)
    if call.caller.user != actor["owner"]:
        core.store.set_permission(actor["tenant"], "actor", actor["id"], call.caller.user, "UPDATE")
    if new_image or force:
        core.runtime.restart_workers(updated)
    return ok(call.flavor, display_actor(updated, call.flavor, call.base), "Actor updated successfully.")


async def delete_actor(call: Call, core: Core) -> Response:
    """DELETE /actors/{id}: SHUTTING_DOWN, wait up to 20 s for the workers, then remove everything."""
    actor = call.the_actor

    def shutting(doc: Doc) -> None:
        doc["status"] = "SHUTTING_DOWN"

    core.store.update("actors", actor["id"], shutting)
    core.store.purge_mailbox(actor["id"])
    clean = await core.runtime.shutdown_actor(actor["id"])
    if not clean:
        for execution in core.store.executions(actor["id"], "RUNNING"):
            core.runtime.force_quit(execution["id"])
        await core.runtime.shutdown_actor(actor["id"], timeout=5)
    core.store.delete_actor(actor["id"])
    message = ("Actor deleted successfully." if clean else
               "Actor deleted successfully, though Abaco is still cleaning up some of the actor's resources.")
    return ok(call.flavor, None, message)


# -- state -----------------------------------------------------------------------------------------------------

async def get_state(call: Call, core: Core) -> Response:
    """GET /actors/{id}/state."""
    return ok(call.flavor, {"state": call.the_actor.get("state", {})}, "Actor state retrieved successfully.")


async def set_state(call: Call, core: Core) -> Response:
    """POST /actors/{id}/state: stateful actors only (404 otherwise); any truthy JSON; answers the Actor."""
    actor = call.the_actor
    if actor["stateless"]:
        raise AbacoError("actor is stateless.", 404)
    state = None if call.content_type.startswith(("application/x-www-form", "multipart/")) else call.body
    if not state:
        raise AbacoError("Invalid actor state description: state must be JSON serializable.")

    def change(doc: Doc) -> None:
        doc["state"] = state
        doc["last_update_time"] = core.now()

    updated = core.store.update("actors", actor["id"], change)
    assert updated is not None
    return ok(call.flavor, display_actor(updated, call.flavor, call.base), "State updated successfully.")


# -- permissions -----------------------------------------------------------------------------------------------

def _actor_of(call: Call, core: Core, level: str) -> tuple[str, str]:
    """The actor of the path (its scope already resolved it and checked ``level``)."""
    return call.the_actor["tenant"], call.the_actor["id"]


# -- workers ---------------------------------------------------------------------------------------------------

def worker_records(workers: list[Doc], call: Call) -> list[tuple[Doc, Doc]]:
    """Search records of workers."""
    keys = ("create_time", "last_execution_time", "last_health_check_time")
    return [(raw_record(w, keys), search_worker(w, call.flavor)) for w in workers]


async def list_workers(call: Call, core: Core) -> Response:
    """GET /actors/{id}/workers (search mode with parameters)."""
    workers = core.store.workers(call.the_actor["id"])
    if call.search_mode:
        return ok(call.flavor, run_search(worker_records(workers, call), call.query, call.flavor),
                  "Workers search completed successfully.")
    return ok(call.flavor, [display_worker(w, call.flavor) for w in workers], "Workers retrieved successfully.")


async def add_workers(call: Call, core: Core) -> Response:
    """POST /actors/{id}/workers ``{"num": n}`` (admins only): make sure at least ``n`` workers exist."""
    actor = call.the_actor
    if not call.caller.admin:
        raise AbacoError("Not authorized -- only admins are authorized to update workers.")
    raw = call.body_field("num") if call.body is not None else None
    if raw is None:
        raw = call.arg("num")
    try:
        num = 1 if raw in (None, "") else parse_int(raw, "num", minimum=None) if isinstance(raw, str) else int(raw)
    except (TypeError, ValueError):
        raise AbacoError("Invalid workers description: {'num': 'Number of workers to start (default: 1).'}") from None
    if num < 1 or num > MAX_WORKERS:
        raise AbacoError(f"Invalid workers description: num must be an integer between 1 and {MAX_WORKERS}.")
    # no one-worker check for stateful actors here: Abaco has it only at registration (WorkersResource.post)
    scheduled, previous = core.runtime.add_workers(actor, num)
    if scheduled == 0:
        return ok(call.flavor, None, f"Actor {actor['id']} already had {num} worker(s).")
    return ok(call.flavor, None,
              f"Scheduled {scheduled} new worker(s) to start. Previously, there were {previous} workers.")


def _worker(call: Call, core: Core) -> Doc:
    worker = core.store.get("workers", call.path["wid"])
    if worker is None or worker["actor_id"] != call.the_actor["id"]:
        raise AbacoError("Worker not found.", 404)
    return worker


async def get_worker(call: Call, core: Core) -> Response:
    """GET /actors/{id}/workers/{wid}."""
    return ok(call.flavor, display_worker(_worker(call, core), call.flavor), "Worker retrieved successfully.")


async def delete_worker(call: Call, core: Core) -> Response:
    """DELETE /actors/{id}/workers/{wid}: the worker stops after its current execution."""
    worker = _worker(call, core)
    core.runtime.stop_worker(worker["id"])
    return ok(call.flavor, None, "Worker scheduled to be stopped.")


ROUTES = [
    Route("GET", (), list_actors, scope="none"),
    Route("POST", (), create_actor, scope="none"),
    Route("GET", ("{aid}",), get_actor),
    Route("PUT", ("{aid}",), update_actor),
    Route("DELETE", ("{aid}",), delete_actor),
    Route("GET", ("{aid}", "state"), get_state),
    Route("POST", ("{aid}", "state"), set_state),
    *permission_routes("actor", ("{aid}",), _actor_of, scope="actor"),
    Route("GET", ("{aid}", "workers"), list_workers),
    Route("POST", ("{aid}", "workers"), add_workers),
    Route("GET", ("{aid}", "workers", "{wid}"), get_worker),
    Route("DELETE", ("{aid}", "workers", "{wid}"), delete_worker),
]
