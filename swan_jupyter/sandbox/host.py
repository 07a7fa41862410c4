"""The sandbox host: one background process that runs the chain and every emulated service on 127.0.0.1.

Process model::

    swan-jupyter sandbox start        -> spawns `python -m swan_jupyter.sandbox serve --state DIR` (own session)
        serve                         -> starts anvil (child), then each service's ASGI app under uvicorn,
                                         each on its own loopback port, then writes DIR/sandbox.json (0600)
    swan-jupyter sandbox stop         -> SIGTERM to the host, which stops the servers, the services (and their
                                         worker processes) and anvil (which dumps its state); anything left in
                                         the host's process group after the grace period is SIGKILLed.

State lives in DIR (``--state``, else ``$SWAN_SANDBOX_STATE``, else the user data folder): SQLite databases of
the services, anvil's state file, the wallet key, logs. A restart reuses all of it and, when they are free,
the same ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import importlib
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SandboxError
from ..sandbox_contract import DEFAULT_TIME_SCALE, DESCRIPTION_FILE, HEALTH_PATH
from ._storage import write_private
from .service import SandboxContext, SandboxService

log = logging.getLogger("swan_jupyter.sandbox")

#: Service factories, by sandbox.json key. Each is ``"module:function"`` taking a SandboxContext.
SERVICE_FACTORIES: dict[str, str] = {
    "orchestrator": "swan_jupyter.sandbox.orchestrator:create_service",
    "abaco": "swan_jupyter.sandbox.abaco:create_service",
}

DESCRIPTION = DESCRIPTION_FILE
PID_FILE = "host.pid"
LOG_FILE = "host.log"
LOCK_FILE = "host.lock"
#: The settings of the trust options, recorded in sandbox.json under ``host.options``.
TRUST_OPTIONS = ("abaco_jwt_assertion", "abaco_local_code_users")


# ---- files -------------------------------------------------------------------------------------------------


def resolve_state_dir(state: str | Path | None = None) -> Path:
    """``--state``, else ``$SWAN_SANDBOX_STATE``, else the user data folder."""
    if state:
        return Path(state).expanduser().resolve()
    env = os.environ.get("SWAN_SANDBOX_STATE")
    if env:
        return Path(env).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_data_dir("swan-jupyter")) / "sandbox"


def write_private_json(path: Path, data: Any) -> None:
    """Write JSON atomically, readable and writable by the owner only (0600)."""
    write_private(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_description(state_dir: Path) -> dict[str, Any] | None:
    """The current ``sandbox.json``, or None."""
    try:
        return dict(json.loads((state_dir / DESCRIPTION).read_text()))
    except (FileNotFoundError, ValueError):
        return None


def _read_pid(state_dir: Path) -> int | None:
    try:
        pid = int((state_dir / PID_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours counts as dead
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


# ---- health ------------------------------------------------------------------------------------------------


class HealthMiddleware:
    """ASGI wrapper answering ``GET /_sandbox/health`` for readiness checks; everything else passes through.
    ``details`` (a service's optional ``health()``) adds what the service reports about itself right now (the
    Abaco emulator: whether executions start warm or cold, and why)."""

    def __init__(self, app: Any, name: str, details: Callable[[], dict[str, Any]] | None = None) -> None:
        self.app = app
        self.name = name
        self.details = details
        self.body = json.dumps({"service": name, "status": "ok"}).encode()

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "http" and scope.get("path") == HEALTH_PATH:
            body = self.body
            if self.details is not None:
                body = json.dumps({"service": self.name, "status": "ok", **self.details()}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def check_health(url: str, timeout: float = 2.0) -> float | None:
    """Round-trip time in ms of the service's health route, or None when it does not answer."""
    return read_health(url, timeout)[0]


