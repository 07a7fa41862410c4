"""Route handlers for actors, state, permissions and aliases."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.responses import Response

from .auth import allowed, permissions
from .context import Ctx
from .models import actor_view, alias_view, check_privileged, validate
from .runtime import bring_up, new_worker
from .wire import LEVELS, NOT_AUTHORIZED, AbacoError, is_hashid, new_id, now

RESERVED = {"executions", "nonces", "logs", "messages", "adapters", "admin", "search", "aliases", "utilization"}
BAD_ALIAS = set('\\ ":/?#[]@!$&\'()*+,;=')


def view(ctx: Ctx, actor: dict[str, Any]) -> dict[str, Any]:
    """Displayed actor for the request's flavour."""
    return ctx.model(actor_view(actor, ctx.links, ctx.v3))


def start_workers(ctx: Ctx, actor: dict[str, Any], count: int) -> int:
    """Ensure ``count`` workers exist; returns how many existed before."""
    existing = ctx.store.all("worker", actor["id"])
    for _ in range(count - len(existing)):
        ctx.store.put("worker", new_worker(actor, new_id()), actor["id"])
    asyncio.get_running_loop().create_task(bring_up(ctx.runtime, actor["id"]))
    return len(existing)


async def list_actors(ctx: Ctx) -> Response:
    """GET /actors: actors the caller can READ; any parameter except x-nonce switches to search mode."""
    mine = [a for a in ctx.store.all("actor") if allowed(ctx.store, ctx.caller, a["id"], "READ")]
    if any(k != "x-nonce" for k, _ in ctx.query):
        from .search import run_search
        found = run_search(mine, ctx.query, ctx.camel)
        found["search"] = [view(ctx, a) for a in found["search"]]
        return ctx.ok(found, "Actors search completed successfully.")
    return ctx.ok([view(ctx, a) for a in mine], "Actors retrieved successfully.")


async def create_actor(ctx: Ctx) -> Response:
    """POST /actors."""
    body = ctx.body()
    check_privileged(body, ctx.caller.privileged)
    fields = validate(body)
    stamp = now().isoformat()
    actor = {"id": new_id(), "owner": ctx.caller.user, "status": "SUBMITTED", "status_message": "",
             "state": {}, "mounts": [], "revision": 1, "create_time": stamp, "last_update_time": stamp,
             "type": "none", "uid": None, "gid": None, "tasdir": None, "cron_next_ex": None, **fields}
    ctx.store.put("actor", actor)
    ctx.store.put("perm", {"id": actor["id"], "perms": {ctx.caller.user: "UPDATE"}}, actor["id"])
    start_workers(ctx, actor, int(fields["max_workers"] or 1) if not fields["stateless"] else 1)
    return ctx.ok(view(ctx, actor), "Actor created successfully.")


async def get_actor(ctx: Ctx) -> Response:
    """GET /actors/{id}."""
    return ctx.ok(view(ctx, ctx.need_actor()), "Actor retrieved successfully.")


async def update_actor(ctx: Ctx) -> Response:
    """PUT /actors/{id}: full replacement; the name is kept; revision bumps on image change or force."""
    old = ctx.need_actor()
    body = ctx.body()
    check_privileged(body, ctx.caller.privileged)
    fields = validate(body)
    if fields["stateless"] and not old["stateless"]:
        raise AbacoError("Invalid actor description: an actor that was not stateless cannot be updated to be "
                         "stateless.")
    fields["name"] = old["name"]
    actor = {**old, **fields, "last_update_time": now().isoformat()}
    if fields["image"] != old["image"] or str(body.get("force", "")).lower() == "true" or body.get("force") is True:
        actor["revision"] = old["revision"] + 1
        for worker in ctx.store.all("worker", old["id"]):
            worker["image"] = actor["image"]
            ctx.store.put("worker", worker, old["id"])
    ctx.store.put("actor", actor)
    if ctx.caller.user != old["owner"] and not ctx.caller.admin:
        perms = permissions(ctx.store, old["id"])
        perms[ctx.caller.user] = "UPDATE"
        ctx.store.put("perm", {"id": old["id"], "perms": perms}, old["id"])
    return ctx.ok(view(ctx, actor), "Actor updated successfully.")


async def delete_actor(ctx: Ctx) -> Response:
    """DELETE /actors/{id}: kills running executions and removes everything of the actor."""
    actor = ctx.need_actor()
    for ex in ctx.store.all("execution", actor["id"]):
        ctx.runtime.force_quit(ex["id"])
    ctx.store.delete_actor(actor["id"])
    for alias in ctx.store.all("alias"):
        if alias["actor_id"] == actor["id"]:
            ctx.store.delete("alias", alias["alias"])
    return ctx.ok(None, "Actor deleted successfully.")


async def get_state(ctx: Ctx) -> Response:
    """GET /actors/{id}/state."""
    return ctx.ok({"state": ctx.need_actor().get("state", {})}, "Actor state retrieved successfully.")


