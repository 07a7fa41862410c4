"""The execution metrics of many actors, as rows: which executions (one :class:`ExecutionQuery`), fetched and
fetched again.

This is the client work behind :func:`swan_jupyter.frames.actors.execution_metrics`, its refresh and
:func:`swan_jupyter.frames.functions.join_metrics`; the frames only shape what it returns. Example::

    from swan_jupyter.actors.metrics import ExecutionQuery, fetch_newer
    from swan_jupyter.actors.records import fetch_execution_records
    records = fetch_execution_records(client, ["PZmwGM6voQEl5", "my-alias"])
    query = ExecutionQuery.of(records)  # ExecutionQuery(actor_ids=("PZmwGM6voQEl5", "..."), since=None, ...)
    newer = fetch_newer(client, query, newest=received_time_of_the_newest_row)
    newer.records.rows        # one snake_case dict per execution (see swan_jupyter.actors.records)

A query says which actors were selected, resolved to ids (None: every actor you can read), so fetching again
asks for the same actors even when the selection was a search or a predicate. Without a query nothing is
fetched again: :func:`fetch_newer` refuses rather than widening to every actor.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from ..errors import ValidationError
from .records import ExecutionRecords, fetch_execution_records

if TYPE_CHECKING:
    from ._client_api import AbacoCalls


@dataclass(frozen=True)
class ExecutionQuery:
    """Which executions a metrics frame holds (``frame.attrs["query"]``): what a refresh fetches again.

    ``actor_ids``: the selected actors' ids (None: every actor you can read); ``since``: only executions whose
    message arrived at or after it, as given; ``method``: how the rows were fetched (``"search"`` or
    ``"details"``, so a refresh does not try a search the server lacks again; ``"auto"`` before any fetch).
    """

    actor_ids: tuple[str, ...] | None = None
    since: datetime | str | None = None
    method: str = "auto"

    @classmethod
    def of(cls, records: ExecutionRecords, since: datetime | str | None = None) -> ExecutionQuery:
        """The query that fetches again what :func:`~.records.fetch_execution_records` fetched into ``records``
        (with this ``since``): its actors resolved to ids, the method that worked."""
        return cls(None if records.actor_ids is None else tuple(records.actor_ids), since, records.method)


@dataclass(frozen=True)
class FetchedMetrics:
    """The execution records a query fetched, and the query (its actors resolved to ids)."""

    records: ExecutionRecords
    query: ExecutionQuery


def fetch_newer(
    client: AbacoCalls,
    query: ExecutionQuery | None,
    newest: datetime | None = None,
    *,
    max_workers: int = 16,
    progress_after: float = 2.0,
    method: str | None = None,
) -> FetchedMetrics:
    """The executions of ``query`` received at or after ``newest`` (None: all the query selects), with the query
    (its ``since`` unchanged). ``method`` overrides the query's.

    Refuses a missing query (a frame whose ``attrs`` were lost to a file round trip or ``pd.concat``): fetching
    "every actor" in its place would silently widen what the frame holds.
    """
    if not isinstance(query, ExecutionQuery):
        raise ValidationError(
            "This metrics frame carries no query (frame.attrs['query']), so it is not known which actors to fetch "
            "again; refreshing it would widen it to every actor you can read.",
            hint="Rebuild it with execution_metrics(client, actors), or pass the query: "
                 "refresh_execution_metrics(client, frame, query=ExecutionQuery(actor_ids=(...)))."
        )
    start = newest if newest is not None else query.since
    ids = None if query.actor_ids is None else list(query.actor_ids)
    records = fetch_execution_records(client, ids, since=start, max_workers=max_workers,
                                      progress_after=progress_after, method=method or query.method)
    return FetchedMetrics(records, replace(query, method=records.method))


__all__ = ["ExecutionQuery", "FetchedMetrics", "fetch_newer"]
