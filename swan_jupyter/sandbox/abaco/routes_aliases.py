"""Aliases (spec §18): list (every alias of the tenant, to anyone), create, get, retarget, delete, and the
alias permission dicts. Creating needs UPDATE on the actor; retargeting needs UPDATE on the alias and on the
new actor."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .core import Call, Core, Route
from .models import display_alias
from .routes_actors import parse_permission
from .wire import AbacoError, is_hashid, ok

Doc = dict[str, Any]
RESERVED_WORDS = ["executions", "nonces", "logs", "messages", "adapters", "admin", "utilization", "search"]
FORBIDDEN_CHARS = ["\\", " ", '"', ":", "/", "?", "#", "[", "]", "@", "!", "$", "&", "'", "(", ")", "*", "+", ",",
                   ";", "="]
_FORBIDDEN_LIST = "', '".join(FORBIDDEN_CHARS)


def alias_access(call: Call, core: Core, level: str, actor_too: bool = False) -> Doc:
    """The alias of the path, with Abaco's not-found split (admin 404 "No alias found", others the auth
    layer's 404) and the permission check on the alias (and its actor when ``actor_too``: alias nonces need both,
    and Abaco then names both in either refusal)."""
    name = call.path["alias"]
    alias = core.store.alias(call.caller.tenant, name)
    if alias is None:
        if call.caller.admin:
            raise AbacoError(f"No alias found: {name}.", 404)
        raise AbacoError(f"Actor with identifier '{name}' not found", 404)
    if call.caller.nonce is not None:
        return alias  # the nonce was checked against this alias and level when it was redeemed
    if not core.has_level(call.caller, "alias", name, level):
        noun = "alias and actor" if actor_too else "alias"
        raise AbacoError(f"Not authorized -- you do not have access to this {noun}.")
    if actor_too and not core.has_level(call.caller, "actor", alias["actor_id"], level):
        raise AbacoError("Not authorized -- you do not have access to this alias and actor.")
    return alias


def _validate_alias(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise AbacoError("Invalid alias description: {'alias': 'Actual alias for the actor; must be unique within "
                         "a tenant.'}")
    if is_hashid(name):
        raise AbacoError("Invalid alias description. Alias cannot be an Abaco hash id.")
    if name in RESERVED_WORDS:
        raise AbacoError(f"Invalid alias description. {name} is a reserved word. The following reserved words "
                         f"cannot be used for an alias: {RESERVED_WORDS}.")
    for char in FORBIDDEN_CHARS:
        if char in name:
            raise AbacoError(f"Invalid alias description. '{char}' is a forbidden character. The following "
                             f"characters cannot be used for an alias: ['{_FORBIDDEN_LIST}'].")
    return name


def _target(call: Call, core: Core) -> Doc:
    actor_id = call.body_field("actor_id")
    if not isinstance(actor_id, str) or not actor_id:
        raise AbacoError("Invalid alias description: {'actor_id': 'The human readable id for the actor associated "
                         "with this alias.'}")
    actor = core.find_actor(call.caller.tenant, actor_id)
    if actor is None:
        raise AbacoError(f"No actor found with identifier: {actor_id}.", 404)
    return actor


async def list_aliases(call: Call, core: Core) -> Response:
    """GET /actors/aliases."""
    aliases = core.store.aliases(call.caller.tenant)
    return ok(call.flavour, [display_alias(a, call.flavour, call.base) for a in aliases],
              "Aliases retrieved successfully.")


async def create_alias(call: Call, core: Core) -> Response:
    """POST /actors/aliases ``{alias, actor_id|actorId}``."""
    body = call.body if isinstance(call.body, dict) else {}
    name = _validate_alias(body.get("alias"))
    actor = _target(call, core)
    core.check(call, actor, "UPDATE")
    if not core.store.add_alias(call.caller.tenant, name, actor["id"], call.caller.user, core.now()):
        raise AbacoError(f"Alias {name} already exists.")
    alias = core.store.alias(call.caller.tenant, name)
    assert alias is not None
    return ok(call.flavour, display_alias(alias, call.flavour, call.base), "Actor alias created successfully.")


async def get_alias(call: Call, core: Core) -> Response:
    """GET /actors/aliases/{alias}."""
    alias = alias_access(call, core, "READ")
    return ok(call.flavour, display_alias(alias, call.flavour, call.base), "Alias retrieved successfully.")


async def update_alias(call: Call, core: Core) -> Response:
    """PUT /actors/aliases/{alias} ``{actor_id}``: point the alias at another actor (the name cannot change)."""
    alias = alias_access(call, core, "UPDATE")
    body = call.body if isinstance(call.body, dict) else {}
    if body.get("alias") not in (None, alias["alias"]):
        raise AbacoError("Invalid alias update description. The alias itself cannot be updated.")
    actor = _target(call, core)
    if not call.caller.admin and not core.has_level(call.caller, "actor", actor["id"], "UPDATE"):
        raise AbacoError("Not authorized -- you do not have access to this alias and actor.")
    core.store.retarget_alias(call.caller.tenant, alias["alias"], actor["id"])
    updated = core.store.alias(call.caller.tenant, alias["alias"])
    assert updated is not None
    return ok(call.flavour, display_alias(updated, call.flavour, call.base), "Actor alias updated successfully.")


async def delete_alias(call: Call, core: Core) -> Response:
    """DELETE /actors/aliases/{alias}."""
    alias = alias_access(call, core, "UPDATE")
    core.store.delete_alias(call.caller.tenant, alias["alias"])
    return ok(call.flavour, None, f"Alias {alias['alias']} deleted successfully.")


async def get_alias_permissions(call: Call, core: Core) -> Response:
    """GET /actors/aliases/{alias}/permissions."""
    alias = alias_access(call, core, "READ", actor_too=True)
    return ok(call.flavour, core.store.permissions(call.caller.tenant, "alias", alias["alias"]),
              "Permissions retrieved successfully.")


async def add_alias_permission(call: Call, core: Core) -> Response:
    """POST /actors/aliases/{alias}/permissions ``{user, level}``."""
    alias = alias_access(call, core, "UPDATE", actor_too=True)
    user, level = parse_permission(call)
    core.store.set_permission(call.caller.tenant, "alias", alias["alias"], user, level)
    return ok(call.flavour, core.store.permissions(call.caller.tenant, "alias", alias["alias"]),
              "Permission added successfully.")


ROUTES = [
    Route("GET", ("aliases",), list_aliases, scope="none"),
    Route("POST", ("aliases",), create_alias, scope="none"),
    Route("GET", ("aliases", "{alias}"), get_alias, scope="alias"),
    Route("PUT", ("aliases", "{alias}"), update_alias, scope="alias"),
    Route("DELETE", ("aliases", "{alias}"), delete_alias, scope="alias"),
    Route("GET", ("aliases", "{alias}", "permissions"), get_alias_permissions, scope="alias"),
    Route("POST", ("aliases", "{alias}", "permissions"), add_alias_permission, scope="alias"),
]
