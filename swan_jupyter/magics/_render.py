"""How errors look in IPython: swan_jupyter's own errors in two short lines, and no secret in any traceback.

:func:`install` (called by ``%load_ext``) wraps ``shell.InteractiveTB.structured_traceback``, which IPython and
ipykernel use for every error shown in a cell, ``%tb`` and the verbose mode (``%xmode Verbose`` prints the
values of local variables):

- the exception's own text is scrubbed in place (so the kernel's ``evalue`` is masked too), and every rendered
  line goes through :func:`~swan_jupyter.redact.redact_rendered` (only registered secret values are masked, so
  tracebacks of unrelated errors are unchanged);
- a :class:`~swan_jupyter.errors.SwanJupyterError` is shown as its two summary lines while
  ``SwanMagics.short_errors`` is on (the default) for this shell, and as a full traceback otherwise; an
  interrupt a magic handled (:class:`~swan_jupyter.magics._interrupts.KeptPlace`) as its one line.

:func:`uninstall` (``%unload_ext``) restores the shell's own method.
"""

from __future__ import annotations

from typing import Any

from ..errors import SwanJupyterError
from ..redact import redact_rendered, scrub_exception
from ._frontend import colored
from ._interrupts import KeptPlace


def _short(shell: Any) -> bool:
    from .core import swan_magics

    cfg = swan_magics(shell)
    return bool(cfg.short_errors) if cfg is not None else True


def install(shell: Any) -> None:
    """Render errors on ``shell`` as described in the module docstring (idempotent)."""
    tb = getattr(shell, "InteractiveTB", None)
    if tb is None or getattr(tb.structured_traceback, "_swan_original", None) is not None:
        return
    original = tb.structured_traceback

    def structured_traceback(etype: Any, evalue: Any, *args: Any, **kwargs: Any) -> list[str]:
        if isinstance(evalue, BaseException):
            scrub_exception(evalue)
        if isinstance(evalue, SwanJupyterError) and _short(shell):
            return evalue.summary_lines(colored(shell))
        if isinstance(evalue, KeptPlace) and _short(shell):
            return [f"Interrupted: {evalue.message}"]
        return [redact_rendered(line) for line in original(etype, evalue, *args, **kwargs)]

    structured_traceback._swan_original = original  # type: ignore[attr-defined]
    tb.structured_traceback = structured_traceback


def uninstall(shell: Any) -> None:
    """Undo :func:`install`."""
    tb = getattr(shell, "InteractiveTB", None)
    original = getattr(getattr(tb, "structured_traceback", None), "_swan_original", None)
    if tb is not None and original is not None:
        del tb.structured_traceback  # the instance attribute; the class's method shows through again
        if getattr(tb.structured_traceback, "__func__", None) is not getattr(original, "__func__", None):
            tb.structured_traceback = original
