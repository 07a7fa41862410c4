"""Abaco's search (TACC/abaco actors/models.py, Search): filters with operators, full-text search,
``skip``/``limit`` and the envelope.

Each searchable record is a pair: the raw snake_case fields (times as naive UTC datetimes, numbers as
numbers) that filters compare, and the display form that is returned. Keys are snake_case; on camel
flavors camelCase keys are converted first. Operators are key suffixes: ``.eq .neq .lt .lte .gt .gte .in
.nin .between .like .nlike``; a plain ``key=value`` is equality. Special keys: ``search`` (words OR-ed),
``exactsearch`` (a phrase), ``skip``, ``limit`` (defaults 0 and 100) and ``x-nonce`` (ignored).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ...numbers import parse_int
from ...search_filters import MISSING, compare, read_literal, split_key
from .wire import AbacoError, Encoded, Flavor, camel_to_under

Doc = dict[str, Any]
TIME_KEYS = ("start_time", "message_received_time", "last_execution_time", "last_update_time", "StartedAt",
             "FinishedAt", "create_time", "last_health_check_time", "finish_time", "last_use_time")


_BROAD_ISO = re.compile(r"(\d{4})(?:-(\d\d)(?:-(\d\d)(?:T(?:(\d\d)(?::(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?)?)?)?)?)?"
                        r"(?:([+-])(\d\d):?(\d\d))?")
BAD_TIME = ("Inputted datetime was in an incorrect format. Please refer to docs and follow ISO 8601 formatting. "
            "e.g. '2020-05-01T14:45:41.591Z'")


def _parse_time(text: str) -> datetime:
    """A broadly conforming ISO 8601 time, as ``Search.broad_ISO_to_datetime`` accepts it (models.py master
    447-489): ``Z`` dropped, any prefix from the year down to microseconds (``2000``, ``2000-05``,
    ``2000-05-01T``, ``2000-05-01T14:45``...), an optional ``+HH:MM``/``-HHMM`` offset (``2000-05:00`` is the
    year 2000 at UTC-5). Compared as naive UTC. Anything else is refused with Abaco's ``ValueError`` text, as a
    400 where Abaco answers a 500 (the emulator keeps malformed input away from 500s)."""
    found = _BROAD_ISO.fullmatch(text.replace("Z", ""))
    if found is None:
        raise AbacoError(BAD_TIME)
    year, month, day, hour, minute, second, fraction, sign, tz_h, tz_m = found.groups()
    try:
        dt = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0),
                      int(second or 0), int((fraction or "0").ljust(6, "0")))
        if sign:
            offset = timedelta(hours=int(tz_h), minutes=int(tz_m))
            dt = (dt.replace(tzinfo=timezone(offset if sign == "+" else -offset))).astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise AbacoError(BAD_TIME) from None
    return dt


def lookup(record: Doc, name: str) -> Any:
    """A record's value at a dotted key: ``final_state.StartedAt`` is a nested path, as in Mongo."""
    value: Any = record
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def _coerce(key: str, value: str) -> Any:
    """Abaco's value coercion: ISO times for time keys, else :func:`~swan_jupyter.search_filters.read_literal`."""
    if any(t in key for t in TIME_KEYS):
        return _parse_time(value)
    return read_literal(value)


