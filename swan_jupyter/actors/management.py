"""An actor's state, permissions, workers and nonces (a part of :class:`~swan_jupyter.actors.Actors`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..numbers import MAX_WORKERS, parse_int
from ..transport import path_segment as _seg
from .models import LEVELS, Actor, Nonce, Worker

if TYPE_CHECKING:
    from ..transport import Transport


def _level(level: str) -> str:
    upper = str(level).upper()
    if upper not in LEVELS:
        raise ValidationError(f"Unknown permission level {level!r}.", hint=f"Use one of {', '.join(LEVELS)}.")
    return upper


class ActorManagement:
    """State, permissions, workers and nonces of actors: a mixin of :class:`~swan_jupyter.actors.Actors`."""

    transport: Transport

    def _wire(self, body: Mapping[str, Any]) -> dict[str, Any]:  # overridden by Actors
        return dict(body)

    # -- state -----------------------------------------------------------------------------------------------

    def get_state(self, actor_id: str) -> Any:
        """The state of a stateful actor (any JSON value)."""
        result = self.transport.get(f"/{_seg(actor_id)}/state") or {}
        return result.get("state") if isinstance(result, Mapping) else result

    def set_state(self, actor_id: str, state: Any) -> Actor:
        """Replace the state (any non-empty JSON value; stateless actors answer NotFoundError)."""
        if not state:
            raise ValidationError("Abaco refuses an empty or false state.", hint="Send a non-empty JSON value.")
        return Actor.from_wire(self.transport.post(f"/{_seg(actor_id)}/state", json=state))

    # -- permissions -----------------------------------------------------------------------------------------

    def get_permissions(self, actor_id: str) -> dict[str, str]:
        """``{user: level}`` for the actor."""
        return dict(self.transport.get(f"/{_seg(actor_id)}/permissions") or {})

    def grant(self, actor_id: str, user: str, level: str) -> dict[str, str]:
        """Give ``user`` the ``level`` (NONE revokes); returns the new permissions."""
        result = self.transport.post(f"/{_seg(actor_id)}/permissions", json={"user": user, "level": _level(level)})
        return dict(result or {})

    # -- workers ---------------------------------------------------------------------------------------------

    def list_workers(self, actor_id: str) -> list[Worker]:
        """The actor's workers."""
        return [Worker.from_wire(w) for w in self.transport.get(f"/{_seg(actor_id)}/workers") or []]

    def add_workers(self, actor_id: str, n: int = 1) -> None:
        """Make sure at least ``n`` workers exist (admins only)."""
        count = parse_int(n, "the number of workers", minimum=1, maximum=MAX_WORKERS)
        self.transport.post(f"/{_seg(actor_id)}/workers", json={"num": count},
                            outcome_check="List the workers to see whether they were scheduled.")

    def get_worker(self, actor_id: str, worker_id: str) -> Worker:
        """One worker."""
        return Worker.from_wire(self.transport.get(f"/{_seg(actor_id)}/workers/{_seg(worker_id)}"))

    def delete_worker(self, actor_id: str, worker_id: str) -> None:
        """Schedule a worker to stop."""
        self.transport.delete(f"/{_seg(actor_id)}/workers/{_seg(worker_id)}")

    # -- nonces ----------------------------------------------------------------------------------------------

    def list_nonces(self, actor_id: str) -> list[Nonce]:
        """The actor's nonces."""
        return [Nonce.from_wire(n) for n in self.transport.get(f"/{_seg(actor_id)}/nonces") or []]

    def add_nonce(self, actor_id: str, level: str = "EXECUTE", max_uses: int = -1,
                  description: str | None = None) -> Nonce:
        """Create a nonce (``max_uses`` -1 = unlimited). Its ``id`` is the credential to hand out."""
        uses = parse_int(max_uses, "max_uses", minimum=-1) if isinstance(max_uses, int) else 0
        if uses == 0:
            raise ValidationError(f"max_uses must be a positive integer or -1 (unlimited), not {max_uses!r}.",
                                  hint="For example max_uses=3, or max_uses=-1 for a nonce without a limit.")
        body: dict[str, Any] = {"level": _level(level), "max_uses": uses}
        if description:
            body["description"] = description
        return Nonce.from_wire(self.transport.post(f"/{_seg(actor_id)}/nonces", json=self._wire(body),
                                                   outcome_check="List the nonces to see whether it was created."))

    def get_nonce(self, actor_id: str, nonce_id: str) -> Nonce:
        """One nonce."""
        return Nonce.from_wire(self.transport.get(f"/{_seg(actor_id)}/nonces/{_seg(nonce_id)}"))

    def delete_nonce(self, actor_id: str, nonce_id: str) -> None:
        """Revoke a nonce."""
        self.transport.delete(f"/{_seg(actor_id)}/nonces/{_seg(nonce_id)}")
