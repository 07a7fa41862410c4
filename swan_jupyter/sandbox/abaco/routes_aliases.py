"""Aliases (TACC/abaco actors/controllers.py, AliasesResource and AliasResource): list (every alias of the
tenant, to anyone), create, get, retarget, delete, and the
alias permission dicts. Creating needs UPDATE on the actor; retargeting needs UPDATE on the alias and on the
new actor."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .core import Call, Core, Route
from .models import display_alias
from .routes_permissions import permission_routes
from .wire import AbacoError, is_hashid, ok

Doc = dict[str, Any]
RESERVED_WORDS = ["executions", "nonces", "logs", "messages", "adapters", "admin"]  # Alias.RESERVED_WORDS
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


ALIAS_HELP = {"alias": "Actual alias for the actor; must be unique within a tenant.",
              "actor_id": "The human readable id for the actor associated with this alias."}


def _missing(call: Call, name: str) -> AbacoError:
    """flask-restful's refusal of a missing required argument, as AliasesResource reports it
    (controllers.py master 437-448)."""
    key = call.flavor.key(name)
    return AbacoError(f"Invalid alias description. Missing required field: {({key: ALIAS_HELP[name]})}")


def _alias_argument(call: Call) -> str:
    """The ``alias`` argument of a POST (required; an Abaco hash id is refused)."""
    name = call.body.get("alias") if isinstance(call.body, dict) else None
    if name is None or (isinstance(name, dict | list)):
        raise _missing(call, "alias")
    name = str(name)
    if is_hashid(name):
        raise AbacoError("Invalid alias description. Alias cannot be an Abaco hash id.")
    return name


def _check_words(name: str) -> None:
    """``Alias.check_reserved_words`` and ``check_forbidden_char`` (models.py master 1157-1168): DAOErrors
    without the ``Invalid alias description.`` prefix."""
    if name in RESERVED_WORDS:
        raise AbacoError(f"{name} is a reserved word. The following reserved words cannot be used for an alias: "
                         f"{RESERVED_WORDS}.")
    for char in FORBIDDEN_CHARS:
        if char in name:
            raise AbacoError(f"'{char}' is a forbidden character. The following characters cannot be used for an "
                             f"alias: ['{_FORBIDDEN_LIST}'].")


def _actor_argument(call: Call) -> str:
    actor_id = call.body_field("actor_id")
    if actor_id is None or isinstance(actor_id, dict | list) or actor_id == "":
        raise _missing(call, "actor_id")
    return str(actor_id)


async def list_aliases(call: Call, core: Core) -> Response:
    """GET /actors/aliases."""
    aliases = core.store.aliases(call.caller.tenant)
    return ok(call.flavor, [display_alias(a, call.flavor, call.base) for a in aliases],
              "Aliases retrieved successfully.")


async def create_alias(call: Call, core: Core) -> Response:
    """POST /actors/aliases ``{alias, actor_id|actorId}``, in AliasesResource.post's order (controllers.py master
    450-475): arguments, hash id, the actor (404), UPDATE on it, reserved words, characters, uniqueness."""
    name = _alias_argument(call)
    actor_id = _actor_argument(call)
    actor = core.find_actor(call.caller.tenant, actor_id)
    if actor is None:
        raise AbacoError(f"No actor found with id: {actor_id}.", 404)
    if not core.has_level(call.caller, "actor", actor["id"], "UPDATE"):
        raise AbacoError(f"Not authorized -- you do not have access to {actor_id}.")
    _check_words(name)
    if not core.store.add_alias(call.caller.tenant, name, actor["id"], call.caller.user, core.now()):
        raise AbacoError(f"Alias {name} already exists.")
    alias = core.store.alias(call.caller.tenant, name)
    assert alias is not None
    return ok(call.flavor, display_alias(alias, call.flavor, call.base), "Actor alias created successfully.")


async def get_alias(call: Call, core: Core) -> Response:
    """GET /actors/aliases/{alias}."""
    alias = alias_access(call, core, "READ")
    return ok(call.flavor, display_alias(alias, call.flavor, call.base), "Alias retrieved successfully.")


async def update_alias(call: Call, core: Core) -> Response:
    """PUT /actors/aliases/{alias} ``{actor_id}``: point the alias at another actor; any ``alias`` key is refused
    and UPDATE on the new actor is needed (AliasResource.validate_put and put, controllers.py master 494-548)."""
    alias = alias_access(call, core, "UPDATE")
    if isinstance(call.body, dict) and "alias" in call.body:
        raise AbacoError("Invalid alias update description. The alias itself cannot be updated in a PUT request.")
    actor_id = _actor_argument(call)
    actor = core.find_actor(call.caller.tenant, actor_id)
    if actor is None or not core.has_level(call.caller, "actor", actor["id"], "UPDATE"):
        if actor is None and call.caller.admin:
            raise AbacoError(f"No actor found with id: {actor_id}.", 404)
        raise AbacoError("Not authorized -- you do not have UPDATE access to the actor you want to associate "
                         "with this alias.")
    core.store.retarget_alias(call.caller.tenant, alias["alias"], actor["id"])
    updated = core.store.alias(call.caller.tenant, alias["alias"])
    assert updated is not None
    return ok(call.flavor, display_alias(updated, call.flavor, call.base), "Actor alias updated successfully.")


async def delete_alias(call: Call, core: Core) -> Response:
    """DELETE /actors/aliases/{alias}."""
    alias = alias_access(call, core, "UPDATE")
    core.store.delete_alias(call.caller.tenant, alias["alias"])
    return ok(call.flavor, None, f"Alias {alias['alias']} deleted successfully.")


def _alias_of(call: Call, core: Core, level: str) -> tuple[str, str]:
    """The alias of the path, once the caller has ``level`` on it and on its actor."""
    return call.caller.tenant, alias_access(call, core, level, actor_too=True)["alias"]


ROUTES = [
    Route("GET", ("aliases",), list_aliases, scope="none"),
    Route("POST", ("aliases",), create_alias, scope="none"),
    Route("GET", ("aliases", "{alias}"), get_alias, scope="alias"),
    Route("PUT", ("aliases", "{alias}"), update_alias, scope="alias"),
    Route("DELETE", ("aliases", "{alias}"), delete_alias, scope="alias"),
    *permission_routes("alias", ("aliases", "{alias}"), _alias_of, scope="alias"),
]
