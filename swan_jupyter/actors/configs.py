"""Actor configs: named values, optionally secret, given to the executions of the actors they name (a part of
:class:`~swan_jupyter.actors.Actors`).

Abaco serves them under ``/actors/configs`` (TACC/abaco actors/controllers.py, ActorConfigsResource); tapipy's
bundled API description has no operations for them, so these calls speak the routes directly, on both flavors.
An execution of a named actor finds ``{name: value, ...}`` in its ``_actor_configs`` variable. Example::

    client.create_config("db_password", "s3cret", actors=[actor.id, "my-alias"], is_secret=True)
    client.list_configs(), client.get_config("db_password")
    client.update_config("db_password", value="n3w")      # the other fields are kept
    client.grant_config("db_password", "bob", "READ")
    client.delete_config("db_password")

A secret value is registered for redaction before it is sent, so it is masked in any text the extension shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..redact import register
from ..transport import path_segment as _seg
from .models import ActorConfig

if TYPE_CHECKING:
    from ..transport import Transport


def _actors_text(actors: str | Iterable[str]) -> str:
    """Abaco's ``actors`` argument: ids or aliases, comma-separated."""
    refs = [actors] if isinstance(actors, str) else [str(a) for a in actors]
    refs = [r.strip() for ref in refs for r in ref.split(",") if r.strip()]
    if not refs:
        raise ValidationError("A config needs at least one actor.", hint="Pass actors=[actor.id] (ids or aliases).")
    return ",".join(refs)


class ConfigCalls:
    """Actor configs and their permissions: a mixin of :class:`~swan_jupyter.actors.Actors`."""

    transport: Transport

    def _wire(self, body: Mapping[str, Any]) -> dict[str, Any]:  # overridden by Actors
        return dict(body)

    def _config_body(self, name: str, value: Any, actors: str | Iterable[str], is_secret: bool) -> dict[str, Any]:
        if not isinstance(value, str):
            raise ValidationError(f"A config value is text, not {type(value).__name__}.",
                                  hint="Pass json.dumps(obj) for structured values.")
        if is_secret:
            register(value)
        return self._wire({"name": name, "value": value, "actors": _actors_text(actors), "is_secret": bool(is_secret)})

    def create_config(self, name: str, value: str, actors: str | Iterable[str], is_secret: bool = False
                      ) -> ActorConfig:
        """Register a config ``name`` = ``value`` for ``actors`` (ids or aliases; you get UPDATE on it)."""
        body = self._config_body(name, value, actors, is_secret)
        return ActorConfig.from_wire(self.transport.post("/configs", json=body,
                                                         outcome_check="List the configs to see whether it exists."))

    def list_configs(self) -> list[ActorConfig]:
        """Every config of the tenant."""
        return [ActorConfig.from_wire(c) for c in self.transport.get("/configs") or []]

    def get_config(self, name: str) -> ActorConfig:
        """One config (a secret's value is Abaco's ciphertext, never the value)."""
        return ActorConfig.from_wire(self.transport.get(f"/configs/{_seg(name)}"))

    def update_config(self, name: str, *, value: str | None = None, actors: str | Iterable[str] | None = None,
                      is_secret: bool | None = None) -> ActorConfig:
        """Change some fields of a config, keeping the others (Abaco's PUT replaces all of them).

        A secret's value cannot be read back: changing ``actors`` or ``is_secret`` of a secret config needs
        ``value`` again.
        """
        current = self.get_config(name)
        if value is None and current.is_secret:
            raise ValidationError(f"Config {name!r} is secret: Abaco never returns its value.",
                                  hint="Pass value= with the update.")
        body = self._config_body(name, current.value if value is None else value,
                                 current.actors or [] if actors is None else actors,
                                 bool(current.is_secret) if is_secret is None else is_secret)
        return ActorConfig.from_wire(self.transport.put(f"/configs/{_seg(name)}", json=body))

    def delete_config(self, name: str) -> None:
        """Delete a config and its permissions."""
        self.transport.delete(f"/configs/{_seg(name)}")

    def get_config_permissions(self, name: str) -> dict[str, str]:
        """``{user: level}`` for the config."""
        return dict(self.transport.get(f"/configs/{_seg(name)}/permissions") or {})

    def grant_config(self, name: str, user: str, level: str) -> dict[str, str]:
        """Give ``user`` the ``level`` on a config (NONE revokes); returns the new permissions."""
        from .management import _level

        result = self.transport.post(f"/configs/{_seg(name)}/permissions", json={"user": user, "level": _level(level)})
        return dict(result or {})


__all__ = ["ConfigCalls"]
