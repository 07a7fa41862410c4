"""Per-request context shared by the route handlers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from .auth import Caller
from .models import snake_body
from .runtime import Runtime
from .store import Store
from .wire import AbacoError, envelope, shape


@dataclass
class Links:
    """Builds ``_links`` URLs for the request's flavour."""

    api: str
    v3: bool

    def url(self, path: str) -> str:
        """URL of an object under the actors API."""
        return f"{self.api}/v3/actors/{path}" if self.v3 else f"{self.api}/actors/v2/{path}"

    def owner(self, user: str) -> str:
        """Profile URL of a user."""
        return f"{self.api}/v3/oauth2/profiles/{user}" if self.v3 else f"{self.api}/profiles/v2/{user}"


@dataclass
class Ctx:
    """Everything a handler needs: store, runtime, caller, flavour, path parts and the parsed body."""

    request: Request
    store: Store
    runtime: Runtime
    token_for: dict[str, str]
    v3: bool
    camel: bool
    links: Links
    parts: list[str]
    raw: bytes = b""
    caller: Caller = field(default_factory=lambda: Caller(""))
    actor: dict[str, Any] | None = None
    max_message: int = 500 * 1024 * 1024

    @property
    def query(self) -> list[tuple[str, str]]:
        """Query parameters in order (repeats kept)."""
        return parse_qsl(self.request.url.query, keep_blank_values=True)

    def body(self) -> dict[str, Any]:
        """The JSON or form body as a snake-case dict (empty when absent or not an object)."""
        ctype = self.request.headers.get("content-type", "").split(";")[0].strip().lower()
        data: Any = {}
        if ctype == "application/x-www-form-urlencoded":
            data = dict(parse_qsl(self.raw.decode("utf-8", "replace"), keep_blank_values=True))
        elif self.raw and ctype != "application/octet-stream" and not ctype.startswith("multipart/"):
            try:
                data = json.loads(self.raw)
            except ValueError:
                data = {}
        return snake_body(data) if isinstance(data, dict) else {}

    def ok(self, result: Any, message: str) -> Response:
        """A success envelope."""
        return envelope(result, message, self.v3)

    def model(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Shape a model for the flavour (camel drops ``None``)."""
        return shape(obj, self.camel)

    def need_actor(self) -> dict[str, Any]:
        """The resolved actor of an actor-scoped route."""
        if self.actor is None:
            raise AbacoError("No actor found.", 404)
        return self.actor
