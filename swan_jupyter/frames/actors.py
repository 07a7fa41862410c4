"""DataFrames of Abaco: actors, executions, workers, nonces, permissions, aliases.

Every frame has fixed columns and dtypes (see :mod:`swan_jupyter.frames`), whatever the server's case or
flavor: times are ``datetime64[ns, UTC]`` (Abaco's time quirks and the string ``"None"`` parsed, missing
values ``NaT``), counts ``Int64``, statuses and levels ``category`` (with every known value as a category, so
``value_counts()`` includes zeros), durations ``timedelta64[ns]``.

**One execution schema.** ``%actors executions``, ``%actors metrics``, :func:`execution_metrics`,
:func:`executions_frame`, ``search_frame("executions", ...)`` and the explorer all give the columns of
:data:`EXECUTION_COLUMNS` (units in the names: ``cpu_ns``, ``io_bytes``, ``runtime_reported_s``; durations
from the timestamps at full precision)::

    from swan_jupyter.frames.actors import execution_metrics, refresh_execution_metrics
    df = execution_metrics(client)                          # every actor you can read
    df = execution_metrics(client, ["PZmwGM6voQEl5", "my-alias"])
    df = execution_metrics(client, {"image": "abacosamples/wc"})     # actors matching a search
    df = execution_metrics(client, lambda a: a.name.startswith("etl-"))
    df.groupby("actor_name")["duration"].describe()
    df = refresh_execution_metrics(client, df)              # only what is new since the newest row
    df.attrs["failures"]                                    # {actor or execution id: error text}
    df.attrs["query"]                                       # ExecutionQuery: what a refresh fetches again

The fetching itself (which actors, search or one GET per execution, threads, progress, what a refresh asks
for) is the actors core's :mod:`swan_jupyter.actors.metrics` and :mod:`swan_jupyter.actors.records`; this module
only shapes the rows it returns into DataFrames.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..actors._cases import snake_rows
from ..actors.metrics import ExecutionQuery, FetchedMetrics, fetch_newer
from ..actors.models import LEVELS
from ..actors.records import ActorSelection, ExecutionRecords, fetch_execution_records
from ..errors import Interrupted
from ..redact import mask
from . import Column, _convert, build_frame

if TYPE_CHECKING:
    import pandas as pd

    from ..actors import Actors
    from ..actors._client_api import AbacoCalls
    from ..actors.models import Actor, ActorConfig, Alias, ExecutionInfo, Model, Nonce, Worker

ACTOR_STATUSES = ("SUBMITTED", "READY", "ERROR", "SHUTTING_DOWN")
EXECUTION_STATUSES = ("SUBMITTED", "RUNNING", "COMPLETE", "ERROR")
WORKER_STATUSES = ("REQUESTED", "SPAWNER SETUP", "PULLING IMAGE", "CREATING CONTAINER", "UPDATING STORE", "READY",
                   "BUSY", "SHUTDOWN_REQUESTED", "SHUTTING_DOWN", "ERROR")
#: ``actors_frame``: one row per actor.
ACTOR_COLUMNS = [
    Column("id"), Column("name"), Column("image"), Column("owner"), Column("status", "cat", ACTOR_STATUSES),
    Column("stateless", "bool"), Column("revision", "int"), Column("max_workers", "int"), Column("hints", "obj"),
    Column("default_environment", "obj"), Column("create_time", "time"), Column("last_update_time", "time"),
    Column("status_message"),
]
#: Every execution frame: one row per execution (the README's "Execution schema" table).
EXECUTION_COLUMNS = [
    Column("actor_id", doc="the actor's id"),
    Column("actor_name", doc="the actor's name (from one listing of your actors)"),
    Column("image", doc="the actor's image"),
    Column("execution_id", doc="the execution's id"),
    Column("status", "cat", EXECUTION_STATUSES, doc="SUBMITTED, RUNNING, COMPLETE or ERROR"),
    Column("exit_code", "int", doc="the process's exit code (missing until it ends, or when undetermined)"),
    Column("executor", doc="the user who sent the message"),
    Column("worker_id", doc="the worker that ran it"),
    Column("message_received_time", "time", doc="when Abaco received the message (UTC)"),
    Column("start_time", "time", doc="when the execution started (UTC)"),
    Column("finish_time", "time", doc="when it finished (UTC)"),
    Column("duration", "dur", doc="finish_time - start_time"),
    Column("queue_wait", "dur", doc="start_time - message_received_time"),
    Column("turnaround", "dur", doc="finish_time - message_received_time"),
    Column("runtime_reported_s", "int", doc="Abaco's own runtime field: whole seconds"),
    Column("cpu_ns", "int", doc="CPU time, nanoseconds"),
    Column("io_bytes", "int", doc="I/O, bytes (Abaco: network bytes received; the sandbox: bytes read and written)"),
]
#: The same schema (the name under which it was introduced).
METRIC_COLUMNS = EXECUTION_COLUMNS
#: Wire field -> schema column, where the names differ.
_WIRE_NAMES = {"id": "execution_id", "cpu": "cpu_ns", "io": "io_bytes", "runtime": "runtime_reported_s"}
#: What ``frame.attrs["time_resolution"]`` says about the times of an execution frame.
PRECISE_TIMES = "ms (full execution records)"
SUMMARY_TIMES = ("1 s (executions summary: durations are whole seconds; execution_metrics() fetches the "
                 "millisecond records)")
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
#: ``configs_frame``: one row per actor config (a secret's value masked).
CONFIG_COLUMNS = [Column("name"), Column("is_secret", "bool"), Column("value"), Column("actors", "obj")]


def _dicts(items: Iterable[Model | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows as snake_case dicts (Abaco's time quirks are undone by :func:`~swan_jupyter.frames.to_utc`)."""
    return snake_rows(i if isinstance(i, Mapping) else i.to_dict() for i in items)


