"""Rendering helpers: objects show as HTML in JupyterLab and as text in a terminal.

Displayed objects implement ``_repr_text_()`` and ``_repr_html_()`` and inherit :class:`Displayable`, which
builds ``_repr_mimebundle_`` from them (the idea of rich's ``JupyterMixin``: one method answers the frontend, and
renders only the types asked for), ``str()`` (the text block, what ``print`` shows) and a one-line ``repr()``.
Every value placed in HTML goes through :func:`esc`.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .errors import SwanDeprecationWarning

#: The longest ``repr()`` of a displayed object, in characters (the text block is ``str()``).
MAX_REPR = 200


def esc(value: Any) -> str:
    """HTML-escape ``str(value)``."""
    return html.escape("" if value is None else str(value), quote=True)


class Displayable:
    """Mixin: displays as text and HTML from ``_repr_text_`` and ``_repr_html_``.

    ``_repr_mimebundle_`` honours IPython's ``include``/``exclude`` and renders each type asked for once (a
    terminal asks for text only, so no HTML is built); ``str()`` is the text block and ``repr()`` one line
    (:func:`one_line`), so a list or a dict of these still reads as one line each.
    """

    def _repr_text_(self) -> str:
        raise NotImplementedError

    def _repr_html_(self) -> str:
        return f"<pre>{esc(self._repr_text_())}</pre>"

    def __str__(self) -> str:
        return self._repr_text_()

    def __repr__(self) -> str:
        return one_line(type(self).__name__, self._repr_text_())

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **_kwargs: Any) -> dict[str, str]:
        renderers: dict[str, Callable[[], str]] = {"text/plain": self._repr_text_, "text/html": self._repr_html_}
        return {mime: render() for mime, render in renderers.items()
                if (not include or mime in include) and not (exclude and mime in exclude)}


def one_line(name: str, text: str) -> str:
    """``<name: text>`` with the text's lines joined by ``; `` and cut to :data:`MAX_REPR` characters."""
    summary = "; ".join(" ".join(line.split()) for line in text.splitlines() if line.strip())
    if len(summary) > MAX_REPR:
        summary = summary[:MAX_REPR - 1] + "…"
    return f"<{name}: {summary}>"


def __getattr__(name: str) -> Any:
    if name == "Rich":  # the old name: a mixin named after a library it never used
        warnings.warn("swan_jupyter.display.Rich is deprecated: use swan_jupyter.display.Displayable.",
                      SwanDeprecationWarning, stacklevel=2)
        return Displayable
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def kv_text(title: str, rows: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> str:
    """A titled, aligned ``key  value`` text block."""
    items = list(rows.items()) if isinstance(rows, Mapping) else list(rows)
    width = max((len(k) for k, _ in items), default=0)
    lines = [title] + [f"  {k.ljust(width)}  {'' if v is None else v}" for k, v in items]
    return "\n".join(lines)


def kv_html(title: str, rows: Mapping[str, Any] | Iterable[tuple[str, Any]], *, raw_keys: Iterable[str] = ()) -> str:
    """A titled two-column HTML table; values are escaped unless their key is in ``raw_keys``."""
    raw = set(raw_keys)
    items = list(rows.items()) if isinstance(rows, Mapping) else list(rows)
    body = "".join(
        f"<tr><th style='text-align:left;padding-right:1em'>{esc(k)}</th>"
        f"<td style='text-align:left'>{v if k in raw else esc(v)}</td></tr>"
        for k, v in items
    )
    return (
        "<div class='swan-jupyter'>"
        f"<strong>{esc(title)}</strong><table style='border-collapse:collapse'>{body}</table></div>"
    )


def status_badge(status: str) -> str:
    """A small coloured label for a status word."""
    colour = {
        "success": "#2e7d32", "complete": "#2e7d32", "completed": "#2e7d32", "running": "#1565c0",
        "ready": "#2e7d32", "validated": "#2e7d32", "paid": "#2e7d32", "submitted": "#6a1b9a",
        "failed": "#c62828", "error": "#c62828", "cancelled": "#757575", "terminated": "#757575",
        "deploying": "#6a1b9a", "unpaid": "#ef6c00", "ended": "#757575", "terminating": "#757575",
    }.get(status.lower(), "#455a64")
    return (
        f"<span style='background:{colour};color:white;border-radius:3px;padding:0 4px;"
        f"font-size:90%'>{esc(status)}</span>"
    )


class Notice(Displayable):
    """A one-line informational message (blue, not the pink of stderr); text between backticks is code."""

    def __init__(self, message: str) -> None:
        self.message = message

    def _repr_text_(self) -> str:
        return self.message

    def _repr_html_(self) -> str:
        parts = esc(self.message).split("`")
        body = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
        return (
            "<div class='swan-jupyter swan-notice' style='border-left:4px solid #1565c0;background:#e3f2fd;"
            f"color:#0d2c4f;padding:4px 8px;margin:2px 0'>&#8505;&#65039; {body}</div>"
        )


def utc_text(timestamp: Any) -> str:
    """A unix timestamp as ``2026-05-01 12:00:00 UTC`` (empty for None, a non-number or a time no calendar has:
    a server's ``1e20`` or ``Infinity``)."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float) or timestamp <= 0:
        return ""
    try:
        return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, ValueError, OSError):
        return ""


def seconds_until(timestamp: Any) -> int | None:
    """Whole seconds from now until a unix ``timestamp`` (0 once past); None for a non-number or a non-finite one."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float) or not math.isfinite(timestamp):
        return None
    return max(0, int(timestamp - time.time()))


def nested_html(value: Any, depth: int = 0) -> str:
    """Readable HTML of a nested value: a dict as a two-column table, a list of dicts as a table with one row
    each, other lists one item a line; objects with ``_repr_html_`` (receipts) as themselves. Escaped."""
    if hasattr(value, "_repr_html_") and not isinstance(value, dict | list):
        return str(value._repr_html_())
    if depth > 6:
        return esc(value)
    if isinstance(value, dict):
        if not value:
            return "<i>(empty)</i>"
        rows = "".join(
            f"<tr><th style='text-align:left;vertical-align:top;padding-right:1em'>{esc(k)}</th>"
            f"<td style='text-align:left'>{nested_html(v, depth + 1)}</td></tr>" for k, v in value.items()
        )
        return f"<table style='border-collapse:collapse'>{rows}</table>"
    if isinstance(value, list | tuple):
        if not value:
            return "<i>(none)</i>"
        if all(isinstance(v, dict) for v in value):
            keys = list(dict.fromkeys(k for v in value for k in v))
            head = "".join(f"<th style='text-align:left'>{esc(k)}</th>" for k in keys)
            body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{nested_html(v.get(k), depth + 1)}</td>"
                                            for k in keys) + "</tr>" for v in value)
            return f"<table style='border-collapse:collapse'><tr>{head}</tr>{body}</table>"
        return "<br>".join(nested_html(v, depth + 1) for v in value)
    return esc(value)
