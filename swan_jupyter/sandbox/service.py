"""The contract between the sandbox host and the services it runs.

The host (:mod:`swan_jupyter.sandbox.host`) owns processes, ports, the state directory and
``sandbox.json``. A service is an ASGI application plus a little lifecycle:

* ``name``: the key of the service in ``sandbox.json`` (``"abaco"``, ``"orchestrator"``).
* ``app``: the ASGI application the host serves on its own 127.0.0.1 port.
* ``start(url)``: called once the port is bound, before the first request, with the base URL.
* ``stop()``: called on shutdown; must end every process and thread the service started.
* ``describe()``: the service's section of ``sandbox.json`` (endpoints and credentials).

The chain is not an ASGI service: it is a separate process (anvil) managed by
:mod:`swan_jupyter.sandbox.chain`, started before the services, and handed to the services that need it
through :class:`SandboxContext`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class ChainInfo:
    """What a service needs to know about the local chain (filled by the chain module).

    ``operator_private_key`` is the key of the account that deployed the contracts and may call owner-only
    functions (``sendRefund``, catalogue registration). It is an anvil development key, public by
    construction, and it is never written to ``sandbox.json``.
    """

    rpc_url: str
    chain_id: int
    swan_token: str
    client_payment: str
    wallet_address: str
    private_key_file: Path
    operator_address: str
    operator_private_key: str = field(repr=False)


@dataclass(frozen=True)
class SandboxContext:
    """Everything the host hands to a service factory."""

    state_dir: Path
    time_scale: float = 1.0
    chain: ChainInfo | None = None
    settings: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class SandboxService(Protocol):
    """One emulated HTTP service run by the sandbox host."""

    name: str

    @property
    def app(self) -> Any:  # an ASGI application
        ...

    async def start(self, url: str) -> None: ...

    async def stop(self) -> None: ...

    def describe(self) -> dict[str, Any]: ...
