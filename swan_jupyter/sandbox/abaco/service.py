"""The Abaco emulator as a sandbox service (:class:`~swan_jupyter.sandbox.service.SandboxService`).

State lives in ``STATE_DIR/abaco/``: ``jwt_secret`` (0600, created once; signs the users' tokens) and
``abaco.db`` (SQLite, WAL). Settings read from ``ctx.settings``: ``abaco_tenant`` (default ``dev``),
``abaco_max_content_length`` (bytes, default 500 MB), ``abaco_internal_case`` (``camel`` or ``snake`` for the
``/actors`` prefix, default camel), ``abaco_strict_auth`` (gateway-style 401 for a missing/invalid token),
``abaco_jwt_assertion`` (accept ``X-Jwt-Assertion-<TENANT>`` JWTs signed with ``jwt_secret``; default off),
``abaco_local_code_users`` (who may register ``file://``/``python:`` images, see :mod:`.local_code`),
``abaco_queues`` (the queues an actor may name, a list or ``"default, special"``; default: the reference
configuration's ``default, special``), ``abaco_warm_start`` (``false`` starts every execution cold, see
:mod:`.forkserver`; so does ``SWAN_SANDBOX_ABACO_WARM=0``). The context's ``time_scale`` shortens the
samples' fixed sleeps.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO, Any

from ..service import SandboxContext
from .app import build_app
from .auth import SANDBOX_USERS, Authenticator, Caller, load_secret, mint_token, sandbox_roles
from .core import Core
from .events import Events
from .forkserver import choose
from .local_code import resolve_users
from .runtime import Runtime
from .store import Store

DB_FILE = "abaco.db"
USER_TOKEN_LIFETIME = 365 * 86400
ACTOR_TOKEN_LIFETIME = 4 * 3600


def _lock_folder(folder: Path) -> IO[str]:
    """Hold an exclusive lock on ``folder/lock`` for the service's lifetime: two emulators on one state
    folder would share (and wipe) each other's run folders. The lock goes away with the process."""
    handle = open(folder / "lock", "a+")  # noqa: SIM115 (kept open on purpose)
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise RuntimeError(f"another Abaco emulator is using {folder}") from None
    return handle


class AbacoService:
    """The Abaco emulator: an ASGI app, a runtime of real child processes, and the service lifecycle."""

    name = "abaco"

    def __init__(self, ctx: SandboxContext) -> None:
        self.folder = ctx.state_dir / "abaco"
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock = _lock_folder(self.folder)
        self.tenant = str(ctx.settings.get("abaco_tenant", "dev"))
        self._secret = load_secret(self.folder)
        try:
            self.store = Store(self.folder / DB_FILE)
        except Exception:
            self._lock.close()
            raise
        digest = hashlib.sha256(str(self.folder.resolve()).encode()).hexdigest()[:12]
        run_root = Path(tempfile.gettempdir()) / f"abaco-{os.getuid()}-{digest}"
        try:
            self.local_code_users = resolve_users(ctx.settings.get("abaco_local_code_users"))
        except ValueError:
            self.store.close()
            self._lock.close()
            raise
        self.runtime = Runtime(self.store, self._actor_token, run_root, self.local_code_users, ctx.time_scale,
                               protect=(ctx.state_dir,), warm=choose(ctx.settings.get("abaco_warm_start")))
        self.jwt_assertion = bool(ctx.settings.get("abaco_jwt_assertion", False))
        auth = Authenticator(self._secret, bool(ctx.settings.get("abaco_strict_auth", False)), self.jwt_assertion)
        self.core = Core(self.store, self.runtime, auth, dict(ctx.settings))
        self.events = Events(self.store, self.runtime, self._may_execute)
        self.runtime.events = self.events
        self._app = build_app(self.core, self.tenant)
        self.url = ""

    def __repr__(self) -> str:
        return f"AbacoService(url={self.url!r}, tenant={self.tenant!r})"

    def _actor_token(self, user: str, tenant: str) -> str:
        return mint_token(self._secret, user, tenant.lower(), sandbox_roles(user), ACTOR_TOKEN_LIFETIME)

    def _may_execute(self, user: str, tenant: str, actor_id: str) -> bool:
        return self.core.has_level(Caller(user, tenant, sandbox_roles(user)), "actor", actor_id, "EXECUTE")

    @property
    def app(self) -> Any:
        """The Starlette application."""
        return self._app

    async def start(self, url: str) -> None:
        """Remember the base URL, recover from a previous run and start the workers of existing actors."""
        self.url = url.rstrip("/")
        self.core.base_url = self.url
        self.events.start()
        await self.runtime.start(self.url)

    async def stop(self) -> None:
        """Kill every child process, stop the workers, close the database."""
        await self.runtime.stop()
        await self.events.stop()
        self.store.close()
        self._lock.close()

    def health(self) -> dict[str, Any]:
        """What the health route adds (``swan-jupyter sandbox status`` shows it): how executions start now."""
        return {"executions": self.runtime.forkserver.describe()}

    def describe(self) -> dict[str, Any]:
        """The ``abaco`` section of ``sandbox.json``: URL, tenant and one token per sandbox user."""
        users = {
            key: {"username": name, "token": mint_token(self._secret, name, self.tenant, roles, USER_TOKEN_LIFETIME)}
            for key, (name, roles) in SANDBOX_USERS.items()
        }
        return {"url": self.url, "tenant": self.tenant, "users": users, "jwt_assertion": self.jwt_assertion,
                "local_code_users": sorted(self.local_code_users)}


def create_service(ctx: SandboxContext) -> AbacoService:
    """The factory the sandbox host calls."""
    return AbacoService(ctx)
