"""Abaco's search over actors, workers, executions and logs (a part of :class:`~swan_jupyter.actors.Actors`)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..numbers import NumberError, parse_int
from ._cases import snake_keys, snake_rows
from .models import Actor, ExecutionInfo, Model, Record, SearchPage, Worker

if TYPE_CHECKING:
    from ..transport import Transport

SEARCH_KINDS = ("actors", "workers", "executions", "logs")


class SearchCalls:
    """Search with Abaco's syntax: a mixin of :class:`~swan_jupyter.actors.Actors`."""

    transport: Transport

    def _wire(self, body: Mapping[str, Any]) -> dict[str, Any]:  # overridden by Actors
        return dict(body)

    # -- search --------------------------------------------------------------------------------------------

    def search(self, kind: str, filters: Mapping[str, Any] | None = None, limit: int | None = None,
               skip: int | None = None) -> SearchPage:
        """One page of ``GET /actors/search/{kind}`` (TACC/abaco actors/models.py, Search), as models with the
        server's paging figures.

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
            params["limit"] = parse_int(limit, "limit")
        if skip is not None:
            params["skip"] = parse_int(skip, "skip")
        result = self.transport.get(f"/search/{kind}", params=params or None) or {}
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
    """A count from the server's ``_metadata``, or None when it is missing or not a number (display only)."""
    try:
        return None if value is None else parse_int(value, "count")
    except NumberError:
        return None


_SEARCH_MODELS: dict[str, type[Model]] = {
    "actors": Actor, "workers": Worker, "executions": ExecutionInfo, "logs": Record,
}


__all__ = ["SEARCH_KINDS", "SearchCalls"]
