"""``display.Displayable`` (issue 23 §4): rendered once per display, the include/exclude protocol honoured, a
one-line ``repr()``; ``display.Rich`` still works, with a DeprecationWarning."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from swan_jupyter import display
from swan_jupyter.display import Notice, kv_text


class Counted(display.Displayable):
    """Counts its renderings."""

    def __init__(self) -> None:
        self.calls = {"text": 0, "html": 0}

    def _repr_text_(self) -> str:
        self.calls["text"] += 1
        return kv_text("Counted thing", {"alpha": "1", "beta": "2"})

    def _repr_html_(self) -> str:
        self.calls["html"] += 1
        return "<b>counted</b>"


def test_the_bundle_honours_include_and_exclude_and_renders_each_type_once() -> None:
    shown = Counted()
    assert shown._repr_mimebundle_() == {"text/plain": str(shown), "text/html": "<b>counted</b>"}
    shown.calls.update(text=0, html=0)
    assert shown._repr_mimebundle_(include=["text/plain"]) == {"text/plain": str(shown)}
    assert shown.calls["html"] == 0  # not asked for, not rendered
    shown.calls.update(text=0, html=0)
    assert shown._repr_mimebundle_(exclude=["text/plain"]) == {"text/html": "<b>counted</b>"}
    assert shown.calls == {"text": 0, "html": 1}


def test_repr_is_one_line_and_str_is_the_text_block() -> None:
    shown = Counted()
    assert "\n" in str(shown) and str(shown).startswith("Counted thing")
    text = repr(shown)
    assert "\n" not in text and text.startswith("<Counted") and "Counted thing" in text and "beta" in text
    long = Notice("x" * 5000)
    assert "\n" not in repr(long) and len(repr(long)) <= display.MAX_REPR + 20


def test_a_real_shell_displays_it_within_the_active_types(ip: Any) -> None:
    shown = Counted()
    data, _meta = ip.display_formatter.format(shown, include=["text/plain"])
    assert data == {"text/plain": str(shown)} and shown.calls["html"] == 0


def test_rich_is_a_deprecated_alias() -> None:
    with pytest.warns(DeprecationWarning, match="Displayable"):
        old = display.Rich
    assert old is display.Displayable
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from swan_jupyter.display import Displayable  # the new name warns of nothing

        assert Displayable is old


def test_every_widget_displays_through_one_delegation() -> None:
    """Issue 23 §4: the widget objects each copied the same ``_repr_mimebundle_``; one base holds it now, and it
    hands IPython's include/exclude to the ipywidgets tree."""
    import ipywidgets

    from swan_jupyter.widgets._base import WidgetView
    from swan_jupyter.widgets.actor_form import ActorForm
    from swan_jupyter.widgets.confirm import ConfirmAction, PaymentConfirmation
    from swan_jupyter.widgets.deploy_form import DeployForm
    from swan_jupyter.widgets.explorer import ExecutionExplorer
    from swan_jupyter.widgets.message_form import ActorMessageForm
    from swan_jupyter.widgets.status import DeploymentStatus

    for cls in (ActorForm, ConfirmAction, PaymentConfirmation, DeployForm, ExecutionExplorer, ActorMessageForm,
                DeploymentStatus):
        assert cls._repr_mimebundle_ is WidgetView._repr_mimebundle_, cls

    view = WidgetView()
    view.widget = ipywidgets.HTML("hello")
    bundle = view._repr_mimebundle_(include=["text/plain"])
    assert bundle == view.widget._repr_mimebundle_(include=["text/plain"])
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == view.widget.model_id
