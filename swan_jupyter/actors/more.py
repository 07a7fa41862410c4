"""State, permissions, workers, nonces, aliases and search: the second half of :class:`Actors`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..transport import path_segment as _seg
from .cases import snake_keys, snake_rows
from .models import LEVELS, Actor, Alias, ExecutionInfo, Model, Nonce, Record, SearchPage, Worker

if TYPE_CHECKING:
    from ..transport import Transport

SEARCH_KINDS = ("actors", "workers", "executions", "logs")


def _level(level: str) -> str:
    upper = str(level).upper()
    if upper not in LEVELS:
        raise ValidationError(f"Unknown permission level {level!r}.", hint=f"Use one of {', '.join(LEVELS)}.")
    return upper


class ActorsExtras:
    """Mixin of :class:`~swan_jupyter.actors.Actors` (needs ``transport`` and ``_wire``)."""

    transport: Transport
    #: The API prefix under the transport's root (``/actors/v2`` or ``/v3/actors``).
    prefix: str = ""

    def _wire(self, body: Mapping[str, Any]) -> dict[str, Any]:  # overridden by Actors
        return dict(body)

    def _get(self, path: str, **kwargs: Any) -> Any:
        return self.transport.request("GET", self.prefix + path, **kwargs)

    def _post(self, path: str, **kwargs: Any) -> Any:
        return self.transport.request("POST", self.prefix + path, **kwargs)

    def _put(self, path: str, **kwargs: Any) -> Any:
        return self.transport.request("PUT", self.prefix + path, **kwargs)

    def _delete(self, path: str, **kwargs: Any) -> Any:
        return self.transport.request("DELETE", self.prefix + path, **kwargs)

    # -- state -----------------------------------------------------------------------------------------------

    def get_state(self, actor_id: str) -> Any:
        """The state of a stateful actor (any JSON value)."""
        result = self._get(f"/{_seg(actor_id)}/state") or {}
        return result.get("state") if isinstance(result, Mapping) else result

    def set_state(self, actor_id: str, state: Any) -> Actor:
        """Replace the state (any non-empty JSON value; stateless actors answer NotFoundError)."""
        if not state:
            raise ValidationError("Abaco refuses an empty or false state.", hint="Send a non-empty JSON value.")
        return Actor.from_wire(self._post(f"/{_seg(actor_id)}/state", json=state))

    # -- permissions -----------------------------------------------------------------------------------------

    def get_permissions(self, actor_id: str) -> dict[str, str]:
        """``{user: level}`` for the actor."""
        return dict(self._get(f"/{_seg(actor_id)}/permissions") or {})

    def grant(self, actor_id: str, user: str, level: str) -> dict[str, str]:
        """Give ``user`` the ``level`` (NONE revokes); returns the new permissions."""
        result = self._post(f"/{_seg(actor_id)}/permissions", json={"user": user, "level": _level(level)})
        return dict(result or {})

    # -- workers ---------------------------------------------------------------------------------------------

    def list_workers(self, actor_id: str) -> list[Worker]:
        """The actor's workers."""
        return [Worker.from_wire(w) for w in self._get(f"/{_seg(actor_id)}/workers") or []]

    def add_workers(self, actor_id: str, n: int = 1) -> None:
        """Make sure at least ``n`` workers exist (admins only)."""
        if int(n) < 1:
            raise ValidationError("The number of workers must be at least 1.")
        self._post(f"/{_seg(actor_id)}/workers", json={"num": int(n)},
                            outcome_check="List the workers to see whether they were scheduled.")

    def get_worker(self, actor_id: str, worker_id: str) -> Worker:
        """One worker."""
        return Worker.from_wire(self._get(f"/{_seg(actor_id)}/workers/{_seg(worker_id)}"))

    def delete_worker(self, actor_id: str, worker_id: str) -> None:
        """Schedule a worker to stop."""
        self._delete(f"/{_seg(actor_id)}/workers/{_seg(worker_id)}")

    # -- nonces ----------------------------------------------------------------------------------------------

    def list_nonces(self, actor_id: str) -> list[Nonce]:
        """The actor's nonces."""
        return [Nonce.from_wire(n) for n in self._get(f"/{_seg(actor_id)}/nonces") or []]

    def add_nonce(self, actor_id: str, level: str = "EXECUTE", max_uses: int = -1,
                  description: str | None = None) -> Nonce:
        """Create a nonce (``max_uses`` -1 = unlimited). Its ``id`` is the credential to hand out."""
        if isinstance(max_uses, bool) or not isinstance(max_uses, int) or max_uses == 0 or max_uses < -1:
            raise ValidationError(f"max_uses must be a positive integer or -1 (unlimited), not {max_uses!r}.",
                                  hint="For example max_uses=3, or max_uses=-1 for a nonce without a limit.")
        body: dict[str, Any] = {"level": _level(level), "max_uses": int(max_uses)}
        if description:
            body["description"] = description
        return Nonce.from_wire(self._post(f"/{_seg(actor_id)}/nonces", json=self._wire(body),
                                                   outcome_check="List the nonces to see whether it was created."))

    def get_nonce(self, actor_id: str, nonce_id: str) -> Nonce:
        """One nonce."""
        return Nonce.from_wire(self._get(f"/{_seg(actor_id)}/nonces/{_seg(nonce_id)}"))

    def delete_nonce(self, actor_id: str, nonce_id: str) -> None:
        """Revoke a nonce."""
        self._delete(f"/{_seg(actor_id)}/nonces/{_seg(nonce_id)}")

    # -- aliases ---------------------------------------------------------------------------------------------

    def list_aliases(self) -> list[Alias]:
        """Every alias of the tenant."""
        return [Alias.from_wire(a) for a in self._get("/aliases") or []]

    def add_alias(self, alias: str, actor_id: str) -> Alias:
        """Name an actor (the alias then works wherever an actor id does)."""
        body = self._wire({"alias": alias, "actor_id": actor_id})
        return Alias.from_wire(self._post("/aliases", json=body,
                                                   outcome_check="List the aliases to see whether it exists."))

    def get_alias(self, alias: str) -> Alias:
        """One alias."""
        return Alias.from_wire(self._get(f"/aliases/{_seg(alias)}"))

    def update_alias(self, alias: str, actor_id: str) -> Alias:
        """Point an alias at another actor (the body names only the actor: Abaco refuses ``alias`` in a PUT)."""
        body = self._wire({"actor_id": actor_id})
        return Alias.from_wire(self._put(f"/aliases/{_seg(alias)}", json=body))

    def delete_alias(self, alias: str) -> None:
        """Delete an alias (the actor stays)."""
        self._delete(f"/aliases/{_seg(alias)}")

    # -- search --------------------------------------------------------------------------------------------

    def search(self, kind: str, filters: Mapping[str, Any] | None = None, limit: int | None = None,
               skip: int | None = None) -> SearchPage:
        """One page of ``GET /actors/search/{kind}`` (spec §8.2), as models with the server's paging figures.

        ``kind`` is ``actors``, ``workers``, ``executions`` or ``logs``. ``filters`` use Abaco's syntax with
        snake_case keys: ``{"status": "COMPLETE"}``, ``{"runtime.gt": 1}``, ``{"status.in": ["ERROR",
        "COMPLETE"]}``, ``{"search": "word"}``; lists and dicts are sent as JSON. ``limit`` defaults to the
        server's 100; ``skip`` pages. Only records you have a permission on are returned. Example::

            page = client.search("executions", {"actor_id": actor.id, "status": "COMPLETE"}, limit=50)
            page.total_count, [e.runtime for e in page]
        """
        records = self.search_records(kind, filters, limit, skip)
        model = _SEARCH_MODELS[kind]
        page = SearchPage(model.from_wire(item) for item in records)
        page.total_count, page.records_skipped = records.total_count, records.records_skipped
        page.record_limit, page.count_returned = records.record_limit, records.count_returned
        return page

    def search_records(self, kind: str, filters: Mapping[str, Any] | None = None, limit: int | None = None,
                       skip: int | None = None) -> SearchPage:
        """Like :meth:`search`, but the items are plain dicts with snake_case keys and the values as sent.

        For bulk work (thousands of records) where building models would only cost time.
        """
        import json

        if kind not in SEARCH_KINDS:
            raise ValidationError(f"Unknown search type {kind!r}.", hint=f"Use one of {', '.join(SEARCH_KINDS)}.")
        params: dict[str, Any] = {}
        for key, value in (filters or {}).items():
            if key in ("limit", "skip", "x-nonce"):
                raise ValidationError(f"{key!r} is not a filter.", hint="Pass limit= and skip= as arguments.")
            if isinstance(value, bool):
                params[str(key)] = "true" if value else "false"
            elif isinstance(value, str):
                params[str(key)] = value
            elif isinstance(value, datetime):
                params[str(key)] = value.isoformat()
            else:
                params[str(key)] = json.dumps(value)
        if limit is not None:
            if int(limit) < 0:
                raise ValidationError("limit must not be negative.")
            params["limit"] = int(limit)
        if skip is not None:
            if int(skip) < 0:
                raise ValidationError("skip must not be negative.")
            params["skip"] = int(skip)
        result = self._get(f"/search/{kind}", params=params or None) or {}
        page = SearchPage()
        if isinstance(result, Mapping):
            items = result.get("search") or []
            meta = snake_keys(result.get("_metadata") or {})
            page.total_count = _int_or_none(meta.get("total_count"))
            page.records_skipped = _int_or_none(meta.get("records_skipped"))
            page.record_limit = _int_or_none(meta.get("record_limit"))
            page.count_returned = _int_or_none(meta.get("count_returned"))
        else:
            items = result or []
        page.extend(snake_rows(items if isinstance(items, list) else []))
        return page

    def search_all(self, kind: str, filters: Mapping[str, Any] | None = None, page_size: int = 500,
                   max_records: int | None = None) -> Iterator[Model]:
        """Every match of a search, fetched page by page with ``skip`` (at most ``max_records``)."""
        skip = 0
        seen = 0
        while True:
            page = self.search(kind, filters, limit=page_size, skip=skip)
            for item in page:
                if max_records is not None and seen >= max_records:
                    return
                seen += 1
                yield item
            skip += len(page)
            if not page or len(page) < page_size or (page.total_count is not None and skip >= page.total_count):
                return


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


_SEARCH_MODELS: dict[str, type[Model]] = {
    "actors": Actor, "workers": Worker, "executions": ExecutionInfo, "logs": Record,
}


__all__ = ["LEVELS", "SEARCH_KINDS", "ActorsExtras"]
