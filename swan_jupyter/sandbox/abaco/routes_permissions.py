"""The permissions routes of actors, aliases and configs (TACC/abaco actors/controllers.py
``ActorPermissionsResource``, ``AliasPermissionsResource``, ``ActorConfigsPermissionsResource``): the same two
routes on each, ``GET .../permissions`` (the object's permission dict) and ``POST .../permissions`` ``{user,
level}`` (set one user's level; NONE revokes). Only how the object is found and checked differs: that is the
``target`` each route module passes to :func:`permission_routes`."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response

from .auth import LEVELS
from .core import Call, Core, Route
from .wire import AbacoError, ok

#: ``target(call, core, level)``: the ``(tenant, id)`` of the object of the path, once the caller was checked for
#: ``level`` on it (READ to read the permissions, UPDATE to set one); raises the object's own refusals.
Target = Callable[[Call, Core, str], tuple[str, str]]


def parse_permission(call: Call) -> tuple[str, str]:
    """``user`` and ``level`` of a permissions POST body (both required)."""
    body = call.body if isinstance(call.body, dict) else {}
    user, level = body.get("user"), body.get("level")
    if not user or not isinstance(user, str):
        raise AbacoError("Invalid permissions description: {'user': 'User owning the permission.'}")
    if not level or not isinstance(level, str):
        raise AbacoError("Invalid permissions description: {'level': 'Level of the permission: one of "
                         f"{list(LEVELS)}.'}}")
    level = level.upper()
    if level not in LEVELS:
        raise AbacoError(f"Invalid permission level: {level}. The valid values are {list(LEVELS)}.")
    return user, level


def permission_routes(kind: str, pattern: tuple[str, ...], target: Target, scope: str) -> list[Route]:
    """``GET`` and ``POST`` on ``pattern + ("permissions",)`` for the ``kind`` objects (``actor``, ``alias``,
    ``config``) that ``target`` finds."""

    async def get_permissions(call: Call, core: Core) -> Response:
        tenant, name = target(call, core, "READ")
        return ok(call.flavor, core.store.permissions(tenant, kind, name), "Permissions retrieved successfully.")

    async def add_permission(call: Call, core: Core) -> Response:
        tenant, name = target(call, core, "UPDATE")
        user, level = parse_permission(call)
        core.store.set_permission(tenant, kind, name, user, level)
        return ok(call.flavor, core.store.permissions(tenant, kind, name), "Permission added successfully.")

    path = (*pattern, "permissions")
    return [Route("GET", path, get_permissions, scope=scope), Route("POST", path, add_permission, scope=scope)]
