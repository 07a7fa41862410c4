"""The Orchestrator emulator as a sandbox service (the :class:`~swan_jupyter.sandbox.service.SandboxService`).

State lives in ``STATE_DIR/orchestrator/``: ``api_key`` (mode 0600, created once) and ``orchestrator.db``
(SQLite, WAL). ``ctx.chain`` is the local chain payments are verified against (without it the catalogue and
task creation work, payments are refused); ``ctx.time_scale`` is how many task-seconds pass per real second
(see :mod:`.lifecycle`).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from ..service import SandboxContext
from .lifecycle import Clock
from .payments import ChainPayments
from .routes import OrchestratorRoutes
from .store import Store

API_KEY_FILE = "api_key"
DB_FILE = "orchestrator.db"


def load_api_key(folder: Path) -> str:
    """The emulator's API key, created on first use in ``folder/api_key`` (0600) and kept across restarts."""
    path = folder / API_KEY_FILE
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write("sk-sandbox-" + secrets.token_urlsafe(24) + "\n")
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty; delete it to get a new API key")
    return key


class OrchestratorService:
    """The Orchestrator emulator: an ASGI app plus the sandbox service lifecycle."""

    name = "orchestrator"

    def __init__(self, ctx: SandboxContext) -> None:
        if not ctx.time_scale > 0:
            raise ValueError(f"time_scale must be positive, got {ctx.time_scale!r}")
        folder = ctx.state_dir / "orchestrator"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.api_key = load_api_key(folder)
        self.store = Store(folder / DB_FILE)
        self.time_scale = float(ctx.time_scale)
        payments = ChainPayments(ctx.chain) if ctx.chain is not None else None
        self.routes = OrchestratorRoutes(self.store, payments, self.api_key, Clock(self.time_scale))
        self.url = ""

    def __repr__(self) -> str:
        return f"OrchestratorService(url={self.url!r}, time_scale={self.time_scale})"

    @property
    def app(self) -> Any:
        """The Starlette application."""
        return self.routes.app

    async def start(self, url: str) -> None:
        """Remember the base URL (job and source URLs are built from it)."""
        self.url = url.rstrip("/")
        self.routes.base_url = self.url

    async def stop(self) -> None:
        """Close the database."""
        self.store.close()

    def describe(self) -> dict[str, Any]:
        """The ``orchestrator`` section of ``sandbox.json``."""
        return {"url": self.url, "api_key": self.api_key, "time_scale": self.time_scale}


def create_service(ctx: SandboxContext) -> OrchestratorService:
    """Factory used by the sandbox host."""
    return OrchestratorService(ctx)


__all__ = ["OrchestratorService", "create_service"]
