"""Route table and dispatcher: prefix detection, 405 before auth, auth, actor resolution, permission rule."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from . import actors, messages, pool
from .auth import allowed, identify, redeem_nonce
from .context import Ctx, Links
from .wire import CORS, NOT_ALLOWED, NOT_AUTHORIZED, TENANT, AbacoError, envelope, error, is_hashid

Handler = Callable[[Ctx], Awaitable[Response]]
# (shape, method) -> handler; shape uses "*" for a variable segment.
TABLE: dict[tuple[str, str], Handler] = {
    ("", "GET"): actors.list_actors, ("", "POST"): actors.create_actor,
    ("aliases", "GET"): actors.list_aliases, ("aliases", "POST"): actors.create_alias,
    ("aliases/*", "GET"): actors.get_alias, ("aliases/*", "PUT"): actors.update_alias,
    ("aliases/*", "DELETE"): actors.delete_alias, ("search/*", "GET"): pool.search,
    ("*", "GET"): actors.get_actor, ("*", "PUT"): actors.update_actor, ("*", "DELETE"): actors.delete_actor,
    ("*/state", "GET"): actors.get_state, ("*/state", "POST"): actors.set_state,
    ("*/permissions", "GET"): actors.get_permissions, ("*/permissions", "POST"): actors.set_permission,
    ("*/messages", "GET"): messages.get_messages, ("*/messages", "POST"): messages.send_message,
    ("*/messages", "DELETE"): messages.purge_messages, ("*/executions", "GET"): messages.list_executions,
    ("*/executions/*", "GET"): messages.get_execution, ("*/executions/*", "DELETE"): messages.quit_execution,
    ("*/executions/*/logs", "GET"): messages.get_logs, ("*/executions/*/results", "GET"): messages.get_result,
    ("*/workers", "GET"): pool.list_workers, ("*/workers", "POST"): pool.add_workers,
    ("*/workers/*", "GET"): pool.get_worker, ("*/workers/*", "DELETE"): pool.delete_worker,
    ("*/nonces", "GET"): pool.list_nonces, ("*/nonces", "POST"): pool.create_nonce,
    ("*/nonces/*", "GET"): pool.get_nonce, ("*/nonces/*", "DELETE"): pool.delete_nonce,
}
FIXED = {"aliases", "search"}
FIXED_CHILD = {"state", "permissions", "messages", "executions", "workers", "nonces", "logs", "results"}


def match(parts: list[str], method: str) -> Handler | None:
    """Find the handler of ``parts`` (below the prefix) for ``method``."""
    fixed_root = bool(parts) and parts[0] in FIXED
    shape = "/".join(p if (i == 0 and p in FIXED) or (i > 0 and not fixed_root and p in FIXED_CHILD) else "*"
                     for i, p in enumerate(parts))
    return TABLE.get((shape, method))


def split(path: str) -> tuple[str, list[str]] | None:
    """``(flavour, parts)`` for ``/actors/v2``, ``/v3/actors`` and ``/actors``; repeated slashes merged."""
    path = re.sub("/+", "/", path).rstrip("/")
    for prefix, flavour in (("/actors/v2", "v2"), ("/v3/actors", "v3"), ("/actors", "plain")):
        if path == prefix or path.startswith(prefix + "/"):
            rest = path[len(prefix):].strip("/")
            return flavour, rest.split("/") if rest else []
    return None


def required_level(method: str, parts: list[str]) -> str:
    """GET → READ; POST messages → EXECUTE; everything else → UPDATE."""
    if method == "GET":
        return "READ"
    if method == "POST" and parts[1:] == ["messages"]:
        return "EXECUTE"
    return "UPDATE"


async def dispatch(ctx: Ctx, secret: bytes, handler: Handler) -> Response:
    """Authenticate, resolve the actor, check permissions and run ``handler``."""
    request, parts = ctx.request, ctx.parts
    caller = identify(request, secret, ctx.v3)
    scoped = bool(parts) and parts[0] not in FIXED
    actor_id: str | None = None
    if scoped:
        ident = parts[0]
        if is_hashid(ident):
            actor_id = ident
        else:
            alias = ctx.store.get("alias", ident)
            if alias is None:
                raise AbacoError(f"Actor with identifier '{ident}' not found", 404)
            actor_id = alias["actor_id"]
    level = required_level(request.method, parts)
    if caller is None:
        caller = redeem_nonce(ctx.store, request.query_params["x-nonce"], actor_id, level)
        if not scoped:
            raise AbacoError("Not authorized." if not parts else "Search is not available with a nonce.",
                             400 if not parts else 404)
    ctx.caller = caller
    if actor_id is not None:
        ctx.actor = ctx.store.get("actor", actor_id)
        if ctx.actor is None:
            if caller.admin:
                raise AbacoError(f"No actor found with identifier: {actor_id}.", 404)
            raise AbacoError(NOT_AUTHORIZED if ctx.v3 else f"Actor {TENANT}_{actor_id} does not exist")
        if caller.nonce is None and not allowed(ctx.store, caller, actor_id, level):
            raise AbacoError(NOT_AUTHORIZED)
    return await handler(ctx)


def build_ctx(request: Request, flavour: str, parts: list[str], raw: bytes, **kw: object) -> Ctx:
    """A request context for the flavour (v2 and plain /actors are camel, v3 snake)."""
    v3 = flavour == "v3"
    api = str(kw.pop("api"))
    return Ctx(request=request, v3=v3, camel=not v3, links=Links(api, v3), parts=parts, raw=raw,
               **kw)  # type: ignore[arg-type]


def options_response() -> Response:
    """CORS preflight: 200 without auth."""
    return Response(b"", headers=CORS)


def not_found(v3: bool) -> Response:
    """Valid-JSON envelope for paths outside the actors API."""
    return envelope(None, "Not found.", v3, status=404, ok=False)


def fail(exc: AbacoError, flavour: str) -> Response:
    """Error envelope for the flavour."""
    return error(exc, flavour == "v3")


__all__ = ["NOT_ALLOWED", "build_ctx", "dispatch", "fail", "match", "not_found", "options_response", "split"]
