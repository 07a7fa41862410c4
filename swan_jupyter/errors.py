"""The one exception tree of swan_jupyter.

Every error the package raises on purpose derives from :class:`SwanJupyterError`::

    SwanJupyterError
    ├── ConfigurationError          settings missing or inconsistent (profile, URL, key file, ...)
    ├── ValidationError             bad input, raised before any request is sent (also a ValueError)
    ├── TransportError              the network failed: connection refused, reset, DNS, TLS
    │   ├── RequestTimeoutError     no answer within the configured timeout
    │   └── UnknownOutcomeError     a non-idempotent request was sent but its answer was lost
    ├── RemoteError                 the server answered and said no (carries status, message, method, path)
    │   ├── AuthenticationError     credentials missing, wrong or expired
    │   ├── PermissionDeniedError   authenticated, but not allowed to do this
    │   └── NotFoundError           the object does not exist (or is not visible to you)
    │   └── ProtocolError           the answer cannot be read (not JSON, a field missing or of the wrong type)
    └── PaymentError                an on-chain payment did not complete (carries state and tx hashes)
        └── QuoteChangedError       the payment would differ from what was confirmed: nothing was signed

Each error has a ``message`` (what went wrong) and a ``hint`` (how to fix it). Their text never contains
secrets: it goes through :func:`swan_jupyter.redact.redact`.

In IPython these errors show as two short lines instead of a traceback (the cell still fails, so
nbclient/papermill stop); ``%config SwanMagics.short_errors = False`` shows full tracebacks. Unexpected
internal errors are never wrapped and keep their traceback. With the extension loaded, every traceback the
shell renders (ours or not, verbose or not) has registered secrets masked (:func:`install_traceback_redaction`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .redact import redact, redact_rendered, scrub_exception


class _RenderSettings:
    """Process-wide rendering switch, set by the IPython layer (``SwanMagics.short_errors``)."""

    short = True


render_settings = _RenderSettings()


class SwanJupyterError(Exception):
    """Base class of every error swan_jupyter raises on purpose."""

    default_hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = redact(str(message))
        self.hint = redact(hint if hint is not None else self.default_hint)
        super().__init__(self.message)

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nHint: {self.hint}"
        return self.message

    def _render_traceback_(self) -> list[str]:
        """IPython hook: a short, fatal error (full traceback when short errors are switched off)."""
        if not render_settings.short:
            try:
                from IPython import get_ipython

                shell = get_ipython()
                if shell is not None:
                    scrub_exception(self)
                    stb = shell.InteractiveTB.structured_traceback(type(self), self, self.__traceback__)
                    return [redact_rendered(line) for line in stb]
            except Exception:  # never raise from a render hook
                pass
        lines = [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {redact(self.message)}"]
        if self.hint:
            lines.append(f"Hint: {redact(self.hint)}")
        return lines


def install_traceback_redaction(shell: Any) -> None:
    """Mask registered secrets in every traceback ``shell`` renders (idempotent; ``%load_ext`` calls it).

    Wraps ``shell.InteractiveTB.structured_traceback``, which IPython and ipykernel use for every error shown
    in a cell, ``%tb`` and the verbose mode (``%xmode Verbose`` prints the values of local variables): the
    exception's own text is scrubbed in place (so the kernel's ``evalue`` is masked too) and every rendered
    line goes through :func:`~swan_jupyter.redact.redact_rendered`. Only registered values are masked, so
    tracebacks of unrelated errors are unchanged.
    """
    tb = getattr(shell, "InteractiveTB", None)
    if tb is None or getattr(tb.structured_traceback, "_swan_original", None) is not None:
        return
    original = tb.structured_traceback

    def structured_traceback(etype: Any, evalue: Any, *args: Any, **kwargs: Any) -> list[str]:
        if isinstance(evalue, BaseException):
            scrub_exception(evalue)
        return [redact_rendered(line) for line in original(etype, evalue, *args, **kwargs)]

    structured_traceback._swan_original = original  # type: ignore[attr-defined]
    tb.structured_traceback = structured_traceback


def uninstall_traceback_redaction(shell: Any) -> None:
    """Undo :func:`install_traceback_redaction` (``%unload_ext`` calls it)."""
    tb = getattr(shell, "InteractiveTB", None)
    original = getattr(getattr(tb, "structured_traceback", None), "_swan_original", None)
    if tb is not None and original is not None:
        del tb.structured_traceback  # the instance attribute; the class's method shows through again
        if getattr(tb.structured_traceback, "__func__", None) is not getattr(original, "__func__", None):
            tb.structured_traceback = original


class ConfigurationError(SwanJupyterError):
    """The settings are missing, malformed or inconsistent."""

    default_hint = "Run %swan_config to see the active settings, or check your config file and environment."


class ValidationError(SwanJupyterError, ValueError):
    """Bad input, detected before anything was sent."""


class TransportError(SwanJupyterError):
    """The request did not get an answer: connection refused, reset, DNS or TLS failure."""

    default_hint = "Check that the service URL is right and reachable (for the sandbox: swan-jupyter sandbox status)."

    def __init__(
        self, message: str, *, method: str = "", url: str = "", hint: str | None = None
    ) -> None:
        self.method = method
        self.url = redact(url)
        super().__init__(message, hint=hint)


class RequestTimeoutError(TransportError):
    """The server did not answer within the configured timeout."""

    default_hint = "The service is slow or down; raise the timeout (read_timeout in your profile) or retry later."


class UnknownOutcomeError(TransportError):
    """A non-idempotent request (a POST) was sent but its answer was lost: it may or may not have happened.

    The client never repeats such a request on its own. ``check`` says how to find out what happened.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        url: str = "",
        check: str = "",
        hint: str | None = None,
    ) -> None:
        self.check = check
        super().__init__(
            message,
            method=method,
            url=url,
            hint=hint or (check or "Check the server's state before repeating the request; it was not retried."),
        )


