"""The IPython layer: magics that parse arguments, call the client core and display the result.

``load(ip)`` registers every magics class; ``unload(ip)`` removes them again (IPython has no public API for
that, so the names are taken out of the magics manager, the class out of its registry, and the instances out
of ``shell.configurables``). Both are idempotent, so ``%reload_ext swan_jupyter`` works any number of times.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from ..display import Notice
from ..sandbox_link import set_notice_handler
from ..session import reset_default_session
from . import _listing
from ._render import install, uninstall

#: Every magics class of the extension, as ``"module:Class"`` (imported when the extension loads).
MAGICS_CLASSES: tuple[str, ...] = (
    "swan_jupyter.magics.core:SwanMagics",
    "swan_jupyter.magics.orchestrator:OrchestratorMagics",
    "swan_jupyter.magics.actors:ActorMagics",
    "swan_jupyter.magics.functions:FunctionMagics",
)


def _classes() -> list[type]:
    out = []
    for spec in MAGICS_CLASSES:
        module_name, _, name = spec.partition(":")
        out.append(getattr(importlib.import_module(module_name), name))
    return out


#: The cell magics whose ``--help`` alone in a cell (no body) shows the help.
CELL_MAGICS = ("actor_send", "actor_function", "swan_deploy")
_HELP_CELL = re.compile(r"^\s*%%(" + "|".join(CELL_MAGICS) + r")\b.*\s(--help|-h)\b")


def help_with_empty_body(lines: list[str]) -> list[str]:
    """An input transformer: ``%%actor_send --help`` with an empty body gets a blank body line, so IPython
    passes it to the magic (which shows its help) instead of refusing "the cell body is empty"."""
    if lines and _HELP_CELL.match(lines[0]) and not "".join(lines[1:]).strip():
        return [lines[0].rstrip("\n") + "\n", "\n"]
    return lines


def _displaylimit(ip: Any) -> int | None:
    """``SwanMagics.displaylimit`` of shell ``ip``; None while the magics are not loaded there."""
    from .core import swan_magics

    cfg = swan_magics(ip)
    return None if cfg is None else int(cfg.displaylimit)


def load(ip: Any) -> None:
    """Register the magics on shell ``ip`` (replacing any earlier registration) and mask secrets in tracebacks."""
    unload(ip)
    for cls in _classes():
        ip.register_magics(cls)
    install(ip)
    _listing.install(ip, lambda: _displaylimit(ip))
    cleanup = getattr(ip, "input_transformers_cleanup", None)
    if isinstance(cleanup, list):
        cleanup.append(help_with_empty_body)
    set_notice_handler(show_notice)


def show_notice(message: str) -> None:
    """Display ``message`` as information in the cell's output (the sandbox notice)."""
    from IPython.display import display

    display(Notice(message))


def unload(ip: Any) -> None:
    """Remove every magic, configurable and session state this extension registered on ``ip``."""
    uninstall(ip)
    _listing.uninstall(ip)
    cleanup = getattr(ip, "input_transformers_cleanup", None)
    if isinstance(cleanup, list) and help_with_empty_body in cleanup:
        cleanup.remove(help_with_empty_body)
    set_notice_handler(None)
    manager = ip.magics_manager
    names = {spec.partition(":")[2] for spec in MAGICS_CLASSES}
    for cls_name in names:
        instance = manager.registry.pop(cls_name, None)
        if instance is None:
            continue
        for kind in ("line", "cell"):
            for magic_name in list(instance.magics.get(kind, {})):
                table = manager.magics[kind]
                bound = table.get(magic_name)
                if bound is not None and getattr(bound, "__self__", None) is instance:
                    del table[magic_name]
        if instance in ip.configurables:
            ip.configurables.remove(instance)
        closer = getattr(instance, "close", None)
        if callable(closer):
            closer()
    reset_default_session()
