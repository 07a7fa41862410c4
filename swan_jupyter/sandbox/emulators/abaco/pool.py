"""Route handlers for workers, nonces and the global search."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .actors import start_workers, view
from .auth import permissions
from .context import Ctx
from .models import execution_view, nonce_view, worker_view
from .search import run_search
from .wire import LEVELS, TENANT, AbacoError, new_id, now


async def list_workers(ctx: Ctx) -> Response:
    """GET /actors/{id}/workers (search mode with parameters)."""
    workers = [worker_view(w) for w in ctx.store.all("worker", ctx.need_actor()["id"])]
    if any(k != "x-nonce" for k, _ in ctx.query):
        found = run_search(workers, ctx.query, ctx.camel)
        found["search"] = [ctx.model(w) for w in found["search"]]
        return ctx.ok(found, "Workers search completed successfully.")
    return ctx.ok([ctx.model(w) for w in workers], "Workers retrieved successfully.")


async def add_workers(ctx: Ctx) -> Response:
    """POST /actors/{id}/workers ``{"num": n}``: admin only; ensures at least n workers."""
    if not ctx.caller.admin:
        raise AbacoError("Not authorized -- only admins are authorized to update workers.")
    actor = ctx.need_actor()
    try:
        num = int(ctx.body().get("num", 1))
    except (TypeError, ValueError):
        raise AbacoError("Invalid worker description: num must be an integer.") from None
    if not actor["stateless"] and num > 1:
        raise AbacoError("Invalid actor description: stateful actors can only have 1 worker.")
    before = len(ctx.store.all("worker", actor["id"]))
    if before >= num:
        return ctx.ok(None, f"Actor {actor['id']} already had {num} worker(s).")
    start_workers(ctx, actor, num)
    return ctx.ok(None, f"Scheduled {num - before} new worker(s) to start. Previously, there were {before} workers.")


def _worker(ctx: Ctx) -> dict[str, Any]:
    worker = ctx.store.get("worker", ctx.parts[2])
    if worker is None or worker.get("image") is None or not any(
            w["id"] == worker["id"] for w in ctx.store.all("worker", ctx.need_actor()["id"])):
        raise AbacoError("Worker not found.", 404)
    return worker


async def get_worker(ctx: Ctx) -> Response:
    """GET /actors/{id}/workers/{wid}."""
    return ctx.ok(ctx.model(worker_view(_worker(ctx))), "Worker retrieved successfully.")


async def delete_worker(ctx: Ctx) -> Response:
    """DELETE /actors/{id}/workers/{wid}: the worker stops after its current execution."""
    worker = _worker(ctx)
    ctx.store.delete("worker", worker["id"])
    return ctx.ok(None, "Worker scheduled to be stopped.")


async def list_nonces(ctx: Ctx) -> Response:
    """GET /actors/{id}/nonces."""
    items = [ctx.model(nonce_view(n, ctx.links)) for n in ctx.store.all("nonce", ctx.need_actor()["id"])]
    return ctx.ok(items, "Actor nonces retrieved successfully.")


async def create_nonce(ctx: Ctx) -> Response:
    """POST /actors/{id}/nonces: ``level`` (default EXECUTE), ``max_uses`` (default -1), ``description``."""
    actor, body = ctx.need_actor(), ctx.body()
    level = str(body.get("level", "EXECUTE")).upper()
    if level not in LEVELS:
        raise AbacoError("Invalid nonce description: level must be one of NONE, READ, EXECUTE, UPDATE.")
    try:
        max_uses = int(body.get("max_uses", -1))
    except (TypeError, ValueError):
        max_uses = 0
    if max_uses == 0 or max_uses < -1:
        raise AbacoError("The max uses parameter must be a positive integer or -1 (to denote unlimited uses).")
    nonce = {"id": f"{TENANT}_{new_id()}", "actor_id": actor["id"], "api_server": ctx.links.api,
             "create_time": now().isoformat(), "current_uses": 0, "description": str(body.get("description", "")),
             "last_use_time": None, "level": level, "max_uses": max_uses, "owner": ctx.caller.user,
             "remaining_uses": max_uses, "roles": list(ctx.caller.roles)}
    ctx.store.put("nonce", nonce, actor["id"])
    return ctx.ok(ctx.model(nonce_view(nonce, ctx.links)), "Actor nonce created successfully.")


def _nonce(ctx: Ctx) -> dict[str, Any]:
    nonce = ctx.store.get("nonce", ctx.parts[2])
    if nonce is None or nonce["actor_id"] != ctx.need_actor()["id"]:
        raise AbacoError("Nonce not found.")
    return nonce


async def get_nonce(ctx: Ctx) -> Response:
    """GET /actors/{id}/nonces/{nid}."""
    return ctx.ok(ctx.model(nonce_view(_nonce(ctx), ctx.links)), "Actor nonce retrieved successfully.")


async def delete_nonce(ctx: Ctx) -> Response:
    """DELETE /actors/{id}/nonces/{nid}."""
    ctx.store.delete("nonce", _nonce(ctx)["id"])
    return ctx.ok(None, "Actor nonce deleted successfully.")


async def search(ctx: Ctx) -> Response:
    """GET /actors/search/{actors|executions|workers|nonces|logs}: records of actors the caller has any
    permission entry on (admins see all)."""
    kind = ctx.parts[1]
    visible = {a["id"] for a in ctx.store.all("actor")
               if ctx.caller.admin or ctx.caller.user in permissions(ctx.store, a["id"])}
    if kind == "actors":
        records = [a for a in ctx.store.all("actor") if a["id"] in visible]
    elif kind in ("executions", "logs"):
        records = [e for e in ctx.store.all("execution") if e["actor_id"] in visible]
    elif kind == "nonces":
        records = [n for n in ctx.store.all("nonce") if n["actor_id"] in visible]
    elif kind == "workers":
        records = [worker_view(w) for aid in visible for w in ctx.store.all("worker", aid)]
    else:
        raise AbacoError(f"Invalid search type: {kind}. Must be one of actors, executions, workers, nonces, logs.",
                         404)
    found = run_search(records, ctx.query, ctx.camel)
    if kind == "actors":
        found["search"] = [view(ctx, a) for a in found["search"]]
    elif kind == "executions":
        found["search"] = [ctx.model(execution_view(e, ctx.links, ctx.v3)) for e in found["search"]]
    elif kind == "logs":
        found["search"] = [{"id": e["id"], "logs": e.get("logs", "")} for e in found["search"]]
    elif kind == "nonces":
        found["search"] = [ctx.model(nonce_view(n, ctx.links)) for n in found["search"]]
    else:
        found["search"] = [ctx.model(w) for w in found["search"]]
    return ctx.ok(found, "Search completed successfully.")