class RemoteError(SwanJupyterError):
    """The server answered with an error.

    Attributes: ``status`` (HTTP status code), ``server_message`` (the server's own words), ``method`` and
    ``path`` of the request, and ``payload`` (the decoded body, when there is one).
    """

    default_hint = "See the server's message above; fix the request and try again."

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        server_message: str = "",
        method: str = "",
        path: str = "",
        payload: Any = None,
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.server_message = redact(server_message)
        self.method = method
        self.path = redact(path)
        self.payload = payload
        super().__init__(message, hint=hint)


class AuthenticationError(RemoteError):
    """Credentials are missing, wrong or expired."""

    default_hint = (
        "Set the credential for this service (SWAN_API_KEY, ABACO_TOKEN, or the profile's config file) "
        "and try again; %swan_config shows what is configured."
    )


class PermissionDeniedError(RemoteError):
    """Authenticated, but not allowed to do this (Abaco answers these with HTTP 400)."""

    default_hint = "Ask the owner of the object for a permission or a nonce with a sufficient level."


class NotFoundError(RemoteError):
    """The object does not exist, or is not visible to these credentials."""

    default_hint = "Check the id (listings show the ids you can see)."


class PaymentError(SwanJupyterError):
    """An on-chain payment did not complete as expected.

    ``state`` is the payment's ledger state (``intent``, ``approving``, ``sent``, ``confirmed``,
    ``validated``, ``failed``, ...); ``tx_hashes`` every transaction hash involved; ``task_uuid`` the task.
    A payment whose transaction was sent is never sent again: resume it instead.
    """

    def __init__(
        self,
        message: str,
        *,
        state: str = "",
        tx_hashes: Sequence[str] = (),
        task_uuid: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.state = state
        self.tx_hashes = tuple(tx_hashes)
        self.task_uuid = task_uuid
        super().__init__(message, hint=hint)


class ProtocolError(RemoteError):
    """The server answered, but not in a shape this client can read: HTML instead of JSON, a list where an
    object belongs, a price that is not a number, a field missing. The message names the endpoint and field."""

    default_hint = ("Check the service URL in your profile (a proxy or a login page answers HTML); if it is right, "
                    "the server's API changed: report it with the endpoint named above.")


class QuoteChangedError(PaymentError):
    """What would be paid now differs from what was confirmed (amount, hardware, price, duration, contract or
    chain). Nothing was signed. ``quote`` is the new quote: confirm it to pay it."""

    def __init__(self, message: str, *, quote: Any, task_uuid: str | None = None, hint: str | None = None) -> None:
        self.quote = quote
        super().__init__(message, state="intent", task_uuid=task_uuid, hint=hint)


__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "NotFoundError",
    "PaymentError",
    "PermissionDeniedError",
    "ProtocolError",
    "QuoteChangedError",
    "RemoteError",
    "RequestTimeoutError",
    "SwanJupyterError",
    "TransportError",
    "UnknownOutcomeError",
    "ValidationError",
    "install_traceback_redaction",
    "render_settings",
    "uninstall_traceback_redaction",
]
