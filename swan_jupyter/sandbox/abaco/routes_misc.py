"""Search across records (``/actors/search/{type}``), utilization, and the minimal Tapis ``/v3/sites`` and
``/v3/tenants`` answers that let tapipy clients built without ``tenant_id`` (``tapipy.actors.get_client()``
inside actors) find the tenant."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .core import Call, Core, Route
from .routes_actors import actor_records, searchable_actors, worker_records
from .routes_executions import execution_records, log_records
from .search import Records, read_query, run_query
from .wire import V3, AbacoError, ok

Doc = dict[str, Any]
SEARCH_TYPES = ("actors", "workers", "executions", "logs")
SANDBOX_SITE = "sandbox"


async def search(call: Call, core: Core) -> Response:
    """GET /actors/search/{type}: any user, admins too; records of actors on which the caller has a permission
    entry."""
    kind = call.path["type"]
    if kind not in SEARCH_TYPES:
        raise AbacoError(f"Invalid search type: {kind}. Valid types are: {list(SEARCH_TYPES)}.")
    actors = searchable_actors(core, call.caller)
    query = read_query(call.query, call.flavor)
    records: Records
    if kind == "actors":
        records = actor_records(core, call, actors)
    elif kind == "workers":
        records = worker_records([w for a in actors for w in core.store.workers(a["id"])], call)
    elif kind == "executions":
        since, named = query.received_since(), query.actor_ids()
        records = execution_records([e for a in actors if named is None or a["id"] in named
                                     for e in core.store.execution_texts(a["id"], received_since=since)], call)
    else:
        records = log_records(core, [e for a in actors for e in core.store.executions(a["id"])], call)
    return ok(call.flavor, run_query(records, query, call.flavor), "Search completed successfully.")


async def utilization(call: Call, core: Core) -> Response:
    """GET /actors/utilization."""
    actors = core.store.actors()
    result = {"currentActors": len(actors), "totalActors": len(actors), "workers": len(core.store.workers()),
              "commandQueue": sum(core.store.mailbox_count(a["id"]) for a in actors)}
    return ok(call.flavor, result, "Abaco utilization returned successfully.")


def sites(base: str) -> Response:
    """GET /v3/sites (no authentication, like the Tenants API)."""
    site = {"site_id": SANDBOX_SITE, "primary": True, "base_url": base, "tenant_base_url_template": base,
            "site_admin_tenant_id": "admin", "services": ["actors"]}
    return ok(V3, [site], "Sites retrieved successfully.")


def tenants(base: str, tenant: str) -> Response:
    """GET /v3/tenants: the sandbox's one tenant, whose ``base_url`` is the emulator's URL."""
    record = {"tenant_id": tenant, "base_url": base, "site_id": SANDBOX_SITE, "status": "active",
              "description": "swan_jupyter sandbox tenant", "token_service": f"{base}/v3/tokens",
              "security_kernel": f"{base}/v3/security", "authenticator": f"{base}/v3/oauth2",
              "public_key": "", "admin_user": "admin", "token_gen_services": ["actors"]}
    return ok(V3, [record], "Tenants retrieved successfully.")


ROUTES = [
    Route("GET", ("search", "{type}"), search, scope="none", nonce_refusal=404),
    Route("GET", ("utilization",), utilization, scope="none"),
]
