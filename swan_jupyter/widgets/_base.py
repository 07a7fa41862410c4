"""Plumbing shared by the widgets: background work that never blocks the kernel, and errors shown in place.

* :func:`run_background` runs slow work (HTTP calls, payments, polling) in a daemon thread, so a button's
  callback returns at once; the result or the error is handed to callbacks, never lost in the log console.
* :func:`error_html` renders an exception for an ``HTML`` widget: a swan_jupyter error as its message and hint,
  anything else with its type (internal errors are also logged with their traceback).
* :class:`WidgetView` is the base of every widget object: it displays as its ``widget`` (the ipywidgets tree).
* :class:`Busy` disables buttons (and changes their label) while work runs, so a double click cannot start the
  work twice.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ..display import esc
from ..errors import SwanJupyterError
from ..redact import redact

log = logging.getLogger("swan_jupyter.widgets")

T = TypeVar("T")


class WidgetView:
    """Base of the widget objects (forms, confirmations, live views): each builds its ipywidgets tree in
    ``self.widget`` and displays as it, include/exclude passed on as IPython gave them."""

    widget: Any

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **_kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(include=include, exclude=exclude)


def error_html(exc: BaseException) -> str:
    """An exception as a small red HTML block (no traceback, no secrets)."""
    if isinstance(exc, SwanJupyterError):
        hint = f"<div style='color:#555'>Hint: {esc(exc.hint)}</div>" if exc.hint else ""
        return (
            f"<div class='swan-error' style='color:#c62828'><b>{esc(type(exc).__name__)}</b>: "
            f"{esc(exc.message)}{hint}</div>"
        )
    log.error("internal error in a widget callback", exc_info=exc)
    return (
        f"<div class='swan-error' style='color:#c62828'><b>{esc(type(exc).__name__)}</b>: "
        f"{esc(redact(str(exc)))}<div style='color:#555'>This looks like a bug in swan_jupyter; "
        "the full traceback is in the log.</div></div>"
    )


def run_background(
    work: Callable[[], T],
    *,
    on_done: Callable[[T], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    name: str = "swan-jupyter-widget",
    synchronous: bool = False,
) -> threading.Thread | None:
    """Run ``work`` in a daemon thread; call ``on_done(result)`` or ``on_error(exc)`` from that thread.

    With ``synchronous`` the work runs in the caller's thread (tests use this to assert on the outcome).
    """

    def target() -> None:
        try:
            result = work()
        except BaseException as exc:  # rendered into the widget, never lost
            if on_error is not None:
                try:
                    on_error(exc)
                except Exception:
                    log.exception("error while rendering an error")
            else:
                log.error("unhandled error in background work", exc_info=exc)
            return
        if on_done is not None:
            try:
                on_done(result)
            except BaseException as exc:
                if on_error is not None:
                    on_error(exc)

    if synchronous:
        target()
        return None
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


class Busy:
    """Context manager: disable ``buttons`` and set a working label on the first one; restore on exit."""

    def __init__(self, buttons: Iterable[Any], label: str = "Working…") -> None:
        self.buttons = list(buttons)
        self.label = label
        self._saved: list[tuple[bool, str]] = []

    def __enter__(self) -> Busy:
        self._saved = [(b.disabled, b.description) for b in self.buttons]
        for b in self.buttons:
            b.disabled = True
        if self.buttons:
            self.buttons[0].description = self.label
        return self

    def __exit__(self, *exc: object) -> None:
        for b, (disabled, description) in zip(self.buttons, self._saved, strict=False):
            b.disabled = disabled
            b.description = description


def figure_png(fig: Any) -> bytes:
    """Render a matplotlib ``Figure`` (built without pyplot, so no GUI backend) to PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    return buffer.getvalue()
