"""DataFrame builders: listings of tasks, actors, workers, nonces, executions as pandas DataFrames.

Every builder declares its columns with a :class:`Column` (name and kind), so the column order and dtypes are
stable whatever the server sends:

========== =========================================================================================
kind       pandas dtype
========== =========================================================================================
``str``    ``string`` (pandas' nullable string)
``int``    ``Int64`` (nullable integer)
``float``  ``Float64`` (nullable float)
``bool``   ``boolean`` (nullable boolean)
``time``   ``datetime64[ns, UTC]``; Abaco's ``"None"`` strings, empty values and garbage become ``NaT``
``cat``    ``category`` (with the declared categories, so value counts include zeros)
``dur``    ``timedelta64[ns]`` from seconds
``obj``    ``object`` (exact integers such as wei amounts, nested structures)
========== =========================================================================================

pandas is imported when a frame is built, never when swan_jupyter is imported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

Kind = Literal["str", "int", "float", "bool", "time", "cat", "dur", "obj"]

_MISSING_STRINGS = frozenset({"", "None", "none", "null", "NULL", "NaT", "nan"})


@dataclass(frozen=True)
class Column:
    """One column of a frame: its name, its kind (see the module docstring) and, for ``cat``, its categories."""

    name: str
    kind: Kind = "str"
    categories: Sequence[str] = ()
    #: What the column holds, for the documentation.
    doc: str = ""


def to_utc(values: Iterable[Any]) -> pd.Series:
    """Parse timestamps to UTC; missing values, ``"None"`` and unparseable text become ``NaT``.

    Accepts ISO 8601 with or without offset (naive times are taken as UTC), Abaco's display form with its
    quirks (``...:41.591Z``, ``...:06.5Z00``, ``2Z-01-10T...``, see :func:`~swan_jupyter.actors.models.parse_time`),
    RFC 1123, datetimes and numbers (Unix seconds). Text is parsed in one vectorised pass; only what that pass
    cannot read goes through ``parse_time`` one by one, so ten thousand times take milliseconds.
    """
    import numpy as np
    import pandas as pd

    from ..actors.models import parse_time

    items = values if isinstance(values, list) else list(values)
    out = np.full(len(items), np.datetime64("NaT", "ns"), dtype="datetime64[ns]")
    text_at: list[int] = []
    texts: list[str] = []
    slow_at: list[int] = []
    for i, v in enumerate(items):
        if v is None:
            continue
        if isinstance(v, str):
            t = v.strip()
            if t in _MISSING_STRINGS:
                continue
            text_at.append(i)
            # Abaco writes isoformat().replace("000", "Z"): undo it (a real ISO "Z" suffix falls to parse_time).
            texts.append(t.replace("Z", "000"))
        else:
            slow_at.append(i)
    if texts:
        parsed = pd.to_datetime(pd.Series(texts, dtype="object"), errors="coerce", utc=True, format="ISO8601")
        naive = parsed.dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")
        out[text_at] = naive
        slow_at += [text_at[j] for j in np.flatnonzero(np.isnat(naive))]
    for i in slow_at:
        value = items[i]
        if isinstance(value, float) and value != value:  # NaN
            continue
        parsed_one = parse_time(value)
        if parsed_one is not None:
            try:
                out[i] = np.datetime64(parsed_one.replace(tzinfo=None), "ns")
            except (OverflowError, ValueError):  # outside pandas' range (years 1677-2262)
                continue
    return pd.Series(out, dtype="datetime64[ns]").dt.tz_localize("UTC")


#: The longest duration pandas holds (2**63 ns, about 292 years), in seconds, with a margin.
_MAX_TIMEDELTA_SECONDS = 9.2e9


def build_frame(rows: Iterable[Mapping[str, Any]], columns: Sequence[Column]) -> pd.DataFrame:
    """A DataFrame with exactly ``columns`` (in order, with their dtypes) from dict-like ``rows``.

    Keys missing from a row are missing values; keys not declared are dropped.
    """
    import pandas as pd

    materialised = list(rows)
    data: dict[str, pd.Series] = {}
    for col in columns:
        raw = [row.get(col.name) for row in materialised]
        data[col.name] = _convert(raw, col)
    return pd.DataFrame(data, columns=[c.name for c in columns])


def _none_if_missing(v: Any) -> Any:
    if v is None or (isinstance(v, str) and v.strip() in _MISSING_STRINGS):
        return None
    return v


def _convert(raw: list[Any], col: Column) -> pd.Series:
    import pandas as pd

    if col.kind == "time":
        return to_utc(raw)
    if col.kind in ("int", "float"):
        # Text such as "None" or "undetermined" is not a number: to_numeric makes it missing.
        numbers = pd.Series(pd.to_numeric(pd.Series(raw, dtype="object"), errors="coerce"), dtype="Float64")
        if col.kind == "float":
            return numbers
        return numbers.where(numbers.abs() < 2.0**63).round().astype("Int64")  # a server's 1e308 is missing
    if col.kind in ("str", "cat"):
        text = pd.Series(raw, dtype="object").astype("string")  # None -> <NA>, anything else -> str(value)
        text = text.mask(text.str.strip().isin(_MISSING_STRINGS))
        if col.kind == "str":
            return text
        cats = list(col.categories)
        extra = sorted(set(text.dropna().unique()) - set(cats))
        return pd.Series(pd.Categorical(text.astype("object").where(text.notna(), None), categories=cats + extra))
    values = [_none_if_missing(v) for v in raw]
    if col.kind == "bool":
        return pd.Series([None if v is None else _truthy(v) for v in values], dtype="boolean")
    if col.kind == "dur":
        secs = pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce")
        secs = pd.Series(secs, dtype="Float64").astype("float64")
        return pd.to_timedelta(secs.where(secs.abs() < _MAX_TIMEDELTA_SECONDS), unit="s")  # beyond: missing
    return pd.Series(values, dtype="object")


def _truthy(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "yes", "y")
    return bool(v)


__all__ = ["Column", "Kind", "build_frame", "to_utc"]
