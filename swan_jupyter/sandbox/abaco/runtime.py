"""The emulator's runtime: real workers running real child processes instead of Docker containers.

* **Workers** are records (``workers`` table, Abaco's statuses: ``REQUESTED -> SPAWNER SETUP -> PULLING IMAGE ->
  CREATING CONTAINER -> UPDATING STORE -> READY <-> BUSY``, ``SHUTDOWN_REQUESTED``, ``SHUTTING_DOWN``,
  ``ERROR``) driven by one asyncio task each. A new actor gets one worker; the first worker that comes up
  moves the actor to ``READY`` (an image that cannot run moves it to ``ERROR``). A worker takes the oldest
  queued message of its actor, so executions run concurrently up to the actor's worker count; stateless actors
  with ``max_workers`` scale up to it when every worker is busy. A message sent to an actor without workers
  starts one (like Abaco's ``ensure_one_worker``).
* **Executions** run as processes of the sandbox's interpreter (own session, umask 077, cwd = a private folder, also
  their ``HOME`` and ``TMPDIR``), isolated (``python -I``) and closed inside their folder where the kernel allows it
  (:mod:`.images.boundary`). They are forked from a warm interpreter that already imported the runner and
  cloudpickle (:mod:`.forkserver`), or started cold (``subprocess.Popen``) where that is not possible. Their
  environment is built, never copied from the host: ``PATH`` and ``TZ`` of the host, ``HOME``, ``TMPDIR``, ``LANG``,
  ``HOSTNAME``, the actor's default environment, the message's query parameters, then Abaco's variables (``MSG``,
  ``_abaco_*``: TACC/abaco actors/worker.py, subscribe, and actors/docker_utils.py, execute_actor). Names that
  change how a program starts (:mod:`.environment`) never reach it: the API refuses them, and the runtime drops any
  an older store still holds (with a log line). Binary messages arrive in the file named by ``_abaco_binary_data``
  and on standard input. Results come back through a unix datagram socket (``_abaco_results_sock``); each datagram
  is one item, committed to SQLite as it arrives. Logs are the captured stdout+stderr (1 MB cap, Abaco's truncation
  suffix), stored when the execution ends.
* **Measurements** come from the process: ``cpu`` = user+system CPU time of the child (``wait4`` rusage,
  nanoseconds; for a warm start the fork server, its parent, reaps it and reports), ``io`` = bytes the child read
  and wrote (``/proc`` I/O counters: sampled while a cold child runs, read once when a warm child ends; at least
  the rusage block counts), ``runtime`` = wall-clock seconds rounded up (any execution that ran shows at
  least 1; ``final_state`` has the exact start and finish times). Abaco's ``io`` is network bytes: the unit
  differs, the meaning (data moved by the execution) is kept.
* **Force-quit** kills the process group (SIGKILL); the execution ends ``COMPLETE`` with exit code 137 (what
  Docker reports), like Abaco.
* **Stop and restart.** :meth:`Runtime.stop` kills every child; their executions end ``COMPLETE`` with exit
  code 137 and a log line saying the sandbox stopped. At start, executions a killed sandbox left ``RUNNING``
  are ended honestly: their process (if still alive and verifiably the same) is killed, their captured output
  is kept as logs with a note, and they become ``COMPLETE`` with exit code ``"undetermined"`` and
  ``final_state {"unavailable": true}`` (Abaco's own values for an unknown outcome). Messages still queued
  (never started) are simply run: the mailbox is durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from . import environment, forkserver, images, local_code
from .configs import configs_for
from .images import support as actor_support
from .store import Message, Store
from .wire import new_hashid

if TYPE_CHECKING:
    from .events import Events

log = logging.getLogger(__name__)

Doc = dict[str, Any]
MAX_LOG_LENGTH = 1_000_000
LOG_TRUNCATED = " LOG LIMIT EXCEEDED; this execution log was TRUNCATED!"
LOG_EX_DEFAULT = 43200
MAX_AUTOSCALE = 50  # autoscaling stops here whatever max_workers says (workers are local processes)
KILLED_EXIT = 128 + signal.SIGKILL
CHILD_UMASK = 0o077


def python_str(value: Any) -> str:
    """An environment value as docker-py writes it: ``str()`` of the Python value (a dict as ``{'k': 1}``).

    Abaco queues a message as the parsed value and puts it into the container environment as ``MSG``
    (``docker_utils.py`` master 538-542), so ``MSG`` of a JSON object is its Python ``str()``, ``true`` is
    ``True`` and a JSON string arrives without quotes; the actor state and default environment likewise."""
    return value if isinstance(value, str) else str(value)


def docker_time(ts: float) -> str:
    """A Docker-style timestamp for ``final_state``."""
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class ProcessOutcome:
    """What the runtime measured about one finished child process."""

    exit_code: int
    started: float
    finished: float
    cpu_ns: int
    io_bytes: int
    signalled: bool


@dataclass
class Running:
    """A live execution: its process id and whether a force-quit was issued."""

    pid: int = 0
    killed: bool = False
    stopping: bool = False
    started: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class WorkerHandle:
    """The asyncio side of one worker record."""

    worker_id: str
    actor_id: str
    task: asyncio.Task[None] | None = None
    stop: bool = False
    busy: bool = False


def _run_child(argv: list[str], env: dict[str, str], cwd: Path, stdin_path: Path | None, log_path: Path,
               on_start: Callable[[int, float], None]) -> ProcessOutcome:
    """Run one child process to its end (in a thread): start it, sample its I/O, reap it with ``wait4``."""
    stdin = open(stdin_path, "rb") if stdin_path is not None else subprocess.DEVNULL  # noqa: SIM115
    with open(log_path, "ab") as out:
        started = time.time()
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=stdin, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True, close_fds=True, umask=CHILD_UMASK)
        finally:
            if stdin is not subprocess.DEVNULL:
                stdin.close()  # type: ignore[union-attr]
        on_start(proc.pid, _create_time(proc.pid))
        io_bytes = 0
        delay = 0.005
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            try:
                counters = psutil.Process(proc.pid).io_counters()
                moved = int(getattr(counters, "read_chars", 0)) + int(getattr(counters, "write_chars", 0))
                io_bytes = max(io_bytes, moved)
            except (psutil.Error, AttributeError):
                pass
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        finished = time.time()
        proc.returncode = os.waitstatus_to_exitcode(status)
    return _outcome(status, usage.ru_utime + usage.ru_stime, usage.ru_inblock + usage.ru_oublock, io_bytes,
                    started, finished)


def _outcome(status: int, cpu_s: float, blocks: int, io_bytes: int, started: float,
             finished: float) -> ProcessOutcome:
    """A finished process's measurements from its wait status and resource usage (cold or warm)."""
    signalled = os.WIFSIGNALED(status)
    exit_code = 128 + os.WTERMSIG(status) if signalled else os.WEXITSTATUS(status)
    return ProcessOutcome(exit_code, started, finished, round(cpu_s * 1e9), max(io_bytes, blocks * 512), signalled)


