"""Warm starts of executions: one interpreter that already imported the runner and cloudpickle forks each one.

A cold execution is a fresh ``python -I -B -u`` that imports the package and cloudpickle before the actor's code
runs: 120-170 ms of CPU, which caps a 2-core machine at about a dozen executions per second. The runtime
(:mod:`.runtime`) therefore starts executions through a **fork server** (:mod:`.images.warm`, the protocol is
described there): the same interpreter with the same flags and bootstrap, started once with the allow-listed
environment (:func:`.environment.base_environment`), cwd ``/``, standard streams on ``/dev/null`` and no
descriptor but its end of a private socket pair (no path, so no execution can reach it). Each execution is
forked from it and becomes exactly what a cold start makes: its own process and session, its own environment,
folder, umask 077, standard streams, results socket, and the Landlock boundary applied before its code runs.

**Who measures.** A forked execution is the fork server's child, not the runtime's, so the runtime cannot
``wait4`` it. The fork server does, and reports over the socket: the pid (once the child has its own session),
then the raw wait status, the ``wait4`` resource usage (cpu, block I/O) and the bytes read and written
(``/proc/<pid>/io`` of the zombie, read before it is reaped). The alternative, making the sandbox host a child
subreaper (``PR_SET_CHILD_SUBREAPER``), would make the host adopt every orphan of every descendant (anvil's
included) and need a reaper for them, and the runtime would still have to tell the server's children apart; the
server that forked the child already is its parent and knows which request it belongs to. Force-quit,
stop and the recovery after a crash are unchanged: they signal the execution's process group (its pid) and
check it by pid and start time.

**Secrets.** The server never sees an execution's environment: the runtime writes the request (environment,
folder, boundary arguments) into an anonymous memory file (``memfd``) whose descriptor travels with the spawn
message, and only the forked child reads it. Later executions, which inherit the server's memory, cannot find
an earlier one's ``MSG`` or token there.

**Cold fallback.** Executions start cold (and :meth:`ForkServer.describe`, shown by ``swan-jupyter sandbox
status``, says why) where forking is not possible or not wanted: not Linux, ``SWAN_SANDBOX_ABACO_WARM=0`` or the
service setting ``abaco_warm_start: false``, a fork server that cannot start or keeps dying (it is restarted
:data:`MAX_RESTARTS` times). One execution also starts cold when its command is not the standard one or its
environment sets the locale (``LC_ALL``, ``LC_CTYPE``, ``LANG``): Python fixes its streams' encoding at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import environment, images

log = logging.getLogger(__name__)

WARM_ENV = "SWAN_SANDBOX_ABACO_WARM"
SETTING = "abaco_warm_start"
READY_TIMEOUT = 30.0
MAX_RESTARTS = 3
LOCALE_NAMES = ("LC_ALL", "LC_CTYPE", "LANG")
OFF = ("0", "false", "no", "off")


class WarmStartUnavailable(RuntimeError):
    """No execution was started: the caller should start this one cold."""


class ForkServerLost(RuntimeError):
    """The fork server ended while an execution it started was running: that execution's outcome is unknown.
    ``pid`` is the execution's process id when it was known (0 otherwise)."""

    def __init__(self, message: str, pid: int = 0) -> None:
        super().__init__(message)
        self.pid = pid


@dataclass
class WarmExit:
    """What the fork server measured about one finished execution."""

    status: int  # the raw wait status
    cpu_s: float
    blocks: int
    io_bytes: int
    started: float
    finished: float


@dataclass
class _Pending:
    started: asyncio.Future[tuple[int, float]]
    ended: asyncio.Future[dict[str, Any]]
    pid: int = 0


@dataclass
class Choice:
    """Whether warm starts are wanted, and if not, why."""

    wanted: bool
    reason: str = ""


