"""Task lifecycle of the emulator, computed from stored timestamps whenever a task is read. The status names
are the real server's (swanchain/python-swan-sdk test/object/conftest.py and its documentation's history); the
phases and their timing are the emulator's own.

There are no timers: a task stores when it was created, paid (``paid_at``), when it ends (``end``, real unix
seconds) and when it was terminated; every read derives the statuses from those and the current time, so a
restarted sandbox carries on where it stopped.

**Time scale.** ``time_scale`` is how many task-seconds pass per real second (60: one real second is one minute
of task time). Durations on the wire (``duration``, the paid seconds) are task-seconds; timestamps on the wire
(``start_at``, ``end_at``, ...) are real unix seconds, so ``end_at - now`` is the real time left and a one-hour
task at scale 60 ends one real minute after payment. Refunds are computed in task-seconds.

Phases after a valid payment, in task-seconds since ``paid_at``:

=========================  ===================  =======================================
since payment              task status          jobs (three providers)
=========================  ===================  =======================================
0 - 10                     ``created``          none yet; Creation order ``pending_payment_confirm``
10 - 30                    ``accepting_bids``   none yet; order ``payment_consumed``
30 - 60                    ``accepting_bids``   ``Submitted``
60 - 120                   ``accepting_bids``   ``deployToK8s``
120 - end                  ``completed``        ``Running``, ``job_real_uri`` answers on loopback
after ``end_at``           ``finished``         ``Ended``
after terminate            ``terminated``       ``Cancelled``
=========================  ===================  =======================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .catalogue import PROVIDERS
from .store import JobRow, OrderRow

ORDER_CONFIRMED = 10.0
BIDDING_FROM = 10.0
JOBS_FROM = 30.0
DEPLOYING_FROM = 60.0
RUNNING_FROM = 120.0

#: Task statuses after which nothing can be paid, renewed or terminated any more.
FINAL: tuple[str, ...] = ("finished", "terminated", "failed")


@dataclass(frozen=True)
class Clock:
    """Converts between task-seconds and real seconds (``time_scale`` task-seconds per real second)."""

    time_scale: float = 1.0

    def real(self, task_seconds: float) -> float:
        """Real seconds that ``task_seconds`` of task time take."""
        return task_seconds / self.time_scale

    def task(self, real_seconds: float) -> float:
        """Task-seconds that pass in ``real_seconds``."""
        return real_seconds * self.time_scale


def task_status(task: dict[str, Any], clock: Clock, now: float) -> str:
    """The task's status at ``now`` (see the module docstring)."""
    state = task["_state"]
    if state.get("terminated_at") is not None:
        return "terminated"
    paid_at = state.get("paid_at")
    if paid_at is None:
        return "initialized"
    if now >= state["end"]:
        return "finished"
    elapsed = clock.task(now - paid_at)
    if elapsed < BIDDING_FROM:
        return "created"
    if elapsed < RUNNING_FROM:
        return "accepting_bids"
    return "completed"


def job_status(task: dict[str, Any], clock: Clock, now: float) -> str | None:
    """The status shared by the task's jobs at ``now``, or None while no job is visible."""
    state = task["_state"]
    paid_at = state.get("paid_at")
    if paid_at is None:
        return None
    elapsed = clock.task(now - paid_at)
    if state.get("terminated_at") is not None:
        return "Cancelled" if clock.task(state["terminated_at"] - paid_at) >= JOBS_FROM else None
    if now >= state["end"]:
        return "Ended"
    if elapsed < JOBS_FROM:
        return None
    if elapsed < DEPLOYING_FROM:
        return "Submitted"
    if elapsed < RUNNING_FROM:
        return "deployToK8s"
    return "Running"


def remaining_task_seconds(task: dict[str, Any], clock: Clock, now: float) -> int:
    """Paid task-seconds not yet used at ``now`` (0 before payment and after the end)."""
    state = task["_state"]
    if state.get("paid_at") is None:
        return 0
    left = int(clock.task(max(0.0, state["end"] - now)))
    return min(left, int(task["task_detail"]["duration"]))


def order_view(order: OrderRow, clock: Clock, now: float) -> dict[str, Any]:
    """A config order on the wire: ``pending_payment_confirm`` for 10 task-seconds, then ``payment_consumed``."""
    out = dict(order.data)
    if out.get("status") == "pending_payment_confirm" and clock.task(now - order.created_at) >= ORDER_CONFIRMED:
        out["status"] = "payment_consumed"
        out["updated_at"] = int(order.created_at + clock.real(ORDER_CONFIRMED))
    return out


def job_url(base_url: str, job_uuid: str) -> str:
    """Where a running job answers (served by the emulator itself)."""
    return f"{base_url}/_jobs/{job_uuid}/"


def task_wire(task: dict[str, Any], clock: Clock, now: float) -> dict[str, Any]:
    """The ``task`` object of the wire (internal ``_state`` removed, status and times current)."""
    out = {k: v for k, v in task.items() if k != "_state"}
    state = task["_state"]
    out["status"] = task_status(task, clock, now)
    out["end_at"] = int(state["end"])
    detail = dict(task["task_detail"])
    detail["end_at"] = out["end_at"]
    detail["updated_at"] = out["updated_at"]
    out["task_detail"] = detail
    return out


def deployment_view(task: dict[str, Any], jobs: list[JobRow], orders: list[OrderRow], clock: Clock,
                    base_url: str, now: float) -> dict[str, Any]:
    """``{task, jobs, computing_providers, config_orders}`` of a stored task as of ``now``."""
    state = task["_state"]
    status = job_status(task, clock, now)
    wire_jobs: list[dict[str, Any]] = []
    providers: list[dict[str, Any]] = []
    if status is not None:
        paid_at = float(state["paid_at"])
        started = paid_at + clock.real(RUNNING_FROM)
        ran = status == "Running" or (status in ("Ended", "Cancelled") and
                                      min(state["end"], state.get("terminated_at") or state["end"]) >= started)
        stopped = state.get("terminated_at") if status == "Cancelled" else state["end"] if status == "Ended" else None
        detail = task["task_detail"]
        for job in jobs:
            provider = PROVIDERS[job.provider % len(PROVIDERS)]
            host = f"{provider['name']}.sandbox.invalid"
            wire_jobs.append({
                "id": job.id, "uuid": job.uuid, "name": f"Job-{job.uuid}", "task_uuid": task["uuid"],
                "status": status, "comments": None if status != "deployToK8s" else "pullImage",
                "cp_account_address": provider["cp_account_address"], "node_id": provider["node_id"],
                "hardware": detail["hardware"], "duration": detail["duration"],
                "created_at": int(paid_at + clock.real(JOBS_FROM)),
                "start_at": int(started) if ran else None,
                "ended_at": int(stopped) if stopped is not None else None,
                "updated_at": int(min(now, stopped if stopped is not None else now)),
                "job_source_uri": detail["job_source_uri"],
                "job_result_uri": f"https://ipfs.sandbox.invalid/ipfs/Qm{job.uuid.replace('-', '')[:44]}",
                "job_real_uri": job_url(base_url, job.uuid) if ran else None,
                "build_log": f"wss://{host}/api/v1/computing/lagrange/spaces/log?job_uuid={job.uuid}&type=build",
                "container_log": f"wss://{host}/api/v1/computing/lagrange/spaces/log?job_uuid={job.uuid}"
                                 "&type=container",
                "storage_source": detail["storage_source"], "type": None,
            })
            providers.append(provider)
    return {"task": task_wire(task, clock, now), "jobs": wire_jobs, "computing_providers": providers,
            "config_orders": [order_view(o, clock, now) for o in orders]}
