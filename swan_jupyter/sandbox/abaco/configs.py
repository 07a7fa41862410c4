"""Actor configs (TACC/abaco prod-v3 actors/models.py ``ActorConfig``, docker_utils.py ``execute_actor``): named
values, optionally secret, attached to actors by id or alias, delivered to their executions as the one variable
``_actor_configs`` (``str()`` of ``{name: value}``, as docker-py writes it).

A secret value is kept in the emulator's owner-only database and shown as an opaque stand-in (Abaco shows the
Fernet ciphertext; the emulator has no encryption key to configure). Delivery goes through the runtime like every
other Abaco variable: one name the sandbox sets itself, values without NUL bytes (refused at registration).
"""

from __future__ import annotations

import secrets
from typing import Any

from .store import Store
from .wire import Flavor, cased

Doc = dict[str, Any]
RESERVED_WORDS = ["executions", "nonces", "logs", "messages", "adapters", "admin", "utilization"]
FORBIDDEN_CHARS = [":", "/", "?", "#", "[", "]", "@", "!", "$", "&", "'", "(", ")", "*", "+", ",", ";", "=", " "]
HELP = {"name": "Name of the config",
        "value": "The value of the config; JSON Serializable. Set as the ENV VAR value.",
        "is_secret": "Whether the config should be encrypted at rest and not retrievable.",
        "actors": "List of actor IDs or aliases that should get this config/secret."}


def actor_refs(actors: str) -> list[str]:
    """The ids/aliases of a config's ``actors`` text (comma-separated, spaces ignored)."""
    return [part.strip() for part in actors.replace(" ", "").split(",") if part.strip()]


def sealed() -> str:
    """The stand-in a secret value is displayed as (a new one each time the value is set)."""
    return "sealed:" + secrets.token_urlsafe(32)


def display_config(doc: Doc, flavor: Flavor) -> Doc:
    """A config on the wire (``ActorConfig.display``: the tenant dropped, camel on camel servers)."""
    value = doc["shown"] if doc["is_secret"] else doc["value"]
    record: Doc = {"actors": doc["actors"], "is_secret": doc["is_secret"], "name": doc["name"], "value": value}
    return cased(record, flavor)


def configs_for(store: Store, actor: Doc) -> dict[str, str]:
    """``{name: value}`` of the configs that name the actor's id or one of its aliases (secrets in clear: this is
    what its executions receive)."""
    names = {actor["id"]} | {a["alias"] for a in store.aliases(actor["tenant"]) if a["actor_id"] == actor["id"]}
    return {c["name"]: c["value"] for c in store.configs(actor["tenant"]) if names & set(actor_refs(c["actors"]))}


__all__ = ["FORBIDDEN_CHARS", "HELP", "RESERVED_WORDS", "actor_refs", "configs_for", "display_config", "sealed"]
