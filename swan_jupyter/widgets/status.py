"""``DeploymentStatus``: follow a task without blocking the kernel.

The cell returns at once; a daemon thread polls the Orchestrator every ``interval`` seconds and updates the
widget (task and job statuses, providers, time left, a progress bar of running jobs, the task's URLs as links
once they answer). Renew and Terminate buttons act in the background (terminate asks for confirmation and then
shows the refund). ``refresh()`` performs one poll step synchronously (tests drive the view with it).
"""

from __future__ import annotations

import threading
import time
import uuid as uuidlib
from typing import Any

from ..display import esc, seconds_until, status_badge
from ..orchestrator.views import Termination, renewal, status_html, swan_text
from ._base import WidgetView, error_html

FINAL_STATUSES = frozenset({"finished", "terminated", "failed"})


def _answers(url: str) -> bool:
    import requests

    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.RequestException:
        return False


class DeploymentStatus(WidgetView):
    """Live view of one task (see the module docstring)."""

    def __init__(self, orchestrator: Any, task_uuid: str, *, interval: float = 2.0, autostart: bool = True,
                 background: bool = True) -> None:
        import ipywidgets as w

        self.orch = orchestrator
        self.task_uuid = task_uuid
        self.interval = interval
        self._background = background
        self.info: dict[str, Any] = {}
        self.status = ""
        self.urls: list[str] = []
        self.refund: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.header = w.HTML()
        self.progress = w.IntProgress(value=0, min=0, max=3, description="jobs", bar_style="info")
        self.jobs_html = w.HTML()
        self.message = w.HTML()
        self.renew_duration = w.Dropdown(options=["1h", "2h", "6h", "24h"], value="1h", description="Renew by",
                                         layout=w.Layout(width="180px"))
        self.renew_button = w.Button(description="Renew", icon="clock")
        self.terminate_button = w.Button(description="Terminate", button_style="danger", icon="stop")
        self.confirm_box = w.VBox()
        self.renew_button.on_click(lambda _b: self.renew())
        self.terminate_button.on_click(lambda _b: self.ask_terminate())
        self.widget = w.VBox([self.header, self.progress, self.jobs_html,
                              w.HBox([self.renew_duration, self.renew_button, self.terminate_button]),
                              self.confirm_box, self.message])
        self.refresh()
        if autostart:
            self.start()

    # -- polling ----------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the background poller (stops by itself when the task reaches a final status)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"swan-status-{self.task_uuid[:8]}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling."""
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.refresh()
            if self.status in FINAL_STATUSES:
                return

    def refresh(self) -> None:
        """One poll step: fetch the deployment info and redraw. Errors show in the widget."""
        try:
            info = dict(self.orch.get_deployment_info(self.task_uuid))
        except Exception as exc:
            self.message.value = error_html(exc)
            return
        self.info = info
        task = info.get("task") or {}
        jobs = info.get("jobs") or []
        self.status = str(task.get("status") or "")
        running = [j for j in jobs if j.get("status") == "Running"]
        self.progress.max = max(3, len(jobs))
        self.progress.value = len(running)
        self.progress.bar_style = "success" if running else ("danger" if self.status == "failed" else "info")
        self.urls = [j["job_real_uri"] for j in running if j.get("job_real_uri") and _answers(j["job_real_uri"])]
        end_at = task.get("end_at")
        left = seconds_until(end_at)
        detail = task.get("task_detail") or {}
        self.header.value = (
            f"<b>Task</b> {esc(self.task_uuid)} {status_html(self.status)} "
            f"<span style='color:#555'>{esc(detail.get('hardware') or '')}"
            + (f" · {left // 3600} h {left % 3600 // 60} min left (wall clock)" if left is not None else "")
            + "</span>"
        )
        rows = "".join(
            f"<tr><td>{esc(str(j.get('cp_account_address', ''))[:10])}…</td><td>{status_badge(str(j.get('status')))}"
            f"</td><td>{self._link(j)}</td></tr>" for j in jobs
        )
        self.jobs_html.value = (
            "<table><tr><th>provider</th><th>job</th><th>URL</th></tr>" + rows + "</table>" if jobs
            else "<i>Waiting for providers…</i>"
        )
        final = self.status in FINAL_STATUSES
        self.renew_button.disabled = final
        self.terminate_button.disabled = final

    def _link(self, job: dict[str, Any]) -> str:
        url = job.get("job_real_uri")
        if not url:
            return ""
        if url in self.urls:
            return f"<a href='{esc(url)}' target='_blank'>{esc(url)}</a>"
        if str(job.get("status")) != "Running":  # cancelled or ended: nothing will answer any more
            return f"<span style='color:#777'>{esc(url)} (stopped)</span>"
        return f"<span style='color:#777'>{esc(url)} (not answering yet)</span>"

    # -- actions ----------------------------------------------------------------------------------------------

    def renew(self, duration: str | None = None) -> Any:
        """Show the renewal's quote with Pay / Cancel (returned); the click pays exactly that quote, once.

        One idempotency key per confirmation: clicking twice, or Retry after an error, never pays twice.
        """
        from .confirm import PaymentConfirmation

        key = uuidlib.uuid4().hex
        chosen = duration or str(self.renew_duration.value)
        try:
            quote = self.orch.quote(self.task_uuid, order_type="Renewal", duration=chosen)
        except Exception as exc:
            self.message.value = error_html(exc)
            return None

        def done(result: Any) -> None:
            receipt = result.get("receipt") if hasattr(result, "get") else None
            self.message.value = receipt._repr_html_() if receipt is not None else "<b>Renewed.</b>"
            self.confirm_box.children = ()
            self.refresh()

        confirm = PaymentConfirmation(
            quote, lambda shown: renewal(self.orch, self.orch.renew(self.task_uuid, shown.duration,
                                                                    idempotency_key=key, confirmed=shown)),
            on_done=done, background=self._background, on_cancel=lambda: self.orch.cancel_payment(self.task_uuid))
        self.confirm_box.children = (confirm.widget,)
        return confirm

    def ask_terminate(self) -> Any:
        """Show a Terminate / Cancel confirmation; confirming terminates and shows the refund."""
        from .confirm import ConfirmAction

        confirm = ConfirmAction(
            f"Terminate task {self.task_uuid}?",
            {"effect": "the jobs stop now", "refund": "the unused time, sent on chain to the task's wallet"},
            self._terminate, confirm_label="Terminate", background=self._background,
        )
        self.confirm_box.children = (confirm.widget,)
        return confirm

    def _terminate(self) -> Any:
        result = self.orch.terminate_task(self.task_uuid)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            self.refresh()
            task = self.info.get("task") or {}
            if self.status == "terminated" and task.get("refund_amount") not in (None, ""):
                self.refund = task.get("refund_amount")
                break
            time.sleep(0.3)
        self.stop()
        refund_text = f"{swan_text(self.refund)} refunded" if self.refund is not None else "refund pending"
        self.message.value = f"<b>Terminated</b>: {esc(refund_text)}."
        return Termination({**result, "task_uuid": self.task_uuid, "info": self.info})

    def __repr__(self) -> str:
        return f"DeploymentStatus({self.task_uuid!r}, status={self.status!r}, urls={self.urls})"
