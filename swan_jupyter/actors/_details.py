"""Executions read one by one: each actor's summary, then one GET per execution, concurrently.

The details path of :func:`~swan_jupyter.actors.records.fetch_execution_records` and the cross-check of a search
(:func:`~swan_jupyter.actors.crosscheck.cross_check`, which fetches only what search did not return) both read
executions this way.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .models import parse_time

if TYPE_CHECKING:
    from ._client_api import AbacoCalls


def received_at_or_after(row: Mapping[str, Any], since: datetime) -> bool:
    """Whether an execution record was received at or after ``since`` (a record without a time counts)."""
    received = parse_time(row.get("message_received_time"))
    return received is None or received >= since


def read_details(client: AbacoCalls, actor_ids: Iterable[str], pool: ThreadPoolExecutor, failures: dict[str, str],
                 *, since: datetime | None = None, skip: Collection[str] = frozenset(),
                 keep: Callable[[dict[str, Any]], bool] | None = None,
                 on_total: Callable[[int], None] | None = None, on_done: Callable[[int], None] | None = None,
                 ) -> tuple[list[str], list[dict[str, Any]]]:
    """The actors whose summary was read, and the records of their executions (``actor_id`` set on each).

    :param since: only executions received at or after it (the summary's whole-second times get a one-second
        margin; the fetched records decide).
    :param skip: execution ids not to fetch (already known).
    :param keep: a further test on each fetched record; rows it refuses are dropped.
    :param failures: ``{id: error}`` gets the actors and executions that could not be read (never dropped silently).
    :param on_total: called once with the number of executions to fetch; ``on_done`` with 1 after each.
    """
    margin = since - timedelta(seconds=1) if since is not None else None
    listed: list[str] = []
    pairs: list[tuple[str, str]] = []
    summaries = {pool.submit(client.list_executions, a): a for a in dict.fromkeys(actor_ids)}
    for done in as_completed(summaries):
        actor_id = summaries[done]
        try:
            summary = done.result()
        except Exception as exc:
            failures[actor_id] = str(exc)
            continue
        listed.append(actor_id)
        pairs += [(actor_id, str(e.id)) for e in summary.executions if e.id and str(e.id) not in skip and (
            margin is None or e.message_received_time is None or e.message_received_time >= margin)]
    if on_total is not None:
        on_total(len(pairs))
    rows: list[dict[str, Any]] = []
    futures = {pool.submit(client.get_execution_record, a, e): (a, e) for a, e in pairs}
    for future in as_completed(futures):
        actor_id, execution_id = futures[future]
        try:
            row = future.result()
        except Exception as exc:
            failures[execution_id] = str(exc)
        else:
            row.setdefault("actor_id", actor_id)
            if (since is None or received_at_or_after(row, since)) and (keep is None or keep(row)):
                rows.append(row)
        if on_done is not None:
            on_done(1)
    return listed, rows


__all__ = ["read_details", "received_at_or_after"]