def read_health(url: str, timeout: float = 2.0) -> tuple[float | None, dict[str, Any]]:
    """``(round-trip ms, answer)`` of the service's health route; ``(None, {})`` when it does not answer."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url.rstrip("/") + HEALTH_PATH, timeout=timeout) as resp:
            if resp.status != 200:
                return None, {}
            body = resp.read()
    except OSError:
        return None, {}
    rtt = (time.perf_counter() - started) * 1000
    try:
        answer = json.loads(body)
    except ValueError:
        answer = {}
    return rtt, answer if isinstance(answer, dict) else {}


def _rpc_block_number(rpc_url: str, timeout: float = 2.0) -> int | None:
    req = urllib.request.Request(
        rpc_url,
        data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(json.loads(resp.read())["result"], 16)
    except (OSError, ValueError, KeyError):
        return None


# ---- serving (inside the host process) ---------------------------------------------------------------------


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        if port == 0:
            raise
        sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(False)
    return sock


def _load_factory(spec: str) -> Callable[[SandboxContext], SandboxService] | None:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None  # the service is not part of this installation
        raise
    factory: Callable[[SandboxContext], SandboxService] = getattr(module, attr)
    return factory


@contextlib.contextmanager
def _state_lock(state_dir: Path) -> Iterator[None]:
    fd = os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SandboxError(
                f"Another sandbox is already running on {state_dir}. Stop it first: swan-jupyter sandbox stop"
            ) from None
        yield
    finally:
        os.close(fd)


@dataclass
class _Running:
    service: SandboxService
    server: Any
    sock: socket.socket
    url: str


def _hosted_server_class() -> Any:
    import uvicorn

    class HostedServer(uvicorn.Server):
        """uvicorn server that leaves SIGTERM/SIGINT to the host (which stops every service in order)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return HostedServer


class _Listeners:
    """Binds each service to its loopback port (the previous one when it is free), behind the guards."""

    def __init__(self, previous: dict[str, Any], faults: Any) -> None:
        self.previous = previous
        self.faults = faults
        self.servers: list[tuple[Any, socket.socket]] = []
        self._server_class = _hosted_server_class()

    def listen(self, stack: contextlib.AsyncExitStack, name: str, app: Any,
               health: Callable[[], dict[str, Any]] | None = None) -> tuple[Any, str]:
        """A uvicorn server for ``app`` on its own socket (closed when ``stack`` closes), and its URL;
        ``health`` adds the service's own details to its health route."""
        from .connections import server_config
        from .faults import FaultMiddleware
        from .guard import LoopbackGuard
        from .limits import RequestLimits

        old = self.previous.get(name) or {}
        old_url = str(old.get("url") or old.get("rpc_url") or "")
        sock = _bind(int(old_url.rsplit(":", 1)[1]) if old_url.count(":") == 2 else 0)
        stack.callback(sock.close)
        port = sock.getsockname()[1]
        # the request limits are outermost (nothing reads more than they allow), then the guard: a foreign Host
        # or Origin reaches neither health, admin, faults nor the service
        faulty = FaultMiddleware(app, name, self.faults, jsonrpc=name == "chain")
        app = RequestLimits(LoopbackGuard(HealthMiddleware(faulty, name, health), port, name), name)
        server = self._server_class(server_config(app, name))
        self.servers.append((server, sock))
        return server, f"http://127.0.0.1:{port}"

    async def run(self, stack: contextlib.AsyncExitStack) -> None:
        """Start every server; wait until all accept connections (a server that fails to start raises)."""
        tasks = [asyncio.create_task(server.serve(sockets=[sock])) for server, sock in self.servers]

        async def stop() -> None:
            # Let every server finish its shutdown (it closes its listening socket itself) before the stack
            # closes the sockets: closed first, uvicorn's shutdown failed on a file descriptor of -1 and left
            # "Task exception was never retrieved" tracebacks in host.log. Bounded: kept-alive clients wait.
            for server, _ in self.servers:
                server.should_exit = True
            _done, pending = await asyncio.wait(tasks, timeout=5.0)
            for server, _ in self.servers:
                server.force_exit = True
            if pending:
                await asyncio.wait(pending, timeout=2.0)
            for task in tasks:
                if not task.done():
                    task.cancel()
                elif not task.cancelled() and task.exception() is not None:
                    log.warning("a sandbox server stopped with an error: %r", task.exception())

        stack.push_async_callback(stop)
        for server, _ in self.servers:
            while not server.started:
                for t in tasks:
                    if t.done() and t.exception() is not None:
                        raise RuntimeError(f"a sandbox server failed to start: {t.exception()!r}")
                await asyncio.sleep(0.01)


