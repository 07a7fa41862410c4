"""The execution runtime: each message runs as a real child process (no Docker).

An actor has ``worker_count`` workers (default 1); each is an asyncio task that pops the mailbox and runs one
child at a time, so up to ``worker_count`` executions of an actor run at once. Resource usage comes from the
child itself (``images/_launch.py`` writes user+sys CPU ns and read+written bytes), runtime is wall seconds
rounded up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .images._results import read_results
from .store import Store
from .wire import now

IMAGES = Path(__file__).parent / "images"
BUILTIN = {"abacosamples/test": "test.py", "abacosamples/wc": "wc.py",
           "abacosamples/sleep_loop": "sleep_loop.py", "abacosamples/py3_func": "py3_func.py"}
LOG_LIMIT = 1_000_000


def image_argv(image: str) -> list[str]:
    """Command line of an image: built-in samples, ``file:///abs/path.py`` or ``python:package.module``."""
    launch = [sys.executable, str(IMAGES / "_launch.py")]
    name = image.split(":")[0] if image.startswith("abacosamples/") else image
    if name in BUILTIN:
        return [*launch, "file", str(IMAGES / BUILTIN[name])]
    if image.startswith("file://"):
        return [*launch, "file", image[len("file://"):]]
    if image.startswith("python:"):
        return [*launch, "module", image[len("python:"):]]
    raise ValueError(f"unsupported image {image!r}")


class Runtime:
    """Runs queued messages; ``kick(actor_id)`` wakes the actor's workers."""

    def __init__(self, store: Store, workdir: Path) -> None:
        self.store = store
        self.workdir = workdir
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self.quit: set[str] = set()

    def kick(self, actor_id: str) -> None:
        """Start an idle worker task for each READY worker of the actor that has none running."""
        for worker in self.store.all("worker", actor_id):
            task = self.tasks.get(worker["id"])
            if worker["status"] in ("READY", "BUSY") and (task is None or task.done()):
                self.tasks[worker["id"]] = asyncio.create_task(self._work(actor_id, worker["id"]))

    async def _work(self, actor_id: str, worker_id: str) -> None:
        while True:
            item = self.store.dequeue(actor_id)
            actor = self.store.get("actor", actor_id)
            worker = self.store.get("worker", worker_id)
            if item is None or actor is None or worker is None:
                return
            exec_id, payload, env = item
            worker["status"] = "BUSY"
            self.store.put("worker", worker, actor_id)
            try:
                await self._run(actor, worker_id, exec_id, payload, env)
            finally:
                worker = self.store.get("worker", worker_id)
                if worker is not None:
                    worker["status"] = "READY"
                    worker["last_execution_time"] = now().isoformat()
                    self.store.put("worker", worker, actor_id)

    async def _run(self, actor: dict[str, Any], worker_id: str, exec_id: str, payload: bytes,
                   env: dict[str, str]) -> None:
        ex = self.store.get("execution", exec_id)
        if ex is None:
            return
        tmp = Path(tempfile.mkdtemp(prefix=f"exec-{exec_id}-", dir=self.workdir))
        env = {**env, "_abaco_worker_id": worker_id, "_abaco_results_path": str(tmp / "results"),
               "_abaco_stats_path": str(tmp / "stats"), "_abaco_actor_state": json.dumps(actor.get("state", {})),
               "PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(sys.path)}
        ex.update(status="RUNNING", worker_id=worker_id, start_time=now().isoformat())
        self.store.put("execution", ex, actor["id"])
        started = time.monotonic()
        binary = env.get("_abaco_Content_Type") == "application/octet-stream"
        try:
            proc = await asyncio.create_subprocess_exec(
                *image_argv(actor["image"]), env=env, cwd=str(tmp),
                stdin=asyncio.subprocess.PIPE if binary else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        except (OSError, ValueError) as exc:
            ex.update(status="ERROR", finish_time=now().isoformat(), exit_code="undetermined",
                      final_state={"unavailable": True}, logs=f"could not start the actor: {exc}")
            self.store.put("execution", ex, actor["id"])
            return
        self.procs[exec_id] = proc
        out, _ = await proc.communicate(payload if binary else None)
        self.procs.pop(exec_id, None)
        code = proc.returncode if proc.returncode is not None else -1
        for item in read_results(str(tmp / "results")):
            self.store.push_result(exec_id, item)
        try:
            stats = json.loads((tmp / "stats").read_text())
        except (OSError, ValueError):
            stats = {"cpu": 0, "io": 0}
        logs = out.decode("utf-8", "replace")
        if len(logs) > LOG_LIMIT:
            logs = logs[:LOG_LIMIT] + " LOG LIMIT EXCEEDED; this execution log was TRUNCATED!"
        finish = now()
        ex.update(status="COMPLETE", exit_code=code, finish_time=finish.isoformat(), logs=logs,
                  cpu=int(stats.get("cpu", 0)), io=int(stats.get("io", 0)),
                  runtime=max(1, math.ceil(time.monotonic() - started)),
                  final_state={"Dead": False, "Error": "", "ExitCode": code, "OOMKilled": False,
                               "Running": False, "Status": "exited", "StartedAt": ex["start_time"],
                               "FinishedAt": finish.isoformat(), "Pid": 0, "Paused": False,
                               "Restarting": False})
        self.store.put("execution", ex, actor["id"])
        self.quit.discard(exec_id)

    def force_quit(self, exec_id: str) -> None:
        """Kill a running execution's child; it then completes with the kill's exit code."""
        proc = self.procs.get(exec_id)
        if proc is not None and proc.returncode is None:
            self.quit.add(exec_id)
            proc.kill()

    async def stop(self) -> None:
        """Cancel every worker task, then kill every child.

        Executions cut off this way stay RUNNING in the store; the next start marks them ERROR
        ("sandbox restarted") and re-runs the messages still queued.
        """
        for task in self.tasks.values():
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        self.tasks.clear()
        for proc in list(self.procs.values()):
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
        for proc in list(self.procs.values()):
            with contextlib.suppress(asyncio.TimeoutError, ProcessLookupError):
                await asyncio.wait_for(proc.wait(), 5)
        self.procs.clear()

def new_worker(actor: dict[str, Any], worker_id: str) -> dict[str, Any]:
    """A worker record in ``REQUESTED`` status (brought up by :func:`bring_up`)."""
    return {"id": worker_id, "ch_name": f"worker_{worker_id}", "cid": f"proc-{worker_id}",
            "create_time": now().isoformat(), "host_id": "0", "host_ip": "127.0.0.1", "image": actor["image"],
            "last_execution_time": None, "location": "local://subprocess", "status": "REQUESTED"}


async def bring_up(runtime: Runtime, actor_id: str) -> None:
    """Move requested workers through ``SPAWNER SETUP`` to ``READY``, mark the actor READY, start work."""
    await asyncio.sleep(0.01)
    for worker in runtime.store.all("worker", actor_id):
        if worker["status"] == "REQUESTED":
            worker["status"] = "SPAWNER SETUP"
            runtime.store.put("worker", worker, actor_id)
            worker["status"] = "READY"
            runtime.store.put("worker", worker, actor_id)
    actor = runtime.store.get("actor", actor_id)
    if actor is not None and actor["status"] == "SUBMITTED":
        actor["status"] = "READY"
        runtime.store.put("actor", actor)
    runtime.kick(actor_id)
