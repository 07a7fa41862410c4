"""swan_jupyter: drive Swan Chain's Orchestrator and Abaco actors from Jupyter.

In IPython: ``%load_ext swan_jupyter`` registers ``%swan_config``, ``%swan_deploy``, ``%swan``,
``%%actor_send``, ``%actors`` and ``%%actor_function``. Without IPython, use the client core directly::

    from swan_jupyter import Actors, Orchestrator, Session
    session = Session()                  # the active profile; the local sandbox by default
    actors = session.actors()

Importing this package is light: web3, pandas and ipywidgets are imported only when first needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._package_views import PackageViews as _PackageViews
from ._version import __version__
from ._views import install as _install_views
from .errors import (
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    PaymentError,
    PermissionDeniedError,
    ProtocolError,
    QuoteChangedError,
    RemoteError,
    RemoteFunctionError,
    RequestTimeoutError,
    SandboxError,
    SwanJupyterError,
    TransportError,
    UnknownOutcomeError,
    ValidationError,
)

if TYPE_CHECKING:
    from .actors import Actors
    from .config import Settings
    from .orchestrator import Orchestrator
    from .session import Session

_install_views(_PackageViews())  # what the client core hands a function map's rows to (see _views.py)

_LAZY = {
    "Actors": ("swan_jupyter.actors", "Actors"),
    "Orchestrator": ("swan_jupyter.orchestrator", "Orchestrator"),
    "Session": ("swan_jupyter.session", "Session"),
    "Settings": ("swan_jupyter.config", "Settings"),
    "load_settings": ("swan_jupyter.config", "load_settings"),
}


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'swan_jupyter' has no attribute {name!r}")


def load_ipython_extension(ip: Any) -> None:
    """``%load_ext swan_jupyter``: register the magics (idempotent)."""
    from .magics import load

    load(ip)


def unload_ipython_extension(ip: Any) -> None:
    """``%unload_ext swan_jupyter``: remove the magics and close connections."""
    from .magics import unload

    unload(ip)


def resource(
    api_key: str | None = None,
    service_name: str = "Orchestrator",
    *,
    login_url: str | None = None,
    url_endpoint: str | None = None,
    **settings: Any,
) -> Any:
    """swan-sdk compatible entry point: ``swan_jupyter.resource(api_key=..., service_name="Orchestrator")``.

    Returns :class:`~swan_jupyter.orchestrator.SwanSdk`, swan-sdk's names over this package's Orchestrator client
    (``.client``), so code written against swan-sdk's key functions (``create_task(...)``, ``response["id"]``,
    ``submit_payment(...)``) runs unchanged. ``url_endpoint`` (or ``login_url``) points it at another server; with
    neither, the active profile decides (the sandbox by default).
    """
    if service_name.lower() != "orchestrator":
        raise ValidationError(
            f"Unknown service_name {service_name!r}.",
            hint="swan_jupyter.resource supports service_name='Orchestrator'.",
        )
    from .config import load_settings
    from .orchestrator import Orchestrator, SwanSdk
    from .session import Session

    url = url_endpoint or login_url
    if url is None:  # the active profile (the sandbox, started if needed, by default)
        resolved = Session(**settings).settings
        return SwanSdk(Orchestrator(resolved.orchestrator_url or "", api_key or resolved.api_key, settings=resolved))
    return SwanSdk(Orchestrator(url, api_key, settings=load_settings(**settings)))


__all__ = [
    "Actors",
    "AuthenticationError",
    "ConfigurationError",
    "NotFoundError",
    "Orchestrator",
    "PaymentError",
    "PermissionDeniedError",
    "ProtocolError",
    "QuoteChangedError",
    "RemoteError",
    "RemoteFunctionError",
    "RequestTimeoutError",
    "SandboxError",
    "Session",
    "Settings",
    "SwanJupyterError",
    "TransportError",
    "UnknownOutcomeError",
    "ValidationError",
    "__version__",
    "load_ipython_extension",
    "load_settings",
    "resource",
    "unload_ipython_extension",
]