async def _start_chain(stack: contextlib.AsyncExitStack, listeners: _Listeners, state_dir: Path,
                       settings: dict[str, Any]) -> tuple[Any, Any]:
    """anvil with the contracts, behind an RPC proxy (so chain faults apply): ``(process, info)`` or Nones."""
    from .faults import RpcProxy

    try:
        chain_module = importlib.import_module("swan_jupyter.sandbox.chain")
    except ModuleNotFoundError:
        return None, None
    if not settings.get("chain", True):
        return None, None
    try:
        prices = importlib.import_module("swan_jupyter.sandbox.orchestrator.catalogue").chain_prices()
    except ModuleNotFoundError:
        log.warning("no orchestrator catalogue in this installation: the chain starts without hardware")
        prices = []
    process = await asyncio.to_thread(chain_module.start_chain, state_dir, prices)
    stack.push_async_callback(asyncio.to_thread, process.stop)
    proxy = RpcProxy(process.info.rpc_url)
    stack.callback(proxy.close)
    _server, proxy_url = listeners.listen(stack, "chain", proxy)
    # everyone (clients and emulators) reaches the chain through the proxy
    return process, dataclasses.replace(process.info, rpc_url=proxy_url)


async def _start_services(stack: contextlib.AsyncExitStack, listeners: _Listeners,
                          ctx: SandboxContext) -> list[_Running]:
    """Every emulator this installation has, each on its own port, stopped (15 s at most) when ``stack`` closes."""
    running: list[_Running] = []
    for name, spec in SERVICE_FACTORIES.items():
        factory = _load_factory(spec)
        if factory is None:
            log.warning("service %s is not available in this installation", name)
            continue
        service = factory(ctx)
        server, url = listeners.listen(stack, name, service.app, getattr(service, "health", None))
        await service.start(url)

        async def stop(service: SandboxService = service) -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(service.stop(), timeout=15)

        stack.push_async_callback(stop)
        running.append(_Running(service, server, listeners.servers[-1][1], url))
    return running


def _describe(state_dir: Path, time_scale: float, settings: dict[str, Any], admin_token: str,
              running: list[_Running], chain_process: Any, chain_info: Any) -> dict[str, Any]:
    """The content of ``sandbox.json``."""
    description: dict[str, Any] = {
        "host": {"pid": os.getpid(), "started_at": time.time(), "state_dir": str(state_dir),
                 "time_scale": time_scale, "admin_token": admin_token,
                 "options": {k: settings[k] for k in TRUST_OPTIONS if k in settings}},
    }
    for r in running:
        description[r.service.name] = {**r.service.describe(), "url": r.url}
    if chain_info is not None and chain_process is not None:
        description["chain"] = {
            "rpc_url": chain_info.rpc_url, "node_url": chain_process.info.rpc_url, "chain_id": chain_info.chain_id,
            "swan_token": chain_info.swan_token, "client_payment": chain_info.client_payment,
            "wallet": {"address": chain_info.wallet_address, "private_key_file": str(chain_info.private_key_file)},
            "pid": chain_process.pid,
        }
    return description


async def _serve(state_dir: Path, time_scale: float, settings: dict[str, Any]) -> None:
    """Run the chain and every emulator until SIGTERM/SIGINT; everything started is stopped, in reverse order,
    however the start or the run ends (an ``AsyncExitStack``)."""
    from .faults import FaultState

    faults = FaultState(admin_token=secrets.token_urlsafe(24))
    faults.load_file(state_dir / "faults.json")
    stop_event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_event.set)
    listeners = _Listeners(read_description(state_dir) or {}, faults)
    async with contextlib.AsyncExitStack() as stack:
        chain_process, chain_info = await _start_chain(stack, listeners, state_dir, settings)
        ctx = SandboxContext(state_dir=state_dir, time_scale=time_scale, chain=chain_info, settings=settings)
        running = await _start_services(stack, listeners, ctx)
        await listeners.run(stack)
        write_private_json(state_dir / DESCRIPTION, _describe(state_dir, time_scale, settings, faults.admin_token,
                                                              running, chain_process, chain_info))
        log.info("sandbox ready: %s", ", ".join(f"{r.service.name} {r.url}" for r in running))
        print("SANDBOX READY", flush=True)
        await stop_event.wait()


def trust_settings(jwt_assertion: bool = False, local_code_users: str | Sequence[str] | None = None
                   ) -> dict[str, Any]:
    """The service settings of the trust options (see :data:`TRUST_OPTIONS`); raises SandboxError if invalid."""
    from .abaco.local_code import resolve_users

    try:
        users = sorted(resolve_users(local_code_users))
    except ValueError as exc:
        raise SandboxError(str(exc)) from None
    return {"abaco_jwt_assertion": bool(jwt_assertion), "abaco_local_code_users": users}


