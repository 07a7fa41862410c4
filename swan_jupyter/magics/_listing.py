"""``SwanMagics.displaylimit``: a listing frame displays at most that many rows (jupysql's ``displaylimit``).

Every magic's answer goes through :func:`~swan_jupyter.magics.core.store`, which passes a DataFrame to
:func:`remember`. The frame itself stays whole (``df = %actors list`` holds every row); only its display is cut.
:func:`install` (``%load_ext``) registers a mimebundle printer for ``pandas.DataFrame`` on the shell's display
formatter, by name, so loading the extension does not import pandas. The printer answers for the frames the magics
returned (and only while they live), when they have more rows than the shell's ``displaylimit``: the first rows in
pandas' own text and HTML, and a line saying how many rows were left out and how to see them all. For any other
frame, or with ``displaylimit = 0``, it answers nothing and pandas displays the frame as always.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from ..display import esc

#: ``pandas.DataFrame``'s module as IPython looks it up: ``pandas.core.frame``, or ``pandas`` (pandas 3 sets it).
_NAMES = (("pandas.core.frame", "DataFrame"), ("pandas", "DataFrame"))
#: The frames the magics returned, by ``id`` (a DataFrame is not hashable); an entry goes when its frame does.
_LISTINGS: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()


def remember(value: Any) -> None:
    """Note ``value`` as a listing frame if it is a pandas DataFrame (anything else is left alone)."""
    if (type(value).__name__, type(value).__module__.partition(".")[0]) == ("DataFrame", "pandas"):
        _LISTINGS[id(value)] = value


def is_listing(frame: Any) -> bool:
    """Whether ``frame`` is a frame a magic returned (and so displays within ``displaylimit``)."""
    return _LISTINGS.get(id(frame)) is frame


def note(shown: int, total: int) -> str:
    """The line under a cut listing: what is shown, what was left out, and how to see all of it."""
    return (f"{shown} of {total} rows shown ({total - shown} left out, SwanMagics.displaylimit = {shown}); the "
            "frame holds every row: %config SwanMagics.displaylimit = 0 displays them all.")


def limited_bundle(frame: Any, limit: int) -> dict[str, str] | None:
    """The text and HTML of the first ``limit`` rows of ``frame`` and :func:`note`; None when nothing is cut."""
    total = len(frame)
    if limit <= 0 or total <= limit:
        return None
    head = frame.head(limit)
    line = note(limit, total)
    return {"text/plain": f"{head!r}\n\n{line}",
            "text/html": f"{head._repr_html_()}<p class='swan-jupyter swan-displaylimit'>{esc(line)}</p>"}


def install(shell: Any, limit: Callable[[], int | None]) -> None:
    """Display the listing frames of ``shell`` within ``limit()`` rows (``SwanMagics.displaylimit``; None while
    the magics are not loaded) (idempotent)."""
    formatter = getattr(getattr(shell, "display_formatter", None), "mimebundle_formatter", None)
    if formatter is None:
        return

    def printer(frame: Any, include: Any = None, exclude: Any = None) -> dict[str, str] | None:
        rows = limit()
        if rows is None or not is_listing(frame):
            return None
        return limited_bundle(frame, rows)

    printer._swan_displaylimit = True  # type: ignore[attr-defined]
    for module, name in _NAMES:
        formatter.for_type_by_name(module, name, printer)


def uninstall(shell: Any) -> None:
    """Undo :func:`install`: pandas frames display as pandas displays them."""
    formatter = getattr(getattr(shell, "display_formatter", None), "mimebundle_formatter", None)
    if formatter is None:
        return
    for key in _NAMES:
        if getattr(formatter.deferred_printers.get(key), "_swan_displaylimit", False):
            del formatter.deferred_printers[key]
    typed = {cls: f for cls, f in formatter.type_printers.items() if getattr(f, "_swan_displaylimit", False)}
    for cls in typed:  # once a DataFrame was displayed, IPython moved the printer to the type table
        del formatter.type_printers[cls]
