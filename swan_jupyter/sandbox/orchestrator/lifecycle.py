"""Task lifecycle of the emulator, computed from stored timestamps whenever a task is read (no timers).

Task time runs ``time_scale`` times faster than real time. After payment validation the task is ``created``;
its three jobs go ``Submitted`` (0-5 task-seconds), ``deployToK8s`` (5-20), ``Running`` (after 20, task
``completed``); at ``end_at`` the task is ``finished`` and the jobs ``Ended``. A terminated task is
``terminated`` with jobs ``Cancelled``.
"""

from __future__ import annotations

import time
from typing import Any

from .catalogue import PROVIDERS

SUBMITTED_UNTIL = 5.0
DEPLOYING_UNTIL = 20.0


def view(task: dict[str, Any], time_scale: float, base_url: str, now: float | None = None) -> dict[str, Any]:
    """The ``{task, jobs, computing_providers}`` of a stored task as of ``now``."""
    now = time.time() if now is None else now
    out = dict(task)
    state = task.get("_state", {})
    jobs: list[dict[str, Any]] = []
    paid_at = state.get("paid_at")
    status = task["status"]
    if state.get("terminated_at"):
        status = "terminated"
    elif paid_at is not None:
        elapsed = (now - paid_at) * time_scale
        if now >= task["end_at"]:
            status = "finished"
        elif elapsed >= DEPLOYING_UNTIL:
            status = "completed"
        else:
            status = "created"
        for index, job_uuid in enumerate(state.get("jobs", [])):
            provider = PROVIDERS[index % len(PROVIDERS)]
            if status == "terminated":
                job_status = "Cancelled"
            elif status == "finished":
                job_status = "Ended"
            elif elapsed >= DEPLOYING_UNTIL:
                job_status = "Running"
            elif elapsed >= SUBMITTED_UNTIL:
                job_status = "deployToK8s"
            else:
                job_status = "Submitted"
            running = job_status == "Running"
            jobs.append({
                "id": 9000 + index, "uuid": job_uuid, "name": f"Job-{job_uuid}", "task_uuid": task["uuid"],
                "status": job_status, "comments": None, "cp_account_address": provider["cp_account_address"],
                "node_id": provider["node_id"], "hardware": task["task_detail"]["hardware"],
                "duration": task["task_detail"]["duration"], "created_at": int(paid_at),
                "start_at": int(paid_at + DEPLOYING_UNTIL / time_scale), "ended_at": None,
                "updated_at": int(now), "job_source_uri": task["task_detail"]["job_source_uri"],
                "job_result_uri": None, "job_real_uri": f"{base_url}/_jobs/{job_uuid}/" if running else None,
                "build_log": None, "container_log": None, "storage_source": "swanhub", "type": None,
            })
    if state.get("terminated_at"):
        status = "terminated"
        for job in jobs:
            job["status"] = "Cancelled"
            job["job_real_uri"] = None
    out["status"] = status
    out.pop("_state", None)
    providers = [PROVIDERS[i % len(PROVIDERS)] for i in range(len(jobs))]
    return {"task": out, "jobs": jobs, "computing_providers": providers}
