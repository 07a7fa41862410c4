"""Ctrl-C during a long magic keeps your place: what exists goes into the variable, and one line says what
happened and how to follow it (rendered without frames by :mod:`swan_jupyter.magics._render`).

The client core raises :class:`~swan_jupyter.errors.Interrupted` carrying what was done (a paid task, the rows
fetched so far, a partial map frame, the execution a synchronous send started); a magic turns it, or a bare
``KeyboardInterrupt`` with what the magic holds, into a :class:`KeptPlace`. It is still a
``KeyboardInterrupt``, so the cell fails and Run All stops there.
"""

from __future__ import annotations

from typing import Any

from ..errors import Interrupted

#: Where the partial value goes when the magic was given no VAR.
FALLBACK_VAR = "_interrupted"


class KeptPlace(KeyboardInterrupt):
    """An interrupt a magic handled: ``message`` is the one line shown; ``var`` holds ``partial``."""

    def __init__(self, message: str, var: str | None, partial: Any) -> None:
        super().__init__(message)
        self.message = message
        self.var = var
        self.partial = partial


def kept(shell: Any, var: str | None, message: str, partial: Any = None) -> KeptPlace:
    """Store ``partial`` in ``var`` (or ``_interrupted`` when no VAR was given) and return the exception that
    says so in one line: ``raise kept(...) from None``."""
    name = None
    if partial is not None and shell is not None:
        name = var if var and var.isidentifier() else FALLBACK_VAR
        shell.push({name: partial})
    where = f" ({'kept' if name == var else 'what exists is'} in `{name}`)" if name else ""
    return KeptPlace(message + where, name, partial)


def kept_from(shell: Any, var: str | None, exc: KeyboardInterrupt, what: str = "interrupted") -> KeptPlace:
    """:func:`kept` for an interrupt raised by the client core (an :class:`Interrupted` keeps its partial);
    ``what`` is the line for a bare ``KeyboardInterrupt``."""
    if isinstance(exc, KeptPlace):
        return exc
    if isinstance(exc, Interrupted):
        return kept(shell, var, exc.message, exc.partial)
    return kept(shell, var, what)
