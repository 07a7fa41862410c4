"""The Starlette application: one dispatcher for the three prefixes over one store.

Order of work for every request, Abaco's (TACC/abaco actors/auth.py: authn_and_authz, check_nonce, authorization):
merge repeated slashes (nginx does it in front of Abaco; tapipy's resources/openapi_v3-actors.yml has ``//messages``
and ``///messages`` paths) and drop a trailing slash; ``OPTIONS`` answers 200 with CORS headers without
authentication; the prefix picks the flavor (``/actors/v2`` camel, ``/v3/actors`` snake, ``/actors`` by
configuration); an unknown path or method under ``/actors`` is a 405 before authentication (other unknown paths get
a JSON 404 envelope); then the caller is identified (token, or ``x-nonce`` redeemed against the path); the body is
read (bounded) and parsed; the privileged-field check runs on every POST/PUT body; for actor-scoped routes the path
id is resolved (actor id or alias) and the permission level checked; finally the route's handler runs. Errors become
Abaco envelopes. The only 500s are those Abaco itself answers for a well-formed request it then fails on (an unknown
cron unit, an unknown queue or a bad hint on PUT: see ``FIDELITY.md``); other malformed input is a 400.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute

from . import (
    routes_actors,
    routes_aliases,
    routes_configs,
    routes_executions,
    routes_messages,
    routes_misc,
    routes_nonces,
)
from .core import MAX_JSON_BODY, Call, Core, Route, required_level
from .models import check_privileged_fields
from .routes_nonces import redeem
from .wire import (
    CORS_HEADERS,
    METHOD_NOT_ALLOWED,
    V2,
    V3,
    AbacoError,
    Flavor,
    error_response,
    internal_flavor,
    is_hashid,
    json_response,
)

log = logging.getLogger(__name__)

ROUTES: list[Route] = [
    *routes_misc.ROUTES,
    *routes_configs.ROUTES,
    *routes_aliases.ROUTES,
    *routes_nonces.ALIAS_ROUTES,
    *routes_actors.ROUTES,
    *routes_messages.ROUTES,
    *routes_executions.ROUTES,
    *routes_nonces.ROUTES,
]
UNSERVED = ("admin",)  # Abaco routes the emulator does not serve: 405 like unknown paths
#: The routes by (method, number of segments), each list in the order of ROUTES (the first that fits wins, as
#: when scanning ROUTES): a request looks at a handful of routes instead of every one.
_BY_SHAPE: dict[tuple[str, int], list[Route]] = {}
for _route in ROUTES:
    _BY_SHAPE.setdefault((_route.method, len(_route.pattern)), []).append(_route)
_SLASHES = re.compile(r"/{2,}")
_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]


class Dispatcher:
    """Routes every request of the Abaco emulator (see the module docstring)."""

    def __init__(self, core: Core, tenant: str) -> None:
        self.core = core
        self.tenant = tenant
        self.internal = internal_flavor(core.internal_camel)

    def split(self, path: str) -> tuple[Flavor | None, str]:
        """The flavor of a normalised path and the part after the actors prefix."""
        for prefix, flavor in (("/actors/v2", V2), ("/v3/actors", V3), ("/actors", self.internal)):
            if path == prefix or path.startswith(prefix + "/"):
                return flavor, path[len(prefix):]
        return None, path

    def base(self, request: Request) -> str:
        return self.core.base_url or str(request.base_url).rstrip("/")

    async def handle(self, request: Request) -> Response:
        path = _SLASHES.sub("/", request.scope["path"])
        if len(path) > 1:
            path = path.rstrip("/")
        if request.method == "OPTIONS":
            return Response(b"", status_code=200, headers={**CORS_HEADERS, "Allow": ", ".join(_METHODS)})
        flavor, rest = self.split(path)
        if flavor is None:
            return self._outside(request, path)
        try:
            return await self._dispatch(request, flavor, rest)
        except AbacoError as exc:
            return error_response(flavor, exc.message, exc.status)
        except Exception as exc:  # a bug: answer like Abaco, keep the traceback in the log
            log.exception("abaco emulator: unexpected error on %s %s", request.method, path)
            return error_response(flavor, f"Unrecognized exception type: {type(exc)}. Exception: {exc}", 500)

    def _outside(self, request: Request, path: str) -> Response:
        base = self.base(request)
        if request.method == "GET" and path == "/v3/sites":
            return routes_misc.sites(base)
        if request.method == "GET" and path == "/v3/tenants":
            return routes_misc.tenants(base, self.tenant)
        body: dict[str, Any] = {"message": f"The path {path} does not exist on this server (Abaco lives under /actors, "
                           "/actors/v2 and /v3/actors).", "result": None, "status": "error", "version": "dev",
                "metadata": {}}
        return json_response(body, 404)

    async def _dispatch(self, request: Request, flavor: Flavor, rest: str) -> Response:
        core = self.core
        segments = rest.split("/")[1:] if rest else []
        route: Route | None = None
        params: dict[str, str] = {}
        shape = (request.method, len(segments))
        for candidate in _BY_SHAPE.get(shape, ()) if not (segments and segments[0] in UNSERVED) else ():
            found = candidate.match(segments)
            if found is not None:
                route, params = candidate, found
                break
        if route is None:
            raise AbacoError(METHOD_NOT_ALLOWED, 405)
        query = list(request.query_params.multi_items())
        level = required_level(request.method, segments)
        caller = core.auth.identify(request.headers, flavor)
        if caller is None:
            nonce_id = request.query_params.get("x-nonce")
            if not nonce_id:
                raise core.auth.missing(flavor)
            if route.scope == "actor":
                ident = params["aid"]
                caller = (redeem(core, nonce_id, level, ident, None) if is_hashid(ident)
                          else redeem(core, nonce_id, level, None, ident))
            elif route.scope == "alias":
                caller = redeem(core, nonce_id, level, None, params["alias"])
            else:
                raise AbacoError("Not authorized.", route.nonce_refusal)
        content_type = request.headers.get("content-type", "")
        call = Call(request=request, flavor=flavor, base=self.base(request), path=params, query=query,
                    caller=caller, content_type=content_type)
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            binary = content_type == "application/octet-stream"
            call.raw = await core.read_body(request, core.max_content if binary else min(core.max_content,
                                                                                           MAX_JSON_BODY))
            if not binary:
                call.body = await self._parse(request, call.raw, content_type)
        if request.method in ("POST", "PUT"):
            check_privileged_fields(call.body, caller.privileged)
        if route.scope == "actor":
            call.actor = core.resolve(call, params["aid"])
            if request.method == "POST" and segments[-1] == "workers" and not caller.admin:  # before the level
                raise AbacoError("Not authorized -- only admins are authorized to update workers.")
            core.check(call, call.actor, level)
        return await route.handler(call, core)

    async def _parse(self, request: Request, raw: bytes, content_type: str) -> Any:
        if content_type.startswith("multipart/form-data"):
            request._body = raw  # Starlette re-reads the cached body when parsing the form
            try:
                form = await request.form()
            except Exception:
                raise AbacoError("Could not parse the multipart form body.") from None
            return {k: v for k, v in form.items() if isinstance(v, str)}
        return self.core.parse_body(raw, content_type)


def build_app(core: Core, tenant: str) -> Starlette:
    """The Starlette application serving the emulator."""
    dispatcher = Dispatcher(core, tenant)

    async def unrouted(request: Request, exc: Exception) -> Response:
        # Starlette's path pattern does not match a decoded newline ("/actors/v2/a%0Ab"): such requests miss the
        # catch-all route, so they are handed to the same dispatcher (which answers in the Abaco envelope).
        return await dispatcher.handle(request)

    return Starlette(routes=[StarletteRoute("/{path:path}", dispatcher.handle, methods=_METHODS)],
                     exception_handlers={404: unrouted})
