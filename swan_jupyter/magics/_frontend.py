"""Which frontend the magics talk to, and what they do where there are no widgets.

Widgets need a Jupyter kernel (ipykernel) with a comm manager: terminal IPython and other shells print a
widget as its repr (``VBox(children=(HTML(...``) and no click can ever reach it. There, a confirmation is the
quote as text and a y/N question at a real prompt (``input()``) when the terminal can answer; in a pipe, the
magic says how to go on without widgets instead. ``%config SwanMagics.widgets = "on"`` / ``"off"`` overrides
the detection (``"auto"``, the default).

Colours: error names are coloured unless the shell's colours are ``NoColor`` or a terminal shell writes to
something that is not a terminal (a pipe, a file).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

NO_WIDGETS = "no widget frontend: pass --yes within a cap (%config SwanMagics.max_auto_spend), or `%swan pay {task}`"


def _is_kernel(shell: Any) -> bool:
    return any(cls.__module__.startswith("ipykernel") for cls in type(shell).__mro__)


def _is_terminal(shell: Any) -> bool:
    return any(cls.__module__.startswith("IPython.terminal") for cls in type(shell).__mro__)


def widget_frontend(shell: Any) -> bool:
    """True when widgets displayed by ``shell`` reach a frontend that renders them (ipykernel with a comm
    manager), unless ``SwanMagics.widgets`` says otherwise."""
    from .core import swan_magics

    cfg = swan_magics(shell)
    setting = str(cfg.widgets).lower() if cfg is not None else "auto"
    if setting in ("on", "off"):
        return setting == "on"
    if shell is None or not _is_kernel(shell):
        return False
    kernel = getattr(shell, "kernel", None)
    if getattr(kernel, "comm_manager", None) is not None:
        return True
    try:
        import comm

        return comm.get_comm_manager() is not None
    except Exception:
        return False


def colored(shell: Any) -> bool:
    """Whether error names may carry ANSI colours on ``shell`` (see the module docstring)."""
    if str(getattr(shell, "colors", "")).lower() == "nocolor":
        return False
    if shell is not None and not _is_kernel(shell):
        isatty = getattr(sys.stdout, "isatty", None)
        return bool(isatty and isatty())
    return True


def can_prompt(shell: Any) -> bool:
    """A y/N question can be answered: a terminal shell reading from a terminal."""
    isatty = getattr(sys.stdin, "isatty", None)
    return _is_terminal(shell) and bool(isatty and isatty())


def ask(question: str) -> bool:
    """``question`` at a real prompt; True only for y/yes (Ctrl-C or end of input are a no)."""
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except (EOFError, KeyboardInterrupt):
        print()
        return False


def text_confirmation(shell: Any, title: str, rows: dict[str, str], question: str, action: Callable[[], Any], *,
                      refused: str, cancel: Callable[[], Any] | None = None) -> Any:
    """The confirmation of a frontend without widgets: ``title`` and ``rows`` as text, then ``question`` at a
    real prompt; yes runs ``action`` (its result is returned), no runs ``cancel`` (its result is returned).
    Without a prompt, prints ``refused`` (what to do instead) and returns None."""
    from ..display import kv_text

    print(kv_text(title, rows))
    if not can_prompt(shell):
        print(refused)
        return None
    if ask(question):
        return action()
    return cancel() if cancel is not None else None