def _final_state(outcome: ProcessOutcome) -> Doc:
    """Docker's ``State`` of an exited container, for ``final_state``."""
    return {"Dead": False, "Error": "", "ExitCode": outcome.exit_code, "FinishedAt": docker_time(outcome.finished),
            "OOMKilled": False, "Paused": False, "Pid": 0, "Restarting": False, "Running": False,
            "StartedAt": docker_time(outcome.started), "Status": "exited"}


def _create_time(pid: int) -> float:
    """A process's start time (with its pid, what identifies it after a restart); 0 when it is gone."""
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return 0.0


def read_log(path: Path) -> str:
    """Captured output as text, truncated like Abaco's (1 MB plus a suffix)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_LOG_LENGTH + 1)
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    if len(data) > MAX_LOG_LENGTH:
        text = text[:MAX_LOG_LENGTH] + LOG_TRUNCATED
    return text


class _ResultsProtocol(asyncio.DatagramProtocol):
    """Commits each datagram received on an execution's results socket as one result item."""

    def __init__(self, store: Store, execution_id: str, actor_id: str) -> None:
        self.store = store
        self.execution_id = execution_id
        self.actor_id = actor_id

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.store.add_result(self.execution_id, self.actor_id, data)


class Runtime:
    """Workers and executions of every actor of the store."""

    def __init__(self, store: Store, token_for: Callable[[str, str], str], run_root: Path | None = None,
                 local_code_users: frozenset[str] | None = None, time_scale: float = 1.0,
                 protect: tuple[Path, ...] = (), warm: forkserver.Choice | None = None) -> None:
        self.store = store
        self.forkserver = forkserver.ForkServer(warm or forkserver.choose())
        self.protect = protect  # folders no execution may read (the sandbox's state folder)
        self.time_scale = time_scale if time_scale > 0 else 1.0
        self.local_code_users = local_code.resolve_users(None) if local_code_users is None else local_code_users
        self.run_root = run_root
        self.token_for = token_for
        self.base_url = ""
        self.root: Path | None = None
        self._workers: dict[str, WorkerHandle] = {}
        self._wakeups: dict[str, asyncio.Event] = {}
        self._running: dict[str, Running] = {}
        self._stopping = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self.events: Events | None = None  # link and webhook events (:mod:`.events`), set by the service

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def start(self, base_url: str) -> None:
        """Recover from a previous run, then start the workers of every live actor."""
        self.base_url = base_url
        self._recover()
        self.root = self._make_root()
        await self.forkserver.start()
        for actor in self.store.actors():
            if actor["status"] == "SHUTTING_DOWN":
                self.store.delete_actor(actor["id"])
                continue
            old = self.store.workers(actor["id"])
            for worker in old:
                self.store.delete_worker(worker["id"])
            for _ in range(max(1, len(old))):
                self.spawn_worker(actor)

    async def stop(self) -> None:
        """Kill every child process, end their executions, stop every worker and remove temporary files."""
        self._stopping = True
        for running in self._running.values():
            running.stopping = True
            self._kill(running)
        handles = list(self._workers.values())
        for handle in handles:
            handle.stop = True
            self._wake(handle.actor_id)
        tasks = [h.task for h in handles if h.task is not None] + list(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=10)
            for task in pending:
                task.cancel()
        await self.forkserver.stop()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)

    def _make_root(self) -> Path:
        """The folder of execution work folders: ``run_root`` (emptied: a killed run may have left files; it
        must be ours and not a symlink) or a fresh temporary folder. Kept short: unix socket paths are limited
        to about 100 bytes."""
        root = self.run_root
        if root is not None:
            try:
                info = root.lstat()
            except FileNotFoundError:
                info = None
            if info is not None and (stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid()):
                root = None
            elif info is not None:
                shutil.rmtree(root, ignore_errors=True)
        if root is None:
            return Path(tempfile.mkdtemp(prefix="abaco-"))
        root.mkdir(mode=0o700)
        return root

    def _recover(self) -> None:
        """End the executions a killed sandbox left RUNNING (see the module docstring)."""
        now = time.time()
        for execution in self.store.orphaned_runs():
            pid, created = int(execution.get("_pid") or 0), float(execution.get("_pid_created") or 0)
            note = "[sandbox] the emulator restarted while this execution was running; "
            if pid and created:
                try:
                    proc = psutil.Process(pid)
                    if abs(proc.create_time() - created) < 0.01:
                        os.killpg(pid, signal.SIGKILL)
                        note += "its process was still running and has been killed; "
                except (psutil.Error, OSError):
                    pass
            note += "its exit code is unknown.\n"
            text = read_log(Path(execution["_log_path"])) if execution.get("_log_path") else ""
            workdir = execution.get("_workdir")
            if workdir:
                shutil.rmtree(workdir, ignore_errors=True)
            execution.update(status="COMPLETE", exit_code="undetermined", final_state={"unavailable": True},
                             finish_time=now)
            if execution.get("start_time"):
                execution["runtime"] = max(1, math.ceil(now - float(execution["start_time"])))
            actor = self.store.get("actors", execution["actor_id"])
            self.store.finish_execution(execution, text + note, now + self._log_ex(actor))

    # -- actors and workers ----------------------------------------------------------------------------------

    def _wake(self, actor_id: str) -> None:
        event = self._wakeups.get(actor_id)
        if event is not None:
            event.set()

    def spawn_worker(self, actor: Doc) -> Doc:
        """Create a worker record (REQUESTED) and the task that brings it up."""
        now = time.time()
        worker_id = new_hashid()
        doc: Doc = {"id": worker_id, "tenant": actor["tenant"], "actor_id": actor["id"],
                    "ch_name": f"worker_{worker_id}", "cid": secrets.token_hex(32),  # a container-like id
                    "create_time": now, "image": actor["image"],
                    "last_execution_time": None, "last_health_check_time": now, "status": "REQUESTED"}
        self.store.add_worker(doc)
        handle = WorkerHandle(worker_id, actor["id"])
        self._workers[worker_id] = handle
        self._wakeups.setdefault(actor["id"], asyncio.Event())
        handle.task = asyncio.get_running_loop().create_task(self._worker_main(handle))
        return doc

    def live_workers(self, actor_id: str) -> list[WorkerHandle]:
        """Worker handles of an actor that are not being stopped."""
        return [h for h in self._workers.values() if h.actor_id == actor_id and not h.stop]

    def _set_worker(self, worker_id: str, **values: Any) -> None:
        def change(doc: Doc) -> None:
            doc.update(values)
            doc["last_health_check_time"] = time.time()

        self.store.update("workers", worker_id, change)

    def _set_actor_status(self, actor_id: str, status: str, message: str | None = None) -> None:
        before: list[str] = []

        def change(doc: Doc) -> None:
            before.append(doc["status"])
            if doc["status"] == "SHUTTING_DOWN":
                return
            doc["status"] = status
            if message is not None:
                doc["status_message"] = message

        self.store.update("actors", actor_id, change)
        if self.events is not None and before and before[0] != "SHUTTING_DOWN" and not self._stopping:
            self.events.actor_status(actor_id, status, message, before[0])

    async def _worker_main(self, handle: WorkerHandle) -> None:
        try:
            await self._bring_up(handle)
            if not handle.stop:
                await self._serve(handle)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug here must not leave the worker half-alive
            log.exception("abaco worker %s failed", handle.worker_id)
            self._set_worker(handle.worker_id, status="ERROR")
        finally:
            self._workers.pop(handle.worker_id, None)
            worker = self.store.get("workers", handle.worker_id)
            if worker is not None and worker["status"] != "ERROR":
                self.store.delete_worker(handle.worker_id)

    async def _bring_up(self, handle: WorkerHandle) -> None:
        actor = self.store.get("actors", handle.actor_id)
        if actor is None:
            handle.stop = True
            return
        for status in ("SPAWNER SETUP", "PULLING IMAGE"):
            self._set_worker(handle.worker_id, status=status)
            await asyncio.sleep(0)
        try:
            self._command(actor)
        except images.ImageError as exc:
            self._set_worker(handle.worker_id, status="ERROR")
            self._set_actor_status(actor["id"], "ERROR", str(exc))
            handle.stop = True
            return
        for status in ("CREATING CONTAINER", "UPDATING STORE", "READY"):
            self._set_worker(handle.worker_id, status=status)
            await asyncio.sleep(0)
        self._set_actor_status(actor["id"], "READY", "")

    async def _serve(self, handle: WorkerHandle) -> None:
        wakeup = self._wakeups.setdefault(handle.actor_id, asyncio.Event())
        while not handle.stop:
            claimed = self.store.claim(handle.actor_id, handle.worker_id, time.time())
            if claimed is None:
                wakeup.clear()
                claimed = self.store.claim(handle.actor_id, handle.worker_id, time.time())
            if claimed is None:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), timeout=2.0)
                continue
            handle.busy = True
            self._set_worker(handle.worker_id, status="BUSY")
            try:
                await self._execute(handle, *claimed)
            finally:
                handle.busy = False
                self._set_worker(handle.worker_id, status="READY" if not handle.stop else "SHUTTING_DOWN",
                                 last_execution_time=time.time())
        self._set_worker(handle.worker_id, status="SHUTTING_DOWN")

    def message_queued(self, actor: Doc) -> None:
        """A message was accepted: make sure a worker exists (scaling up to ``max_workers``) and wake them."""
        live = self.live_workers(actor["id"])
        errored = [w for w in self.store.workers(actor["id"]) if w["status"] == "ERROR"]
        first = not live and not errored
        scale = bool(live) and actor["stateless"] and bool(actor.get("max_workers")) \
            and all(h.busy for h in live) and len(live) < min(int(actor["max_workers"] or 0), MAX_AUTOSCALE)
        if first or scale:
            self.spawn_worker(actor)
        self._wake(actor["id"])

    def add_workers(self, actor: Doc, num: int) -> tuple[int, int]:
        """Make sure at least ``num`` workers exist; returns (scheduled, previously existing)."""
        existing = len(self.live_workers(actor["id"]))
        scheduled = max(0, num - existing)
        for _ in range(scheduled):
            self.spawn_worker(actor)
        return scheduled, existing

    def stop_worker(self, worker_id: str) -> None:
        """Ask one worker to stop after its current execution (its record goes away when it ends)."""
        handle = self._workers.get(worker_id)
        if handle is None:
            self.store.delete_worker(worker_id)
            return
        handle.stop = True
        self._set_worker(worker_id, status="SHUTDOWN_REQUESTED")
        self._wake(handle.actor_id)

    def restart_workers(self, actor: Doc) -> None:
        """After an image change: stop the current workers and start as many fresh ones (at least one)."""
        count = 0
        for worker in self.store.workers(actor["id"]):
            count += 1
            if worker["id"] in self._workers:
                self.stop_worker(worker["id"])
            else:
                self.store.delete_worker(worker["id"])
        for _ in range(max(1, min(count, 1 if not actor["stateless"] else count))):
            self.spawn_worker(actor)

    async def shutdown_actor(self, actor_id: str, timeout: float = 20.0) -> bool:
        """Stop every worker of an actor; ``True`` if they all ended within ``timeout`` seconds."""
        handles = [h for h in self._workers.values() if h.actor_id == actor_id]
        for handle in handles:
            handle.stop = True
        self._wake(actor_id)
        tasks = [h.task for h in handles if h.task is not None]
        if not tasks:
            return True
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        return not pending

    def force_quit(self, execution_id: str) -> bool:
        """Kill a running execution's process group; ``False`` if it is not running here."""
        running = self._running.get(execution_id)
        if running is None:
            return False
        running.killed = True
        self._kill(running)
        return True

    @staticmethod
    def _kill(running: Running) -> None:
        if running.pid:
            with contextlib.suppress(OSError):
                os.killpg(running.pid, signal.SIGKILL)

    # -- executions ------------------------------------------------------------------------------------------

    def _log_ex(self, actor: Doc | None) -> int:
        if actor and actor.get("log_ex"):
            return int(actor["log_ex"])
        return LOG_EX_DEFAULT

    def _environment(self, actor: Doc, message: Message, execution: Doc, worker_id: str,
                     workdir: Path) -> tuple[dict[str, str], list[str]]:
        """The child's environment (see :mod:`.environment`) and the names dropped from it."""
        env = environment.base_environment(str(workdir), worker_id)
        # worker.py master 406-422 and docker_utils.py 525-542: the default environment, then the message's query
        # parameters and Abaco's message variables, then the actor's; docker-py writes every value with str()
        # (a None value is a bare name, which sets nothing).
        given = {str(k): python_str(v) for k, v in actor["default_environment"].items() if v is not None}
        given.update(message.env)
        kept, dropped = environment.allowed(given)
        env.update(kept)
        if message.content_type != "application/octet-stream":
            env["MSG"] = message.body.decode("utf-8", errors="replace")
        token = self.token_for(actor["owner"], actor["tenant"]) if actor.get("token") else ""
        env.update({
            "_abaco_Content_Type": message.content_type,
            "_abaco_username": message.sender,
            "_abaco_execution_id": execution["id"],
            "_abaco_actor_id": actor["id"],
            "_abaco_actor_dbid": f"{actor['tenant']}_{actor['id']}",
            "_abaco_worker_id": worker_id,
            "_abaco_actor_revision": str(actor["revision"]),
            "_abaco_actor_name": str(actor.get("name") or "None"),
            "_abaco_container_repo": actor["image"],
            "_abaco_actor_state": python_str(actor.get("state", {})),
            "_abaco_api_server": self.base_url,
            "_abaco_jwt_header_name": "X-Tapis-Token",
            "_abaco_access_token": token,
            "_actor_configs": python_str(configs_for(self.store, actor)),
            actor_support.RESULTS_SOCK_ENV: str(workdir / "r.sock"),
        })
        if message.content_type == "application/octet-stream":
            env[actor_support.BINARY_DATA_ENV] = str(workdir / "_abaco_binary_data")
        return env, dropped

    def _command(self, actor: Doc) -> list[str]:
        """The command line of the actor's image (isolated, closed inside the execution's folder: see
        :func:`.images.command`); local code only for an owner allowed to run it."""
        if local_code.is_local(actor["image"]) and actor["owner"] not in self.local_code_users:
            raise images.ImageError(local_code.refusal(self.local_code_users))
        program = images.resolve(actor["image"], self.time_scale)
        protect = [str(p) for p in self.protect] + ([str(self.root)] if self.root is not None else [])
        return images.command(program, protect)

    @staticmethod
    def _prepare_folder(workdir: Path, message: Message) -> Path | None:
        """Create the execution's private folder; a binary message goes into it (and on standard input)."""
        workdir.mkdir(mode=0o700)
        if message.content_type != "application/octet-stream":
            return None
        stdin_path = workdir / "_abaco_binary_data"
        stdin_path.write_bytes(message.body)
        return stdin_path

    async def _execute(self, handle: WorkerHandle, message: Message, execution: Doc) -> None:
        actor = self.store.get("actors", handle.actor_id)
        if actor is None:
            return
        loop = asyncio.get_running_loop()
        try:
            argv = self._command(actor)
        except images.ImageError as exc:
            execution.update(status="ERROR", finish_time=time.time(), final_state={"unavailable": True})
            self.store.finish_execution(execution, f"{exc}\n", time.time() + self._log_ex(actor))
            return
        assert self.root is not None, "the runtime is not started"
        workdir = self.root / execution["id"]
        log_path = workdir / "output.log"
        stdin_path = self._prepare_folder(workdir, message)
        env, dropped = self._environment(actor, message, execution, handle.worker_id, workdir)
        if dropped:
            log_path.write_bytes(f"[sandbox] not passed to the execution (they change how a program starts): "
                                 f"{', '.join(sorted(dropped))}\n".encode())
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _ResultsProtocol(self.store, execution["id"], actor["id"]),
            local_addr=str(workdir / "r.sock"), family=socket.AF_UNIX)
        running = Running()
        self._running[execution["id"]] = running
        execution.update(_workdir=str(workdir), _log_path=str(log_path))

        def on_start(pid: int, created: float | None = None) -> None:
            if created is None:
                created = _create_time(pid)
            running.pid = pid
            if running.killed or running.stopping:
                self._kill(running)

            def record(doc: Doc) -> None:
                doc.update(_pid=pid, _pid_created=created, _workdir=str(workdir), _log_path=str(log_path))

            self.store.update("executions", execution["id"], record)
            loop.call_soon_threadsafe(running.started.set)

        try:
            try:
                outcome = await self._run_process(argv, env, workdir, stdin_path, log_path, on_start)
            except OSError as exc:
                execution.update(status="ERROR", finish_time=time.time(), final_state={"unavailable": True})
                self.store.finish_execution(execution, f"could not start {argv!r}: {exc}\n",
                                            time.time() + self._log_ex(actor))
                return
            except forkserver.ForkServerLost as exc:
                self._end_lost(execution, actor, running, log_path, str(exc))
                return
            await asyncio.sleep(0)  # let datagrams already queued on the socket be delivered
            self._drain(transport, execution["id"], actor["id"])
            text = read_log(log_path)
            if running.stopping and not running.killed:
                text += "[sandbox] the sandbox stopped while this execution was running; its process was killed.\n"
            execution.update(
                status="COMPLETE", exit_code=outcome.exit_code, final_state=_final_state(outcome),
                finish_time=outcome.finished,
                start_time=outcome.started, cpu=outcome.cpu_ns, io=outcome.io_bytes,
                runtime=max(1, math.ceil(outcome.finished - outcome.started)),
            )
            for key in ("_pid", "_pid_created", "_workdir", "_log_path"):
                execution.pop(key, None)
            self.store.finish_execution(execution, text, outcome.finished + self._log_ex(actor))
            if self.events is not None and not running.stopping:
                self.events.execution_complete(actor["id"], execution)
        finally:
            self._running.pop(execution["id"], None)
            transport.close()
            shutil.rmtree(workdir, ignore_errors=True)

    async def _run_process(self, argv: list[str], env: dict[str, str], workdir: Path, stdin_path: Path | None,
                           log_path: Path, on_start: Callable[..., None]) -> ProcessOutcome:
        """Start one execution's process, warm (forked by :mod:`.forkserver`) when it can, else cold, and
        measure it to its end."""
        boot_args = self.forkserver.accepts(argv, env)
        if boot_args is not None:
            try:
                done = await self.forkserver.run(boot_args, env, workdir, stdin_path, log_path, CHILD_UMASK, on_start)
                return _outcome(done.status, done.cpu_s, done.blocks, done.io_bytes, done.started, done.finished)
            except forkserver.WarmStartUnavailable as exc:
                log.warning("abaco: starting %s cold: %s", workdir.name, exc)
        return await asyncio.to_thread(_run_child, argv, env, workdir, stdin_path, log_path, on_start)

    def _end_lost(self, execution: Doc, actor: Doc, running: Running, log_path: Path, reason: str) -> None:
        """The fork server died under a running execution: its exit status is gone. Kill what is left of it and
        end it like the recovery after a crash does (``"undetermined"``)."""
        self._kill(running)
        now = time.time()
        execution.update(status="COMPLETE", exit_code="undetermined", final_state={"unavailable": True},
                         finish_time=now)
        if execution.get("start_time"):
            execution["runtime"] = max(1, math.ceil(now - float(execution["start_time"])))
        for key in ("_pid", "_pid_created", "_workdir", "_log_path"):
            execution.pop(key, None)
        note = f"[sandbox] {reason}; this execution's process was killed and its exit code is unknown.\n"
        self.store.finish_execution(execution, read_log(log_path) + note, now + self._log_ex(actor))

    def _drain(self, transport: asyncio.BaseTransport, execution_id: str, actor_id: str) -> None:
        """Read every datagram still waiting on the results socket (sent just before the process ended)."""
        sock = transport.get_extra_info("socket")
        if sock is None:
            return
        raw = socket.socket(fileno=os.dup(sock.fileno()))
        try:
            raw.setblocking(False)
            while True:
                try:
                    data = raw.recv(1 << 20)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                self.store.add_result(execution_id, actor_id, data)
        finally:
            raw.close()

    def is_running(self, execution_id: str) -> bool:
        """Whether an execution's process is live in this runtime."""
        return execution_id in self._running
