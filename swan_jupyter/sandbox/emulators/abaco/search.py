"""Search mode (spec §8.2): field filters with operator suffixes, full-text ``search``, ``skip``/``limit``."""

from __future__ import annotations

import json
import re
from typing import Any

from .wire import AbacoError, to_snake

OPS = ("eq", "neq", "lt", "lte", "gt", "gte", "in", "nin", "between", "like", "nlike")


def _coerce(value: str) -> Any:
    low = value.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    try:
        return float(value)
    except ValueError:
        pass
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _cmp(a: Any, b: Any) -> Any:
    if isinstance(a, (int, float)) and not isinstance(a, bool):
        return float(a), float(b) if isinstance(b, (int, float)) else b
    return str(a), str(b)


def _match(rec: dict[str, Any], key: str, op: str, val: Any) -> bool:
    have = rec.get(key)
    try:
        if op == "eq":
            return bool(have == val or str(have) == str(val) or _cmp(have, val)[0] == _cmp(have, val)[1])
        if op == "neq":
            return not _match(rec, key, "eq", val)
        if op in ("lt", "lte", "gt", "gte"):
            a, b = _cmp(have, val)
            return bool({"lt": a < b, "lte": a <= b, "gt": a > b, "gte": a >= b}[op])
        if op in ("in", "nin"):
            inside = have in (val if isinstance(val, list) else [val])
            return inside if op == "in" else not inside
        if op == "between":
            lo, hi = (_coerce(v) for v in str(val).split(",", 1))
            return bool(_cmp(have, lo)[0] >= _cmp(have, lo)[1] and _cmp(have, hi)[0] <= _cmp(have, hi)[1])
        found = re.search(str(val), str(have)) is not None
        return found if op == "like" else not found
    except (TypeError, ValueError, re.error):
        return False


def run_search(records: list[dict[str, Any]], query: list[tuple[str, str]], camel: bool) -> dict[str, Any]:
    """Filter, page and wrap ``records`` in the search envelope."""
    skip, limit = 0, 100
    filters: list[tuple[str, str, Any]] = []
    words: list[str] = []
    for key, value in query:
        if key == "x-nonce":
            continue
        if key in ("skip", "limit"):
            try:
                number = int(value)
            except ValueError:
                raise AbacoError(f"{key} must be a non-negative integer.") from None
            if number < 0:
                raise AbacoError(f"{key} must be a non-negative integer.")
            skip, limit = (number, limit) if key == "skip" else (skip, number)
            continue
        if key in ("search", "exactsearch"):
            parsed = _coerce(value)
            if isinstance(parsed, dict):
                filters += [(to_snake(k) if camel else k, "eq", v) for k, v in parsed.items()]
            else:
                words += [value] if key == "exactsearch" else value.split()
            continue
        name, _, op = key.rpartition(".") if key.rsplit(".", 1)[-1] in OPS else (key, "", "eq")
        filters.append((to_snake(name) if camel else name, op, _coerce(value)))
    hits = [r for r in records if all(_match(r, k, o, v) for k, o, v in filters)
            and (not words or any(w.lower() in json.dumps(r).lower() for w in words))]
    page = hits[skip:skip + limit]
    meta = {"total_count": len(hits), "records_skipped": skip, "record_limit": limit, "count_returned": len(page)}
    if camel:
        meta = {"totalCount": len(hits), "recordsSkipped": skip, "recordLimit": limit, "countReturned": len(page)}
    return {"_metadata": meta, "search": page}
