"""The package's own views for the client core (see :mod:`swan_jupyter._views`): pandas frames from
:mod:`swan_jupyter.frames` and the explorer of :mod:`swan_jupyter.widgets`, each imported when first used."""

from __future__ import annotations

from typing import Any


class PackageViews:
    """:class:`~swan_jupyter._views.Views` built from this package's frames and widgets."""

    def map_frame(self, outcomes: list[Any], *, ordered: bool) -> Any:
        """:func:`swan_jupyter.frames.functions.map_frame`."""
        from .frames.functions import map_frame

        return map_frame(outcomes, ordered=ordered)

    def function_metrics(self, handle: Any, **options: Any) -> Any:
        """:func:`swan_jupyter.frames.functions.function_metrics`."""
        from .frames.functions import function_metrics

        return function_metrics(handle, **options)

    def function_explorer(self, handle: Any) -> Any:
        """:meth:`swan_jupyter.widgets.explorer.ExecutionExplorer.for_function`."""
        from .widgets.explorer import ExecutionExplorer

        return ExecutionExplorer.for_function(handle)


__all__ = ["PackageViews"]
