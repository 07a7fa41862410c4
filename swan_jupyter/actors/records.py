"""Execution records of many actors at once: which actors, fetched how, in parallel, with a progress bar.

This is the client work behind :mod:`swan_jupyter.actors.metrics` (and so
:func:`swan_jupyter.frames.actors.execution_metrics`, which only shapes the rows into a DataFrame). Example::

    from swan_jupyter.actors.records import fetch_execution_records
    records = fetch_execution_records(client, ["PZmwGM6voQEl5", "my-alias"])
    records.rows          # one snake_case dict per execution, as the server sent it
    records.actors        # {actor id: Actor} from one listing (name, image)
    records.failures      # {actor or execution id: error text}; nothing is dropped silently
    records.method        # "search" or "details"

Two ways to fetch, chosen by ``method``:

* ``"search"``: ``GET /actors/search/executions`` (full records, millisecond times), paged with ``skip`` and
  fetched concurrently; ``since`` becomes a ``message_received_time.gte`` filter, so a refresh fetches only
  the new executions.
* ``"details"``: each actor's executions summary, then one ``GET`` per execution (servers without the search
  API). ``since`` skips the summary items received before it, so only their records are fetched.
* ``"auto"`` (the default): search, falling back to details when the server answers 404, 405 or 501.

Search is an optimisation, never a different answer: its rows are checked against each actor's executions
summary, and executions search cannot see (actors read as an admin, through a role or ``ABACO_WORLD``) are
fetched one by one (:mod:`.crosscheck`); ``built``, ``fallback`` and ``note`` say so.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import Interrupted, NotFoundError, RemoteError, SwanJupyterError, ValidationError
from ._details import read_details
from .crosscheck import cross_check, matcher, owned_by_caller
from .models import Actor, parse_time

if TYPE_CHECKING:
    from ._client_api import AbacoCalls

#: Which actors: None (every actor you can read), an id or alias, a list of them, a dict of actor search
#: filters (``{"image": "abacosamples/wc"}``) or a predicate on :class:`~swan_jupyter.actors.Actor`.
ActorSelection = str | Sequence[str] | Mapping[str, Any] | Callable[[Actor], bool] | None

METHODS = ("auto", "search", "details")
#: Actor ids per search request (``actor_id.in``): keeps the query string short.
IDS_PER_SEARCH = 50


@dataclass
class ExecutionRecords:
    """What :func:`fetch_execution_records` found.

    ``rows``: one dict per execution with snake_case keys and the values as sent (times as text);
    ``actors``: ``{id: Actor}`` of the actors seen (one listing, plus any actor named by alias or shared);
    ``actor_ids``: the selected ids (None: every actor you can read); ``failures``: ``{id: error}``;
    ``method``: ``"search"`` or ``"details"``; ``precise``: the times are the full records' (milliseconds);
    ``built``: ``{actor id: "search" | "search + details" | "details"}``, how each actor's rows were fetched;
    ``fallback``: ``{actor id: reason}`` for the actors whose executions search could not (all) see, and
    ``note``: one sentence saying so (None when search saw everything).
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    actors: dict[str, Actor] = field(default_factory=dict)
    actor_ids: list[str] | None = None
    failures: dict[str, str] = field(default_factory=dict)
    method: str = "search"
    precise: bool = True
    built: dict[str, str] = field(default_factory=dict)
    fallback: dict[str, str] = field(default_factory=dict)
    note: str | None = None


class Progress:
    """A tqdm bar that appears only once the work has lasted ``after`` seconds (and is not finished).

    ``after`` negative: never. tqdm is imported only when the bar appears.
    """

    def __init__(self, after: float, desc: str = "executions", unit: str = "exec") -> None:
        self.after = after
        self.desc = desc
        self.unit = unit
        self.started = time.monotonic()
        self.done = 0
        self.total = 0
        self.bar: Any = None

    def add_total(self, n: int) -> None:
        """Announce ``n`` more items to come."""
        self.total += n
        if self.bar is not None:
            self.bar.total = self.total
            self.bar.refresh()

    def update(self, n: int = 1) -> None:
        """Count ``n`` items done (and show the bar once ``after`` seconds have passed)."""
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.after >= 0 and time.monotonic() - self.started > self.after and self.done < self.total:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total, initial=self.done, desc=self.desc, unit=self.unit)

    def close(self) -> None:
        """Close the bar, if it appeared."""
        if self.bar is not None:
            self.bar.close()


