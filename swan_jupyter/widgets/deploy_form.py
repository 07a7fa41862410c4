"""``DeployForm``: choose hardware, region, duration and source, see the cost, deploy, pay, follow.

The hardware menu comes from the live catalogue (name, CPU/GPU, memory, price per hour); the region menu follows
the chosen hardware; the cost estimate updates as you type (exact, in SWAN). Field errors appear next to the
field. *Deploy* creates the task (in the background), then shows the payment confirmation; once paid, the
live :class:`~swan_jupyter.widgets.status.DeploymentStatus` view takes over.
"""

from __future__ import annotations

from typing import Any

from ..display import esc
from ..errors import SwanJupyterError
from ._base import WidgetView, error_html, run_background

SOURCES = ("Repository", "App image", "Job source URI", "YAML / Dockerfile")


class DeployForm(WidgetView):
    """The deploy form (see the module docstring). ``background=False`` runs actions synchronously (tests)."""

    def __init__(self, orchestrator: Any = None, *, background: bool = True, status_interval: float = 2.0) -> None:
        import ipywidgets as w

        if orchestrator is None:
            from ..session import default_session

            orchestrator = default_session().orchestrator()
        self.orch = orchestrator
        self._background = background
        self._status_interval = status_interval
        self.task: Any = None
        self.confirmation: Any = None
        self.status_view: Any = None
        self.hardware_items = {h.name: h for h in self.orch.get_hardware()}
        options = [(h.label, h.name) for h in self.hardware_items.values() if h.available]
        self.hardware = w.Dropdown(options=options, description="Hardware", layout=w.Layout(width="520px"))
        self.region = w.Dropdown(description="Region")
        self.duration = w.Text(value="1h", description="Duration", placeholder="1h, 90m, 3600")
        self.source = w.ToggleButtons(options=SOURCES, value="App image", description="Source")
        self.repo = w.Text(description="Repo URL", placeholder="https://github.com/you/app",
                           layout=w.Layout(width="520px"))
        self.branch = w.Text(description="Branch", placeholder="main")
        apps = self.orch.get_app_repo_image() or []
        self.app = w.Dropdown(options=[a["name"] for a in apps if isinstance(a, dict)], description="App")
        self.source_uri = w.Text(description="Source URI", layout=w.Layout(width="520px"))
        self.spec = w.Textarea(description="Spec", placeholder='version: "2.0"\nservices: ...',
                               layout=w.Layout(width="520px", height="140px"))
        self.errors = {name: w.HTML() for name in ("hardware", "region", "duration", "source")}
        self.estimate = w.HTML()
        self.deploy_button = w.Button(description="Deploy", button_style="primary", icon="rocket")
        self.result = w.VBox()
        self.message = w.HTML()
        self.source_boxes = {
            "Repository": w.VBox([self.repo, self.branch]),
            "App image": w.VBox([self.app]),
            "Job source URI": w.VBox([self.source_uri]),
            "YAML / Dockerfile": w.VBox([self.spec]),
        }
        self.hardware.observe(self._hardware_changed, names="value")
        self.duration.observe(lambda _c: self._update_estimate(), names="value")
        self.source.observe(self._source_changed, names="value")
        self.deploy_button.on_click(lambda _b: self.deploy())
        self.widget = w.VBox([
            w.HTML("<b>Deploy on Swan Chain</b>"),
            w.HBox([self.hardware, self.errors["hardware"]]),
            w.HBox([self.region, self.errors["region"]]),
            w.HBox([self.duration, self.errors["duration"]]),
            self.source, *self.source_boxes.values(), self.errors["source"],
            self.estimate, self.deploy_button, self.message, self.result,
        ])
        self._hardware_changed()
        self._source_changed()

    # -- reactions --------------------------------------------------------------------------------------------

    def _hardware_changed(self, _change: Any = None) -> None:
        hw = self.hardware_items.get(self.hardware.value)
        regions = ["global", *hw.regions] if hw else ["global"]
        self.region.options = regions
        self.region.value = "global"
        self._update_estimate()

    def _source_changed(self, _change: Any = None) -> None:
        for name, box in self.source_boxes.items():
            box.layout.display = "flex" if name == self.source.value else "none"

    def _set_error(self, field: str, text: str | None) -> None:
        self.errors[field].value = f"<span style='color:#c62828'>{esc(text)}</span>" if text else ""

    def _update_estimate(self) -> None:
        try:
            quote = self.orch.estimate_price(self.hardware.value, self.duration.value)
        except SwanJupyterError as exc:
            self._set_error("duration", exc.message)
            self.estimate.value = ""
            return
        self._set_error("duration", None)
        self.estimate.value = (
            f"Estimated cost: <b>{esc(quote.amount_text)}</b> ({esc(quote.price_per_hour)} SWAN/h for "
            f"{quote.duration} s)"
        )

    def validate(self) -> dict[str, Any] | None:
        """Check every field; show errors next to them; return the task's description (the keyword arguments of
        :class:`~swan_jupyter.orchestrator.TaskDescription`) or None."""
        ok = True
        if not self.hardware.value:
            self._set_error("hardware", "Choose hardware.")
            ok = False
        else:
            self._set_error("hardware", None)
        try:
            self.orch.estimate_price(self.hardware.value, self.duration.value)
            self._set_error("duration", None)
        except SwanJupyterError as exc:
            self._set_error("duration", exc.message)
            ok = False
        args: dict[str, Any] = {"hardware": self.hardware.value, "region": self.region.value,
                                "duration": self.duration.value}
        source = self.source.value
        value = {"Repository": self.repo.value.strip(), "App image": self.app.value or "",
                 "Job source URI": self.source_uri.value.strip(), "YAML / Dockerfile": self.spec.value.strip()}[source]
        if not value:
            self._set_error("source", f"{source}: this field is required.")
            ok = False
        elif source in ("Repository", "Job source URI") and not value.startswith(("http://", "https://")):
            self._set_error("source", f"{source}: give an http(s) URL.")
            ok = False
        else:
            self._set_error("source", None)
        if source == "Repository":
            args.update(repo_uri=value, repo_branch=self.branch.value.strip() or None)
        elif source == "App image":
            args["app_image"] = value
        elif source == "Job source URI":
            args["source_uri"] = value
        elif value.upper().startswith("FROM ") or "\nFROM " in value.upper():
            args["dockerfile"] = value
        else:
            args["deploy_yaml"] = value
        return args if ok else None

    # -- actions ----------------------------------------------------------------------------------------------

    def deploy(self) -> None:
        """Validate, create the task, then show the payment confirmation."""
        args = self.validate()
        if args is None:
            return
        self.deploy_button.disabled = True
        self.message.value = "<i>Creating the task…</i>"
        from ..orchestrator.planning import TaskDescription

        run_background(lambda: self.orch.create(self.orch.plan(TaskDescription(**args))), on_done=self._created,
                       on_error=self._failed, synchronous=not self._background)

    def _created(self, task: Any) -> None:
        from .confirm import creation_confirmation

        self.task = task
        uuid = task["task_uuid"]
        self.message.value = f"Task <b>{esc(uuid)}</b> created; confirm the payment to start it."
        self.confirmation = creation_confirmation(self.orch, task, on_done=self._paid, background=self._background)
        self.result.children = (self.confirmation.widget,)

    def _paid(self, receipt: Any) -> None:
        from .status import DeploymentStatus

        self.task.record_payment(receipt)
        self.message.value = f"Task <b>{esc(self.task['task_uuid'])}</b> paid; it is starting below."
        self.status_view = DeploymentStatus(self.orch, self.task["task_uuid"], interval=self._status_interval,
                                            autostart=self._background, background=self._background)
        self.result.children = (self.confirmation.widget, self.status_view.widget)
        self.deploy_button.disabled = False

    def _failed(self, exc: BaseException) -> None:
        self.message.value = error_html(exc)
        self.deploy_button.disabled = False

    def __repr__(self) -> str:
        return f"DeployForm(hardware={self.hardware.value!r}, task={self.task and self.task['task_uuid']!r})"
