"""Route handlers for messages (async and synchronous), executions, logs and results."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.responses import Response

from .context import Ctx
from .models import check_privileged, execution_view, summary_view
from .search import run_search
from .wire import CORS, AbacoError, new_id, now

SYNC_POLL = 0.05


def _message(ctx: Ctx) -> tuple[bytes, str, str]:
    """Apply the body rules of §12.1: returns (payload, content type, echoed msg)."""
    ctype = ctx.request.headers.get("content-type", "").split(";")[0].strip().lower()
    query = dict(ctx.query)
    body = ctx.body()
    if "message" in body or "message" in query:
        text = str(body["message"]) if "message" in body else query["message"]
        return text.encode(), "str", text
    if ctype == "application/octet-stream":
        length = ctx.request.headers.get("content-length")
        if length is None:
            raise AbacoError("Content Length required for application/octet-stream.")
        if int(length) > ctx.max_message:
            raise AbacoError(f"Message exceeds max content length of: {ctx.max_message}")
        return ctx.raw, "application/octet-stream", "binary - omitted"
    if ctype == "application/json" and body:
        text = ctx.raw.decode("utf-8", "replace")
        return text.encode(), "application/json", text
    try:
        json.loads(ctx.raw)
    except ValueError:
        raise AbacoError("message POST body could not be serialized. Pass JSON data or use the message "
                         "attribute.") from None
    text = ctx.raw.decode("utf-8", "replace")
    return text.encode(), "str", text


async def get_messages(ctx: Ctx) -> Response:
    """GET /actors/{id}/messages: queued count."""
    actor = ctx.need_actor()
    links = {"self": ctx.links.url(f"{actor['id']}/messages"), "owner": ctx.links.owner(actor["owner"])}
    return ctx.ok({"messages": len(ctx.store.queued(actor["id"])), "_links": links}, "The request was successful")


async def purge_messages(ctx: Ctx) -> Response:
    """DELETE /actors/{id}/messages: empty the mailbox (dropped executions are removed)."""
    actor = ctx.need_actor()
    for exec_id in ctx.store.purge(actor["id"]):
        ctx.store.delete("execution", exec_id)
    links = {"self": ctx.links.url(f"{actor['id']}/messages"), "owner": ctx.links.owner(actor["owner"])}
    return ctx.ok({"msg": "Actor mailbox purged.", "_links": links}, "The request was successful")


async def send_message(ctx: Ctx) -> Response:
    """POST /actors/{id}/messages: queue (committed before replying) and optionally wait synchronously."""
    actor = ctx.need_actor()
    check_privileged(ctx.body(), ctx.caller.privileged)
    payload, ctype, msg = _message(ctx)
    sync = dict(ctx.query).get("_abaco_synchronous", "").lower() == "true"
    if sync and ctx.store.queued(actor["id"]):
        raise AbacoError("Cannot issue synchronous execution when actor message queue > 0.")
    exec_id = new_id()
    env: dict[str, str] = {str(k): str(v) for k, v in actor.get("default_environment", {}).items()}
    env.update({k: v for k, v in ctx.query if k not in ("message", "x-nonce")})  # nonce: a secret
    token = ctx.token_for.get(ctx.caller.user, "") if actor.get("token") else ""
    env.update({"_abaco_Content_Type": ctype, "_abaco_username": ctx.caller.user, "_abaco_execution_id": exec_id,
                "_abaco_actor_id": actor["id"], "_abaco_actor_dbid": f"SANDBOX_{actor['id']}",
                "_abaco_actor_revision": str(actor["revision"]), "_abaco_actor_name": str(actor["name"]),
                "_abaco_container_repo": actor["image"], "_abaco_api_server": ctx.links.api,
                "_abaco_jwt_header_name": "X-Jwt-Assertion-SANDBOX", "_abaco_access_token": token})
    if ctype != "application/octet-stream":
        env["MSG"] = msg
    ex = {"id": exec_id, "actor_id": actor["id"], "api_server": ctx.links.api, "cpu": 0, "io": 0, "runtime": 0,
          "executor": ctx.caller.user, "exit_code": None, "final_state": None, "finish_time": None,
          "start_time": None, "message_received_time": now().isoformat(), "status": "SUBMITTED",
          "worker_id": None, "executor_uid": None, "executor_gid": None}
    ctx.store.put("execution", ex, actor["id"])
    ctx.store.enqueue(actor["id"], exec_id, payload, env)
    ctx.runtime.kick(actor["id"])
    if sync:
        return await _wait_sync(ctx, exec_id)
    links = {"self": ctx.links.url(f"{actor['id']}/executions/{exec_id}"), "owner": ctx.links.owner(actor["owner"]),
             "messages": ctx.links.url(f"{actor['id']}/messages")}
    key = "executionId" if ctx.camel else "execution_id"
    return ctx.ok({key: exec_id, "msg": msg, "_links": links}, "The request was successful")


async def _wait_sync(ctx: Ctx, exec_id: str) -> Response:
    """Block until a result (raw bytes) or completion (plain-text logs). Unlike Abaco, ERROR ends the wait
    with an error envelope instead of hanging."""
    while True:
        item = ctx.store.pop_result(exec_id)
        if item is not None:
            return Response(item, media_type="application/octet-stream", headers=CORS)
        ex = ctx.store.get("execution", exec_id)
        if ex is None or ex["status"] == "ERROR":
            raise AbacoError(f"Execution {exec_id} failed: {(ex or {}).get('logs', '')}", 500)
        if ex["status"] == "COMPLETE":
            item = ctx.store.pop_result(exec_id)
            if item is not None:
                return Response(item, media_type="application/octet-stream", headers=CORS)
            return Response(ex.get("logs", ""), media_type="text/html", headers=CORS)
        await asyncio.sleep(SYNC_POLL)


def _execution(ctx: Ctx) -> dict[str, Any]:
    actor = ctx.need_actor()
    ex = ctx.store.get("execution", ctx.parts[2])
    if ex is None or ex["actor_id"] != actor["id"]:
        raise AbacoError(f"No executions found with actor id of {actor['id']} and execution id of {ctx.parts[2]}.")
    return ex


async def list_executions(ctx: Ctx) -> Response:
    """GET /actors/{id}/executions: summary, or search on this actor's executions when parameters are given."""
    actor = ctx.need_actor()
    execs = ctx.store.all("execution", actor["id"])
    if any(k != "x-nonce" for k, _ in ctx.query):
        found = run_search(execs, ctx.query, ctx.camel)
        found["search"] = [ctx.model(execution_view(e, ctx.links, ctx.v3)) for e in found["search"]]
        return ctx.ok(found, "Executions search completed successfully.")
    summary = summary_view(actor, execs, ctx.links, ctx.camel)
    items = summary.pop("executions")
    shaped = ctx.model(summary)
    shaped["executions"] = items
    return ctx.ok(shaped, "Actor executions retrieved successfully.")