def resolve_actors(
    client: AbacoCalls, actors: ActorSelection, failures: dict[str, str],
) -> tuple[list[str] | None, dict[str, Actor]]:
    """The selected actor ids (None = every actor the caller can read) and ``{id: Actor}`` from one listing.

    Refs that cannot be read (unknown alias, no permission) go to ``failures``.
    """
    try:
        known = {str(a.id): a for a in client.list() if a.id}
    except SwanJupyterError:
        # A nonce, or a user who may not list: named actors can still be read one by one (names then come
        # from those reads only).
        if actors is None or (callable(actors) and not isinstance(actors, str | Sequence | Mapping)):
            raise
        known = {}
    if actors is None:
        return None, known
    if isinstance(actors, str):
        actors = [actors]
    if isinstance(actors, Mapping):
        found = [a for a in client.search_all("actors", actors) if isinstance(a, Actor) and a.id]
        known.update((str(a.id), a) for a in found if a.id not in known)
        return list(dict.fromkeys(str(a.id) for a in found)), known
    if callable(actors):
        predicate = actors
        return [i for i, a in known.items() if predicate(a)], known
    ids: list[str] = []
    for ref in dict.fromkeys(str(a) for a in actors):
        if ref in known:
            ids.append(ref)
            continue
        try:  # an alias, or an actor shared with you that the listing does not show
            actor = client.get(ref)
        except Exception as exc:
            failures[ref] = str(exc)
            continue
        if actor.id:
            known.setdefault(actor.id, actor)
            ids.append(actor.id)
    return list(dict.fromkeys(ids)), known


def fetch_execution_records(
    client: AbacoCalls,
    actors: ActorSelection = None,
    *,
    since: datetime | str | None = None,
    max_workers: int = 16,
    progress_after: float = 2.0,
    page_size: int = 10_000,
    method: str = "auto",
) -> ExecutionRecords:
    """Every execution of the selected actors (see the module docstring), received at or after ``since``.

    :param actors: see :data:`ActorSelection`.
    :param since: only executions whose message arrived at or after this time (UTC datetime or ISO text).
    :param max_workers: concurrent requests (over the client's pooled connections).
    :param progress_after: seconds before a progress bar appears (negative: never).
    :param page_size: records per search page (Abaco sets no maximum; large pages mean few round trips,
        and each search request costs the server a scan). Further pages are fetched concurrently.
    :param method: ``"auto"``, ``"search"`` or ``"details"``.
    """
    if method not in METHODS:
        raise ValidationError(f"Unknown method {method!r}.", hint='Use "auto", "search" or "details".')
    if page_size < 1:
        raise ValidationError("page_size must be at least 1.")
    start = None
    if since is not None:
        start = parse_time(since)
        if start is None:
            raise ValidationError(f"Cannot read {since!r} as a time.", hint="Pass a datetime or ISO 8601 text.")
    records = ExecutionRecords()
    records.actor_ids, records.actors = resolve_actors(client, actors, records.failures)
    progress = Progress(progress_after)
    pool = ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="swan-metrics")
    try:
        if method == "details":
            _by_details(client, records, start, pool, progress)
        else:
            try:
                _by_search(client, records, start, page_size, pool, progress)
            except (NotFoundError, RemoteError) as exc:
                if method == "search" or exc.status not in (404, 405, 501):
                    raise
                records.rows.clear()
                _by_details(client, records, start, pool, progress)
    except KeyboardInterrupt:  # Ctrl-C: stop fetching, keep the rows fetched so far
        pool.shutdown(wait=False, cancel_futures=True)
        raise Interrupted(f"fetching was interrupted after {len(records.rows)} executions", records) from None
    finally:
        progress.close()
        pool.shutdown(wait=False, cancel_futures=True)
    return records


