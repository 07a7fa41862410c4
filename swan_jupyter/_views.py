"""The views the client core hands its results to, so that the core never imports them.

The core (:mod:`swan_jupyter.actors`) knows nothing of pandas frames or widgets. Where one of its public
methods answers with a view, :meth:`FunctionHandle.map <swan_jupyter.actors.functions.FunctionHandle.map>`'s
DataFrame, it asks the :class:`Views` installed here. ``swan_jupyter/__init__.py`` installs the package's own
(:mod:`swan_jupyter._package_views`); Python runs it before any submodule, so they are always there. A test or
an application may install others with :func:`install`.
"""

from __future__ import annotations

from typing import Any, Protocol

from .errors import ConfigurationError


class Views(Protocol):
    """What the core asks of the view layer."""

    def map_frame(self, outcomes: list[Any], *, ordered: bool) -> Any:
        """The frame of a map: one row per :class:`~swan_jupyter.actors.functions.CallOutcome`."""

    def function_metrics(self, handle: Any, **options: Any) -> Any:
        """The execution metrics of a function handle's actor, with each call's outcome."""

    def function_explorer(self, handle: Any) -> Any:
        """The execution explorer on a function handle's actor."""


_installed: list[Views] = []


def install(views: Views) -> None:
    """Make ``views`` the ones the core hands its results to (in place of those installed before)."""
    _installed[:] = [views]


def views() -> Views:
    """The views installed (by ``swan_jupyter/__init__.py``, unless something else replaced them)."""
    if not _installed:
        raise ConfigurationError("No views are installed for the client core to hand its results to.",
                                 hint="Import the package (import swan_jupyter) or call swan_jupyter._views.install.")
    return _installed[0]


__all__ = ["Views", "install", "views"]