def actors_frame(items: Iterable[Actor | Mapping[str, Any]]) -> pd.DataFrame:
    """One row per actor (columns :data:`ACTOR_COLUMNS`)."""
    return build_frame(_dicts(items), ACTOR_COLUMNS)


def executions_frame(
    items: Iterable[ExecutionInfo | Mapping[str, Any]],
    actor_id: str | None = None,
    *,
    actors: Mapping[str, Actor] | None = None,
    precise: bool | None = None,
) -> pd.DataFrame:
    """One row per execution in the execution schema (:data:`EXECUTION_COLUMNS`), from records or models.

    :param items: full execution records (search items, ``get_execution``) or executions-summary items, as
        dicts (either case) or :class:`~swan_jupyter.actors.ExecutionInfo`.
    :param actor_id: fills a missing ``actor_id`` (summary items do not carry it).
    :param actors: ``{id: Actor}`` for the ``actor_name`` and ``image`` columns.
    :param precise: whether the items are full records (millisecond times). The executions summary's items
        have whole-second times and no cpu, io, runtime or exit code; ``frame.attrs["time_resolution"]`` says
        which. Default: full records when any item carries Abaco's ``runtime`` or ``executor`` field.

    ``duration`` = finish - start, ``queue_wait`` = start - received, ``turnaround`` = finish - received, at the
    times' full precision; Abaco's whole-second ``runtime`` is ``runtime_reported_s``. Rows keep their order.
    """
    rows = snake_rows(i if isinstance(i, Mapping) else i.to_dict() for i in items)
    return _execution_frame(rows, actor_id, actors or {}, precise)


def _execution_frame(
    rows: list[dict[str, Any]], actor_id: str | None, actors: Mapping[str, Actor], precise: bool | None,
) -> pd.DataFrame:
    """:func:`executions_frame` of snake_case records, built column by column (no per-row copies)."""
    import pandas as pd

    data: dict[str, pd.Series] = {}
    wire = {v: k for k, v in _WIRE_NAMES.items()}
    owners = [r.get("actor_id") or actor_id for r in rows]
    names: dict[str, tuple[Any, Any]] = {str(k): (a.name, a.image) for k, a in actors.items()}
    spans = {"duration": ("finish_time", "start_time"), "queue_wait": ("start_time", "message_received_time"),
             "turnaround": ("finish_time", "message_received_time")}
    for col in EXECUTION_COLUMNS:  # the times come before the durations computed from them
        if col.name in spans:
            later, earlier = spans[col.name]
            data[col.name] = data[later] - data[earlier]
            continue
        if col.name == "actor_id":
            raw = owners
        elif col.name in ("actor_name", "image"):
            at = 0 if col.name == "actor_name" else 1
            raw = [names.get(str(o), (None, None))[at] for o in owners]
        else:
            key = wire.get(col.name, col.name)
            raw = [r.get(key) for r in rows]
        data[col.name] = _convert(raw, col)
    frame = pd.DataFrame(data)
    if precise is None:
        precise = not rows or any(r.get("runtime") is not None or r.get("executor") is not None for r in rows)
    frame.attrs["time_resolution"] = PRECISE_TIMES if precise else SUMMARY_TIMES
    return frame


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


def configs_frame(items: Iterable[ActorConfig | Mapping[str, Any]]) -> pd.DataFrame:
    """One row per actor config: ``name``, ``is_secret``, ``value`` (masked for secrets: Abaco answers
    ciphertext there), ``actors`` (a list of ids or aliases)."""
    rows = _dicts(items)
    for row in rows:
        if isinstance(row.get("actors"), str):
            row["actors"] = [a.strip() for a in row["actors"].split(",") if a.strip()]
        if row.get("is_secret") and row.get("value"):
            row["value"] = mask(str(row["value"]))
    return build_frame(rows, CONFIG_COLUMNS)


