"""Aliases: names that stand for actors (a part of :class:`~swan_jupyter.actors.Actors`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..transport import path_segment as _seg
from .models import Alias

if TYPE_CHECKING:
    from ..transport import Transport


class AliasCalls:
    """Aliases of the tenant: a mixin of :class:`~swan_jupyter.actors.Actors`."""

    transport: Transport

    def _wire(self, body: Mapping[str, Any]) -> dict[str, Any]:  # overridden by Actors
        return dict(body)

    # -- aliases ---------------------------------------------------------------------------------------------

    def list_aliases(self) -> list[Alias]:
        """Every alias of the tenant."""
        return [Alias.from_wire(a) for a in self.transport.get("/aliases") or []]

    def add_alias(self, alias: str, actor_id: str) -> Alias:
        """Name an actor (the alias then works wherever an actor id does)."""
        body = self._wire({"alias": alias, "actor_id": actor_id})
        return Alias.from_wire(self.transport.post("/aliases", json=body,
                                                   outcome_check="List the aliases to see whether it exists."))

    def get_alias(self, alias: str) -> Alias:
        """One alias."""
        return Alias.from_wire(self.transport.get(f"/aliases/{_seg(alias)}"))

    def update_alias(self, alias: str, actor_id: str) -> Alias:
        """Point an alias at another actor (the body names only the actor: Abaco refuses ``alias`` in a PUT)."""
        body = self._wire({"actor_id": actor_id})
        return Alias.from_wire(self.transport.put(f"/aliases/{_seg(alias)}", json=body))

    def delete_alias(self, alias: str) -> None:
        """Delete an alias (the actor stays)."""
        self.transport.delete(f"/aliases/{_seg(alias)}")