def _texts(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _texts(v)
    elif isinstance(value, list):
        for v in value:
            yield from _texts(v)


def _nonneg(name: str, value: str) -> int:
    try:
        number = parse_int(value, name, minimum=None)
    except ValueError:  # NumberError is one: ASCII digits only, at most 80
        number = -1
    if number < 0:
        raise AbacoError(f"The {name} parameter must be a non-negative integer.")
    return number


@dataclass
class Query:
    """A search's parameters, read (:func:`read_query`): paging, full-text words or phrase, and
    ``(snake_case key, operator, value)`` filters. Its ``received_since`` and ``actor_ids`` let a store read
    only what the filters can match, as Mongo's indexes would; :func:`run_query` still applies every filter."""

    skip: int = 0
    limit: int = 100
    words: list[str] = field(default_factory=list)
    phrase: str | None = None
    filters: list[tuple[str, str, Any]] = field(default_factory=list)

    def received_since(self) -> float | None:
        """The earliest message time a ``message_received_time.gte/.gt`` filter can match (Unix seconds, one
        millisecond early for the stored times' truncation); None without such a filter."""
        bounds = [want.replace(tzinfo=UTC).timestamp() - 0.001 for name, op, want in self.filters
                  if name == "message_received_time" and op in ("gte", "gt") and isinstance(want, datetime)]
        return max(bounds) if bounds else None

    def actor_ids(self) -> set[str] | None:
        """The actor ids the ``actor_id``/``actor_id.eq``/``actor_id.in`` filters allow; None without any."""
        allowed: set[str] | None = None
        for name, op, want in self.filters:
            if name != "actor_id" or op not in ("eq", "in"):
                continue
            named = {w for w in (want if op == "in" else [want]) if isinstance(w, str)}
            allowed = named if allowed is None else allowed & named
        return allowed


def _filter_value(key: str, name: str, op: str, value: str) -> Any:
    """The value a filter compares with, as Abaco coerces it (a bad regex, list or range is refused)."""
    if op in ("like", "nlike"):
        try:
            re.compile(value)
        except re.error:
            raise AbacoError(f"Invalid regular expression for {key}: {value!r}.") from None
        return value
    if op in ("in", "nin"):
        try:
            want = json.loads(value)
        except ValueError:
            raise AbacoError(f"The value of {key} must be a JSON list.") from None
        if not isinstance(want, list):
            raise AbacoError(f"The value of {key} must be a JSON list.")
        if any(t in name for t in TIME_KEYS):
            want = [_parse_time(str(v)) for v in want]
        return want
    if op == "between":
        parts = value.split(",")
        if len(parts) != 2:
            raise AbacoError(f"The value of {key} must be two values separated by a comma.")
        return [_coerce(name, p) for p in parts]
    return _coerce(name, value)


def read_query(params: list[tuple[str, str]], flavor: Flavor) -> Query:
    """The query parameters of a search, read and checked (a bad value raises :class:`AbacoError`)."""
    query = Query()
    for key, value in params:
        if key == "skip":
            query.skip = _nonneg("skip", value)
        elif key == "limit":
            query.limit = _nonneg("limit", value)
        elif key == "search":
            query.words.extend(w.lower() for w in value.split())
        elif key == "exactsearch":
            query.phrase = value.lower()
        elif key != "x-nonce":
            name, op = split_key(key)
            if flavor.camel:  # only the first segment of a dotted key (models.py master 74-80, dict_to_under)
                head, dot, tail = name.partition(".")
                name = camel_to_under(head) + dot + tail
            query.filters.append((name, op, _filter_value(key, name, op, value)))
    return query


#: A record's display form: a document, or JSON already encoded (:class:`~.wire.Encoded`), or a function making one.
Shown = Doc | Encoded | Callable[[], Doc | Encoded]
Records = Sequence[tuple[Doc | Callable[[], Doc], Shown]]


def run_search(records: Records, params: list[tuple[str, str]], flavor: Flavor) -> Doc:
    """:func:`run_query` of the request's query parameters."""
    return run_query(records, read_query(params, flavor), flavor)


def run_query(records: Records, query: Query, flavor: Flavor) -> Doc:
    """Filter, rank and page ``(raw, display)`` records; returns the search envelope's ``result``.

    Either form may be a function that builds it: ``raw`` is then built only when the search filters or
    ranks, ``display`` only for the records of the page returned (converting and formatting every record of
    a large store cost most of a search's time).
    """
    skip, limit, words, phrase, filters = query.skip, query.limit, query.words, query.phrase, query.filters
    everything = not (filters or words or phrase is not None)  # nothing to read: every record matches, in order
    matched: list[tuple[int, Shown]] = [(0, shown) for _, shown in records] if everything else []
    for stored, shown in () if everything else records:
        raw = stored() if callable(stored) else stored
        if not all(compare(op, lookup(raw, name), want) for name, op, want in filters):
            continue
        score = 0
        if words or phrase is not None:
            text = " ".join(_texts(raw)).lower()
            if phrase is not None and phrase not in text:
                continue
            score = sum(1 for w in words if w in text)
            if words and score == 0:
                continue
        matched.append((score, shown))
    if words:
        matched.sort(key=lambda item: -item[0])
    page = [shown() if callable(shown) else shown for _, shown in matched[skip:skip + limit]]
    meta = {"total_count": len(matched), "records_skipped": skip, "record_limit": limit,
            "count_returned": len(page)}
    if flavor.camel:
        meta = {"totalCount": len(matched), "recordsSkipped": skip, "recordLimit": limit,
                "countReturned": len(page)}
    return {"_metadata": meta, "search": page}