def _by_search(
    client: AbacoCalls, records: ExecutionRecords, since: datetime | None, page_size: int, pool: ThreadPoolExecutor,
    progress: Progress,
) -> None:
    """Every execution through ``/actors/search/executions``: first pages together, then the rest concurrently."""
    records.method = "search"
    ids = records.actor_ids
    if ids is not None and not ids:
        return
    base: dict[str, Any] = {}
    if since is not None:
        base["message_received_time.gte"] = since.isoformat(timespec="milliseconds")
    groups = [dict(base)] if ids is None else [
        {**base, "actor_id.in": json.dumps(ids[i:i + IDS_PER_SEARCH])} for i in range(0, len(ids), IDS_PER_SEARCH)
    ]
    rows: dict[str, dict[str, Any]] = {}

    def keep(items: list[dict[str, Any]]) -> None:
        for item in items:
            rows[str(item.get("id"))] = item
        records.rows = list(rows.values())  # what an interrupt keeps
        progress.update(len(items))

    firsts = list(pool.map(lambda f: client.search_records("executions", f, limit=page_size, skip=0), groups))
    jobs = {}
    for filters, first in zip(groups, firsts, strict=True):
        total = first.total_count
        progress.add_total(total if total is not None else len(first))
        keep(first)
        if total is None and len(first) == page_size:
            # No total from the server: walk the pages one after the other.
            skip = len(first)
            while True:
                page = client.search_records("executions", filters, limit=page_size, skip=skip)
                keep(page)
                skip += len(page)
                if len(page) < page_size:
                    break
            continue
        for skip in range(len(first), total or 0, page_size):
            jobs[pool.submit(client.search_records, "executions", filters, page_size, skip)] = skip
    for future in as_completed(jobs):
        try:
            page = future.result()
        except Exception as exc:
            records.failures[f"search page skip={jobs[future]}"] = str(exc)
            continue
        keep(page)
    records.rows = list(rows.values())
    selected = ids if ids is not None else list(records.actors)
    owned = owned_by_caller(client, selected, records.actors)
    check = cross_check(client, [a for a in selected if a not in owned], set(rows), pool, records.failures,
                        since=since, on_total=progress.add_total, on_done=progress.update)
    records.rows += check.rows
    records.built = {**dict.fromkeys(owned, "search"), **check.built}
    records.fallback, records.note = check.fallback, check.note()


def _by_details(
    client: AbacoCalls, records: ExecutionRecords, since: datetime | None, pool: ThreadPoolExecutor, progress: Progress,
) -> None:
    """Every execution through the summary of each actor, then one GET per execution, concurrently."""
    records.method = "details"
    actor_ids = records.actor_ids if records.actor_ids is not None else list(records.actors)
    listed, rows = read_details(client, actor_ids, pool, records.failures, since=since,
                                on_total=progress.add_total, on_done=progress.update)
    records.built.update(dict.fromkeys(listed, "details"))
    records.rows += rows


def _named_actors(filters: Mapping[str, Any] | None) -> list[str] | None:
    """The actor ids an ``actor_id``/``actor_id.eq``/``actor_id.in`` filter names; None without one."""
    for key, value in (filters or {}).items():
        if key in ("actor_id", "actor_id.eq"):
            return [str(value)]
        if key == "actor_id.in":
            items = json.loads(value) if isinstance(value, str) else value
            return [str(i) for i in items] if isinstance(items, list) else None
    return None


def complete_search_page(
    client: AbacoCalls, rows: list[dict[str, Any]], filters: Mapping[str, Any] | None, *, max_workers: int = 8,
    page_size: int = 10_000,
) -> tuple[list[dict[str, Any]], dict[str, str], dict[str, str], str | None]:
    """The executions an executions-search page leaves out because search cannot see them.

    The actors covered are those an ``actor_id`` filter names, else every actor you can read. Each one's ids as
    search sees them are compared with its listing (:func:`~.crosscheck.cross_check`); the missing executions are
    fetched one by one and kept when they pass ``filters``. Returns ``(extra rows, built, fallback, note)``.
    """
    named = _named_actors(filters)
    listed = {str(a.id): a for a in client.list() if a.id}
    owned = owned_by_caller(client, named if named is not None else list(listed), listed)
    ids = [a for a in (named if named is not None else list(listed)) if a not in owned]
    seen = {str(r.get("id")) for r in rows}
    failures: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="swan-search") as pool:
        pages = pool.map(lambda a: client.search_records("executions", {"actor_id": a}, limit=page_size), ids)
        for page in pages:
            seen.update(str(item.get("id")) for item in page)
        check = cross_check(client, ids, seen, pool, failures, keep=matcher(filters))
    return check.rows, {**dict.fromkeys(owned, "search"), **check.built}, check.fallback, check.note()


__all__ = [
    "METHODS", "ActorSelection", "ExecutionRecords", "Progress", "complete_search_page", "fetch_execution_records",
    "resolve_actors",
]
