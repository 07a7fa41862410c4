"""``AbacoService``: the Abaco emulator as a sandbox service (see :mod:`swan_jupyter.sandbox.service`)."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...service import SandboxContext
from .auth import SANDBOX_USERS, issue_token, load_secret
from .routes import NOT_ALLOWED, build_ctx, dispatch, fail, match, not_found, options_response, split
from .runtime import Runtime
from .store import Store
from .wire import TENANT, AbacoError, now

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]


class AbacoService:
    """The Abaco actors API (v2 at ``/actors/v2``, v3 at ``/v3/actors``, plain ``/actors``) over one store.

    State lives in ``STATE_DIR/abaco``: ``abaco.db`` (SQLite, WAL) and ``secret`` (HS256 key, 0600).
    """

    name = "abaco"

    def __init__(self, ctx: SandboxContext) -> None:
        self.root = ctx.state_dir / "abaco"
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "executions").mkdir(exist_ok=True)
        self.secret = load_secret(self.root / "secret")
        self.store = Store(self.root / "abaco.db")
        self.runtime = Runtime(self.store, self.root / "executions")
        self.max_message = int(ctx.settings.get("abaco_max_message", 500 * 1024 * 1024))
        self.tokens = {key: (user, issue_token(self.secret, user, role))
                       for key, (user, role) in SANDBOX_USERS.items()}
        self.url = ""
        self._app = Starlette(routes=[Route("/{path:path}", self._endpoint, methods=METHODS)])

    @property
    def app(self) -> Any:
        """The ASGI application."""
        return self._app

    async def start(self, url: str) -> None:
        """Record the base URL and recover from a previous run: RUNNING → ERROR, queued messages re-run."""
        self.url = url.rstrip("/")
        for ex in self.store.all("execution"):
            if ex["status"] == "RUNNING":
                ex.update(status="ERROR", finish_time=now().isoformat(), exit_code="undetermined",
                          final_state={"unavailable": True}, logs=ex.get("logs", "") + "sandbox restarted\n")
                self.store.put("execution", ex, ex["actor_id"])
        for worker in self.store.all("worker"):
            if worker["status"] != "READY":
                worker["status"] = "READY"
                self.store.put("worker", worker, self._worker_actor(worker["id"]))
        for actor in self.store.all("actor"):
            self.runtime.kick(actor["id"])

    def _worker_actor(self, worker_id: str) -> str | None:
        for actor in self.store.all("actor"):
            if any(w["id"] == worker_id for w in self.store.all("worker", actor["id"])):
                return str(actor["id"])
        return None

    async def stop(self) -> None:
        """Kill every child process and close the database."""
        await self.runtime.stop()
        self.store.close()

    def describe(self) -> dict[str, Any]:
        """Endpoint, tenant and one token per sandbox user."""
        return {"url": self.url, "tenant": TENANT,
                "users": {key: {"username": user, "token": token} for key, (user, token) in self.tokens.items()}}

    async def _endpoint(self, request: Request) -> Response:
        where = split(request.url.path)
        if where is None:
            return not_found(request.url.path.startswith("/v3"))
        flavour, parts = where
        if request.method == "OPTIONS":
            return options_response()
        handler = match(parts, request.method)
        if handler is None:
            return fail(AbacoError(NOT_ALLOWED, 405), flavour)
        raw = await request.body()
        ctx = build_ctx(request, flavour, parts, raw, store=self.store, runtime=self.runtime,
                        token_for={u: t for u, t in self.tokens.values()}, api=self.url or str(request.base_url),
                        max_message=self.max_message)
        try:
            return await dispatch(ctx, self.secret, handler)
        except AbacoError as exc:
            return fail(exc, flavour)
        except Exception as exc:
            return fail(AbacoError(f"Unrecognized exception type: {type(exc)}. Exception: {exc}", 500), flavour)


def create_service(ctx: SandboxContext) -> AbacoService:
    """Factory used by the sandbox host."""
    return AbacoService(ctx)