def search_frame(kind: str, items: Iterable[Model | Mapping[str, Any]], *, client: Actors | None = None,
                 filters: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """A search page as a frame: the typed columns of ``kind`` (actors, executions, workers), else as sent.

    With ``client`` (and the search's ``filters``), an executions page is checked against the listings of the
    actors it covers (those of an ``actor_id``/``actor_id.in`` filter, else every actor you can read):
    executions Abaco's search cannot show you (actors read as an admin, through a role or ``ABACO_WORLD``) are
    fetched one by one, filtered the same way, and added; ``frame.attrs["built"]``/``["fallback"]`` say which
    actors, and one ``RuntimeWarning`` says why.
    """
    rows = _dicts(items)
    if kind == "actors":
        return build_frame(rows, ACTOR_COLUMNS)
    if kind == "workers":
        return build_frame(rows, WORKER_COLUMNS)
    if kind == "executions":
        if client is None:
            return executions_frame(rows)
        from ..actors.records import complete_search_page

        extra, built, fallback, note = complete_search_page(client, rows, filters)
        frame = executions_frame(rows + extra)
        frame.attrs.update(built=built, fallback=fallback)
        _warn_fallback(note)
        return frame
    import pandas as pd

    return pd.DataFrame(rows)


def execution_metrics(
    client: AbacoCalls,
    actors: ActorSelection = None,
    *,
    since: datetime | str | None = None,
    max_workers: int = 16,
    progress_after: float = 2.0,
    page_size: int = 10_000,
    method: str = "auto",
) -> pd.DataFrame:
    """One row per execution of the selected actors, in the execution schema (:data:`EXECUTION_COLUMNS`).

    :param actors: None (every actor you can read), an id or alias, a list of them, a dict of actor search
        filters (``{"image": "abacosamples/wc"}``), or a predicate on :class:`~swan_jupyter.actors.Actor`.
    :param since: only executions whose message arrived at or after this time (UTC datetime or ISO text).
    :param max_workers: concurrent requests (over the client's pooled connections).
    :param progress_after: seconds before a progress bar appears (negative: never).
    :param page_size: records per search page (large pages mean few round trips; Abaco sets no maximum).
    :param method: ``"search"`` (``/actors/search/executions``, paged with ``skip``), ``"details"`` (each
        actor's summary, then one GET per execution) or ``"auto"`` (search, falling back to details when the
        server has no search API).

    Rows are sorted by actor and message time. Times are the full records' (milliseconds), so ``duration``
    is exact where Abaco's ``runtime_reported_s`` says 1 for anything under a second. ``frame.attrs``:
    ``failures`` (``{id: error}``, announced with a ``RuntimeWarning``), ``method`` (how the rows were
    fetched), ``time_resolution`` and ``query`` (an :class:`~swan_jupyter.actors.metrics.ExecutionQuery`: the
    actors selected, resolved to ids, and ``since``; what :func:`refresh_execution_metrics` fetches again).
    The fetching is the core's :func:`~swan_jupyter.actors.records.fetch_execution_records`.
    """
    try:
        records = fetch_execution_records(client, actors, since=since, max_workers=max_workers,
                                          progress_after=progress_after, page_size=page_size, method=method)
    except Interrupted as exc:  # Ctrl-C: the rows fetched so far, as a frame
        raise Interrupted(exc.message, _records_frame(exc.partial)) from None
    return metrics_frame(FetchedMetrics(records, ExecutionQuery.of(records, since)))


def metrics_frame(fetched: FetchedMetrics) -> pd.DataFrame:
    """The frame of :func:`execution_metrics` from what the core fetched (rows sorted, ``attrs`` set), with one
    ``RuntimeWarning`` for failures and one for executions search could not see."""
    frame = _records_frame(fetched.records, fetched.query)
    _warn_failures(fetched.records.failures)
    _warn_fallback(fetched.records.note)
    return frame


def refresh_execution_metrics(
    client: AbacoCalls,
    frame: pd.DataFrame,
    *,
    query: ExecutionQuery | None = None,
    max_workers: int = 16,
    progress_after: float = 2.0,
    method: str | None = None,
) -> pd.DataFrame:
    """``frame`` brought up to date: only the executions newer than its newest row are fetched, and appended.

    Executions still SUBMITTED or RUNNING in ``frame`` are fetched again too (the search starts at the
    oldest of them, when that is earlier than the newest row), and their rows replaced. The actors are those
    of ``query``, by default ``frame.attrs["query"]``; a frame without one (its attrs lost to a file round trip
    or ``pd.concat``) is refused with a :class:`~swan_jupyter.errors.ValidationError`, never widened to every
    actor. Returns a new frame in the execution schema; ``frame`` is left as it was. Example::

        df = execution_metrics(client)
        ...                                          # more messages are sent
        df = refresh_execution_metrics(client, df)   # fetches only the new executions
    """
    import pandas as pd

    query = query if query is not None else frame.attrs.get("query")
    options: dict[str, Any] = {"max_workers": max_workers, "progress_after": progress_after, "method": method}
    if len(frame) == 0 or "message_received_time" not in frame:
        return metrics_frame(fetch_newer(client, query, **options))
    received = frame["message_received_time"]
    since = received.max()
    pending = ~frame["status"].astype("string").isin(["COMPLETE", "ERROR"]).fillna(False)
    if pending.any() and received[pending].notna().any():
        since = min(since, received[pending].min())
    try:
        fetched = fetch_newer(client, query, None if pd.isna(since) else since.to_pydatetime(), **options)
    except Interrupted as exc:  # Ctrl-C: the frame as it was, with the rows fetched so far
        raise Interrupted(exc.message, _merged(frame, _records_frame(exc.partial))) from None
    records = fetched.records
    merged = _merged(frame, _records_frame(records))
    merged.attrs = {**frame.attrs, "query": fetched.query,
                    "failures": {**frame.attrs.get("failures", {}), **records.failures},
                    "method": records.method, "built": {**frame.attrs.get("built", {}), **records.built},
                    "fallback": {**frame.attrs.get("fallback", {}), **records.fallback}}
    if not records.precise:
        merged.attrs["time_resolution"] = SUMMARY_TIMES
    _warn_failures(records.failures)
    _warn_fallback(records.note)
    return merged


def _merged(frame: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` that ``new`` does not replace, and ``new``'s, sorted."""
    old = frame[~frame["execution_id"].isin(new["execution_id"]).fillna(False)]
    return _sorted(_concat(old, new))


def _records_frame(records: ExecutionRecords, query: ExecutionQuery | None = None) -> pd.DataFrame:
    frame = _sorted(_execution_frame(records.rows, None, records.actors, records.precise))
    frame.attrs.update(failures=records.failures, method=records.method, built=records.built,
                       fallback=records.fallback)
    if query is not None:
        frame.attrs["query"] = query
    return frame


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows by actor, then message time (missing last), then execution id (one numpy lexsort)."""
    import numpy as np
    import pandas as pd

    actor_codes, _ = pd.factorize(frame["actor_id"], sort=True, use_na_sentinel=False)
    execution_codes, _ = pd.factorize(frame["execution_id"], sort=True, use_na_sentinel=False)
    received = frame["message_received_time"].to_numpy(dtype="datetime64[ns]").view("i8").copy()
    received[received == np.iinfo("i8").min] = np.iinfo("i8").max  # NaT last
    order = np.lexsort((execution_codes, received, actor_codes))
    out = frame.take(order).reset_index(drop=True)
    out.attrs = dict(frame.attrs)
    return out


def _concat(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Rows of both frames, with the schema's dtypes kept (categories are merged, not lost to ``object``)."""
    import pandas as pd

    if len(old) == 0:
        return new
    if len(new) == 0:
        return old
    categories = list(dict.fromkeys([*old["status"].cat.categories, *new["status"].cat.categories]))
    parts = [old.assign(status=old["status"].cat.set_categories(categories)),
             new.assign(status=new["status"].cat.set_categories(categories))]
    return pd.concat(parts, ignore_index=True)


def _warn_fallback(note: str | None) -> None:
    """One warning when search could not see some executions and they were fetched one by one."""
    if note:
        warnings.warn(f"{note} See frame.attrs['built'] and frame.attrs['fallback'].", RuntimeWarning, stacklevel=3)


def _warn_failures(failures: Mapping[str, str]) -> None:
    if failures:
        warnings.warn(
            f"{len(failures)} actor(s)/execution(s) could not be fetched; see frame.attrs['failures'].",
            RuntimeWarning, stacklevel=3,
        )


__all__ = [
    "ACTOR_COLUMNS", "ALIAS_COLUMNS", "CONFIG_COLUMNS", "EXECUTION_COLUMNS", "METRIC_COLUMNS", "NONCE_COLUMNS",
    "PERMISSION_COLUMNS", "WORKER_COLUMNS", "ActorSelection", "ExecutionQuery", "actors_frame", "aliases_frame",
    "configs_frame", "execution_metrics", "executions_frame", "metrics_frame",
    "nonces_frame", "permissions_frame", "refresh_execution_metrics", "search_frame", "workers_frame",
]