def serve(state: str | Path | None = None, *, time_scale: float = DEFAULT_TIME_SCALE, chain: bool = True,
          jwt_assertion: bool = False, local_code_users: str | Sequence[str] | None = None) -> None:
    """Run the sandbox in the foreground until SIGTERM or SIGINT (Ctrl-C). ``jwt_assertion`` and
    ``local_code_users`` are the trust options (see :func:`start`)."""
    settings = {"chain": chain, **trust_settings(jwt_assertion, local_code_users)}
    state_dir = resolve_state_dir(state)
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(state_dir, 0o700)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from .limits import RepeatFilter

    for handler in logging.getLogger().handlers:  # hostile requests must not fill the disk through the log
        handler.addFilter(RepeatFilter())
    with _state_lock(state_dir):
        (state_dir / PID_FILE).write_text(str(os.getpid()))
        try:
            asyncio.run(_serve(state_dir, time_scale, settings))
        finally:
            with contextlib.suppress(FileNotFoundError):
                (state_dir / PID_FILE).unlink()


# ---- control (from any process) ----------------------------------------------------------------------------


def serve_command(state_dir: Path, time_scale: float, chain: bool, options: dict[str, Any]) -> list[str]:
    """The command line of the background host (``options`` from :func:`trust_settings`)."""
    cmd = [sys.executable, "-m", "swan_jupyter.sandbox", "serve", "--state", str(state_dir),
           "--time-scale", str(time_scale), "--local-code-users", ",".join(options["abaco_local_code_users"])
           or "none"]
    if not chain:
        cmd.append("--no-chain")
    if options["abaco_jwt_assertion"]:
        cmd.append("--jwt-assertion")
    return cmd


def start(
    state: str | Path | None = None, *, time_scale: float = DEFAULT_TIME_SCALE, chain: bool = True,
    timeout: float = 120.0, jwt_assertion: bool = False, local_code_users: str | Sequence[str] | None = None,
) -> dict[str, Any]:
    """Start the sandbox in the background (no-op if it is already running) and return its description.

    Trust options (recorded in ``sandbox.json`` under ``host.options``): ``jwt_assertion`` accepts Abaco's
    ``X-Jwt-Assertion-<TENANT>`` header, and then only JWTs signed with the sandbox's own key (off by default:
    requests are authenticated by the tokens of ``sandbox.json`` only); ``local_code_users`` names the sandbox
    users (keys like ``user``, or usernames; ``"none"`` for nobody) who may register ``file://`` and
    ``python:`` images, which run as the local user (default ``user`` and ``admin``). A running sandbox started
    with other options is not changed: SandboxError (stop it first).
    """
    options = trust_settings(jwt_assertion, local_code_users)
    state_dir = resolve_state_dir(state)
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    pid = _read_pid(state_dir)
    if pid is not None:
        desc = read_description(state_dir)
        if desc and (desc.get("host") or {}).get("pid") == pid:
            running = (desc.get("host") or {}).get("options") or {}
            if running != options:
                raise SandboxError(f"The sandbox on {state_dir} runs with other options ({running}); stop it "
                                   "first: swan-jupyter sandbox stop")
            return desc
    env = dict(os.environ)
    if chain:
        from .chain.anvil import ANVIL_ENV_VAR, AnvilNotFoundError, find_anvil

        try:
            env[ANVIL_ENV_VAR] = str(find_anvil())  # found from the caller's folder; the host runs elsewhere
        except AnvilNotFoundError as exc:
            raise SandboxError(f"The sandbox needs its local chain: {exc}.") from None
    _reap_chain(state_dir, read_description(state_dir))
    with contextlib.suppress(FileNotFoundError):
        (state_dir / DESCRIPTION).unlink()
    cmd = serve_command(state_dir, time_scale, chain, options)
    log_path = state_dir / LOG_FILE
    with open(log_path, "ab") as log_fh:
        # cwd: the private state folder. `python -m` puts the working folder first on sys.path, and the caller's
        # (a notebook folder) may hold a uvicorn.py, a requests.py or a swan_jupyter/ that the host would import.
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log_fh, stderr=subprocess.STDOUT, start_new_session=True,
            cwd=state_dir, env=env,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            raise SandboxError(
                f"The sandbox exited during start-up (code {code}). Last lines of {log_path}:\n{_tail(log_path)}"
            )
        desc = read_description(state_dir)
        if desc and (desc.get("host") or {}).get("pid") == proc.pid:
            return desc
        time.sleep(0.05)
    _terminate_group(proc.pid, grace=5)
    raise SandboxError(f"The sandbox did not become ready in {timeout:.0f} s. See {log_path}:\n{_tail(log_path)}")


