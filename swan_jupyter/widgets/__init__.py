"""ipywidgets forms and live views on the client core (ipywidgets is imported only when a widget is built).

Widgets: :class:`DeployForm` (deploy a task), :class:`PaymentConfirmation` and :class:`ConfirmAction` (review,
then act once), :class:`DeploymentStatus` (a task's live status, with renew and terminate), :class:`ActorForm`
(register an actor), :class:`ActorMessageForm` (send a message to an actor) and :class:`ExecutionExplorer`
(execution metrics: filters, summary, plots).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "ActorForm": "swan_jupyter.widgets.actor_form",
    "ActorMessageForm": "swan_jupyter.widgets.message_form",
    "ConfirmAction": "swan_jupyter.widgets.confirm",
    "DeployForm": "swan_jupyter.widgets.deploy_form",
    "DeploymentStatus": "swan_jupyter.widgets.status",
    "ExecutionExplorer": "swan_jupyter.widgets.explorer",
    "PaymentConfirmation": "swan_jupyter.widgets.confirm",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'swan_jupyter.widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = sorted(_LAZY)
