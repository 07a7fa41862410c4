"""A :class:`Session` ties settings to clients: it resolves the profile once, finds the sandbox when the
profile is ``sandbox``, and hands out one cached client per service (so connection pools are shared).

The IPython layer keeps one default session (:func:`default_session`); scripts can create their own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .config import Settings, apply_sandbox, load_settings
from .sandbox_link import ensure_sandbox

if TYPE_CHECKING:  # imported lazily at run time
    from .actors import Actors
    from .orchestrator import Orchestrator
    from .transport import Transport


class Session:
    """Settings plus lazily built clients.

    :param settings: explicit settings; default: :func:`~swan_jupyter.config.load_settings` with ``overrides``.
    :param start_sandbox: with the sandbox profile, start the sandbox in the background if it is not running.
    :param notify: where one-line notices go (default: stderr).
    :param transport_factory: builds each client's :class:`~swan_jupyter.transport.Transport`, called as the
        class is (default: the class itself). A test passes ``functools.partial(Transport, sender=...)`` to reach
        the emulators in-process.
    :param provider_factory: ``provider_factory(settings)`` gives the web3 provider of the Orchestrator client's
        payments (default: HTTP to the settings' RPC URL).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        start_sandbox: bool = True,
        notify: Callable[[str], None] | None = None,
        transport_factory: Callable[..., Transport] | None = None,
        provider_factory: Callable[[Settings], Any] | None = None,
        **overrides: Any,
    ) -> None:
        self._explicit = settings
        self._overrides = overrides
        self._start_sandbox = start_sandbox
        self._notify = notify
        self._transport_factory = transport_factory
        self._provider_factory = provider_factory
        self._settings: Settings | None = None
        self._clients: dict[str, Any] = {}
        self._lock = threading.RLock()

    @property
    def overrides(self) -> dict[str, Any]:
        """The explicit settings this session was given or configured with (a copy)."""
        return dict(self._overrides)

    @property
    def settings(self) -> Settings:
        """The resolved settings (the sandbox's endpoints filled in for the sandbox profile)."""
        with self._lock:
            if self._settings is None:
                settings = self._explicit or load_settings(**self._overrides)
                if settings.is_sandbox and (settings.orchestrator_url is None or settings.abaco_url is None):
                    missing = [name for name, url in (("the Orchestrator", settings.orchestrator_url),
                                                      ("Abaco", settings.abaco_url)) if url is None]
                    description = ensure_sandbox(
                        settings.sandbox_state_dir, start=self._start_sandbox, notify=self._notify,
                        services=None if len(missing) == 2 else missing[0],
                    )
                    settings = apply_sandbox(settings, description)
                self._settings = settings
            return self._settings

    def configure(self, **overrides: Any) -> None:
        """Change settings (e.g. ``profile="testnet"``); clients are rebuilt on next use."""
        with self._lock:
            self._overrides.update({k: v for k, v in overrides.items()})
            self._explicit = None
            self._settings = None
            self.close()

    def actors(self) -> Actors:
        """The Abaco client for these settings (built once)."""
        with self._lock:
            if "actors" not in self._clients:
                from .actors import Actors

                self._clients["actors"] = Actors.from_settings(self.settings, transport_factory=self._transports())
            client: Actors = self._clients["actors"]
            return client

    def orchestrator(self) -> Orchestrator:
        """The Orchestrator client for these settings (built once)."""
        with self._lock:
            if "orchestrator" not in self._clients:
                from .orchestrator import Orchestrator

                settings = self.settings
                provider = None if self._provider_factory is None else self._provider_factory(settings)
                self._clients["orchestrator"] = Orchestrator.from_settings(
                    settings, transport_factory=self._transports(), provider=provider)
            client: Orchestrator = self._clients["orchestrator"]
            return client

    def _transports(self) -> Callable[..., Transport]:
        from .transport import Transport

        return self._transport_factory or Transport

    def close(self) -> None:
        """Close every client's connections."""
        with self._lock:
            for client in self._clients.values():
                close = getattr(client, "close", None)
                if close is not None:
                    close()
            self._clients.clear()

    def __repr__(self) -> str:
        state = "resolved" if self._settings is not None else "unresolved"
        return f"Session({state}, clients={sorted(self._clients)})"


_default: Session | None = None
_default_lock = threading.Lock()


def default_session() -> Session:
    """The process-wide session used by the magics and widgets."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Session()
        return _default


def reset_default_session() -> None:
    """Close and forget the default session (used by ``%unload_ext`` and tests)."""
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
        _default = None