async def set_state(ctx: Ctx) -> Response:
    """POST /actors/{id}/state: stateful actors only; any truthy JSON."""
    actor = ctx.need_actor()
    if actor["stateless"]:
        raise AbacoError("actor is stateless.", 404)
    try:
        state = json.loads(ctx.raw)
    except ValueError:
        state = None
    if not state:
        raise AbacoError("Invalid actor state description: state must be JSON serializable.")
    actor["state"] = state
    ctx.store.put("actor", actor)
    return ctx.ok(view(ctx, actor), "State updated successfully.")


async def get_permissions(ctx: Ctx) -> Response:
    """GET /actors/{id}/permissions."""
    return ctx.ok(permissions(ctx.store, ctx.need_actor()["id"]), "Permissions retrieved successfully.")


async def set_permission(ctx: Ctx) -> Response:
    """POST /actors/{id}/permissions: ``user`` and ``level`` (NONE revokes by storing NONE)."""
    actor, body = ctx.need_actor(), ctx.body()
    user, level = body.get("user"), str(body.get("level", "")).upper()
    if not user or level not in LEVELS:
        raise AbacoError("Invalid permission description: user and level (NONE, READ, EXECUTE, UPDATE) required.")
    perms = permissions(ctx.store, actor["id"])
    perms[str(user)] = level
    ctx.store.put("perm", {"id": actor["id"], "perms": perms}, actor["id"])
    return ctx.ok(perms, "Permission added successfully.")


async def list_aliases(ctx: Ctx) -> Response:
    """GET /actors/aliases: every alias, no permission filter."""
    items = [ctx.model(alias_view(a, ctx.links)) for a in ctx.store.all("alias")]
    return ctx.ok(items, "Aliases retrieved successfully.")


async def create_alias(ctx: Ctx) -> Response:
    """POST /actors/aliases: UPDATE on the target actor."""
    body = ctx.body()
    name, actor_id = str(body.get("alias", "")), str(body.get("actor_id", ""))
    if not name or not actor_id:
        raise AbacoError("Invalid alias description: alias and actor_id are required.")
    if is_hashid(name):
        raise AbacoError("Invalid alias description. Alias cannot be an Abaco hash id.")
    if name in RESERVED or BAD_ALIAS & set(name):
        raise AbacoError(f"Invalid alias description: {name} is not a valid alias.")
    if ctx.store.get("alias", name) is not None:
        raise AbacoError(f"Alias {name} already exists.")
    if ctx.store.get("actor", actor_id) is None:
        raise AbacoError(f"No actor found with id: {actor_id}.", 404)
    if not allowed(ctx.store, ctx.caller, actor_id, "UPDATE"):
        raise AbacoError(NOT_AUTHORIZED)
    alias = {"alias": name, "actor_id": actor_id, "owner": ctx.caller.user}
    ctx.store.put("alias", alias, actor_id)
    return ctx.ok(ctx.model(alias_view(alias, ctx.links)), "Actor alias created successfully.")


def _alias(ctx: Ctx, level: str) -> dict[str, Any]:
    alias = ctx.store.get("alias", ctx.parts[1])
    if alias is None:
        raise AbacoError(f"No alias found: {ctx.parts[1]}." if ctx.caller.admin
                         else f"Actor with identifier '{ctx.parts[1]}' not found", 404)
    if not allowed(ctx.store, ctx.caller, alias["actor_id"], level):
        raise AbacoError("Not authorized -- you do not have access to this alias.")
    return alias


async def get_alias(ctx: Ctx) -> Response:
    """GET /actors/aliases/{alias}."""
    return ctx.ok(ctx.model(alias_view(_alias(ctx, "READ"), ctx.links)), "Alias retrieved successfully.")


async def update_alias(ctx: Ctx) -> Response:
    """PUT /actors/aliases/{alias}: retarget (changing the name is refused)."""
    alias, body = _alias(ctx, "UPDATE"), ctx.body()
    if body.get("alias") not in (None, alias["alias"]):
        raise AbacoError("Invalid alias update description. The alias itself cannot be updated in a PUT request.")
    target = str(body.get("actor_id", ""))
    if ctx.store.get("actor", target) is None or not allowed(ctx.store, ctx.caller, target, "UPDATE"):
        raise AbacoError("Not authorized -- you do not have access to this alias and actor.")
    alias["actor_id"] = target
    ctx.store.put("alias", alias, target)
    return ctx.ok(ctx.model(alias_view(alias, ctx.links)), "Actor alias updated successfully.")


async def delete_alias(ctx: Ctx) -> Response:
    """DELETE /actors/aliases/{alias}."""
    alias = _alias(ctx, "UPDATE")
    ctx.store.delete("alias", alias["alias"])
    return ctx.ok(None, f"Alias {alias['alias']} deleted successfully.")
