"""Nonces of actors and of aliases, and their redemption through ``?x-nonce=`` (TACC/abaco actors/auth.py,
check_nonce; actors/models.py, Nonce.check_and_redeem_nonce).

A nonce id is ``<TENANT>_<hashid>``. Redemption is one SQLite transaction and counts every request, GETs
included; the request then runs as the nonce's owner with the nonce's roles, so the owner's own permission
must also suffice.

Deliberate difference (FIDELITY.md): a request authenticated by a nonce cannot list nonces, read one or create
one (actor and alias nonces alike). On Abaco it can, as the owner: a READ nonce would list the owner's UPDATE
nonces, and an UPDATE nonce can switch the actor to ``abacosamples/py3_func``, which runs pickled code: here, on
the sandbox owner's machine.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ...numbers import parse_int
from .auth import LEVELS, Caller, level_value
from .core import Call, Core, Route
from .models import display_nonce
from .routes_aliases import alias_access
from .wire import AbacoError, new_hashid, ok

Doc = dict[str, Any]
ALIAS_LEVELS = ("NONE", "READ", "EXECUTE")
MAX_USES_MESSAGE = "The max uses parameter must be a positive integer or -1 (to denote unlimited uses)."
MAX_USES_HELP = "Maximum number of times this nonce can be redeemed. Default is unlimited."


def redeem(core: Core, nonce_id: str, level: str, actor_id: str | None, alias: str | None) -> Caller:
    """Check a nonce against the path and the required level, use it once, and return who it acts as."""
    nonce = core.store.get("nonces", nonce_id)
    tenant = nonce_id.rsplit("_", 1)[0] if "_" in nonce_id else ""
    if nonce is None or nonce["tenant"] != tenant:
        raise AbacoError("Nonce does not exist.")
    if alias is not None:
        if nonce.get("alias") != alias:
            raise AbacoError("Nonce does not exist.")
    elif nonce.get("alias") or nonce.get("actor_id") != actor_id:
        raise AbacoError("Nonce does not exist.")
    if level_value(nonce["level"]) < level_value(level):
        raise AbacoError("Nonce does not have sufficient permissions level.")
    used = core.store.redeem_nonce(nonce_id, core.now())
    if used is None:
        raise AbacoError("No remaining uses left for this nonce.")
    return Caller(user=nonce["owner"], tenant=nonce["tenant"], roles=tuple(nonce["roles"]), nonce=used)


def _parse_nonce_body(call: Call, levels: tuple[str, ...]) -> tuple[str, int, str]:
    """``level`` (default EXECUTE; exact, upper-case), ``max_uses`` and ``description`` of a nonce POST, with
    Abaco's refusals (controllers.py master 1510-1535 for actors, 624-650 for aliases; the levels are the
    tuples of codes.py 66-68, printed as tuples)."""
    body = call.body if isinstance(call.body, dict) else {}
    level = body.get("level", "EXECUTE")
    if not isinstance(level, str) or level not in levels:
        raise AbacoError(f"Invalid nonce description. The level attribute must be one of: {levels}")
    raw_uses = call.body_field("max_uses")
    if raw_uses is None or raw_uses == "":
        max_uses = -1
    else:
        try:
            if isinstance(raw_uses, bool):
                raise ValueError
            max_uses = parse_int(raw_uses, "max_uses", minimum=None) if isinstance(raw_uses, str) else int(raw_uses)
        except (TypeError, ValueError):
            key = call.flavor.key("max_uses")  # flask-restful names the argument as the parser knows it
            raise AbacoError(f"Invalid nonce description: {({key: MAX_USES_HELP})}") from None
    if max_uses == 0 or max_uses < -1:
        raise AbacoError(MAX_USES_MESSAGE)
    description = body.get("description", "")
    return level, max_uses, "" if description is None else str(description)


def _new_nonce(call: Call, core: Core, levels: tuple[str, ...], actor_id: str | None, alias: str | None) -> Doc:
    level, max_uses, description = _parse_nonce_body(call, levels)
    tenant = call.caller.tenant
    doc: Doc = {
        "id": f"{tenant}_{new_hashid()}", "tenant": tenant, "actor_id": actor_id, "alias": alias,
        "owner": call.caller.user, "roles": list(call.caller.roles), "level": level, "max_uses": max_uses,
        "remaining_uses": max_uses, "current_uses": 0, "description": description, "create_time": core.now(),
        "last_use_time": None,
    }
    core.store.add_nonce(doc)
    return doc


NONCE_FROM_NONCE = ("Not authorized -- a request authenticated by a nonce cannot list, read or create nonces: a "
                    "nonce must not yield another (possibly stronger) one. The sandbox refuses this on purpose; "
                    "use the owner's token.")


def _no_nonce(call: Call) -> None:
    """Refuse nonce-authenticated requests on the nonce routes (see the module docstring)."""
    if call.caller.nonce is not None:
        raise AbacoError(NONCE_FROM_NONCE)


def _find(core: Core, nonce_id: str, actor_id: str | None, alias: str | None) -> Doc:
    nonce = core.store.get("nonces", nonce_id)
    if nonce is None or nonce.get("actor_id") != actor_id or nonce.get("alias") != alias:
        raise AbacoError("Nonce not found.")
    return nonce


# -- actor nonces ----------------------------------------------------------------------------------------------

async def list_nonces(call: Call, core: Core) -> Response:
    """GET /actors/{id}/nonces."""
    _no_nonce(call)
    nonces = core.store.nonces(actor_id=call.the_actor["id"])
    return ok(call.flavor, [display_nonce(n, call.flavor, call.base) for n in nonces],
              "Actor nonces retrieved successfully.")


async def create_nonce(call: Call, core: Core) -> Response:
    """POST /actors/{id}/nonces ``{level, max_uses|maxUses, description}``."""
    _no_nonce(call)
    doc = _new_nonce(call, core, LEVELS, call.the_actor["id"], None)
    return ok(call.flavor, display_nonce(doc, call.flavor, call.base), "Actor nonce created successfully.")


async def get_nonce(call: Call, core: Core) -> Response:
    """GET /actors/{id}/nonces/{nid}."""
    _no_nonce(call)
    nonce = _find(core, call.path["nid"], call.the_actor["id"], None)
    return ok(call.flavor, display_nonce(nonce, call.flavor, call.base), "Actor nonce retrieved successfully.")


async def delete_nonce(call: Call, core: Core) -> Response:
    """DELETE /actors/{id}/nonces/{nid}."""
    nonce = _find(core, call.path["nid"], call.the_actor["id"], None)
    core.store.delete_nonce(nonce["id"])
    return ok(call.flavor, None, "Actor nonce deleted successfully.")


# -- alias nonces ----------------------------------------------------------------------------------------------

async def list_alias_nonces(call: Call, core: Core) -> Response:
    """GET /actors/aliases/{alias}/nonces."""
    _no_nonce(call)
    alias = alias_access(call, core, "READ", actor_too=True)
    nonces = core.store.nonces(alias=alias["alias"], tenant=call.caller.tenant)
    return ok(call.flavor, [display_nonce(n, call.flavor, call.base) for n in nonces],
              "Alias nonces retrieved successfully.")


async def create_alias_nonce(call: Call, core: Core) -> Response:
    """POST /actors/aliases/{alias}/nonces (levels NONE, READ, EXECUTE only)."""
    _no_nonce(call)
    alias = alias_access(call, core, "UPDATE", actor_too=True)
    doc = _new_nonce(call, core, ALIAS_LEVELS, None, alias["alias"])
    return ok(call.flavor, display_nonce(doc, call.flavor, call.base), "Alias nonce created successfully.")


async def get_alias_nonce(call: Call, core: Core) -> Response:
    """GET /actors/aliases/{alias}/nonces/{nid}."""
    _no_nonce(call)
    alias = alias_access(call, core, "READ", actor_too=True)
    nonce = _find(core, call.path["nid"], None, alias["alias"])
    return ok(call.flavor, display_nonce(nonce, call.flavor, call.base), "Alias nonce retrieved successfully.")


async def delete_alias_nonce(call: Call, core: Core) -> Response:
    """DELETE /actors/aliases/{alias}/nonces/{nid}."""
    alias = alias_access(call, core, "UPDATE", actor_too=True)
    nonce = _find(core, call.path["nid"], None, alias["alias"])
    core.store.delete_nonce(nonce["id"])
    return ok(call.flavor, None, "Alias nonce deleted successfully.")


ALIAS_ROUTES = [
    Route("GET", ("aliases", "{alias}", "nonces"), list_alias_nonces, scope="alias"),
    Route("POST", ("aliases", "{alias}", "nonces"), create_alias_nonce, scope="alias"),
    Route("GET", ("aliases", "{alias}", "nonces", "{nid}"), get_alias_nonce, scope="alias"),
    Route("DELETE", ("aliases", "{alias}", "nonces", "{nid}"), delete_alias_nonce, scope="alias"),
]
ROUTES = [
    Route("GET", ("{aid}", "nonces"), list_nonces),
    Route("POST", ("{aid}", "nonces"), create_nonce),
    Route("GET", ("{aid}", "nonces", "{nid}"), get_nonce),
    Route("DELETE", ("{aid}", "nonces", "{nid}"), delete_nonce),
]
