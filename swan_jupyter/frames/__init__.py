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


def to_utc(values: Iterable[Any]) -> pd.Series:
    """Parse timestamps to UTC; missing values, ``"None"`` and unparseable text become ``NaT``.

    Accepts ISO 8601 with or without offset (naive times are taken as UTC), Abaco's ``2024-01-01 10:00:00.123``
    form, and numbers (Unix seconds).
    """
    import pandas as pd

    cleaned: list[Any] = []
    for v in values:
        if v is None or (isinstance(v, str) and v.strip() in _MISSING_STRINGS):
            cleaned.append(None)
        elif isinstance(v, int | float) and not isinstance(v, bool):
            cleaned.append(pd.Timestamp(v, unit="s", tz="UTC"))
        else:
            cleaned.append(v)
    series = pd.to_datetime(pd.Series(cleaned, dtype="object"), errors="coerce", utc=True, format="mixed")
    return series.astype("datetime64[ns, UTC]")


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
    values = [_none_if_missing(v) for v in raw]
    if col.kind == "str":
        return pd.Series([None if v is None else str(v) for v in values], dtype="string")
    if col.kind == "int":
        return pd.Series(pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce"), dtype="Float64").round(
        ).astype("Int64")
    if col.kind == "float":
        return pd.Series(pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce"), dtype="Float64")
    if col.kind == "bool":
        return pd.Series([None if v is None else _truthy(v) for v in values], dtype="boolean")
    if col.kind == "cat":
        cats = list(col.categories)
        extra = sorted({str(v) for v in values if v is not None} - set(cats))
        return pd.Series(
            pd.Categorical([None if v is None else str(v) for v in values], categories=cats + extra)
        )
    if col.kind == "dur":
        secs = pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce")
        return pd.to_timedelta(secs, unit="s")
    return pd.Series(values, dtype="object")


def _truthy(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "yes", "y")
    return bool(v)


__all__ = ["Column", "Kind", "build_frame", "to_utc"]
