"""``ActorMessageForm``: send a message to an Abaco actor and see the execution, its logs and results.

Choose the actor (dropdown of the actors you can see), write the message as JSON or text (validated as you type),
add environment variables as key/value rows, choose synchronous or asynchronous, and click *Send*. The send and
the wait run in a worker thread; the execution appears at once (asynchronous) and its logs and results when it
completes. Errors (a reserved environment name, invalid JSON, a refused message) appear in the form.
"""

from __future__ import annotations

import json
from typing import Any

from ..display import esc
from ..errors import ValidationError
from ._base import WidgetView, error_html, run_background


class ActorMessageForm(WidgetView):
    """The message form (see the module docstring). ``background=False`` runs *Send* synchronously (tests)."""

    def __init__(self, actors: Any = None, *, background: bool = True, wait_timeout: float = 120.0) -> None:
        import ipywidgets as w

        if actors is None:
            from ..session import default_session

            actors = default_session().actors()
        self.actors = actors
        self._background = background
        self.wait_timeout = wait_timeout
        self.execution: Any = None
        self.sync_result: Any = None
        self.logs = ""
        self.results: list[bytes] = []
        self.actor = w.Dropdown(description="Actor", layout=w.Layout(width="520px"))
        self.refresh_button = w.Button(description="", icon="refresh", tooltip="reload the actors",
                                       layout=w.Layout(width="40px"))
        self.kind = w.ToggleButtons(options=["JSON", "Text"], value="JSON", description="Message")
        self.message = w.Textarea(value='{"hello": "world"}', layout=w.Layout(width="520px", height="100px"))
        self.message_error = w.HTML()
        self.env_rows = w.VBox()
        self.add_env_button = w.Button(description="Add variable", icon="plus")
        self.mode = w.ToggleButtons(options=["Asynchronous", "Synchronous"], value="Asynchronous",
                                    description="Mode")
        self.send_button = w.Button(description="Send", button_style="primary", icon="paper-plane")
        self.status = w.HTML()
        self.output = w.HTML()
        self.refresh_button.on_click(lambda _b: self.load_actors())
        self.add_env_button.on_click(lambda _b: self.add_env())
        self.message.observe(lambda _c: self._check_message(), names="value")
        self.kind.observe(lambda _c: self._check_message(), names="value")
        self.send_button.on_click(lambda _b: self.send())
        self.widget = w.VBox([
            w.HTML("<b>Send a message to an Abaco actor</b>"),
            w.HBox([self.actor, self.refresh_button]),
            self.kind, self.message, self.message_error,
            w.HTML("Environment variables"), self.env_rows, self.add_env_button,
            self.mode, self.send_button, self.status, self.output,
        ])
        self.load_actors()

    # -- fields -----------------------------------------------------------------------------------------------

    def load_actors(self) -> None:
        """(Re)load the actor menu."""
        try:
            items = self.actors.list()
        except Exception as exc:
            self.status.value = error_html(exc)
            return
        self.actor.options = [(f"{a.name or '(no name)'} · {a.id} · {a.image}", a.id) for a in items]
        if self.actor.value is None and self.actor.options:
            self.actor.value = self.actor.options[0][1]

    def add_env(self, key: str = "", value: str = "") -> None:
        """Add one key/value row."""
        import ipywidgets as w

        k = w.Text(value=key, placeholder="NAME", layout=w.Layout(width="180px"))
        v = w.Text(value=value, placeholder="value", layout=w.Layout(width="300px"))
        remove = w.Button(icon="trash", layout=w.Layout(width="40px"))
        row = w.HBox([k, v, remove])
        remove.on_click(lambda _b: setattr(self.env_rows, "children",
                                           tuple(r for r in self.env_rows.children if r is not row)))
        self.env_rows.children = (*self.env_rows.children, row)

    def environment(self) -> dict[str, str]:
        """The environment rows as a dict (empty names skipped; duplicates refused)."""
        env: dict[str, str] = {}
        for row in self.env_rows.children:
            key, value = row.children[0].value.strip(), row.children[1].value
            if not key:
                continue
            if key in env:
                raise ValidationError(f"Environment variable {key!r} is given twice.")
            env[key] = value
        return env

    def _check_message(self) -> Any:
        text = self.message.value
        if self.kind.value == "Text":
            self.message_error.value = "" if text.strip() else "<span style='color:#c62828'>Write a message.</span>"
            return text if text.strip() else None
        try:
            value = json.loads(text)
        except ValueError as exc:
            self.message_error.value = f"<span style='color:#c62828'>Invalid JSON: {esc(exc)}</span>"
            return None
        self.message_error.value = ""
        return value

    # -- sending ----------------------------------------------------------------------------------------------

    def send(self) -> None:
        """Validate and send; then wait (in the background) for the execution and show logs and results."""
        message = self._check_message()
        if message is None or not self.actor.value:
            self.status.value = error_html(ValidationError(
                "Choose an actor and write a valid message." if self.actor.value else "Choose an actor first."))
            return
        try:
            env = self.environment()
        except ValidationError as exc:
            self.status.value = error_html(exc)
            return
        actor_id = str(self.actor.value)
        body = message if self.kind.value == "JSON" else str(message)
        self.send_button.disabled = True
        self.status.value = "<i>Sending…</i>"
        self.output.value = ""
        if self.mode.value == "Synchronous":
            run_background(lambda: self.actors.run_sync(actor_id, body, env, timeout=self.wait_timeout),
                           on_done=self._sync_done, on_error=self._failed, synchronous=not self._background)
            return

        def work() -> Any:
            execution = self.actors.send_message(actor_id, body, env)
            self.execution = execution
            self.status.value = f"Execution <b>{esc(execution.execution_id)}</b> submitted; waiting…"
            execution.wait(self.wait_timeout, poll=0.3)
            return execution

        run_background(work, on_done=self._done, on_error=self._failed, synchronous=not self._background)

    def _done(self, execution: Any) -> None:
        self.logs = execution.logs()
        self.results = execution.results()
        shown = "".join(f"<li><code>{esc(bytes(r[:200]))}</code></li>" for r in self.results) or "<li>(none)</li>"
        self.status.value = (f"Execution <b>{esc(execution.execution_id)}</b>: "
                             f"<b>{esc(execution.status)}</b>")
        self.output.value = (f"<div><b>Logs</b><pre style='white-space:pre-wrap'>{esc(self.logs)}</pre>"
                             f"<b>Results</b><ul>{shown}</ul></div>")
        self.send_button.disabled = False

    def _sync_done(self, result: Any) -> None:
        self.sync_result = result
        text = result.decode("utf-8", "replace") if isinstance(result, bytes | bytearray) else str(result)
        self.status.value = "<b>Synchronous execution finished.</b>"
        self.output.value = f"<b>Result</b><pre style='white-space:pre-wrap'>{esc(text)}</pre>"
        self.send_button.disabled = False

    def _failed(self, exc: BaseException) -> None:
        self.status.value = error_html(exc)
        self.send_button.disabled = False

    def __repr__(self) -> str:
        return f"ActorMessageForm(actor={self.actor.value!r}, execution={self.execution!r})"
