"""Abaco's search filters (TACC/abaco actors/models.py, ``Search``): operators as key suffixes
(``runtime.gt=1``, ``status.in=[...]``), and how a record's value is compared with a filter's.

One module for both sides that apply them: the sandbox's search emulation (``sandbox/abaco/search.py``) and
the client's cross-check (``actors/crosscheck.py``), which applies the filters the server applied to the records
it had to fetch one by one. Both read a filter's text with :func:`read_literal` (times are each side's own: the
emulator by key, as Abaco does; the client in the type of the record's value), and compare with :func:`compare`.
It imports nothing of either side, so the client never imports the sandbox.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from typing import Any

#: The operators a filter key may end with; a key without one is ``eq``.
OPERATORS = ("eq", "neq", "lt", "lte", "gt", "gte", "in", "nin", "between", "like", "nlike")
#: Query keys that are not filters: full-text search, paging and the nonce.
SPECIAL = ("search", "exactsearch", "skip", "limit", "x-nonce")
#: A record without the filter's key (as Mongo sees it: matched by the negative operators only).
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()

_ORDER: dict[str, Callable[[Any, Any], Any]] = {"lt": operator.lt, "lte": operator.le, "gt": operator.gt,
                                                "gte": operator.ge}


def split_key(key: str) -> tuple[str, str]:
    """``"runtime.gt"`` -> ``("runtime", "gt")``; a key without a known operator suffix is ``(key, "eq")``."""
    name, _, op = key.rpartition(".")
    return (name, op) if name and op in OPERATORS else (key, "eq")


def read_literal(text: str) -> Any:
    """A filter's text as Abaco reads it: ``true``/``false``/``none`` (any case), a number (a float), a JSON list or
    object, else the text itself."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    try:
        return float(text)
    except ValueError:
        pass
    if text.strip()[:1] in ("[", "{"):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


def compare(op: str, have: Any, want: Any) -> bool:
    """Whether a record's value ``have`` passes ``op`` against the filter's ``want``, read already: a list for
    ``in``/``nin``, a ``(low, high)`` pair for ``between``, a valid pattern for ``like``/``nlike``.

    ``eq``/``neq`` compare anything (:data:`MISSING` equals nothing); a missing or None value passes only
    ``nin`` and ``nlike``; values that cannot be ordered against each other do not pass.
    """
    try:
        if op == "eq":
            return bool(have == want)
        if op == "neq":
            return bool(have != want)
        if have is MISSING or have is None:
            return op in ("nin", "nlike")
        if op in ("in", "nin"):
            return (have in want) == (op == "in")
        if op == "between":
            low, high = want
            return bool(low <= have <= high)
        if op in ("like", "nlike"):
            return (re.search(str(want), str(have)) is not None) == (op == "like")
        return bool(_ORDER[op](have, want))
    except (TypeError, ValueError):
        return False


__all__ = ["MISSING", "OPERATORS", "SPECIAL", "compare", "read_literal", "split_key"]
