"""DataFrames of Abaco: actors, executions, workers, nonces, permissions, aliases and per-execution metrics.

Every frame has fixed columns and dtypes (see :mod:`swan_jupyter.frames`), whatever the server's case or
flavour: times are ``datetime64[ns, UTC]`` (Abaco's time quirks and the string ``"None"`` parsed, missing
values ``NaT``), counts ``Int64``, statuses and levels ``category`` (with every known value as a category, so
``value_counts()`` includes zeros), waits ``timedelta64[ns]``.

``execution_metrics`` builds one row per execution across many actors::

    from swan_jupyter.frames.actors import execution_metrics
    df = execution_metrics(client)                          # every actor you can read
    df = execution_metrics(client, ["PZmwGM6voQEl5", "my-alias"])
    df = execution_metrics(client, {"image": "abacosamples/wc"})     # actors matching a search
    df = execution_metrics(client, lambda a: a.name.startswith("etl-"))
    df.groupby("actor_id")["runtime"].describe()
    df.attrs["failures"]                                    # {actor or execution id: error text}
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any

from . import Column, build_frame

if TYPE_CHECKING:
    import pandas as pd

    from ..actors import Actors
    from ..actors.models import Actor, Alias, ExecutionInfo, Model, Nonce, Worker

ACTOR_STATUSES = ("SUBMITTED", "READY", "ERROR", "SHUTTING_DOWN")
EXECUTION_STATUSES = ("SUBMITTED", "RUNNING", "COMPLETE", "ERROR")
WORKER_STATUSES = ("REQUESTED", "SPAWNER SETUP", "PULLING IMAGE", "CREATING CONTAINER", "UPDATING STORE", "READY",
                   "BUSY", "SHUTDOWN_REQUESTED", "SHUTTING_DOWN", "ERROR")
LEVELS = ("NONE", "READ", "EXECUTE", "UPDATE")

#: ``actors_frame``: one row per actor.
ACTOR_COLUMNS = [
    Column("id"), Column("name"), Column("image"), Column("owner"), Column("status", "cat", ACTOR_STATUSES),
    Column("stateless", "bool"), Column("revision", "int"), Column("max_workers", "int"), Column("hints", "obj"),
    Column("default_environment", "obj"), Column("create_time", "time"), Column("last_update_time", "time"),
    Column("status_message"),
]
#: ``executions_frame``: one row per item of the executions summary (or per full record).
EXECUTION_COLUMNS = [
    Column("actor_id"), Column("id"), Column("status", "cat", EXECUTION_STATUSES),
    Column("message_received_time", "time"), Column("start_time", "time"), Column("finish_time", "time"),
    Column("queue_wait", "dur"), Column("runtime", "dur"),
]
#: ``workers_frame``: one row per worker.
WORKER_COLUMNS = [
    Column("id"), Column("status", "cat", WORKER_STATUSES), Column("image"), Column("ch_name"), Column("cid"),
    Column("host_id"), Column("host_ip"), Column("location"), Column("create_time", "time"),
    Column("last_execution_time", "time"), Column("last_health_check_time", "time"),
]
#: ``nonces_frame``: one row per nonce (the ``id`` column holds credentials).
NONCE_COLUMNS = [
    Column("id"), Column("actor_id"), Column("alias"), Column("owner"), Column("level", "cat", LEVELS),
    Column("description"), Column("max_uses", "int"), Column("remaining_uses", "int"), Column("current_uses", "int"),
    Column("create_time", "time"), Column("last_use_time", "time"),
]
#: ``permissions_frame``: one row per user.
PERMISSION_COLUMNS = [Column("user"), Column("level", "cat", LEVELS)]
#: ``aliases_frame``: one row per alias.
ALIAS_COLUMNS = [Column("alias"), Column("actor_id"), Column("owner")]
#: ``execution_metrics``: one row per execution. ``cpu`` nanoseconds, ``io`` bytes received, ``runtime``
#: seconds (Abaco's integer), ``queue_wait`` = start - message received, ``turnaround`` = finish - received.
METRIC_COLUMNS = [
    Column("actor_id"), Column("execution_id"), Column("status", "cat", EXECUTION_STATUSES), Column("executor"),
    Column("worker_id"), Column("cpu", "int"), Column("io", "int"), Column("runtime", "int"),
    Column("message_received_time", "time"), Column("start_time", "time"), Column("finish_time", "time"),
    Column("queue_wait", "dur"), Column("turnaround", "dur"), Column("exit_code", "int"),
]

ActorSelection = str | Sequence[str] | Mapping[str, Any] | Callable[["Actor"], bool] | None


def _dicts(items: Iterable[Model | Mapping[str, Any]]) -> list[dict[str, Any]]:
    from ..actors.models import parse_time

    rows = [dict(i) if isinstance(i, Mapping) else i.to_dict() for i in items]
    # Parse Abaco's own time quirks here (e.g. "2Z-01-10T...", "...06.5Z00"), before pandas sees them.
    for row in rows:
        for key, value in row.items():
            if isinstance(value, str) and key.endswith("_time"):
                row[key] = parse_time(value)
    return rows


def _seconds_between(later: Any, earlier: Any) -> float | None:
    if later is None or earlier is None:
        return None
    return float((later - earlier).total_seconds())


def actors_frame(items: Iterable[Actor | Mapping[str, Any]]) -> pd.DataFrame:
    """One row per actor (columns :data:`ACTOR_COLUMNS`)."""
    return build_frame(_dicts(items), ACTOR_COLUMNS)


def executions_frame(items: Iterable[ExecutionInfo | Mapping[str, Any]], actor_id: str | None = None) -> pd.DataFrame:
    """One row per execution (summary items or full records); ``actor_id`` fills a missing actor column.

    ``queue_wait`` is start - message received, ``runtime`` finish - start (timedeltas; NaT until known).
    """
    rows = _dicts(items)
    for row in rows:
        if not row.get("actor_id"):
            row["actor_id"] = actor_id
        row["queue_wait"] = _seconds_between(row.get("start_time"), row.get("message_received_time"))
        row["runtime"] = _seconds_between(row.get("finish_time"), row.get("start_time"))
    return build_frame(rows, EXECUTION_COLUMNS)


def workers_frame(items: Iterable[Worker | Mapping[str, Any]]) -> pd.DataFrame:
    """One row per worker (columns :data:`WORKER_COLUMNS`)."""
    return build_frame(_dicts(items), WORKER_COLUMNS)


def nonces_frame(items: Iterable[Nonce | Mapping[str, Any]], *, reveal: bool = False) -> pd.DataFrame:
    """One row per nonce (columns :data:`NONCE_COLUMNS`).

    A nonce id is a credential, so the ``id`` column shows only its last four characters (``*****ZV1x``) and a
    displayed or saved frame gives nothing away. ``reveal=True`` puts the raw ids in the column, for code that
    hands a nonce out; the :class:`~swan_jupyter.actors.Nonce` objects from ``client.list_nonces`` also carry
    them (``nonce.id``) while masking them in their own display.
    """
    from ..redact import mask

    rows = _dicts(items)
    if not reveal:
        rows = [{**row, "id": mask(row["id"], keep=4) if row.get("id") else row.get("id")} for row in rows]
    return build_frame(rows, NONCE_COLUMNS)


def permissions_frame(permissions: Mapping[str, str]) -> pd.DataFrame:
    """One row per user: ``user``, ``level``."""
    return build_frame([{"user": u, "level": lvl} for u, lvl in permissions.items()], PERMISSION_COLUMNS)


def aliases_frame(items: Iterable[Alias | Mapping[str, Any]]) -> pd.DataFrame:
    """One row per alias: ``alias``, ``actor_id``, ``owner``."""
    return build_frame(_dicts(items), ALIAS_COLUMNS)


def search_frame(kind: str, items: Iterable[Model | Mapping[str, Any]]) -> pd.DataFrame:
    """A search page as a frame: the typed columns of ``kind`` (actors, executions, workers), else as sent."""
    rows = _dicts(items)
    if kind == "actors":
        return build_frame(rows, ACTOR_COLUMNS)
    if kind == "workers":
        return build_frame(rows, WORKER_COLUMNS)
    if kind == "executions":
        return build_frame([_metric_row(r) for r in rows], METRIC_COLUMNS)
    import pandas as pd

    return pd.DataFrame(rows)


def _metric_row(info: Model | Mapping[str, Any], actor_id: str | None = None) -> dict[str, Any]:
    get: Callable[[str], Any]
    if isinstance(info, Mapping):
        get = info.get
    else:
        model = info

        def get(name: str) -> Any:
            return getattr(model, name, None)

    received, started, finished = get("message_received_time"), get("start_time"), get("finish_time")
    return {
        "actor_id": get("actor_id") or actor_id, "execution_id": get("id"), "status": get("status"),
        "executor": get("executor"), "worker_id": get("worker_id"), "cpu": get("cpu"), "io": get("io"),
        "runtime": get("runtime"), "message_received_time": received, "start_time": started,
        "finish_time": finished, "queue_wait": _seconds_between(started, received),
        "turnaround": _seconds_between(finished, received), "exit_code": get("exit_code"),
    }


class _Progress:
    """A tqdm bar that appears only once the work has lasted ``after`` seconds (and is not finished)."""

    def __init__(self, after: float, desc: str) -> None:
        self.after = after
        self.desc = desc
        self.started = time.monotonic()
        self.done = 0
        self.total = 0
        self.bar: Any = None

    def add_total(self, n: int) -> None:
        self.total += n
        if self.bar is not None:
            self.bar.total = self.total
            self.bar.refresh()

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.after >= 0 and time.monotonic() - self.started > self.after and self.done < self.total:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total, initial=self.done, desc=self.desc, unit="exec")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _resolve_actors(client: Actors, actors: ActorSelection, failures: dict[str, str]) -> list[str] | None:
    """Actor ids to include (None = every actor the caller can see)."""
    if actors is None:
        return None
    if isinstance(actors, str):
        actors = [actors]
    if isinstance(actors, Mapping):
        return [a.id for a in client.search_all("actors", actors) if getattr(a, "id", None)]
    if callable(actors):
        predicate = actors
        return [a.id for a in client.list() if a.id and predicate(a)]
    wanted = list(dict.fromkeys(str(a) for a in actors))
    known = {a.id for a in client.list() if a.id}
    ids: list[str] = []
    for ref in wanted:
        if ref in known:
            ids.append(ref)
            continue
        try:  # an alias, or an actor shared with you that the listing does not show
            actor = client.get(ref)
        except Exception as exc:
            failures[ref] = str(exc)
            continue
        if actor.id:
            ids.append(actor.id)
    return list(dict.fromkeys(ids))


def _search_rows(
    client: Actors, ids: list[str] | None, page_size: int, pool: ThreadPoolExecutor, progress: _Progress,
    failures: dict[str, str],
) -> list[dict[str, Any]]:
    """Every execution through ``/actors/search/executions``, pages fetched concurrently."""
    groups: list[dict[str, Any]] = [{}] if ids is None else [
        {"actor_id.in": json.dumps(ids[i:i + 50])} for i in range(0, len(ids), 50)
    ]
    if ids is not None and not ids:
        return []
    rows: dict[str, dict[str, Any]] = {}
    firsts = list(pool.map(lambda f: client.search("executions", f, limit=page_size, skip=0), groups))
    jobs = {}
    for filters, first in zip(groups, firsts, strict=True):
        total = first.total_count if first.total_count is not None else len(first)
        progress.add_total(total)
        for item in first:
            rows[str(item.id)] = _metric_row(item)
        progress.update(len(first))
        if first.total_count is None and len(first) == page_size:
            # No total from the server: walk the pages one after the other.
            for item in client.search_all("executions", filters, page_size=page_size):
                rows[str(item.id)] = _metric_row(item)
            continue
        for skip in range(len(first), total, page_size):
            jobs[pool.submit(client.search, "executions", filters, page_size, skip)] = skip
    for future in as_completed(jobs):
        try:
            page = future.result()
        except Exception as exc:
            failures[f"search page skip={jobs[future]}"] = str(exc)
            continue
        for item in page:
            rows[str(item.id)] = _metric_row(item)
        progress.update(len(page))
    return list(rows.values())


def _detail_rows(
    client: Actors, ids: list[str] | None, pool: ThreadPoolExecutor, progress: _Progress, failures: dict[str, str],
) -> list[dict[str, Any]]:
    """Every execution through the summary of each actor, then one GET per execution, concurrently."""
    actor_ids = ids if ids is not None else [a.id for a in client.list() if a.id]
    pairs: list[tuple[str, str]] = []
    summaries = {pool.submit(client.list_executions, a): a for a in actor_ids}
    for done in as_completed(summaries):
        actor_id = summaries[done]
        try:
            summary = done.result()
        except Exception as exc:  # recorded, never dropped silently
            failures[actor_id] = str(exc)
            continue
        pairs += [(actor_id, str(e.id)) for e in summary.executions if e.id]
    progress.add_total(len(pairs))
    rows: list[dict[str, Any]] = []
    futures = {pool.submit(client.get_execution, a, e): (a, e) for a, e in pairs}
    for future in as_completed(futures):
        actor_id, execution_id = futures[future]
        try:
            rows.append(_metric_row(future.result(), actor_id))
        except Exception as exc:
            failures[execution_id] = str(exc)
        progress.update(1)
    return rows


def execution_metrics(
    client: Actors,
    actors: ActorSelection = None,
    *,
    max_workers: int = 16,
    progress_after: float = 2.0,
    page_size: int = 10_000,
    method: str = "auto",
) -> pd.DataFrame:
    """One row per execution of the selected actors, with its metrics (columns :data:`METRIC_COLUMNS`).

    :param actors: None (every actor you can read), an id or alias, a list of them, a dict of actor search
        filters (``{"image": "abacosamples/wc"}``), or a predicate on :class:`~swan_jupyter.actors.Actor`.
    :param max_workers: concurrent requests (over the client's pooled connections).
    :param progress_after: seconds before a progress bar appears (negative: never).
    :param page_size: records per search page (large pages mean few round trips; Abaco sets no maximum).
    :param method: ``"search"`` (``/actors/search/executions``, paged with ``skip``), ``"details"`` (each
        actor's summary, then one GET per execution) or ``"auto"`` (search, falling back to details when the
        server has no search API).

    Columns: ``actor_id, execution_id, status, executor, worker_id, cpu`` (ns), ``io`` (bytes received),
    ``runtime`` (s), ``message_received_time, start_time, finish_time`` (UTC), ``queue_wait`` and
    ``turnaround`` (timedeltas), ``exit_code``. Rows are sorted by actor and message time. Anything that could
    not be fetched is listed in ``frame.attrs["failures"]`` (``{id: error}``) and announced with a
    ``RuntimeWarning``; ``frame.attrs["method"]`` says how the rows were fetched.
    """
    from ..errors import NotFoundError, RemoteError, ValidationError

    if method not in ("auto", "search", "details"):
        raise ValidationError(f"Unknown method {method!r}.", hint='Use "auto", "search" or "details".')
    if page_size < 1:
        raise ValidationError("page_size must be at least 1.")
    failures: dict[str, str] = {}
    ids = _resolve_actors(client, actors, failures)
    progress = _Progress(progress_after, "executions")
    used = method
    with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="swan-metrics") as pool:
        try:
            if method == "details":
                rows = _detail_rows(client, ids, pool, progress, failures)
            else:
                try:
                    rows = _search_rows(client, ids, page_size, pool, progress, failures)
                    used = "search"
                except (NotFoundError, RemoteError) as exc:
                    if method == "search" or (exc.status not in (404, 405, 501)):
                        raise
                    used = "details"
                    rows = _detail_rows(client, ids, pool, progress, failures)
        finally:
            progress.close()
    rows.sort(key=lambda r: (r["actor_id"] or "", r["message_received_time"] is None,
                             r["message_received_time"] or 0, r["execution_id"] or ""))
    frame = build_frame(rows, METRIC_COLUMNS)
    frame.attrs["failures"] = failures
    frame.attrs["method"] = used
    if failures:
        warnings.warn(
            f"{len(failures)} actor(s)/execution(s) could not be fetched; see frame.attrs['failures'].",
            RuntimeWarning, stacklevel=2,
        )
    return frame


__all__ = [
    "ACTOR_COLUMNS", "ALIAS_COLUMNS", "EXECUTION_COLUMNS", "METRIC_COLUMNS", "NONCE_COLUMNS", "PERMISSION_COLUMNS",
    "WORKER_COLUMNS", "actors_frame", "aliases_frame", "execution_metrics", "executions_frame", "nonces_frame",
    "permissions_frame", "search_frame", "workers_frame",
]
