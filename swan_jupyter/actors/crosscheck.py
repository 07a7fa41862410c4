"""Search is an optimisation, never a different answer: the executions search checked against each actor's own
listing, and what it misses fetched one execution at a time.

Abaco's search (TACC/abaco actors/models.py, ``Search``) returns only records of actors on which the caller has a
permission entry of their own: an admin, a user holding an admin role, and anyone reading an actor shared with
``ABACO_WORLD`` get an empty answer where ``GET /actors/{id}/executions`` lists everything. The executions
summary gives the ids cheaply (one request per actor), so each actor's search rows are compared with it and the
missing executions fetched by their details. :class:`Crosscheck` records, per actor, how its rows were built
(``"search"``, ``"search + details"``) and why search missed some, for the frames' ``attrs`` and their warning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..search_filters import SPECIAL, compare, read_literal, split_key
from ..transport import TokenAuth
from ._details import read_details
from .models import parse_time

if TYPE_CHECKING:
    from ._client_api import AbacoCalls

WORLD = "ABACO_WORLD"
NO_ENTRY = ("search does not see actors you read without a permission entry of your own (as an admin or through "
            "a role)")
SHARED_WITH_WORLD = "search does not see actors shared with everyone through ABACO_WORLD"
FEWER = "search returned fewer executions than the actor's own listing"


@dataclass
class Crosscheck:
    """Per actor: how its rows were built (``built``), why search missed some (``fallback``), how many were
    fetched one by one (``fetched``), and the rows fetched that way (``rows``)."""

    built: dict[str, str] = field(default_factory=dict)
    fallback: dict[str, str] = field(default_factory=dict)
    fetched: dict[str, int] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def note(self) -> str | None:
        """One sentence per reason (``"<reason>; fetched N executions one by one"``), or None."""
        counts: dict[str, int] = {}
        for actor_id, reason in self.fallback.items():
            counts[reason] = counts.get(reason, 0) + self.fetched.get(actor_id, 0)
        if not counts:
            return None
        return " ".join(f"{reason}; fetched {n} execution{'s' if n != 1 else ''} one by one."
                        for reason, n in counts.items())


def username(client: AbacoCalls) -> str | None:
    """The user the client's token names (None for a nonce or an opaque token)."""
    auth = client.transport.session.auth
    return auth.claimed_username() if isinstance(auth, TokenAuth) else None


def owned_by_caller(client: AbacoCalls, actor_ids: Iterable[str], actors: Mapping[str, Any]) -> set[str]:
    """The actors of ``actor_ids`` whose owner is the user the client's token names. Abaco gives an actor's owner
    a permission entry when it registers the actor, so search sees all of their executions: they need no
    cross-check (one summary request per actor, each a round trip to a remote Abaco). Unknown callers (a nonce,
    an opaque token) own nothing here: every actor is checked."""
    user = username(client)
    if user is None:
        return set()
    return {a for a in actor_ids if getattr(actors.get(a), "owner", None) == user}


def reason_for(client: AbacoCalls, actor_id: str, user: str | None) -> str:
    """Why search cannot see (all of) an actor's executions, from its permissions."""
    try:
        perms = client.get_permissions(actor_id)
    except Exception:
        perms = {}
    if user is not None and user in perms:
        return FEWER
    if WORLD in perms:
        return SHARED_WITH_WORLD
    return NO_ENTRY


def cross_check(client: AbacoCalls, actor_ids: Iterable[str], seen: set[str], pool: ThreadPoolExecutor,
                failures: dict[str, str], *, since: datetime | None = None,
                keep: Callable[[dict[str, Any]], bool] | None = None,
                on_total: Callable[[int], None] | None = None, on_done: Callable[[int], None] | None = None,
                ) -> Crosscheck:
    """Compare the execution ids search returned (``seen``) with each actor's listing; fetch the missing ones.

    :param since: only executions received at or after it count (the summary's whole-second times get a
        one-second margin; the fetched records decide).
    :param keep: a further test on each fetched record (the search's own filters); rows it refuses are dropped.
    :param failures: ``{id: error}`` gets the actors and executions that could not be read.
    """
    check = Crosscheck()
    listed, rows = read_details(client, actor_ids, pool, failures, since=since, skip=seen, keep=keep,
                                on_total=on_total, on_done=on_done)
    check.built.update(dict.fromkeys(listed, "search"))
    check.rows += rows
    for row in rows:
        check.fetched[row["actor_id"]] = check.fetched.get(row["actor_id"], 0) + 1
    user = username(client) if check.fetched else None
    for actor_id in check.fetched:
        check.built[actor_id] = "search + details"
        check.fallback[actor_id] = reason_for(client, actor_id, user)
    return check


# -- Abaco's search filters, applied to records fetched one by one --------------------------------------------



def _coerce(value: Any, like: Any) -> Any:
    """A filter value (text, as sent) in the type of the record's value it is compared with: a time where the
    record holds one, else as Abaco reads it (:func:`~swan_jupyter.search_filters.read_literal`)."""
    if not isinstance(value, str):
        return value
    when = parse_time(value) if isinstance(like, datetime) else None
    return when if when is not None else read_literal(value)


def _value(row: Mapping[str, Any], key: str) -> Any:
    value: Any = row
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    if isinstance(value, str) and key.endswith("_time"):
        return parse_time(value) or value
    return value


def _read(op: str, want: Any, have: Any) -> Any:
    """A filter's value read in the terms of the record's value ``have``, as :func:`compare` takes it: the items
    of ``in``/``nin``, the two ends of ``between`` ("1,5"); ValueError for a range without two ends or a
    ``like`` pattern that does not compile (no record passes those)."""
    if have is None:
        return want
    if op in ("in", "nin"):
        return [_coerce(w, have) for w in want] if isinstance(want, list) else []
    if op == "between":
        ends = str(want).split(",", 1)
        if len(ends) != 2:
            raise ValueError(f"between needs two values: {want!r}")
        return [_coerce(end, have) for end in ends]
    if op in ("like", "nlike"):
        try:
            re.compile(str(want))
        except re.error:
            raise ValueError(f"not a pattern: {want!r}") from None
    return want


def matcher(filters: Mapping[str, Any] | None) -> Callable[[dict[str, Any]], bool]:
    """A test that a record passes Abaco's search filters (snake_case keys, operators as key suffixes,
    ``search``/``exactsearch`` over the record's text), as the server applies them."""
    items = list((filters or {}).items())

    def passes(row: dict[str, Any]) -> bool:
        text = " ".join(str(v) for v in row.values() if isinstance(v, str)).lower()
        for key, raw in items:
            if key in SPECIAL and key not in ("search", "exactsearch"):
                continue
            if key == "search":
                if not any(w in text for w in str(raw).lower().split()):
                    return False
                continue
            if key == "exactsearch":
                if str(raw).lower() not in text:
                    return False
                continue
            name, op = split_key(str(key))
            have = _value(row, name)
            want = raw if isinstance(raw, list) or op in ("in", "nin", "between", "like", "nlike") else \
                _coerce(raw if isinstance(raw, str) else json.dumps(raw) if isinstance(raw, dict) else raw, have)
            if op in ("in", "nin") and isinstance(want, str):
                want = _coerce(want, None)
            if isinstance(have, int | float) and not isinstance(have, bool) and isinstance(want, int | float):
                have, want = float(have), float(want)
            try:
                read = _read(op, want, have)
            except ValueError:
                return False
            if not compare(op, have, read):
                return False
        return True

    return passes


__all__ = ["Crosscheck", "cross_check", "matcher", "reason_for", "username"]