def stop(state: str | Path | None = None, *, grace: float = 30.0) -> bool:
    """Stop the sandbox of ``state``; returns False if none was running. Leaves no process behind."""
    state_dir = resolve_state_dir(state)
    description = read_description(state_dir)
    pid = _read_pid(state_dir)
    if pid is None:
        _reap_chain(state_dir, description)
        return False
    _terminate_group(pid, grace=grace)
    _reap_chain(state_dir, description)
    with contextlib.suppress(FileNotFoundError):
        (state_dir / PID_FILE).unlink()
    return True


def _reap_chain(state_dir: Path, description: dict[str, Any] | None) -> None:
    """Stop an anvil left behind by a host that died (anvil runs in its own session, outside the host's group).

    Only a process whose command line names this state folder is touched.
    """
    chain = (description or {}).get("chain") or {}
    pid = chain.get("pid")
    if not isinstance(pid, int) or not _alive(pid):
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return
    if str(state_dir) not in cmdline:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _terminate_group(pid: int, *, grace: float) -> None:
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    # whatever is left in the host's process group (a stuck worker, an orphaned anvil) goes now
    if pgid != os.getpgid(0):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def status(state: str | Path | None = None) -> dict[str, Any]:
    """Whether the sandbox runs, and the health of each endpoint (secrets not included)."""
    state_dir = resolve_state_dir(state)
    pid = _read_pid(state_dir)
    desc = read_description(state_dir) if pid else None
    report: dict[str, Any] = {"state_dir": str(state_dir), "running": bool(pid and desc), "pid": pid, "services": {}}
    if not (pid and desc):
        return report
    report["uptime_s"] = round(time.time() - float(desc["host"]["started_at"]), 1)
    report["time_scale"] = desc["host"].get("time_scale", 1.0)
    for name in SERVICE_FACTORIES:
        section = desc.get(name)
        if section:
            rtt, answer = read_health(section["url"])
            report["services"][name] = {"url": section["url"], "healthy": rtt is not None,
                                        "latency_ms": None if rtt is None else round(rtt, 2)}
            if "executions" in answer:
                report["services"][name]["executions"] = answer["executions"]
    chain = desc.get("chain")
    if chain:
        block = _rpc_block_number(chain["rpc_url"])
        report["services"]["chain"] = {"url": chain["rpc_url"], "healthy": block is not None, "block": block,
                                       "chain_id": chain.get("chain_id")}
    return report


def format_status(report: dict[str, Any]) -> str:
    """Human-readable text of :func:`status`."""
    lines = [f"state:   {report['state_dir']}"]
    if not report["running"]:
        lines.append("status:  stopped")
        return "\n".join(lines)
    lines.append(
        f"status:  running (pid {report['pid']}, up {report['uptime_s']} s, time scale {report['time_scale']})"
    )
    for name, svc in report["services"].items():
        health = "ok" if svc["healthy"] else "NOT ANSWERING"
        extra = f", block {svc['block']}" if "block" in svc and svc["block"] is not None else ""
        latency = f", {svc['latency_ms']} ms" if svc.get("latency_ms") is not None else ""
        lines.append(f"{name:13s}{svc['url']}  {health}{latency}{extra}")
        if svc.get("executions"):
            lines.append(f"{'':13s}executions: {_describe_start(svc['executions'])}")
    return "\n".join(lines)


def _describe_start(executions: dict[str, Any]) -> str:
    """How the Abaco emulator starts executions, in words."""
    if executions.get("start") == "warm":
        return (f"warm start (forked from a fork server, pid {executions.get('fork_server_pid')}, that has "
                f"{', '.join(executions.get('preloaded') or [])} imported)")
    return f"cold start (a fresh interpreter each): {executions.get('reason', 'unknown reason')}"


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
