"""What every route handler gets: the request :class:`Call` (flavor, caller, resolved actor, parsed body) and
the shared :class:`Core` (store, runtime, authentication, settings, access checks)."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from ...numbers import NumberError, parse_int
from .auth import WORLD, Authenticator, Caller, level_value
from .models import QUEUES
from .models import field as model_field
from .runtime import Runtime
from .store import Store
from .wire import AbacoError, Flavor, is_hashid

Doc = dict[str, Any]
DEFAULT_MAX_CONTENT = 500 * 1024 * 1024
MAX_JSON_BODY = 16 * 1024 * 1024
MAX_JSON_DEPTH = 100  # deeper bodies are treated as unparseable (they could not be echoed back safely)


def queues_setting(value: Any) -> tuple[str, ...]:
    """The setting ``abaco_queues`` (a list or a comma-separated string, like Abaco's ``[spawner] host_queues``);
    default: the reference configuration's ``default, special``."""
    if value is None:
        return QUEUES
    items = value.split(",") if isinstance(value, str) else list(value)
    queues = tuple(str(q).strip() for q in items if str(q).strip())
    if not queues:
        raise ValueError("abaco_queues names no queue")
    return queues


TAS_TENANTS = ("DESIGNSAFE", "SD2E", "TACC", "A2CPS")  # TACC/abaco prod-v3 auth.py, tenant_can_use_tas


def tas_tenants_setting(value: Any) -> tuple[str, ...]:
    """The setting ``abaco_tas_tenants`` (a list or a comma-separated string): the tenants whose actors may
    ``run_as_executor``; default Abaco's own list."""
    if value is None:
        return TAS_TENANTS
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(str(t).strip().upper() for t in items if str(t).strip())


def _depth(value: Any) -> int:
    """Nesting depth of a JSON value (iterative, so hostile input cannot exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                return level
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


@dataclass
class Call:
    """One request, after routing and authentication."""

    request: Request
    flavor: Flavor
    base: str
    path: dict[str, str]
    query: list[tuple[str, str]]
    caller: Caller
    actor: Doc | None = None
    body: Any = None
    raw: bytes = b""
    content_type: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def arg(self, name: str) -> str | None:
        """The first query parameter called ``name``."""
        for key, value in self.query:
            if key == name:
                return value
        return None

    @property
    def search_mode(self) -> bool:
        """List routes switch to search mode on any query parameter except ``x-nonce``."""
        return any(key != "x-nonce" for key, _ in self.query)

    def body_field(self, snake: str) -> Any:
        """A body field in snake or camel case (``None`` when absent or the body is not an object)."""
        return model_field(self.body, snake) if isinstance(self.body, dict) else None

    @property
    def the_actor(self) -> Doc:
        """The actor the path names (routes scoped to an actor always have one)."""
        assert self.actor is not None
        return self.actor


Handler = Callable[[Call, "Core"], Awaitable[Response]]


@dataclass(frozen=True)
class Route:
    """One Abaco route: method, path pattern (``{name}`` segments are parameters), handler and scope.

    ``scope`` is ``"actor"`` (the ``{aid}`` segment is resolved and permission-checked), ``"alias"`` (handlers
    check alias permissions; alias nonces accepted) or ``"none"``. ``nonce`` says what a nonce-only request
    gets on an unscoped route: ``None`` (not accepted: 400 "Not authorized."), or a status for a refusal.
    """

    method: str
    pattern: tuple[str, ...]
    handler: Handler
    scope: str = "actor"
    nonce_refusal: int = 400

    def match(self, segments: list[str]) -> dict[str, str] | None:
        """The path parameters if ``segments`` fit the pattern."""
        if len(segments) != len(self.pattern):
            return None
        params: dict[str, str] = {}
        for seg, pat in zip(segments, self.pattern, strict=True):
            if pat.startswith("{"):
                if not seg:
                    return None
                params[pat[1:-1]] = seg
            elif seg != pat:
                return None
        return params


def required_level(method: str, segments: list[str]) -> str:
    """Abaco's permission rule: GET -> READ; POST to ``.../messages`` -> EXECUTE; anything else -> UPDATE."""
    if method == "GET":
        return "READ"
    if method == "POST" and segments and segments[-1] == "messages":
        return "EXECUTE"
    return "UPDATE"


class Core:
    """Shared state of the emulator."""

    def __init__(self, store: Store, runtime: Runtime, auth: Authenticator, settings: dict[str, Any]) -> None:
        self.store = store
        self.runtime = runtime
        self.auth = auth
        self.max_content = int(settings.get("abaco_max_content_length", DEFAULT_MAX_CONTENT))
        self.internal_camel = str(settings.get("abaco_internal_case", "camel")) == "camel"
        self.queues = queues_setting(settings.get("abaco_queues"))
        self.tas_tenants = tas_tenants_setting(settings.get("abaco_tas_tenants"))
        self.base_url = ""

    @staticmethod
    def now() -> float:
        return time.time()

    # -- access ----------------------------------------------------------------------------------------------

    def has_level(self, caller: Caller, kind: str, obj: str, level: str) -> bool:
        """Whether ``caller`` reaches ``level`` on an actor or alias (admins always; ``ABACO_WORLD`` opens all)."""
        if caller.admin:
            return True
        perms = self.store.permissions(caller.tenant, kind, obj)
        if WORLD in perms:
            return True
        held = perms.get(caller.user)
        return held is not None and level_value(held) >= level_value(level)

    def find_actor(self, tenant: str, actor_id: str) -> Doc | None:
        """An actor of the tenant by id."""
        doc = self.store.get("actors", actor_id)
        if doc is None or doc["tenant"] != tenant:
            return None
        return doc

    def resolve(self, call: Call, ident: str) -> Doc:
        """The actor a path identifier (actor id or alias) names, with Abaco's 404/400 split (TACC/abaco
        actors/auth.py, get_db_id and authorization; actors/models.py, get_permissions)."""
        tenant = call.caller.tenant
        if is_hashid(ident):
            actor = self.find_actor(tenant, ident)
            if actor is not None:
                return actor
            if call.caller.admin:
                raise AbacoError(f"No actor found with identifier: {ident}.", 404)
            if call.flavor.v3:
                raise AbacoError("Not authorized -- you do not have access to this actor.")
            raise AbacoError(f"Actor {tenant}_{ident} does not exist")
        alias = self.store.alias(tenant, ident)
        actor = self.find_actor(tenant, alias["actor_id"]) if alias else None
        if actor is None:
            raise AbacoError(f"Actor with identifier '{ident}' not found", 404)
        return actor

    def check(self, call: Call, actor: Doc, level: str) -> None:
        """400 "Not authorized" unless the caller reaches ``level`` on the actor."""
        if not self.has_level(call.caller, "actor", actor["id"], level):
            raise AbacoError("Not authorized -- you do not have access to this actor.")

    # -- body ------------------------------------------------------------------------------------------------

    async def read_body(self, request: Request, limit: int) -> bytes:
        """The request body, refused beyond ``limit`` bytes without reading it all."""
        declared = request.headers.get("content-length")
        try:
            too_big = declared is not None and parse_int(declared, "Content-Length", maximum=None) > limit
        except NumberError:  # not a length: the body is counted as it is read
            too_big = False
        if too_big:
            raise AbacoError(f"Message exceeds max content length of: {limit}")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise AbacoError(f"Message exceeds max content length of: {limit}")
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def parse_body(raw: bytes, content_type: str) -> Any:
        """A JSON or form body as Python data (``None`` when empty or not parseable)."""
        if not raw:
            return None
        if content_type.startswith("application/x-www-form-urlencoded"):
            return dict(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
        if content_type.startswith("multipart/form-data"):
            return None  # parsed by the route that needs it
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None
        return None if _depth(value) > MAX_JSON_DEPTH else value
