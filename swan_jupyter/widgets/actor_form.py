"""``ActorForm``: register an Abaco actor from a small form (``%actors form``).

Fields: image (required), name, description, stateful, default environment (one ``KEY=VALUE`` per line).
``Create`` registers the actor in a background thread (the kernel stays free); the new :class:`Actor` is shown
under the form and kept in ``form.actor``. Errors appear in place, with their hint. Example::

    form = ActorForm(session.actors())
    form                       # fill it in, click Create
    form.actor.id              # afterwards
"""

from __future__ import annotations

from typing import Any

from ..errors import ValidationError
from ._base import Busy, WidgetView, error_html, run_background


def parse_environment(text: str) -> dict[str, str]:
    """``KEY=VALUE`` lines (blank lines and ``#`` comments ignored) -> dict; a line without ``=`` is an error."""
    env: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"Environment line {number} is not KEY=VALUE: {line!r}.")
        env[key.strip()] = value.strip()
    return env


class ActorForm(WidgetView):
    """The actor form (see the module docstring). ``background=False`` runs ``Create`` synchronously (tests)."""

    def __init__(self, actors: Any = None, *, background: bool = True) -> None:
        import ipywidgets as w

        if actors is None:
            from ..session import default_session

            actors = default_session().actors()
        self.client = actors
        self._background = background
        self.actor: Any = None
        wide = w.Layout(width="520px")
        self.image = w.Text(description="Image", placeholder="abacosamples/test", layout=wide)
        self.name = w.Text(description="Name", layout=wide)
        self.description = w.Text(description="Description", layout=wide)
        self.stateful = w.Checkbox(description="Stateful (state API, one worker)")
        self.environment = w.Textarea(description="Env", placeholder="KEY=VALUE, one per line",
                                      layout=w.Layout(width="520px", height="90px"))
        self.create_button = w.Button(description="Create", button_style="primary")
        self.result = w.HTML()
        self.create_button.on_click(lambda _b: self.create())
        self.widget = w.VBox([w.HTML("<b>New Abaco actor</b>"), self.image, self.name, self.description,
                              self.stateful, self.environment, self.create_button, self.result])

    def body(self) -> dict[str, Any]:
        """The actor description the form currently describes (raises ValidationError when incomplete)."""
        image = self.image.value.strip()
        if not image:
            raise ValidationError("The image is required.", hint="Enter a Docker image, e.g. abacosamples/test.")
        body: dict[str, Any] = {"image": image, "stateless": not self.stateful.value,
                                "default_environment": parse_environment(self.environment.value)}
        if self.name.value.strip():
            body["name"] = self.name.value.strip()
        if self.description.value.strip():
            body["description"] = self.description.value.strip()
        return body

    def create(self) -> None:
        """Register the actor described by the form (the button's action)."""
        try:
            body = self.body()
        except ValidationError as exc:
            self.result.value = error_html(exc)
            return
        busy = Busy([self.create_button], "Creating…")
        busy.__enter__()
        self.result.value = "Creating…"

        def done(actor: Any) -> None:
            busy.__exit__(None, None, None)
            self.actor = actor
            self.result.value = actor._repr_html_()

        def failed(exc: BaseException) -> None:
            busy.__exit__(None, None, None)
            self.result.value = error_html(exc)

        run_background(lambda: self.client.add(body), on_done=done, on_error=failed, name="swan-actor-form",
                       synchronous=not self._background)

    def __repr__(self) -> str:
        return f"ActorForm(image={self.image.value!r}, actor={getattr(self.actor, 'id', None)!r})"


__all__ = ["ActorForm", "parse_environment"]
