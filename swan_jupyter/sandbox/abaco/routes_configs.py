"""Actor configs routes (TACC/abaco prod-v3 actors/controllers.py ``ActorConfigsResource``,
``ActorConfigResource``, ``ActorConfigsPermissionsResource``; auth.py 278-293 and ``check_config_permissions``):
``/actors/configs``, ``/actors/configs/{name}`` and ``/actors/configs/{name}/permissions``.

Anyone may list (every config of the tenant) and create; a named config needs READ on it to be read and UPDATE
to be changed, deleted or shared (admins always; ``ABACO_WORLD`` opens it). Creating and updating name actors or
aliases that must exist (404 otherwise); like Abaco, no permission on them is required (its
``check_permissions`` returns False and nothing refuses).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .configs import FORBIDDEN_CHARS, HELP, RESERVED_WORDS, actor_refs, display_config, sealed
from .core import Call, Core, Route
from .models import parse_bool
from .routes_permissions import permission_routes
from .wire import AbacoError, ok

Doc = dict[str, Any]
MAX_NAME = 200
MAX_VALUE = 64 * 1024
MAX_ACTORS = 100
PUT_PREFIX = ("Invalid alias description. Could not determine if required fields are present. Is the body valid "
              "JSON? Details: ")  # sic: ActorConfigResource.validate_put
POST_PREFIX = "Invalid config description. Missing required field: "


def _arguments(call: Call, prefix: str) -> Doc:
    """``name``, ``value``, ``is_secret``, ``actors`` (all required, in the parser's order; names camel on camel
    servers), bounded; a value may not hold a NUL byte (it could not reach an execution)."""
    body = call.body if isinstance(call.body, dict) else {}
    out: Doc = {}
    for name in ("name", "value", "is_secret", "actors"):
        key = call.flavor.key(name)
        raw = body.get(key, body.get(name))
        if raw is None or (isinstance(raw, dict | list) and name != "value"):
            raise AbacoError(f"{prefix}{({key: HELP[name]})}")
        if name == "is_secret":
            try:
                out[name] = parse_bool(raw, name)
            except AbacoError:
                raise AbacoError(f"{prefix}{({key: HELP[name]})}") from None
        else:
            out[name] = str(raw)
    if len(out["name"]) > MAX_NAME or len(out["value"]) > MAX_VALUE or "\x00" in out["value"]:
        raise AbacoError(f"Invalid config description: the name may have at most {MAX_NAME} characters and the "
                         f"value at most {MAX_VALUE} characters and no NUL byte (it reaches executions as "
                         "_actor_configs).")
    return out


def _check_actors(call: Call, core: Core, actors: str) -> None:
    refs = actor_refs(actors)
    if len(refs) > MAX_ACTORS:
        raise AbacoError(f"Invalid config description: a config may name at most {MAX_ACTORS} actors.")
    tenant = call.caller.tenant
    for ref in refs:
        if core.find_actor(tenant, ref) is None and core.store.alias(tenant, ref) is None:
            raise AbacoError(f"No actor or alias found with id: {ref}.", 404)


def _check_name(name: str) -> None:
    if name in RESERVED_WORDS:
        raise AbacoError(f"{name} is a reserved word. The following reserved words cannot be used for a config: "
                         f"{RESERVED_WORDS}.")
    for char in FORBIDDEN_CHARS:
        if char in name:
            raise AbacoError(f"'{char}' is a forbidden character. The following characters cannot be used for a "
                             f"config name: [{''.join(FORBIDDEN_CHARS)}].")


def _config(call: Call, core: Core, level: str, missing: str = "No config found: {name}.") -> Doc:
    """The config of the path, after auth.py's check: non-admins need ``level`` on it (an unknown config is
    ``Config <TENANT>_<name> does not exist``, a 400 there); admins get the handler's 404."""
    name = call.path["name"]
    doc = core.store.config(call.caller.tenant, name)
    if not call.caller.admin:
        if doc is None:
            raise AbacoError(f"Config {call.caller.tenant}_{name} does not exist")
        if not core.has_level(call.caller, "config", name, level):
            raise AbacoError("You do not have sufficient access to this actor config.")
    if doc is None:
        raise AbacoError(missing.format(name=name), 404)
    return doc


async def list_configs(call: Call, core: Core) -> Response:
    """GET /actors/configs: every config of the tenant."""
    items = [display_config(c, call.flavor) for c in core.store.configs(call.caller.tenant)]
    return ok(call.flavor, items, "Actor Configs retrieved successfully.")


async def create_config(call: Call, core: Core) -> Response:
    """POST /actors/configs: register a config; its creator gets UPDATE on it."""
    args = _arguments(call, POST_PREFIX)
    _check_actors(call, core, args["actors"])
    _check_name(args["name"])
    doc: Doc = {**args, "tenant": call.caller.tenant, "shown": sealed() if args["is_secret"] else None}
    if not core.store.add_config(doc, call.caller.user, core.now()):
        raise AbacoError(f"Config {args['name']} already exists; please choose another name for your config")
    return ok(call.flavor, display_config(doc, call.flavor), "Actor config created successfully.")


async def get_config(call: Call, core: Core) -> Response:
    """GET /actors/configs/{name}."""
    return ok(call.flavor, display_config(_config(call, core, "READ"), call.flavor), "Config retrieved successfully.")


async def update_config(call: Call, core: Core) -> Response:
    """PUT /actors/configs/{name}: a full replacement (the name is the path's)."""
    old = _config(call, core, "UPDATE")
    args = _arguments(call, PUT_PREFIX)
    _check_actors(call, core, args["actors"])
    doc: Doc = {**args, "name": old["name"], "tenant": old["tenant"],
                "shown": sealed() if args["is_secret"] else None}
    core.store.put_config(doc)
    return ok(call.flavor, display_config(doc, call.flavor), "Actor config updated successfully.")


async def delete_config(call: Call, core: Core) -> Response:
    """DELETE /actors/configs/{name}: the config and its permissions."""
    doc = _config(call, core, "UPDATE", "No config found with name: {name}.")
    core.store.delete_config(doc["tenant"], doc["name"])
    return ok(call.flavor, None, f"Actor config {doc['name']} deleted successfully.")


def _config_of(call: Call, core: Core, level: str) -> tuple[str, str]:
    """The config of the path, once the caller has ``level`` on it."""
    doc = _config(call, core, level, f"Config {call.caller.tenant}_{{name}} does not exist")
    return doc["tenant"], doc["name"]


ROUTES = [
    Route("GET", ("configs",), list_configs, scope="none"),
    Route("POST", ("configs",), create_config, scope="none"),
    Route("GET", ("configs", "{name}"), get_config, scope="none"),
    Route("PUT", ("configs", "{name}"), update_config, scope="none"),
    Route("DELETE", ("configs", "{name}"), delete_config, scope="none"),
    *permission_routes("config", ("configs", "{name}"), _config_of, scope="none"),
]