async def get_execution(ctx: Ctx) -> Response:
    """GET /actors/{id}/executions/{eid}."""
    return ctx.ok(ctx.model(execution_view(_execution(ctx), ctx.links, ctx.v3)),
                  "Actor execution retrieved successfully.")


async def quit_execution(ctx: Ctx) -> Response:
    """DELETE /actors/{id}/executions/{eid}: force-quit a RUNNING execution."""
    ex = _execution(ctx)
    if ex["status"] != "RUNNING":
        raise AbacoError("Cannot force quit an execution not in RUNNING status. Execution was found in status: "
                         f"{ex['status']}")
    ctx.runtime.force_quit(ex["id"])
    return ctx.ok(None, f"Issued force quit command for execution {ex['id']}.")


async def get_logs(ctx: Ctx) -> Response:
    """GET .../logs: the execution's stdout+stderr (empty until it finishes)."""
    ex = _execution(ctx)
    base = f"{ex['actor_id']}/executions/{ex['id']}"
    links = {"self": ctx.links.url(base + "/logs"), "owner": ctx.links.owner(ex["executor"]),
             "execution": ctx.links.url(base)}
    return ctx.ok({"logs": ex.get("logs", ""), "_links": links}, "Logs retrieved successfully.")


async def get_result(ctx: Ctx) -> Response:
    """GET .../results: pop one raw result item; empty body when drained."""
    ex = _execution(ctx)
    item = ctx.store.pop_result(ex["id"])
    return Response(item or b"", media_type="application/octet-stream", headers=CORS)