def choose(setting: Any = None, env: Mapping[str, str] | None = None) -> Choice:
    """Warm starts unless ``SWAN_SANDBOX_ABACO_WARM`` is ``0``/``false``/``no``/``off``, the setting
    ``abaco_warm_start`` is false, or the platform cannot fork executions the way :mod:`.images.warm` needs."""
    value = (os.environ if env is None else env).get(WARM_ENV, "").strip().lower()
    if value in OFF:
        return Choice(False, f"cold start forced by {WARM_ENV}={value}")
    if setting is not None and str(setting).strip().lower() in (*OFF, ""):
        return Choice(False, f"cold start forced by the setting {SETTING}={setting!r}")
    if not sys.platform.startswith("linux") or not hasattr(os, "fork") or not hasattr(os, "memfd_create"):
        return Choice(False, f"warm starts need Linux (fork, memfd, /proc); this is {sys.platform}")
    return Choice(True)


@dataclass
class ForkServer:
    """The runtime's side of the fork server: start, spawn through it, describe, stop."""

    choice: Choice
    mode: str = "cold"
    reason: str = "not started"
    pid: int = 0
    restarts: int = 0
    preloaded: list[str] = field(default_factory=list)
    _proc: subprocess.Popen[bytes] | None = None
    _sock: socket.socket | None = None
    _pending: dict[int, _Pending] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _server_locale: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """How executions start: ``{"start": "warm", "fork_server_pid": ..}`` or ``{"start": "cold",
        "reason": ..}`` (the sandbox's status shows it)."""
        if self.mode == "warm":
            return {"start": "warm", "fork_server_pid": self.pid, "preloaded": self.preloaded,
                    "restarts": self.restarts}
        return {"start": "cold", "reason": self.reason}

    async def start(self) -> None:
        """Start the fork server (or record why executions start cold)."""
        if not self.choice.wanted:
            self.reason = self.choice.reason
            return
        try:
            await self._launch()
        except (OSError, RuntimeError, asyncio.TimeoutError, ValueError) as exc:
            self._close(f"the fork server could not start: {exc}")
            log.warning("abaco: executions start cold: %s", self.reason)

    async def _launch(self) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = environment.base_environment("/", "abaco-fork-server")
        self._server_locale = {k: env[k] for k in LOCALE_NAMES if k in env}
        try:
            self._proc = subprocess.Popen(images.server_command(theirs.fileno()), env=env, cwd="/",
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, pass_fds=(theirs.fileno(),), close_fds=True)
        finally:
            theirs.close()
        ours.setblocking(False)
        self._sock = ours
        first = await asyncio.wait_for(loop.sock_recv(ours, 65536), READY_TIMEOUT)
        if not first:
            code = self._proc.wait(5)
            detail = self._proc.stderr.read().decode(errors="replace").strip() if self._proc.stderr else ""
            raise RuntimeError(f"it exited with code {code} before it was ready: {detail[-2000:]}")
        hello = json.loads(first)
        if not hello.get("ready"):
            raise RuntimeError(f"unexpected first message {hello!r}")
        if self._proc.stderr is not None:
            self._proc.stderr.close()  # nothing more to read: later failures come as {"fatal": ...}
        self.pid, self.preloaded = int(hello["pid"]), list(hello.get("preloaded", []))
        self.mode, self.reason = "warm", ""
        loop.add_reader(ours.fileno(), self._on_readable)

    def accepts(self, argv: Sequence[str], env: Mapping[str, str]) -> list[str] | None:
        """The boundary arguments when this execution can start warm, else ``None`` (start it cold)."""
        if self.mode != "warm" and not self._may_restart():
            return None
        if any(env.get(k) != self._server_locale.get(k) for k in LOCALE_NAMES):
            return None
        return images.boundary_arguments(argv)

    def _may_restart(self) -> bool:
        return self.choice.wanted and self._proc is not None and self.restarts < MAX_RESTARTS

    async def run(self, boot_args: list[str], env: Mapping[str, str], cwd: Path, stdin_path: Path | None,
                  log_path: Path, umask: int, on_start: Callable[[int], None]) -> WarmExit:
        """Fork one execution and wait for its end. Raises :class:`WarmStartUnavailable` (nothing started: start
        it cold), :class:`OSError` (the fork failed) or :class:`ForkServerLost` (its outcome is unknown)."""
        if self.mode != "warm":
            await self._restart()
        request = json.dumps({"argv": boot_args, "env": dict(env), "cwd": str(cwd), "umask": umask}).encode()
        fds = [_memory_file(request), os.open(stdin_path or os.devnull, os.O_RDONLY | os.O_CLOEXEC)]
        try:
            fds.append(os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600))
            request_id = next(self._ids)
            loop = asyncio.get_running_loop()
            pending = _Pending(loop.create_future(), loop.create_future())
            self._pending[request_id] = pending
            try:
                await self._send({"op": "spawn", "id": request_id}, fds)
            except OSError as exc:
                self._pending.pop(request_id, None)
                raise WarmStartUnavailable(f"the fork server did not take the request: {exc}") from exc
        finally:
            for fd in fds:
                os.close(fd)
        try:
            pid, _started = await pending.started
            pending.pid = pid
            on_start(pid)
            ended = await pending.ended
        finally:
            self._pending.pop(request_id, None)
        return WarmExit(int(ended["status"]), float(ended["utime"]) + float(ended["stime"]),
                        int(ended["inblock"]) + int(ended["oublock"]), int(ended["io"]), float(_started),
                        float(ended["finished"]))

    async def _restart(self) -> None:
        if not self._may_restart():
            raise WarmStartUnavailable(self.reason)
        self.restarts += 1
        self._reap_old()
        try:
            await self._launch()
        except (OSError, RuntimeError, asyncio.TimeoutError, ValueError) as exc:
            self._close(f"the fork server could not be restarted: {exc}")
            raise WarmStartUnavailable(self.reason) from exc
        log.warning("abaco: the fork server was restarted (%d of %d)", self.restarts, MAX_RESTARTS)

    async def _send(self, message: dict[str, Any], fds: list[int]) -> None:
        sock = self._sock
        if sock is None:
            raise OSError("the fork server is not running")
        data = json.dumps(message).encode()
        while True:
            try:
                socket.send_fds(sock, [data], fds)
                return
            except BlockingIOError:
                await asyncio.sleep(0.001)

    def _on_readable(self) -> None:
        sock = self._sock
        while sock is not None:
            try:
                data = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._lost(f"the fork server's socket failed: {exc}")
                return
            if not data:
                code = self._proc.poll() if self._proc is not None else None
                self._lost(f"the fork server ended unexpectedly (exit code {code})")
                return
            self._dispatch(json.loads(data))

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "fatal" in message:
            log.error("abaco: the fork server failed:\n%s", message["fatal"])
            return
        pending = self._pending.get(int(message.get("id", -1)))
        if pending is None:
            return
        if "pid" in message:
            if not pending.started.done():
                pending.started.set_result((int(message["pid"]), float(message["started"])))
        elif "error" in message:
            if not pending.started.done():
                pending.started.set_exception(OSError(str(message["error"])))
        elif "status" in message and not pending.ended.done():
            pending.ended.set_result(message)

    def _lost(self, reason: str) -> None:
        log.warning("abaco: %s", reason)
        self._close(reason)
        for pending in list(self._pending.values()):
            error = ForkServerLost(reason, pending.pid)
            for future in (pending.started, pending.ended):
                if not future.done():
                    future.set_exception(error)
                    future.exception()  # retrieved: a never-awaited one must not warn
        self._pending.clear()

    def _close(self, reason: str) -> None:
        self.mode, self.reason, self.pid = "cold", reason, 0
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(sock.fileno())
            sock.close()

    def _reap_old(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        if proc.stderr is not None:
            proc.stderr.close()

    async def stop(self) -> None:
        """Hang up (the server exits when its socket closes) and reap it; executions are not touched."""
        proc = self._proc
        self._close("the runtime stopped")
        self._proc = proc
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                await asyncio.to_thread(proc.wait, 10)
            self._reap_old()


def _memory_file(data: bytes) -> int:
    """An anonymous in-memory file holding ``data`` (its descriptor; it vanishes with its last descriptor)."""
    fd = os.memfd_create("abaco-execution", os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        raise
    return fd
