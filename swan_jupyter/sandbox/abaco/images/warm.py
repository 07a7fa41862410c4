"""The warm interpreter: the fork server's loop, and the start of each execution forked from it.

The runtime (:mod:`swan_jupyter.sandbox.abaco.forkserver`) starts this once, exactly like a cold execution's
interpreter (``python -I -B -u``, the same bootstrap from the package folder, an environment built from the
allow-list, cwd ``/``, standard streams on ``/dev/null``, no other descriptor but its end of a socket pair).
It imports what executions need (:data:`PRELOAD`: cloudpickle, the samples' helpers, :mod:`.boundary`), then
serves requests on that socket pair (``SOCK_SEQPACKET``; one datagram is one message):

* runtime -> server: ``{"op": "spawn", "id": N}`` with three descriptors (SCM_RIGHTS): a sealed-off file holding
  the execution's request (its environment, folder and boundary arguments), its standard input, its log file.
  The server never reads the request: it forks first, so an execution's environment (``MSG``, the actor's token)
  only ever exists in that execution's own process, never in the server's memory that later executions inherit.
* server -> runtime: ``{"id": N, "pid": P, "started": T}`` once the child has its own session (so a force-quit's
  ``killpg`` reaches it from the start), ``{"id": N, "error": "..."}`` when ``fork`` failed, and
  ``{"id": N, "status": S, "utime": .., "stime": .., "inblock": .., "oublock": .., "io": B, "finished": T}``
  when the child ended: its raw wait status and resource usage (``wait4``: the server is its parent) and the
  bytes it read and wrote (``/proc/<pid>/io``, read while it is a zombie, before it is reaped: exact, not
  sampled). ``{"fatal": "<traceback>"}`` if the loop itself fails.

The server exits when the runtime closes its end (the runtime stopped or was killed); running executions are not
touched (they are in their own sessions, like cold ones, and the runtime's recovery finds them).

Each forked child, before any code of the execution runs: leaves the server's signal set-up, starts its own
session, closes every descriptor of the server, puts its standard input and its log file on 0, 1 and 2, sets
umask 077, moves into its folder, replaces the whole environment with its own, then hands over to
:func:`.boundary.main` (Landlock, then the program) exactly as a cold start does, and ends like an interpreter
does (non-daemon threads joined, ``atexit`` handlers run, streams flushed, ``SystemExit`` codes, a traceback and
exit code 1 for an uncaught exception).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import selectors
import signal
import socket
import sys
import threading
import time
import traceback
from typing import Any

# What executions import anyway: loading it once here is the whole point of the warm start.
import cloudpickle  # noqa: F401

from swan_jupyter.sandbox.abaco.images import boundary, support  # noqa: F401

PRELOAD = ("cloudpickle", "json", "runpy", "ctypes", "ast", "socket", "re", "urllib.request")
MAX_HEADER = 4096
FDS_PER_SPAWN = 3


def _preload() -> None:
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)


def _send(ctl: socket.socket, message: dict[str, Any]) -> None:
    ctl.sendall(json.dumps(message).encode())


def _read_fd(fd: int) -> bytes:
    chunks: list[bytes] = []
    offset = 0
    while True:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)


def _io_bytes(pid: int) -> int:
    """Bytes read and written by a (zombie) child, from ``/proc/<pid>/io``; 0 when unreadable."""
    try:
        with open(f"/proc/{pid}/io", "rb") as fh:
            text = fh.read().decode()
    except OSError:
        return 0
    fields = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
    return int(fields.get("rchar", 0)) + int(fields.get("wchar", 0))


def _reap(ctl: socket.socket, children: dict[int, int]) -> None:
    """Report every child that ended: its io (read before reaping), wait status and resource usage."""
    while children:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if info is None or info.si_pid == 0:
            return
        pid = info.si_pid
        io = _io_bytes(pid)
        _, status, usage = os.wait4(pid, 0)
        request_id = children.pop(pid, None)
        if request_id is not None:
            _send(ctl, {"id": request_id, "status": status, "utime": usage.ru_utime, "stime": usage.ru_stime,
                        "inblock": usage.ru_inblock, "oublock": usage.ru_oublock, "io": io,
                        "finished": time.time()})


def serve(argv: list[str]) -> None:
    """``<control fd>``: preload, say ready, then fork one child per spawn request until the runtime hangs up."""
    ctl = socket.socket(fileno=int(argv[0]))
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
    signal.set_wakeup_fd(wake_w)
    selector = selectors.DefaultSelector()
    children: dict[int, int] = {}
    try:
        _preload()
        selector.register(ctl, selectors.EVENT_READ, "control")
        selector.register(wake_r, selectors.EVENT_READ, "children")
        _send(ctl, {"ready": True, "pid": os.getpid(), "preloaded": sorted(PRELOAD)})
        while True:
            for key, _ in selector.select():
                if key.data == "children":
                    while True:
                        try:
                            if not os.read(wake_r, 512):
                                break
                        except BlockingIOError:
                            break
                    _reap(ctl, children)
                    continue
                message, fds, _flags, _addr = socket.recv_fds(ctl, MAX_HEADER, FDS_PER_SPAWN)
                if not message:
                    return  # the runtime hung up
                _handle(ctl, message, fds, children, (selector, wake_r, wake_w))
            _reap(ctl, children)
    except Exception:
        _send(ctl, {"fatal": traceback.format_exc()})
        raise


def _handle(ctl: socket.socket, message: bytes, fds: list[int], children: dict[int, int],
            server: tuple[selectors.BaseSelector, int, int]) -> None:
    try:
        request = json.loads(message)
        request_id = int(request["id"])
        if request.get("op") != "spawn" or len(fds) != FDS_PER_SPAWN:
            _send(ctl, {"id": request_id, "error": "a spawn request carries three descriptors"})
            return
        ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
        started = time.time()
        try:
            pid = os.fork()
        except OSError as exc:
            os.close(ready_r)
            os.close(ready_w)
            _send(ctl, {"id": request_id, "error": f"fork failed: {exc}"})
            return
        if pid == 0:  # the execution
            code = 70
            try:
                os.close(ready_r)
                code = _child(ctl, server, ready_w, fds)
            except BaseException:  # a failure before the program ran: say so in the execution's log
                with contextlib.suppress(Exception):
                    traceback.print_exc()
            finally:
                os._exit(code)
        os.close(ready_w)
        os.read(ready_r, 1)  # the child has its own session now (or died trying)
        os.close(ready_r)
        children[pid] = request_id
        _send(ctl, {"id": request_id, "pid": pid, "started": started})
    finally:
        for fd in fds:
            os.close(fd)


def _child(ctl: socket.socket, server: tuple[selectors.BaseSelector, int, int], ready_w: int,
           fds: list[int]) -> int:
    """In the forked child: become the execution (see the module docstring), run it, return its exit code."""
    selector, wake_r, wake_w = server
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()
    os.write(ready_w, b"1")
    os.close(ready_w)
    selector.close()
    ctl.close()
    os.close(wake_r)
    os.close(wake_w)
    request_fd, stdin_fd, log_fd = fds
    request = json.loads(_read_fd(request_fd))
    os.dup2(stdin_fd, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.closerange(3, max(os.sysconf("SC_OPEN_MAX"), 1024))
    fds.clear()  # closed: the server's ``finally`` must not close them again in this process
    os.umask(int(request["umask"]))
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    del request["env"]
    _forget_the_servers_environment()
    return run_like_an_interpreter(list(request["argv"]))


def _forget_the_servers_environment() -> None:
    """What the interpreter read from the server's environment and keeps: the time zone (``TZ``) and
    :mod:`tempfile`'s folder (``TMPDIR``) are read again from the execution's own, as a cold start would."""
    time.tzset()
    cached = sys.modules.get("tempfile")
    if cached is not None:
        cached.tempdir = None  # type: ignore[attr-defined]


def _system_exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def run_like_an_interpreter(argv: list[str]) -> int:
    """:func:`.boundary.main` (``argv``: rules, kind, target, args), ended as ``python`` would end it."""
    code = 0
    interrupted = False
    try:
        boundary.main(argv)
    except SystemExit as exc:
        code = _system_exit_code(exc)
    except KeyboardInterrupt:
        sys.excepthook(*sys.exc_info())
        interrupted = True
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    with contextlib.suppress(BaseException):  # the exit code is already decided
        threading._shutdown()  # type: ignore[attr-defined]  # non-daemon threads, as at interpreter exit
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    if interrupted:  # like CPython: die of SIGINT, so the parent sees it
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        code = 128 + signal.SIGINT
    return code
